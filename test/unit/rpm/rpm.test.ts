import { expect } from "chai";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { parseRpmFileName, parseRpmHeader, readRpmHeader, rpmvercmp, rpmVersionCompare } from "../../../server/domain/rpm/index.js";
import { DomainError } from "../../../server/domain/errors.js";
import { buildRpm } from "../../lib/rpm-builder.js";

describe("rpmvercmp", () => {
  const cases: [string, string, number][] = [
    ["1.0", "1.0", 0],
    ["1.0", "2.0", -1],
    ["2.0", "1.0", 1],
    ["2.0.1", "2.0.1", 0],
    ["2.0", "2.0.1", -1],
    ["2.0.1a", "2.0.1a", 0],
    ["2.0.1a", "2.0.1", 1],
    ["5.5p1", "5.5p2", -1],
    ["5.5p10", "5.5p1", 1],
    ["10xyz", "10.1xyz", -1],
    ["xyz10", "xyz10.1", -1],
    ["xyz.4", "8", -1],
    ["8", "xyz.4", 1],
    ["1.0010", "1.9", 1],
    ["1.05", "1.5", 0],
    ["1.0", "1", 1],
    ["2.50", "2.5", 1],
    ["fc4", "fc.4", 0],
    ["FC5", "fc4", -1],
    ["2a", "2.0", -1],
    ["1.0a", "1.0", 1],
    ["6.0.rc1", "6.0", 1],
    ["10b2", "10a1", 1],
    ["1.0~rc1", "1.0", -1],
    ["1.0~rc1", "1.0~rc2", -1],
    ["1.0~rc1~git123", "1.0~rc1", -1],
    ["1.0", "1.0~rc1", 1],
    ["1.0^", "1.0", 1],
    ["1.0^git1", "1.0", 1],
    ["1.0^git1", "1.0^git2", -1],
    ["1.0^git1", "1.01", -1],
    ["1.0^20160101", "1.0.1", -1],
    ["1.0~rc1^git1", "1.0~rc1", 1],
    ["1.0^git1~pre", "1.0^git1", -1],
    ["a+", "a_", 0],
    ["+a", "_a", 0],
    ["+", "_", 0],
    ["1.tis", "1.tis", 0],
    ["20.tis", "3.tis", 1],
  ];
  for (const [a, b, want] of cases) {
    it(`compares ${a} vs ${b} as ${want}`, () => {
      expect(rpmvercmp(a, b)).to.equal(want);
      expect(rpmvercmp(b, a)).to.equal(-want || 0);
    });
  }
  it("agrees with rpm --eval rpm.vercmp on a sample", function () {
    let ok = true;
    try {
      execFileSync("rpm", ["--eval", "%{lua: print(rpm.vercmp('1.0', '1.0'))}"], { stdio: "pipe" });
    } catch {
      ok = false;
    }
    if (!ok) this.skip();
    for (const [a, b] of cases.slice(0, 20)) {
      const out = execFileSync("rpm", ["--eval", `%{lua: print(rpm.vercmp('${a}', '${b}'))}`])
        .toString()
        .trim();
      expect(rpmvercmp(a, b), `${a} vs ${b}`).to.equal(Number(out));
    }
  });
});

describe("rpmVersionCompare", () => {
  it("compares epoch first, missing epoch as 0", () => {
    expect(rpmVersionCompare({ epoch: 1, version: "1.0", release: "1" }, { version: "9.0", release: "1" })).to.equal(1);
    expect(rpmVersionCompare({ epoch: null, version: "1.0", release: "1" }, { epoch: "0", version: "1.0", release: "1" })).to.equal(0);
  });
  it("compares release only when both have one", () => {
    expect(rpmVersionCompare({ version: "1.0", release: "2" }, { version: "1.0", release: "1" })).to.equal(1);
    expect(rpmVersionCompare({ version: "1.0", release: "2" }, { version: "1.0" })).to.equal(0);
  });
});

