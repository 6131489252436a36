import { PatchState, patchStateLabel, repoStateLabel, type Patch } from "../../sdk/src/index.js";
import { safeText } from "./safe-text.js";
import { center, left } from "./text.js";

/**
 * The reference patch table (spec 5.1): `Patch ID  RR  Release  [Repo State]  Patch State`,
 * headers centred, `=` underline, rows sorted by ID, ID left-aligned and the rest centred, two
 * spaces between columns; Repo State only when some patch has patch state n/a; a blank line after.
 * Cells are terminal-safe ({@link safeText}).
 */
export function renderPatchTable(patches: readonly Patch[]): string {
  const rows = [...patches]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((p) => ({
      id: safeText(p.id),
      rr: p.rebootRequired ? "Y" : "N",
      release: safeText(p.swVersion),
      repo: repoStateLabel(p.repoState),
      state: patchStateLabel(p.patchState),
      na: p.patchState === PatchState.PATCH_STATE_NA || p.patchState === PatchState.PATCH_STATE_UNSPECIFIED,
    }));
  const showRepo = rows.some((r) => r.na);
  const w = {
    id: Math.max("Patch ID".length, ...rows.map((r) => r.id.length)),
    rr: 2,
    release: Math.max("Release".length, ...rows.map((r) => r.release.length)),
    repo: Math.max("Repo State".length, ...rows.map((r) => r.repo.length)),
    state: Math.max("Patch State".length, ...rows.map((r) => r.state.length)),
  };
  const cols = (cells: string[]) => cells.join("  ") + "\n";
  let out = "";
  const header = [center("Patch ID", w.id), center("RR", w.rr), center("Release", w.release)];
  const rule = ["=".repeat(w.id), "=".repeat(w.rr), "=".repeat(w.release)];
  if (showRepo) {
    header.push(center("Repo State", w.repo));
    rule.push("=".repeat(w.repo));
  }
  header.push(center("Patch State", w.state));
  rule.push("=".repeat(w.state));
  out += cols(header) + cols(rule);
  for (const r of rows) {
    const cells = [left(r.id, w.id), center(r.rr, w.rr), center(r.release, w.release)];
    if (showRepo) cells.push(center(r.repo, w.repo));
    cells.push(center(r.state, w.state));
    out += cols(cells);
  }
  return out + "\n";
}
