/**
 * The StarlingX CLIs' table look (cgts-client / fmclient print through Python prettytable):
 *
 * ```
 * +----+--------------+
 * | id | hostname     |
 * +----+--------------+
 * | 1  | controller-0 |
 * +----+--------------+
 * ```
 *
 * One space of padding either side of every cell, `+`/`-`/`|` borders, the header row framed by
 * rules, no rule between data rows. An empty table still prints its header and frame.
 *
 * Cell values are caller-supplied text: each is made terminal-safe ({@link safeText}), so control
 * characters, bidi controls and newlines show as visible escapes (`\n`, `\x1b`, `<U+202E>`) and
 * one data row is always one line. (prettytable would span a value with newlines over several
 * lines; that let a stored string print rows of its own, so it is not reproduced.)
 */
import { safeText } from "./safe-text.js";

/** prettytable alignments: l(eft), c(enter), r(ight). cgts-client sets every column to "l". */
export type Align = "l" | "c" | "r";

/** Options of {@link renderTable}. */
export interface TableOptions {
  /** One alignment per column (default "l", like `pt.align = 'l'` in cgts-client). */
  align?: readonly Align[];
}

/** prettytable's `_justify`: centring puts the odd space right of odd-length text, left of even. */
function justify(text: string, width: number, align: Align): string {
  const excess = width - text.length;
  if (excess <= 0) return text;
  if (align === "l") return text + " ".repeat(excess);
  if (align === "r") return " ".repeat(excess) + text;
  const half = Math.floor(excess / 2);
  if (excess % 2 === 0) return " ".repeat(half) + text + " ".repeat(half);
  return text.length % 2 === 1 ? " ".repeat(half) + text + " ".repeat(half + 1) : " ".repeat(half + 1) + text + " ".repeat(half);
}

/**
 * A cell value as prettytable prints it (Python `str()` of the value), terminal-safe: a newline in
 * a value shows as `\n` instead of breaking the row.
 */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (value instanceof Date) return starlingxTimestamp(value);
  return safeText(String(value));
}

/** Renders a prettytable-style table; every line ends with a newline. */
export function renderTable(headers: readonly string[], rows: readonly (readonly unknown[])[], options: TableOptions = {}): string {
  const cells = rows.map((row) => headers.map((_, i) => cellText(row[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const align = (i: number): Align => options.align?.[i] ?? "l";
  const rule = "+" + widths.map((w) => "-".repeat(w + 2)).join("+") + "+\n";
  const line = (parts: readonly string[]) => "| " + parts.map((p, i) => justify(p, widths[i]!, align(i))).join(" | ") + " |\n";
  let out = rule + line(headers) + rule;
  for (const row of cells) out += line(row);
  return out + rule;
}

/**
 * cgts-client's `print_tuple_list` / fmclient's `print_dict`: a two-column Property / Value table
 * with the pairs in the order given.
 */
export function renderPropertyTable(pairs: readonly (readonly [string, unknown])[]): string {
  return renderTable(["Property", "Value"], pairs);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * The timestamp form StarlingX prints (Python `datetime.isoformat()` of a naive UTC time with
 * microseconds): `2019-08-21T14:03:27.512000`.
 */
export function starlingxTimestamp(date: Date | undefined): string {
  if (!date || Number.isNaN(date.getTime())) return "None";
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}` +
    `.${pad(date.getUTCMilliseconds(), 3)}000`
  );
}

/** A UTC time to the second, for the admin tables: `2019-08-21T14:03:27Z` ("" when unset). */
export function utcSeconds(date: Date | undefined): string {
  if (!date || Number.isNaN(date.getTime())) return "";
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
