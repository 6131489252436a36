/**
 * A small strict XML reader (the subset metadata.xml needs): elements, attributes, character data
 * and the predefined and numeric entities; no DTD, processing instructions beyond the declaration,
 * or namespaces. Errors are DomainError invalid-argument naming metadata.xml, its only document.
 */
import { invalidArgument } from "../errors.js";

/** A parsed element: name, attributes, children and its text (concatenated character data). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  /** True if non-whitespace text appeared between child elements (mixed content). */
  mixed: boolean;
}

/** Characters XML 1.0 cannot hold (the C0 controls but tab, newline, CR; U+FFFE, U+FFFF). */
export const INVALID_XML_CHARS = /[\0-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

const MAX_DEPTH = 16;
const MAX_ELEMENTS = 100_000;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9._-]*$/;

function xmlError(msg: string): Error {
  return invalidArgument(`metadata.xml is not well-formed: ${msg}`, { reason: "PATCH_METADATA_INVALID" });
}

function decodeEntities(s: string, where: number): string {
  if (s.indexOf("&") < 0) {
    if (s.indexOf("<") >= 0) throw xmlError(`'<' in character data near offset ${where}`);
    return s;
  }
  return s.replace(/&([^;&<\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(";")) throw xmlError(`unterminated entity reference near offset ${where}`);
    switch (name) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    let cp: number;
    if (/^#[0-9]{1,7}$/.test(name)) cp = parseInt(name.slice(1), 10);
    else if (/^#x[0-9A-Fa-f]{1,6}$/.test(name)) cp = parseInt(name.slice(2), 16);
    else throw xmlError(`undefined entity &${name}; near offset ${where}`);
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || INVALID_XML_CHARS.test(String.fromCodePoint(cp))) {
      throw xmlError(`invalid character reference &${name}; near offset ${where}`);
    }
    return String.fromCodePoint(cp);
  });
}

/**
 * Parse an XML document strictly: one root element, matched tags, unique attributes, only the
 * five predefined entities and character references, comments and CDATA allowed; DOCTYPE,
 * entity declarations and processing instructions (other than a leading XML declaration) are
 * rejected. Input must be UTF-8.
 * @throws DomainError invalid-argument "metadata.xml is not well-formed: <reason>".
 */
export function parseXml(input: string | Uint8Array): XmlElement {
  let s: string;
  if (typeof input === "string") s = input;
  else {
    try {
      s = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw xmlError("not valid UTF-8");
    }
  }
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  s = s.replace(/\r\n?/g, "\n"); // XML end-of-line normalisation
  if (INVALID_XML_CHARS.test(s)) throw xmlError("contains characters not allowed in XML");
  let i = 0;
  const m = /^<\?xml(\s[^?]*)?\?>/.exec(s);
  if (m) {
    const decl = m[1] ?? "";
    if (!/^\s+version\s*=\s*(["'])1\.[0-9]\1(\s+encoding\s*=\s*(["'])(utf-8|UTF-8|utf8)\3)?(\s+standalone\s*=\s*(["'])(yes|no)\6)?\s*$/.test(decl)) {
      throw xmlError("unsupported XML declaration");
    }
    i = m[0].length;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  while (i < s.length) {
    const lt = s.indexOf("<", i);
    const textEnd = lt < 0 ? s.length : lt;
    if (textEnd > i) {
      const raw = s.slice(i, textEnd);
      if (raw.includes("]]>")) throw xmlError(`']]>' in character data near offset ${i}`);
      const t = decodeEntities(raw, i);
      const top = stack[stack.length - 1];
      if (!top) {
        if (/[^ \t\r\n]/.test(raw)) throw xmlError(`text outside the root element near offset ${i}`);
      } else {
        top.text += t;
        if (top.children.length > 0 && /[^ \t\r\n]/.test(t)) top.mixed = true;
      }
      i = textEnd;
      continue;
    }
    if (s.startsWith("<!--", i)) {
      const end = s.indexOf("-->", i + 4);
      if (end < 0) throw xmlError("unterminated comment");
      if (s.slice(i + 4, end).includes("--")) throw xmlError("'--' inside a comment");
      i = end + 3;
      continue;
    }
    if (s.startsWith("<![CDATA[", i)) {
      const top = stack[stack.length - 1];
      if (!top) throw xmlError("CDATA outside the root element");
      const end = s.indexOf("]]>", i + 9);
      if (end < 0) throw xmlError("unterminated CDATA section");
      const t = s.slice(i + 9, end);
      top.text += t;
      if (top.children.length > 0 && /[^ \t\r\n]/.test(t)) top.mixed = true;
      i = end + 3;
      continue;
    }
    if (s.startsWith("<!", i)) throw xmlError(`DOCTYPE or markup declaration not allowed (offset ${i})`);
    if (s.startsWith("<?", i)) throw xmlError(`processing instruction not allowed (offset ${i})`);
    if (s.startsWith("</", i)) {
      const end = s.indexOf(">", i);
      if (end < 0) throw xmlError("unterminated end tag");
      const name = s.slice(i + 2, end).replace(/[ \t\r\n]+$/, "");
      const top = stack.pop();
      if (!top) throw xmlError(`unexpected end tag </${name}>`);
      if (top.name !== name) throw xmlError(`mismatched tag: expected </${top.name}>, found </${name}>`);
      i = end + 1;
      continue;
    }
    // start tag
    const tagRe = /<([^\s/>]+)((?:[ \t\r\n]+[^\s=/>]+[ \t\r\n]*=[ \t\r\n]*(?:"[^"<]*"|'[^'<]*'))*)[ \t\r\n]*(\/?)>/y;
    tagRe.lastIndex = i;
    const tm = tagRe.exec(s);
    if (!tm) throw xmlError(`malformed start tag near offset ${i}`);
    const name = tm[1];
    if (!NAME_RE.test(name)) throw xmlError(`invalid element name '${name}'`);
    const attrs: Record<string, string> = {};
    const attrRe = /[ \t\r\n]+([^\s=/>]+)[ \t\r\n]*=[ \t\r\n]*(?:"([^"<]*)"|'([^'<]*)')/g;
    let am: RegExpExecArray | null;
    while ((am = attrRe.exec(tm[2])) !== null) {
      const an = am[1];
      if (!NAME_RE.test(an)) throw xmlError(`invalid attribute name '${an}'`);
      if (Object.prototype.hasOwnProperty.call(attrs, an)) throw xmlError(`duplicate attribute '${an}' on <${name}>`);
      attrs[an] = decodeEntities(am[2] ?? am[3] ?? "", i).replace(/[\t\n\r]/g, " ");
    }
    const el: XmlElement = { name, attrs, children: [], text: "", mixed: false };
    if (++count > MAX_ELEMENTS) throw xmlError("too many elements");
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.children.push(el);
      if (/[^ \t\r\n]/.test(parent.text)) parent.mixed = true;
    } else {
      if (root) throw xmlError("more than one root element");
      root = el;
    }
    if (tm[3] !== "/") {
      stack.push(el);
      if (stack.length > MAX_DEPTH) throw xmlError("elements nested too deeply");
    }
    i = tagRe.lastIndex;
  }
  if (stack.length > 0) throw xmlError(`unclosed element <${stack[stack.length - 1].name}>`);
  if (!root) throw xmlError("no root element");
  return root;
}