describe("parseRpmFileName", () => {
  it("splits on the last two dashes and the last dot", () => {
    expect(parseRpmFileName("foo-bar-1.0-r3.tis.x86_64.rpm")).to.deep.equal({ name: "foo-bar", epoch: null, version: "1.0", release: "r3.tis", arch: "x86_64" });
  });
  it("accepts a single-character epoch prefix", () => {
    expect(parseRpmFileName("2:foo-1.0-1.noarch.rpm")).to.deep.equal({ name: "foo", epoch: "2", version: "1.0", release: "1", arch: "noarch" });
  });
  it("ignores a directory part", () => {
    expect(parseRpmFileName("/a/b/foo-1-2.x86_64.rpm").name).to.equal("foo");
  });
  for (const bad of ["foo.rpm", "foo-1.x86_64.rpm", "foo-1-2.x86_64", "-1-2.x86_64.rpm", "foo-1-2.rpm"]) {
    it(`rejects ${bad}`, () => {
      expect(() => parseRpmFileName(bad)).to.throw(DomainError, /Filename does not match expected RPM format/);
    });
  }
});

describe("RPM header parser", () => {
  let dir: string;
  let rpm: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "rpmhdr-"));
    rpm = await buildRpm({
      name: "hdr-test",
      version: "2.5",
      release: "7.tis",
      epoch: 3,
      summary: "Header test",
      files: [{ path: "/etc/x", content: "x" }],
      outDir: dir,
    });
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it("reads name, epoch, version, release, arch and summary of a real rpmbuild package", async () => {
    const h = await readRpmHeader(rpm);
    expect(h).to.include({ name: "hdr-test", epoch: 3, version: "2.5", release: "7.tis", arch: "x86_64", summary: "Header test", isSource: false });
    const q = execFileSync("rpm", ["-qp", "--nosignature", "--qf", "%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}", rpm]).toString();
    expect(q).to.equal("hdr-test|3|2.5|7.tis|x86_64");
  });
  it("reads a noarch package without epoch", async () => {
    const p = await buildRpm({ name: "na", version: "1", release: "1", arch: "noarch", outDir: dir });
    const h = await readRpmHeader(p);
    expect(h).to.include({ name: "na", epoch: null, arch: "noarch" });
  });

  const mutate = async (f: (b: Buffer) => Buffer): Promise<Buffer> => f(Buffer.from(await fsp.readFile(rpm)));
  const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
    [
      "bad lead magic",
      (b) => {
        b[0] = 0;
        return b;
      },
      /bad lead magic/,
    ],
    ["truncated lead", (b) => b.subarray(0, 50), /truncated lead/],
    [
      "bad signature header magic",
      (b) => {
        b[96] = 0;
        return b;
      },
      /bad signature header magic/,
    ],
    [
      "absurd signature entry count",
      (b) => {
        b.writeUInt32BE(0x7fffffff, 96 + 8);
        return b;
      },
      /absurd entry count/,
    ],
    [
      "oversized signature data",
      (b) => {
        b.writeUInt32BE(0x7fffffff, 96 + 12);
        return b;
      },
      /exceeds the limit/,
    ],
    ["truncated header", (b) => b.subarray(0, 2000), /truncated/],
    [
      "unsupported lead version",
      (b) => {
        b[4] = 9;
        return b;
      },
      /unsupported lead version/,
    ],
    ["empty input", () => Buffer.alloc(0), /truncated lead/],
  ];
  for (const [what, f, re] of cases) {
    it(`rejects ${what}`, async () => {
      const b = await mutate(f);
      try {
        await parseRpmHeader(b, "x.rpm");
        expect.fail("accepted");
      } catch (e) {
        expect(e).to.be.instanceOf(DomainError);
        expect((e as Error).message)
          .to.match(/^Invalid RPM x\.rpm: /)
          .and.match(re);
      }
    });
  }
});
