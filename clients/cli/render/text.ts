/** Text helpers reproducing the Python formatting the reference client uses. */

/** Python `"{:^N}".format(s)`: floor(pad/2) spaces left, the rest right. */
export function center(text: string, width: number): string {
  const pad = width - text.length;
  if (pad <= 0) return text;
  const left = Math.floor(pad / 2);
  return " ".repeat(left) + text + " ".repeat(pad - left);
}

/** Python `"{:<N}".format(s)`. */
export function left(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/** The reference's terminal width: 72, or columns - 4 when the terminal is wider than 60. */
export function terminalWidth(columns: number | undefined): number {
  return columns !== undefined && columns > 60 ? columns - 4 : 72;
}

/** Options of {@link wrapText} (a subset of Python's textwrap.TextWrapper). */
export interface WrapOptions {
  width: number;
  initialIndent?: string;
  subsequentIndent?: string;
}

// Python textwrap splits on whitespace runs and after hyphens inside words ("foo-bar" -> "foo-", "bar").
function splitChunks(text: string): string[] {
  const chunks: string[] = [];
  for (const part of text.split(/(\s+)/)) {
    if (part === "") continue;
    if (/^\s/.test(part)) {
      chunks.push(part);
      continue;
    }
    chunks.push(...part.split(/(?<=[A-Za-z]{2}-)(?=[A-Za-z])/));
  }
  return chunks;
}

/**
 * Python `textwrap.wrap` with its defaults (whitespace replaced by spaces, whitespace dropped at
 * line ends but kept at the start of the paragraph, long words broken).
 */
export function wrapText(text: string, options: WrapOptions): string[] {
  const initialIndent = options.initialIndent ?? "";
  const subsequentIndent = options.subsequentIndent ?? "";
  const chunks = splitChunks(text.replace(/\t/g, "        ").replace(/\s/g, " ")).reverse();
  const lines: string[] = [];
  while (chunks.length > 0) {
    const cur: string[] = [];
    let curLen = 0;
    const indent = lines.length > 0 ? subsequentIndent : initialIndent;
    const width = options.width - indent.length;
    if (chunks[chunks.length - 1]!.trim() === "" && lines.length > 0) chunks.pop();
    while (chunks.length > 0) {
      const l = chunks[chunks.length - 1]!.length;
      if (curLen + l <= width) {
        cur.push(chunks.pop()!);
        curLen += l;
      } else break;
    }
    if (chunks.length > 0 && chunks[chunks.length - 1]!.length > width) {
      const spaceLeft = width < 1 ? 1 : width - curLen;
      const chunk = chunks[chunks.length - 1]!;
      cur.push(chunk.slice(0, spaceLeft));
      chunks[chunks.length - 1] = chunk.slice(spaceLeft);
      curLen = cur.reduce((n, c) => n + c.length, 0);
    }
    if (cur.length > 0 && cur[cur.length - 1]!.trim() === "") {
      curLen -= cur[cur.length - 1]!.length;
      cur.pop();
    }
    if (cur.length > 0) lines.push(indent + cur.join(""));
  }
  return lines;
}

/** Python `textwrap.fill`: the wrapped lines joined with newlines ("" for blank input). */
export function fillText(text: string, options: WrapOptions): string {
  return wrapText(text, options).join("\n");
}

/** Python `print(x)` of a whole output block: every line newline-terminated. */
export function lines(...rows: string[]): string {
  return rows.map((r) => r + "\n").join("");
}
