/**
 * The HTTP layer's parts (server/transport/http/): multipart bodies through busboy at every chunk
 * split, refusal of malformed bodies, bounded memory, and strict path parsing.
 */
import { expect } from "chai";
import { HttpError } from "../../server/transport/http/errors.js";
import { parseMultipart } from "../../server/transport/http/multipart.js";
import { parseTarget } from "../../server/transport/http/target.js";

async function* chunksOf(buf: Buffer, cut: number[]): AsyncGenerator<Buffer> {
  let i = 0;
  for (const c of cut) {
    yield buf.subarray(i, c);
    i = c;
  }
  yield buf.subarray(i);
}

async function collect(src: AsyncIterable<Buffer>, boundary: string) {
  const out: { name: string; filename: string | undefined; data: string }[] = [];
  for await (const p of parseMultipart(src, `multipart/form-data; boundary="${boundary}"`)) {
    const parts: Buffer[] = [];
    for await (const c of p.body) parts.push(c);
    out.push({ name: p.name, filename: p.filename, data: Buffer.concat(parts).toString("latin1") });
  }
  return out;
}

async function errorOf(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error("expected an HttpError");
}

const B = "XyZ-boundary";
const BODY = Buffer.from(
  `ignored preamble\r\n--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nalpha\r\n--${B}\r\n` +
    `Content-Disposition: form-data; name="file"; filename="001.patch"\r\nContent-Type: application/octet-stream\r\n\r\n` +
    `bin\r\n--${B.slice(0, 6)} not a delimiter\r\n-- also not\r\n\r\n--${B}--\r\nepilogue`,
  "latin1",
);
const EXPECTED = [
  { name: "a", filename: undefined, data: "alpha" },
  { name: "file", filename: "001.patch", data: `bin\r\n--${B.slice(0, 6)} not a delimiter\r\n-- also not\r\n` },
];

describe("http: multipart bodies (busboy)", () => {
  it("parses the same parts at every single split point and at every pair of split points", async () => {
    for (let i = 0; i <= BODY.length; i++) expect(await collect(chunksOf(BODY, [i]), B), `cut ${i}`).to.deep.equal(EXPECTED);
    for (let i = 0; i <= BODY.length; i += 3) for (let j = i; j <= BODY.length; j += 5) expect(await collect(chunksOf(BODY, [i, j]), B)).to.deep.equal(EXPECTED);
  });

  it("parses byte-by-byte input", async () => {
    const cuts = Array.from({ length: BODY.length - 1 }, (_, i) => i + 1);
    expect(await collect(chunksOf(BODY, cuts), B)).to.deep.equal(EXPECTED);
  });

  it("streams: a part's first bytes arrive before the source has ended, memory stays bounded", async () => {
    let produced = 0;
    let sawBeforeEnd = false;
    const total = 64 * 1024 * 1024;
    async function* src(): AsyncGenerator<Buffer> {
      yield Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="big.patch"\r\n\r\n`);
      const block = Buffer.alloc(1024 * 1024, 0x61);
      while (produced < total) {
        produced += block.length;
        yield block;
      }
      yield Buffer.from(`\r\n--${B}--\r\n`);
    }
    let got = 0;
    let maxChunk = 0;
    for await (const p of parseMultipart(src(), `multipart/form-data; boundary=${B}`)) {
      for await (const c of p.body) {
        if (produced < total) sawBeforeEnd = true;
        got += c.length;
        maxChunk = Math.max(maxChunk, c.length);
      }
    }
    expect(got).to.equal(total);
    expect(sawBeforeEnd).to.equal(true);
    expect(maxChunk).to.be.at.most(2 * 1024 * 1024);
  });

  it("refuses malformed bodies with 400", async () => {
    const bad: [string, string][] = [
      ["no boundary at all", "just text"],
      ["truncated part", `--${B}\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc`],
      ["no closing delimiter", `--${B}\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--${B}`],
      ["header without colon", `--${B}\r\nbroken header\r\n\r\nx\r\n--${B}--`],
      ["unterminated headers", `--${B}\r\nContent-Disposition: form-data; name="a"\r\n`],
    ];
    for (const [name, body] of bad) {
      const e = await errorOf(collect(chunksOf(Buffer.from(body), []), B));
      expect(e.status, name).to.equal(400);
      expect(e.message, name).to.match(/^multipart: /);
    }
    const many = Array.from({ length: 20 }, (_, i) => `--${B}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nx\r\n`).join("") + `--${B}--`;
    expect((await errorOf(collect(chunksOf(Buffer.from(many), []), B))).message).to.match(/more than 16 parts/);
    const huge = `--${B}\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\nx\r\n--${B}--`;
    expect((await errorOf(collect(chunksOf(Buffer.from(huge), []), B))).message).to.match(/malformed part header/);
    // busboy skips what is not a form-data part (the upload endpoints then refuse: no 'file' field).
    for (const body of [`--${B}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${B}--`, `--${B}junk\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--${B}--`]) {
      expect(await collect(chunksOf(Buffer.from(body), []), B)).to.deep.equal([]);
    }
  });

  it("reads boundary and disposition parameters (quoted, escaped, RFC 5987) and refuses other content types", async () => {
    const one = (disposition: string, b = "a b:c") => Buffer.from(`--${b}\r\nContent-Disposition: form-data; ${disposition}\r\n\r\nx\r\n--${b}--\r\n`, "latin1");
    const names = async (ct: string, body: Buffer) => {
      const out: (string | undefined)[] = [];
      for await (const p of parseMultipart(chunksOf(body, []), ct)) {
        out.push(p.filename);
        for await (const _ of p.body) void _;
      }
      return out;
    };
    expect(await names('multipart/form-data; charset=utf-8; boundary="a b:c"', one('name="file"; filename="a\\"b.patch"'))).to.deep.equal(['a"b.patch']);
    expect(await names('multipart/form-data; boundary="a b:c"', one("name=file; filename*=UTF-8''%C3%A9.patch"))).to.deep.equal(["é.patch"]);
    expect(await names('multipart/form-data; boundary="a b:c"', one('name="file"; filename="/home/sysadmin/001.patch"'))).to.deep.equal(["/home/sysadmin/001.patch"]);
    for (const ct of ["multipart/mixed; boundary=x", "multipart/form-data", "application/json"]) {
      expect((await errorOf(names(ct, one('name="f"')))).status, ct).to.equal(400);
    }
  });
});

describe("http: request targets", () => {
  it("decodes segments one by one and drops empty ones", () => {
    const t = parseTarget("/patch//show/A%2Bb/?x=1&y=a%20b");
    expect(t.segments).to.deep.equal(["patch", "show", "A+b"]);
    expect(t.query.get("y")).to.equal("a b");
  });

  it("refuses traversal, separators, control characters and bad escapes", () => {
    for (const u of ["/patch/show/..", "/patch/show/%2e%2e", "/patch/show/.", "/a/%2F", "/a/%5C", "/a/%00", "/a/%zz", "http://x/a", "/a?x=%0a"]) {
      expect(() => parseTarget(u), u)
        .to.throw(HttpError)
        .with.property("status", 400);
    }
    expect(() => parseTarget("/" + "a".repeat(20_000)))
      .to.throw(HttpError)
      .with.property("status", 414);
  });
});
