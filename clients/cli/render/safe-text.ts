/**
 * Terminal-safe text: what the CLIs do to every string they did not write themselves (hostnames,
 * IPs, releases, audit callers, alarm texts, patch metadata, server error messages...) before it
 * reaches a terminal, so that stored text can neither drive the terminal (title, colours, cursor,
 * erasing lines) nor reorder what is shown (bidi overrides).
 *
 * Visible forms (plain ASCII, so the output of {@link safeText} is never changed by a second pass):
 * - `\n`, `\r`, `\t` for newline, carriage return and tab (the two letters `\` `n`, ...);
 * - `\xHH` (two lowercase hex digits) for every other C0 control (U+0000–U+001F, e.g. ESC → `\x1b`,
 *   BEL → `\x07`, BS → `\x08`), DEL (`\x7f`) and the C1 controls U+0080–U+009F (NEL → `\x85`,
 *   CSI → `\x9b`);
 * - `<U+XXXX>` (uppercase hex, 4 to 6 digits) for the invisible characters that change how text
 *   reads: every Unicode format character (category Cf: the bidi embeddings and overrides
 *   U+202A–U+202E, isolates U+2066–U+2069, marks U+200E/U+200F/U+061C, the zero-width space
 *   U+200B, word joiner and invisible operators U+2060–U+2064, the BOM U+FEFF, the soft hyphen
 *   U+00AD, ...), the line and paragraph separators U+2028/U+2029 and lone UTF-16 surrogates.
 *
 * Left as they are: every other character (letters of any script, CJK, emoji, combining marks,
 * variation selectors), and three format characters that ordinary text needs: the zero-width
 * joiner and non-joiner U+200D/U+200C when both neighbours are non-ASCII (emoji sequences, Indic
 * and Persian scripts; between ASCII characters they would only hide a difference, so they are
 * shown), and the tag characters U+E0020–U+E007F directly after a black flag U+1F3F4 (subdivision
 * flags such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿). A backslash is not escaped: `\x1b` in the output is either an escaped ESC
 * or the four characters someone typed; neither does anything to the terminal.
 */

// Cc, Cf, Zl, Zp and lone surrogates: the candidates; `visible` decides the exceptions.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;
// The same set without newline and tab: what a multi-line block escapes.
const UNSAFE_IN_BLOCK = /[^\n\t\P{Cc}]|[\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const ZWNJ = 0x200c;
const ZWJ = 0x200d;
const BLACK_FLAG = 0x1f3f4;

function isTag(cp: number): boolean {
  return cp >= 0xe0020 && cp <= 0xe007f;
}

/** The code point that ends just before `offset` in `s` (undefined at the start). */
function codePointBefore(s: string, offset: number): number | undefined {
  if (offset <= 0) return undefined;
  const low = s.charCodeAt(offset - 1);
  if (low >= 0xdc00 && low <= 0xdfff && offset >= 2) {
    const high = s.charCodeAt(offset - 2);
    if (high >= 0xd800 && high <= 0xdbff) return s.codePointAt(offset - 2);
  }
  return low;
}

/** Whether the format character `ch` at `offset` is one ordinary text needs (see module doc). */
function keep(ch: string, offset: number, s: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp === ZWJ || cp === ZWNJ) {
    const before = codePointBefore(s, offset);
    const after = s.codePointAt(offset + ch.length);
    return before !== undefined && after !== undefined && before > 0x7f && after > 0x7f;
  }
  if (isTag(cp)) {
    // Walk back over the tags of this sequence to the character that starts it.
    let i = offset;
    let prev = codePointBefore(s, i);
    while (prev !== undefined && isTag(prev)) {
      i -= 2;
      prev = codePointBefore(s, i);
    }
    return prev === BLACK_FLAG;
  }
  return false;
}

/** The visible form of one unsafe character. */
export function visibleForm(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const cp = ch.codePointAt(0)!;
  if (cp <= 0x9f) return `\\x${cp.toString(16).padStart(2, "0")}`;
  return `<U+${cp.toString(16).toUpperCase().padStart(4, "0")}>`;
}

function replacer(ch: string, offset: number, s: string): string {
  return keep(ch, offset, s) ? ch : visibleForm(ch);
}

/**
 * One line of caller-supplied text made safe for a terminal: every control character (newlines
 * included), bidi control and invisible format character shown in its visible form (module doc).
 * Ordinary text comes back unchanged. Use it for table cells and one-line fields.
 */
export function safeText(text: string): string {
  return text.replace(UNSAFE, replacer);
}

/**
 * A multi-line block of caller-supplied text (descriptions, server messages) made safe: like
 * {@link safeText} but newlines and tabs stay as they are. Carriage returns are shown (`\r`), so a
 * line cannot be overwritten.
 */
export function safeBlock(text: string): string {
  return text.replace(UNSAFE_IN_BLOCK, replacer);
}

// What JSON.stringify leaves raw although a terminal may act on it: DEL, C1, Cf, Zl, Zp.
const JSON_RAW_UNSAFE = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * JSON text made safe for a terminal without changing what it decodes to: JSON.stringify already
 * escapes C0 controls and lone surrogates; this also writes DEL, the C1 controls and the format
 * characters (bidi overrides...) as `\uXXXX` escapes (inside JSON strings, where alone they can
 * occur). Astral format characters become their surrogate-pair escapes.
 */
export function safeJson(json: string): string {
  return json.replace(JSON_RAW_UNSAFE, (ch) => [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`).join(""));
}
