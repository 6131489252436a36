/**
 * metadata.xml: a writer that reproduces the reference's lxml + minidom `toprettyxml(indent="  ")`
 * output byte for byte, and a small strict XML reader with the reference's read-side semantics.
 */
import { invalidArgument } from "../errors.js";

/** The six node types the reference knows (a host's subfunctions joined by "-"). */
export const PERSONALITY_TYPES = [
  "controller",
  "worker",
  "worker-lowlatency",
  "storage",
  "controller-worker",
  "controller-worker-lowlatency",
] as const;

/** Semantic-check actions. */
export const SEMANTIC_ACTIONS = ["pre-apply", "pre-remove"] as const;
export type SemanticAction = (typeof SEMANTIC_ACTIONS)[number];

/** Patch metadata as written to and read from metadata.xml. Text fields are "" when empty. */
export interface PatchMetadata {
  id: string;
  swVersion: string;
  summary: string;
  description: string;
  installInstructions: string;
  warnings: string;
  /** Free string; tooling uses DEV, REL, OBS. */
  status: string;
  /** True only when the element text is exactly "Y". */
  unremovable: boolean;
  /** False only when the element text is exactly "N". */
  rebootRequired: boolean;
  /** True only when the element text is exactly "Y". */
  applyActiveReleaseOnly: boolean;
  /** personality type -> package names (RPM NAME tags). */
  personalities: Record<string, string[]>;
  /** RPM file names in software.tar. */
  contents: string[];
  /** Directly required patch ids. */
  requires: string[];
  /** Semantic-check actions present in semantics.tar. */
  semantics: SemanticAction[];
}

/** minidom's _write_data escaping (text and attribute values). */
function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;").replace(/>/g, "&gt;");
}

