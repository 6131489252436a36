import { PatchState, patchStateLabel, repoStateLabel, type Patch } from "../../sdk/src/index.js";
import { safeBlock, safeText } from "./safe-text.js";
import { fillText, left } from "./text.js";

const INDENT20 = " ".repeat(20);

/** One `label value` field; `value` is shown terminal-safe. */
function field(label: string, value: string, width: number): string {
  return fillText(`    ${left(label, 15)} ${safeText(value)}`, { width, subsequentIndent: INDENT20 }) + "\n";
}

/** A multi-line field: its lines (each terminal-safe) under a 20-space indent. */
function multiline(label: string, value: string, width: number): string {
  let out = "";
  safeBlock(value)
    .split("\n")
    .forEach((line, i) => {
      out += i === 0 ? field(label, line, width) : fillText(line, { width, initialIndent: INDENT20, subsequentIndent: INDENT20 }) + "\n";
    });
  return out;
}

/**
 * The reference `show` output for one patch (spec 5.3): `<ID>:` then the non-empty fields as
 * `"    " + label padded to 15 + " " + value` wrapped at `width` with a 20-space hanging indent,
 * then two blank lines. Every value is terminal-safe (render/safe-text.ts): a multi-line value keeps
 * its lines, each under the hanging indent, so no line of it can pose as a field or another patch.
 */
export function renderPatchDetails(p: Patch, width: number): string {
  let out = `${safeText(p.id)}:\n`;
  const state = patchStateLabel(p.patchState);
  if (p.swVersion) out += field("Release:", p.swVersion, width);
  out += field("Patch State:", state, width);
  if (p.patchState === PatchState.PATCH_STATE_NA || p.patchState === PatchState.PATCH_STATE_UNSPECIFIED) {
    out += field("Repo State:", repoStateLabel(p.repoState), width);
  }
  if (p.status) out += field("Status:", p.status, width);
  out += field("Unremovable:", p.unremovable ? "Y" : "N", width);
  out += field("RR:", p.rebootRequired ? "Y" : "N", width);
  if (p.applyActiveReleaseOnly) out += field("Apply Active Release Only:", "Y", width);
  if (p.securityCounter) out += field("Security Counter:", String(p.securityCounter), width);
  if (p.summary) out += field("Summary:", p.summary, width);
  if (p.description) out += multiline("Description:", p.description, width);
  if (p.installInstructions) {
    out += "    Install Instructions:\n";
    for (const line of safeBlock(p.installInstructions).split("\n")) {
      out += fillText(line, { width, initialIndent: INDENT20, subsequentIndent: INDENT20 }) + "\n";
    }
  }
  if (p.warnings) out += multiline("Warnings:", p.warnings, width);
  if (p.requires.length > 0) {
    out += "    Requires:\n";
    for (const id of [...p.requires].sort()) out += INDENT20 + safeText(id) + "\n";
  }
  if (p.contents.length > 0) {
    out += "    Contents:\n";
    for (const rpm of [...p.contents].sort()) out += INDENT20 + safeText(rpm) + "\n";
  }
  return out + "\n\n";
}

/** `show` for several patches, sorted by ID. */
export function renderShow(patches: readonly Patch[], width: number): string {
  return [...patches]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((p) => renderPatchDetails(p, width))
    .join("");
}
