import { expect } from "chai";
import { safeBlock, safeJson, safeText, visibleForm } from "../../../clients/cli/render/safe-text.js";
import { terminalSafe } from "../../../clients/cli/lib/io.js";

/** Characters a terminal acts on or that reorder/hide text; none may survive safeText. */
const ACTIVE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

describe("safe-text: caller-supplied text made safe for a terminal", () => {
  it("leaves ordinary text untouched: ASCII, accents, CJK, emoji (with ZWJ sequences and flags)", () => {
    for (const s of [
      "controller-0",
      "192.168.204.2",
      "Prüfung ĉiu ÆØÅ — “quoted” ‘text’ … 100 %",
      "控制器-0 ワーカー 저장소",
      "שלום עולם مرحبا", // RTL scripts are fine: no explicit overrides
      "👩‍👩‍👧 👍🏽 🇨🇦 🏴󠁧󠁢󠁳󠁣󠁴󠁿 ❤️",
      "नमस्ते क्‍ष", // Devanagari with ZWJ between non-ASCII letters
      "می‌خواهم", // Persian with ZWNJ
      "tab\tinside is kept by safeBlock only",
      "",
    ]) {
      expect(safeBlock(s), s).to.equal(s);
      if (!s.includes("\t")) expect(safeText(s), s).to.equal(s);
    }
  });

  it("shows C0 controls, DEL and C1 controls as \\n \\r \\t or \\xHH", () => {
    expect(safeText("\x1b]0;pwned\x07")).to.equal("\\x1b]0;pwned\\x07");
    expect(safeText("\x1b[31mred\x1b[0m")).to.equal("\\x1b[31mred\\x1b[0m");
    expect(safeText("ok\rFORGED")).to.equal("ok\\rFORGED");
    expect(safeText("a\nb\tc")).to.equal("a\\nb\\tc");
    expect(safeText("abc\b\b\bxyz")).to.equal("abc\\x08\\x08\\x08xyz");
    expect(safeText("\x00\x7f\x85\x9b31m")).to.equal("\\x00\\x7f\\x85\\x9b31m");
    for (let cp = 0; cp <= 0x9f; cp++) {
      if (cp >= 0x20 && cp < 0x7f) continue;
      const out = safeText(String.fromCharCode(cp));
      expect(out, `U+${cp.toString(16)}`).to.match(/^\\(x[0-9a-f]{2}|[nrt])$/);
    }
  });

  it("shows bidi overrides, isolates, marks and invisible format characters as <U+XXXX>", () => {
    expect(safeText("abc\u202edcba")).to.equal("abc<U+202E>dcba");
    const cps = [
      0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c, 0x200b, 0x2060, 0x2061, 0x2064, 0xfeff, 0x00ad, 0x2028, 0x2029,
      0xfff9, 0xe0001,
    ];
    for (const cp of cps) {
      const hex = cp.toString(16).toUpperCase().padStart(4, "0");
      expect(safeText(`a${String.fromCodePoint(cp)}b`), hex).to.equal(`a<U+${hex}>b`);
    }
    expect(safeText("lone \ud800 surrogate")).to.equal("lone <U+D800> surrogate");
  });

  it("shows ZWJ/ZWNJ between ASCII characters and tag characters outside a flag (hidden text)", () => {
    expect(safeText("ad\u200dmin")).to.equal("ad<U+200D>min");
    expect(safeText("ad\u200cmin")).to.equal("ad<U+200C>min");
    expect(safeText("x\u{e0061}\u{e0062}")).to.equal("x<U+E0061><U+E0062>");
  });

  it("keeps lines in safeBlock but shows CR and every other control", () => {
    expect(safeBlock("line 1\nline 2\r\x1b[2Kforged\n")).to.equal("line 1\nline 2\\r\\x1b[2Kforged\n");
    expect(safeBlock("a\u202eb\tc")).to.equal("a<U+202E>b\tc");
  });

  it("is idempotent and its output holds nothing a terminal acts on", () => {
    const hostile = "\x1b]0;t\x07\x1b[31m\r\n\b\x7f\x85\u202e\u2066\u200f\u2028x";
    const once = safeText(hostile);
    expect(safeText(once)).to.equal(once);
    expect(once).to.not.match(ACTIVE);
    expect(safeBlock(safeBlock(hostile))).to.equal(safeBlock(hostile));
    expect(safeBlock(hostile).replace(/\n/g, "")).to.not.match(ACTIVE);
  });

  it("names the visible forms", () => {
    expect(visibleForm("\x1b")).to.equal("\\x1b");
    expect(visibleForm("\n")).to.equal("\\n");
    expect(visibleForm("\u202e")).to.equal("<U+202E>");
    expect(visibleForm("\u{e0001}")).to.equal("<U+E0001>");
  });

  it("safeJson escapes what JSON.stringify leaves raw, and decodes to the same value", () => {
    const value = { s: "\x1b]0;t\x07 \x7f \x85 \u202e \u2066 \u200b \u2028 \u{e0001} ok é 控 👍" };
    const text = safeJson(JSON.stringify(value, null, 2));
    expect(text.replace(/\n/g, "")).to.not.match(ACTIVE);
    expect(text).to.include("\\u202e").and.include("\\u007f").and.include("\\u0085");
    expect(JSON.parse(text)).to.deep.equal(value);
  });

  it("terminalSafe wraps a sink once and filters every chunk", () => {
    let out = "";
    const sink = terminalSafe({ write: (s: string) => (out += s) });
    expect(terminalSafe(sink)).to.equal(sink);
    sink.write("a\x1b[31m\n\tb\u202e\n");
    expect(out).to.equal("a\\x1b[31m\n\tb<U+202E>\n");
  });
});