const INVALID_XML_CHARS = /[\0-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

function checkText(field: string, v: string): string {
  if (INVALID_XML_CHARS.test(v)) throw invalidArgument(`metadata field ${field} contains characters XML cannot hold`, { reason: "PATCH_METADATA_INVALID" });
  return v;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Serialise metadata exactly as the reference's `PatchMetadata.gen_xml` does: XML declaration
 * `<?xml version="1.0" ?>`, 2-space indentation, `<tag/>` for empty elements, text elements on one
 * line (multi-line text kept inline), personalities sorted by type with sorted packages, and
 * contents, requires and semantics sorted; the output ends with a newline.
 * @throws DomainError invalid-argument if a value contains characters XML cannot hold.
 */
export function writeMetadataXml(m: PatchMetadata): string {
  const out: string[] = ['<?xml version="1.0" ?>', "<patch>"];
  const text = (tag: string, v: string) => {
    checkText(tag, v);
    out.push(v === "" ? `  <${tag}/>` : `  <${tag}>${esc(v)}</${tag}>`);
  };
  const list = (tag: string, child: string, values: string[], attr = "") => {
    if (values.length === 0) {
      out.push(`  <${tag}${attr}/>`);
      return;
    }
    out.push(`  <${tag}${attr}>`);
    for (const v of values) {
      checkText(child, v);
      out.push(v === "" ? `    <${child}/>` : `    <${child}>${esc(v)}</${child}>`);
    }
    out.push(`  </${tag}>`);
  };
  text("id", m.id);
  text("sw_version", m.swVersion);
  text("summary", m.summary);
  text("description", m.description);
  text("install_instructions", m.installInstructions);
  text("warnings", m.warnings);
  text("status", m.status);
  text("unremovable", m.unremovable ? "Y" : "");
  text("reboot_required", m.rebootRequired ? "Y" : "N");
  text("apply_active_release_only", m.applyActiveReleaseOnly ? "Y" : "");
  for (const type of Object.keys(m.personalities).sort(cmp)) {
    checkText("personality type", type);
    list("personality", "package", [...m.personalities[type]].sort(cmp), ` type="${esc(type)}"`);
  }
  list("contents", "rpm", [...m.contents].sort(cmp));
  list("requires", "req_patch_id", [...m.requires].sort(cmp));
  list("semantics", "action", [...m.semantics].sort(cmp));
  out.push("</patch>");
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Strict reader

/** A parsed element: name, attributes, children and its text (concatenated character data). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  /** True if non-whitespace text appeared between child elements (mixed content). */
  mixed: boolean;
}

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
      case "amp": return "&";
      case "lt": return "<";
      case "gt": return ">";
      case "quot": return '"';
      case "apos": return "'";
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

function metaError(msg: string): Error {
  return invalidArgument(`metadata.xml: ${msg}`, { reason: "PATCH_METADATA_INVALID" });
}

/**
 * Read metadata.xml with the reference's read-side semantics, plus strictness: root must be
 * `<patch>`; id and sw_version are required and non-empty; single-valued elements may appear at
 * most once and may not have child elements; unknown elements are ignored (as the reference does).
 * Missing text elements read as "". `reboot_required` is false only for exactly "N"; `unremovable`
 * and `apply_active_release_only` are true only for exactly "Y".
 * @throws DomainError invalid-argument naming the problem.
 */
export function parseMetadataXml(input: string | Uint8Array): PatchMetadata {
  const root = parseXml(input);
  if (root.name !== "patch") throw metaError(`root element is <${root.name}>, expected <patch>`);
  if (root.mixed || /[^ \t\r\n]/.test(root.text)) throw metaError("unexpected text directly inside <patch>");
  const single = new Map<string, XmlElement>();
  const SINGLE = ["id", "sw_version", "summary", "description", "install_instructions", "warnings", "status", "unremovable", "reboot_required", "apply_active_release_only", "contents", "requires", "semantics"];
  const personalities: Record<string, string[]> = {};
  const childTexts = (el: XmlElement, child: string): string[] => {
    if (el.mixed || /[^ \t\r\n]/.test(el.text)) throw metaError(`unexpected text inside <${el.name}>`);
    return el.children.map((c) => {
      if (c.name !== child) throw metaError(`unexpected <${c.name}> inside <${el.name}>`);
      if (c.children.length > 0) throw metaError(`<${child}> must hold only text`);
      return c.text;
    });
  };
  for (const c of root.children) {
    if (c.name === "personality") {
      const type = c.attrs.type;
      if (type === undefined) throw metaError("<personality> without a type attribute");
      if (!(PERSONALITY_TYPES as readonly string[]).includes(type)) throw metaError(`unknown personality type '${type}'`);
      if (personalities[type]) throw metaError(`duplicate <personality type="${type}">`);
      personalities[type] = childTexts(c, "package");
      continue;
    }
    if (!SINGLE.includes(c.name)) continue;
    if (single.has(c.name)) throw metaError(`duplicate <${c.name}> element`);
    single.set(c.name, c);
  }
  const txt = (tag: string): string => {
    const el = single.get(tag);
    if (!el) return "";
    if (el.children.length > 0) throw metaError(`<${tag}> must hold only text`);
    return el.text;
  };
  const id = txt("id");
  const swVersion = txt("sw_version");
  if (id === "") throw metaError("missing patch id");
  if (swVersion === "") throw metaError("missing sw_version");
  const listOf = (tag: string, child: string) => {
    const el = single.get(tag);
    return el ? childTexts(el, child) : [];
  };
  const semantics = listOf("semantics", "action");
  for (const a of semantics) if (!(SEMANTIC_ACTIONS as readonly string[]).includes(a)) throw metaError(`unknown semantic action '${a}'`);
  return {
    id,
    swVersion,
    summary: txt("summary"),
    description: txt("description"),
    installInstructions: txt("install_instructions"),
    warnings: txt("warnings"),
    status: txt("status"),
    unremovable: txt("unremovable") === "Y",
    rebootRequired: txt("reboot_required") !== "N",
    applyActiveReleaseOnly: txt("apply_active_release_only") === "Y",
    personalities,
    contents: listOf("contents", "rpm"),
    requires: listOf("requires", "req_patch_id"),
    semantics: semantics as SemanticAction[],
  };
}
