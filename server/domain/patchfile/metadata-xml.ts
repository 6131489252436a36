/**
 * metadata.xml: a writer that reproduces the reference's lxml + minidom `toprettyxml(indent="  ")`
 * output byte for byte, and a reader (over the strict parser in `xml.ts`) with the reference's
 * read-side semantics.
 */
import { invalidArgument } from "../errors.js";
import { INVALID_XML_CHARS, parseXml, type XmlElement } from "./xml.js";

export { parseXml, type XmlElement } from "./xml.js";

/** The six node types the reference knows (a host's subfunctions joined by "-"). */
export const PERSONALITY_TYPES = ["controller", "worker", "worker-lowlatency", "storage", "controller-worker", "controller-worker-lowlatency"] as const;

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
  /**
   * FLOOR (issue 21): the anti-rollback security counter (`<security_counter>`, an element the
   * reference ignores); absent or 0 = none. A positive safe integer.
   */
  securityCounter?: number;
}

/** FLOOR: the largest security counter (a safe integer, so JSON and SQL keep it exactly). */
export const MAX_SECURITY_COUNTER = Number.MAX_SAFE_INTEGER;

/** minidom's _write_data escaping (text and attribute values). */
function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;").replace(/>/g, "&gt;");
}

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
  // FLOOR: last, so everything the reference reads keeps its bytes; written only when set.
  if (m.securityCounter) {
    if (!Number.isSafeInteger(m.securityCounter) || m.securityCounter < 0) throw metaError(`security_counter must be a whole number from 0 to ${MAX_SECURITY_COUNTER}`);
    text("security_counter", String(m.securityCounter));
  }
  out.push("</patch>");
  return out.join("\n") + "\n";
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
  const SINGLE = [
    "id",
    "sw_version",
    "summary",
    "description",
    "install_instructions",
    "warnings",
    "status",
    "unremovable",
    "reboot_required",
    "apply_active_release_only",
    "contents",
    "requires",
    "semantics",
    "security_counter",
  ];
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
  const securityCounter = parseSecurityCounter(txt("security_counter"));
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
    ...(securityCounter ? { securityCounter } : {}),
  };
}

/** FLOOR: `<security_counter>` text: "" (absent) is 0; else decimal digits, at most {@link MAX_SECURITY_COUNTER}. */
function parseSecurityCounter(text: string): number {
  if (text === "") return 0;
  const n = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw metaError(`security_counter must be a whole number from 0 to ${MAX_SECURITY_COUNTER}, got '${text.slice(0, 40)}'`);
  return n;
}
