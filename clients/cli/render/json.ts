/**
 * JSON output helpers for `--format json` and `--debug`. The text is terminal-safe: what
 * JSON.stringify leaves raw (DEL, C1 controls, bidi and other format characters) is written as
 * `\uXXXX` escapes, which decode to the same strings.
 */
import { safeJson } from "./safe-text.js";

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === "object" && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** `--debug`: the response JSON with sorted keys and a 4-space indent (like the reference). */
export function debugJson(value: unknown): string {
  return safeJson(String(JSON.stringify(sortKeys(value), null, 4))) + "\n";
}

/** `--format json`: stable 2-space JSON; Dates as ISO strings. */
export function formatJson(value: unknown): string {
  return safeJson(String(JSON.stringify(value, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v), 2))) + "\n";
}

/** One compact JSON document on one line (streams: one line per change). Dates as ISO strings. */
export function jsonLine(value: unknown): string {
  return safeJson(String(JSON.stringify(value, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v)))) + "\n";
}
