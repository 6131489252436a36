import type { AppDependency } from "../../sdk/src/index.js";
import { safeText } from "./safe-text.js";
import { left } from "./text.js";

/**
 * query-app-dependencies output: "There are no application dependencies." or the table
 * `Application  Required Patches` (left-aligned, `=` underline, rows sorted by app, IDs joined
 * with ", "); cells terminal-safe.
 */
export function renderAppDependencies(deps: readonly AppDependency[]): string {
  if (deps.length === 0) return "There are no application dependencies.\n";
  const rows = [...deps].sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0)).map((d) => ({ app: safeText(d.app), list: safeText(d.patchIds.join(", ")) }));
  const wApp = Math.max("Application".length, ...rows.map((r) => r.app.length));
  const wList = Math.max("Required Patches".length, ...rows.map((r) => r.list.length));
  let out = `${left("Application", wApp)}  ${left("Required Patches", wList)}\n`;
  out += `${"=".repeat(wApp)}  ${"=".repeat(wList)}\n`;
  for (const r of rows) out += `${left(r.app, wApp)}  ${left(r.list, wList)}\n`;
  return out;
}
