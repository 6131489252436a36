import { expect } from "chai";
import { createHash, generateKeyPairSync } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { execFileSync } from "node:child_process";
import { readPatch, type TrustStore } from "../../../server/domain/patchfile/index.js";
import { TarStreamParser } from "../../../server/domain/patchfile/tar-format.js";
import { DomainError } from "../../../server/domain/errors.js";
import { buildRpm } from "../../lib/rpm-builder.js";
import { buildTestPatch, craftPatch, DEV_PUBKEY, rawTar, simpleMetadataXml, starlingxTrust, type CraftOptions, type TestPatch } from "../../lib/patch-fixtures.js";

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe("patch writer and reader", () => {
  let dir: string;
  let work: string;
  let trust: TrustStore;
  let patch: TestPatch;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "patchrw-"));
    work = path.join(dir, "work");
    trust = await starlingxTrust();
    const script = path.join(dir, "check.sh");
    await fsp.writeFile(script, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    patch = await buildTestPatch({
      dir,
      id: "STX_19.12_PATCH_0007",
      summary: "Fix <things> & more",
      description: "line1\nline2",
      status: "REL",
      rebootRequired: false,
      requires: ["STX_19.12_PATCH_0005"],
      preApply: script,
      rpms: [
        { name: "sysinv", version: "1.0", release: "20.tis", files: [{ path: "/usr/bin/sysinv", content: "#!/bin/sh\n", mode: 0o755 }] },
        { name: "sysinv-helper", version: "1.0", release: "1.tis", personalities: ["controller", "controller-worker"] },
      ],
    });
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it("writes a gzip file whose tar lists the members in canonical order", () => {
    execFileSync("gzip", ["-t", patch.path]);
    const list = execFileSync("tar", ["tzf", patch.path]).toString().trim().split("\n");
    expect(list).to.deep.equal(["metadata.tar", "software.tar", "semantics.tar", "signature", "signature.v2"]);
    expect(execFileSync("tar", ["tvzf", patch.path]).toString()).to.not.match(/^[^-]/m);
  });

  it("writes members that md5sum, openssl and tar agree with", async () => {
    const x = path.join(dir, "extract");
    await fsp.mkdir(x);
    execFileSync("tar", ["xzf", patch.path, "-C", x]);
    const md5sum = execFileSync("md5sum", ["metadata.tar", "software.tar", "semantics.tar"], { cwd: x }).toString();
    let v = (1n << 128n) - 1n;
    for (const line of md5sum.trim().split("\n")) v ^= BigInt("0x" + line.split(/\s+/)[0]);
    expect(await fsp.readFile(path.join(x, "signature"), "latin1")).to.equal(v.toString(16));
    const concat = Buffer.concat(await Promise.all(["metadata.tar", "software.tar", "semantics.tar"].map((n) => fsp.readFile(path.join(x, n)))));
    await fsp.writeFile(path.join(x, "concat.bin"), concat);
    const out = execFileSync("openssl", [
      "dgst",
      "-sha256",
      "-sigopt",
      "rsa_padding_mode:pss",
      "-sigopt",
      "rsa_pss_saltlen:32",
      "-verify",
      DEV_PUBKEY,
      "-signature",
      path.join(x, "signature.v2"),
      path.join(x, "concat.bin"),
    ]).toString();
    expect(out).to.contain("Verified OK");
    expect(execFileSync("tar", ["tf", path.join(x, "metadata.tar")]).toString()).to.equal("metadata.xml\n");
    expect(execFileSync("tar", ["tf", path.join(x, "semantics.tar")]).toString()).to.equal("pre-apply/STX_19.12_PATCH_0007\n");
    expect(execFileSync("tar", ["tf", path.join(x, "software.tar")]).toString()).to.equal("sysinv-1.0-20.tis.x86_64.rpm\nsysinv-helper-1.0-1.tis.x86_64.rpm\n");
    expect(execFileSync("tar", ["xOf", path.join(x, "metadata.tar"), "metadata.xml"]).toString()).to.equal(patch.metadataXml);
  });

  it("reads back exactly what was built, from a path", async () => {
    const r = await readPatch(patch.path, { trust, workDir: work });
    try {
      expect(r.signer).to.equal("dev");
      expect(r.metadataXml).to.equal(patch.metadataXml);
      expect(r.metadata).to.deep.equal(patch.metadata);
      expect(r.metadata.personalities).to.deep.equal({ controller: ["sysinv-helper"], "controller-worker": ["sysinv-helper"] });
      expect(r.members.map((m) => m.name)).to.deep.equal(["metadata.tar", "software.tar", "semantics.tar", "signature", "signature.v2"]);
      for (const rpm of r.rpms) {
        const src = patch.rpmPaths.find((p) => path.basename(p) === rpm.fileName)!;
        expect(rpm.sha256).to.equal(
          createHash("sha256")
            .update(await fsp.readFile(src))
            .digest("hex"),
        );
        expect(
          createHash("sha256")
            .update(await fsp.readFile(rpm.path))
            .digest("hex"),
        ).to.equal(rpm.sha256);
      }
      expect(r.rpms.map((x) => [x.name, x.version, x.release, x.arch])).to.deep.equal([
        ["sysinv", "1.0", "20.tis", "x86_64"],
        ["sysinv-helper", "1.0", "1.tis", "x86_64"],
      ]);
      expect(r.semantics.map((s) => s.action)).to.deep.equal(["pre-apply"]);
      expect(await fsp.readFile(r.semantics[0].path, "utf8")).to.equal("#!/bin/sh\nexit 0\n");
      expect((await fsp.stat(r.dir)).mode & 0o777).to.equal(0o700);
    } finally {
      await r.cleanup();
    }
    expect(await fsp.readdir(work)).to.deep.equal([]);
  });

  it("hashing on the hash lanes gives exactly what hashing here gives, also for reads side by side", async () => {
    const here = await readPatch(patch.path, { trust, workDir: work });
    const facts = (r: typeof here) => ({
      signer: r.signer,
      members: r.members.map((m) => [m.name, m.size, m.md5, m.sha256 === "" ? "" : "sha"]),
      rpms: r.rpms.map((x) => [x.fileName, x.size, x.sha256]),
    });
    const expected = facts(here);
    await here.cleanup();
    const bytes = await fsp.readFile(patch.path);
    const onLanes = await Promise.all([1, 7, 4096, 65536].map((n) => readPatch(chunked(bytes, n), { trust, workDir: work, hashLanesFromBytes: 0 })));
    for (const r of onLanes) {
      expect(facts(r)).to.deep.equal(expected);
      await r.cleanup();
    }
    expect(await fsp.readdir(work)).to.deep.equal([]);
  });

  it("reads from a stream in tiny chunks", async () => {
    const bytes = await fsp.readFile(patch.path);
    const r = await readPatch(chunked(bytes, 7), { trust, workDir: work });
    expect(r.metadata.id).to.equal("STX_19.12_PATCH_0007");
    await r.cleanup();
  });

  it("accepts members in a non-canonical order (signature.v2 hashed from the spooled files)", async () => {
    const b = await fsp.readFile(patch.path);
    const entries = await tarEntries(zlib.gunzipSync(b));
    const reordered = [entries[4], entries[3], entries[2], entries[1], entries[0]];
    const r = await readPatch(chunked(zlib.gzipSync(rawTar(reordered)), 4096), { trust, workDir: work });
    expect(r.signer).to.equal("dev");
    await r.cleanup();
  });

  it("aborts on signal and removes its temp dir", async () => {
    const ac = new AbortController();
    const bytes = await fsp.readFile(patch.path);
    const src = (async function* () {
      yield bytes.subarray(0, 100);
      ac.abort(new Error("stop now"));
      yield bytes.subarray(100);
    })();
    const e = await readPatch(src, { trust, workDir: work, signal: ac.signal }).catch((x) => x);
    expect(e).to.be.instanceOf(Error);
    expect(e.message).to.equal("stop now");
    expect(await fsp.readdir(work)).to.deep.equal([]);
  });

  it("reports not-found for a missing file", async () => {
    const e = await readPatch(path.join(dir, "nope.patch"), { trust, workDir: work }).catch((x) => x);
    expect(e).to.be.instanceOf(DomainError);
    expect(e.kind).to.equal("not-found");
    expect(e.message).to.match(/^File does not exist: /);
  });

  it("returns signer unknown when untrusted and requireTrusted is false", async () => {
    const r = await readPatch(patch.path, { trust: { keys: [] }, workDir: work, requireTrusted: false });
    expect(r.signer).to.equal("unknown");
    expect(r.trusted).to.equal(false);
    await r.cleanup();
  });
});

/** Split a tar into raw entries (regular files only), for re-assembly in tests. */
async function tarEntries(tar: Buffer): Promise<{ name: string; data: Buffer }[]> {
  const out: { name: string; data: Buffer; parts: Buffer[] }[] = [];
  const p = new TarStreamParser("t", (e) => {
    const rec = { name: e.name, data: Buffer.alloc(0), parts: [] as Buffer[] };
    out.push(rec);
    return { write: (c) => void rec.parts.push(Buffer.from(c)), end: () => void (rec.data = Buffer.concat(rec.parts)) };
  });
  await p.write(tar);
  await p.finish();
  return out;
}

describe("patch reader rejects malformed input", () => {
  let dir: string;
  let work: string;
  let trust: TrustStore;
  let rpmA: { name: string; data: Buffer };
  let rpmB: { name: string; data: Buffer };
  let good: CraftOptions;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "patchbad-"));
    work = path.join(dir, "work");
    trust = await starlingxTrust();
    const a = await buildRpm({ name: "pkg-a", version: "1.0", release: "2.tis", outDir: dir });
    const b = await buildRpm({ name: "pkg-b", version: "3", release: "1", arch: "noarch", outDir: dir });
    rpmA = { name: path.basename(a), data: await fsp.readFile(a) };
    rpmB = { name: path.basename(b), data: await fsp.readFile(b) };
    good = { metadataXml: simpleMetadataXml({ contents: [rpmA.name, rpmB.name] }), rpms: [rpmA, rpmB] };
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  async function expectReject(bytes: Buffer, re: RegExp, lanes = false): Promise<void> {
    const e = await readPatch(chunked(bytes, 1000), { trust, workDir: work, ...(lanes ? { hashLanesFromBytes: 0 } : {}) }).then(
      async (r) => {
        await r.cleanup();
        return null;
      },
      (x) => x,
    );
    expect(e, "patch was accepted").to.not.equal(null);
    expect(e).to.be.instanceOf(DomainError);
    expect(e.kind).to.equal("invalid-argument");
    expect(e.message).to.match(re);
    expect(await fsp.readdir(work)).to.deep.equal([]);
  }

  it("accepts the well-formed baseline", async () => {
    const r = await readPatch(craftPatch(good), { trust, workDir: work });
    expect(r.rpms.length).to.equal(2);
    await r.cleanup();
    const ok = await readPatch(chunked(craftPatch(good), 1000), { trust, workDir: work });
    expect(ok.rpms.length).to.equal(2);
    await ok.cleanup();
  });

  const xml = (o: Partial<Parameters<typeof simpleMetadataXml>[0]>) => () => simpleMetadataXml({ contents: [rpmA.name, rpmB.name], ...o });
  const cases: [string, () => Buffer, RegExp][] = [
    ["an empty file", () => Buffer.alloc(0), /^patch file: empty file \(not a gzip file\)$/],
    ["a non-gzip file", () => Buffer.from("hello world, not gzip"), /^patch file: not a gzip file \(bad magic\)$/],
    ["a plain tar", () => rawTar([{ name: "x", data: Buffer.from("x") }]), /not a gzip file/],
    ["a truncated gzip header", () => craftPatch(good).subarray(0, 5), /^patch file: truncated gzip header$/],
    [
      "truncated compressed data",
      () => {
        const b = craftPatch(good);
        return b.subarray(0, b.length - 100);
      },
      /^patch file: truncated gzip stream/,
    ],
    [
      "a missing gzip trailer",
      () => {
        const b = craftPatch(good);
        return b.subarray(0, b.length - 4);
      },
      /^patch file: truncated gzip stream \(missing trailer\)$/,
    ],
    [
      "a bad gzip CRC",
      () => {
        const b = Buffer.from(craftPatch(good));
        b[b.length - 6] ^= 0xff;
        return b;
      },
      /^patch file: gzip CRC mismatch/,
    ],
    [
      "a bad gzip length",
      () => {
        const b = Buffer.from(craftPatch(good));
        b[b.length - 2] ^= 0xff;
        return b;
      },
      /^patch file: gzip length mismatch/,
    ],
    [
      "trailing garbage after the gzip stream",
      () => Buffer.concat([craftPatch(good), Buffer.from("garbage")]),
      /^patch file: unexpected data after the gzip stream \(7 bytes\)$/,
    ],
    ["trailing zeros after the gzip stream", () => Buffer.concat([craftPatch(good), Buffer.alloc(512)]), /^patch file: unexpected data after the gzip stream/],
    ["a second gzip member", () => Buffer.concat([craftPatch(good), zlib.gzipSync(Buffer.alloc(1024))]), /^patch file: concatenated gzip members are not supported$/],
    [
      "corrupt deflate data",
      () => {
        const b = Buffer.from(craftPatch(good));
        for (let i = 20; i < 40; i++) b[i] ^= 0x55;
        return b;
      },
      /^patch file: (corrupt gzip data|gzip CRC mismatch)/,
    ],
    ["gzip of a non-tar", () => zlib.gzipSync(Buffer.alloc(2048, 0x41)), /^patch: header checksum mismatch/],
    ["a truncated tar", () => zlib.gzipSync(craftTar(good).subarray(0, 1536)), /^patch: truncated archive inside member 'metadata.tar'$/],
    ["a tar without end marker", () => zlib.gzipSync(rawTarNoEnd(good)), /^patch: truncated archive \(missing end-of-archive marker\)$/],
    [
      "non-zero data after the tar end marker",
      () => zlib.gzipSync(Buffer.concat([craftTar(good), Buffer.from("x")])),
      /^patch: unexpected data after the end-of-archive marker$/,
    ],
    ["a missing signature", () => craftPatch({ ...good, outer: (m) => m.filter((x) => x.name !== "signature") }), /^patch: missing member 'signature'$/],
    ["a missing metadata.tar", () => craftPatch({ ...good, outer: (m) => m.filter((x) => x.name !== "metadata.tar") }), /^patch: missing member 'metadata.tar'$/],
    ["a missing software.tar", () => craftPatch({ ...good, outer: (m) => m.filter((x) => x.name !== "software.tar") }), /^patch: missing member 'software.tar'$/],
    ["a missing signature.v2", () => craftPatch({ ...good, signatureV2: null }), /^Patch has not been signed: missing member 'signature.v2'$/],
    ["a duplicate member", () => craftPatch({ ...good, outer: (m) => [...m, m[2]] }), /^patch: duplicate member 'signature'$/],
    ["an unknown member", () => craftPatch({ ...good, outer: (m) => [...m, { name: "README", data: Buffer.from("hi") }] }), /^patch: unknown member 'README'$/],
    [
      "a member in a directory",
      () => craftPatch({ ...good, outer: (m) => m.map((x) => (x.name === "signature" ? { ...x, name: "sub/signature" } : x)) }),
      /^patch: member 'sub\/signature' contains a directory$/,
    ],
    ["a member with ..", () => craftPatch({ ...good, outer: (m) => [{ name: "../evil", data: Buffer.from("x") }, ...m] }), /^patch: member '..\/evil' contains '..'$/],
    [
      "an absolute member name",
      () => craftPatch({ ...good, outer: (m) => [{ name: "/etc/passwd", data: Buffer.from("x") }, ...m] }),
      /^patch: member '\/etc\/passwd' has an absolute path$/,
    ],
    [
      "a symlink member",
      () => craftPatch({ ...good, outer: (m) => [{ name: "signature.v2", type: "2", linkname: "/etc/shadow" }, ...m.filter((x) => x.name !== "signature.v2")] }),
      /^patch: member 'signature.v2' is a symbolic link, only regular files are allowed$/,
    ],
    ["a hard link member", () => craftPatch({ ...good, outer: (m) => [{ name: "x", type: "1", linkname: "metadata.tar" }, ...m] }), /^patch: member 'x' is a hard link/],
    ["a device member", () => craftPatch({ ...good, outer: (m) => [{ name: "x", type: "3" }, ...m] }), /^patch: member 'x' is a character device/],
    ["a directory member", () => craftPatch({ ...good, outer: (m) => [{ name: "d/", type: "5" }, ...m] }), /^patch: member 'd\/' is a directory/],
    ["a FIFO member", () => craftPatch({ ...good, outer: (m) => [{ name: "p", type: "6" }, ...m] }), /^patch: member 'p' is a FIFO/],
    ["an oversized signature", () => craftPatch({ ...good, signature: "f".repeat(2000) }), /^patch: member 'signature' is too large \(2000 bytes, limit 1024\)$/],
    [
      "an oversized metadata.tar",
      () => craftPatch({ ...good, metadataTar: rawTar([{ name: "metadata.xml", data: Buffer.alloc(1100 * 1024, 0x20) }]) }),
      /^patch: member 'metadata.tar' is too large/,
    ],
    [
      "a bad md5 signature",
      () => craftPatch({ ...good, signature: "1234abcd" }),
      /^Patch failed verification: member 'signature' does not match the md5 of metadata.tar, software.tar$/,
    ],
    [
      "a signature.v2 by an untrusted key",
      () => craftPatch({ ...good, keyPem: untrustedKey }),
      /^Patch failed verification: member 'signature.v2' does not verify with any trusted key \(tried formal, dev\)$/,
    ],
    ["a PSS signature with salt 20", () => craftPatch({ ...good, scheme: 20 }), /^Patch failed verification: member 'signature.v2' does not verify/],
    ["a truncated signature.v2", () => craftPatch({ ...good, signatureV2: Buffer.alloc(100, 1) }), /^Patch failed verification: member 'signature.v2'/],
    [
      "metadata.tar with two members",
      () =>
        craftPatch({
          ...good,
          metadataTar: rawTar([
            { name: "metadata.xml", data: Buffer.from(good.metadataXml!) },
            { name: "extra", data: Buffer.from("x") },
          ]),
        }),
      /^metadata.tar: must contain exactly one member 'metadata.xml' \(found 'metadata.xml', 'extra'\)$/,
    ],
    [
      "metadata.tar with a wrong member name",
      () => craftPatch({ ...good, metadataTar: rawTar([{ name: "meta.xml", data: Buffer.from(good.metadataXml!) }]) }),
      /^metadata.tar: must contain exactly one member 'metadata.xml' \(found 'meta.xml'\)$/,
    ],
    [
      "metadata.tar holding a symlink",
      () => craftPatch({ ...good, metadataTar: rawTar([{ name: "metadata.xml", type: "2", linkname: "/etc/passwd" }]) }),
      /^metadata.tar: member 'metadata.xml' is a symbolic link/,
    ],
    ["metadata.xml that is not well-formed", () => craftPatch({ ...good, metadataXml: "<patch><id>x</patch>" }), /^metadata.xml is not well-formed: mismatched tag/],
    [
      "metadata.xml with a DOCTYPE",
      () => craftPatch({ ...good, metadataXml: '<?xml version="1.0"?><!DOCTYPE patch [<!ENTITY a "b">]><patch/>' }),
      /^metadata.xml is not well-formed: DOCTYPE/,
    ],
    ["metadata.xml without an id", () => craftPatch({ ...good, metadataXml: "<patch><sw_version>1</sw_version></patch>" }), /^metadata.xml: missing patch id$/],
    ["metadata.xml without sw_version", () => craftPatch({ ...good, metadataXml: "<patch><id>A</id></patch>" }), /^metadata.xml: missing sw_version$/],
    ["an id with a slash", () => craftPatch({ ...good, metadataXml: xml({ id: "a/b" })() }), /^metadata.xml: unsafe patch id 'a\/b'/],
    ["an id starting with a dot", () => craftPatch({ ...good, metadataXml: xml({ id: ".hidden" })() }), /^metadata.xml: unsafe patch id '.hidden'/],
    ["an overlong id", () => craftPatch({ ...good, metadataXml: xml({ id: "A".repeat(101) })() }), /^metadata.xml: unsafe patch id 'A+' \(allowed/],
    ["an unsafe sw_version", () => craftPatch({ ...good, metadataXml: xml({ swVersion: "../19" })() }), /^metadata.xml: unsafe sw_version '..\/19'$/],
    [
      "contents listing a missing rpm",
      () => craftPatch({ ...good, metadataXml: xml({ contents: [rpmA.name, rpmB.name, "ghost-1-1.x86_64.rpm"] })() }),
      /^metadata.xml: contents lists 'ghost-1-1.x86_64.rpm' which is not in software.tar$/,
    ],
    [
      "an rpm not listed in contents",
      () => craftPatch({ ...good, metadataXml: xml({ contents: [rpmA.name] })() }),
      /^software.tar: member 'pkg-b-3-1.noarch.rpm' is not listed in the metadata contents$/,
    ],
    ["duplicate contents entries", () => craftPatch({ ...good, metadataXml: xml({ contents: [rpmA.name, rpmA.name, rpmB.name] })() }), /^metadata.xml: duplicate <rpm>/],
    [
      "an rpm whose header does not parse",
      () => craftPatch({ ...good, rpms: [{ name: rpmA.name, data: Buffer.from("not an rpm at all, definitely not".repeat(10)) }, rpmB] }),
      /^Invalid RPM software.tar member 'pkg-a-1.0-2.tis.x86_64.rpm': bad lead magic/,
    ],
    [
      "an rpm whose header does not match its file name",
      () =>
        craftPatch({
          ...good,
          metadataXml: xml({ contents: ["pkg-a-9.9-2.tis.x86_64.rpm", rpmB.name] })(),
          rpms: [{ name: "pkg-a-9.9-2.tis.x86_64.rpm", data: rpmA.data }, rpmB],
        }),
      /^software.tar: member 'pkg-a-9.9-2.tis.x86_64.rpm' does not match its RPM header \(pkg-a-1.0-2.tis.x86_64.rpm\)$/,
    ],
    [
      "a non-rpm file name in software.tar",
      () => craftPatch({ ...good, rpms: [rpmA, rpmB, { name: "evil.sh", data: Buffer.from("x") }] }),
      /^software.tar: member 'evil.sh' is not a safe RPM file name$/,
    ],
    [
      "a directory in software.tar",
      () =>
        craftPatch({
          ...good,
          softwareTar: rawTar([
            { name: rpmA.name, data: rpmA.data },
            { name: "sub/" + rpmB.name, data: rpmB.data },
          ]),
        }),
      /^software.tar: member 'sub\/pkg-b-3-1.noarch.rpm' contains a directory$/,
    ],
    [
      "a symlink in software.tar",
      () =>
        craftPatch({
          ...good,
          softwareTar: rawTar([
            { name: rpmA.name, data: rpmA.data },
            { name: rpmB.name, type: "2", linkname: "/etc/shadow" },
          ]),
        }),
      /^software.tar: member 'pkg-b-3-1.noarch.rpm' is a symbolic link/,
    ],
    ["a duplicate rpm in software.tar", () => craftPatch({ ...good, rpms: [rpmA, rpmB, rpmA] }), /^software.tar: duplicate member 'pkg-a-1.0-2.tis.x86_64.rpm'$/],
    [
      "a truncated software.tar",
      () => craftPatch({ ...good, softwareTar: rawTar([{ name: rpmA.name, data: rpmA.data }], { noTrailer: true }).subarray(0, 2048) }),
      /^software.tar: truncated archive inside member 'pkg-a-1.0-2.tis.x86_64.rpm'$/,
    ],
    [
      "a personality naming a package not in the contents",
      () => craftPatch({ ...good, metadataXml: xml({ personalities: { controller: ["nosuch"] } })() }),
      /^metadata.xml: personality 'controller' names package 'nosuch' which is not in the contents$/,
    ],
    [
      "semantics listed without semantics.tar",
      () => craftPatch({ ...good, metadataXml: xml({ semantics: ["pre-apply"] })() }),
      /^patch: missing member 'semantics.tar' \(metadata lists semantics pre-apply\)$/,
    ],
    [
      "semantics.tar without listed semantics",
      () => craftPatch({ ...good, semanticsTar: rawTar([{ name: "pre-apply/TEST_PATCH_0001", data: Buffer.from("x") }]) }),
      /^patch: member 'semantics.tar' present but metadata lists no semantics$/,
    ],
    [
      "a semantics.tar member for another id",
      () => craftPatch({ ...good, metadataXml: xml({ semantics: ["pre-apply"] })(), semanticsTar: rawTar([{ name: "pre-apply/OTHER", data: Buffer.from("x") }]) }),
      /^semantics.tar: unexpected member 'pre-apply\/OTHER' \(expected pre-apply\/TEST_PATCH_0001 or pre-remove\/TEST_PATCH_0001\)$/,
    ],
    [
      "a listed semantic missing from semantics.tar",
      () =>
        craftPatch({
          ...good,
          metadataXml: xml({ semantics: ["pre-apply", "pre-remove"] })(),
          semanticsTar: rawTar([{ name: "pre-apply/TEST_PATCH_0001", data: Buffer.from("x") }]),
        }),
      /^semantics.tar: missing member 'pre-remove\/TEST_PATCH_0001' listed in the metadata semantics$/,
    ],
    [
      "a semantics.tar with a directory entry",
      () =>
        craftPatch({
          ...good,
          metadataXml: xml({ semantics: ["pre-apply"] })(),
          semanticsTar: rawTar([
            { name: "pre-apply/", type: "5" },
            { name: "pre-apply/TEST_PATCH_0001", data: Buffer.from("x") },
          ]),
        }),
      /^semantics.tar: member 'pre-apply\/' is a directory/,
    ],
    [
      "a global PAX header",
      () => craftPatch({ ...good, outer: (m) => [{ name: "pax_global_header", type: "g", data: Buffer.from("20 comment=abcdefgh\n") }, ...m] }),
      /^patch: member 'pax_global_header' is a global PAX header/,
    ],
  ];
  for (const [what, make, re] of cases) {
    it(`rejects ${what}`, async () => {
      await expectReject(make(), re);
    });
    it(`rejects ${what} (hashed on the hash lanes)`, async () => {
      await expectReject(make(), re, true);
    });
  }

  let untrustedKey = "";
  before(() => {
    untrustedKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }) as string;
  });

  function craftTar(o: CraftOptions): Buffer {
    return zlib.gunzipSync(craftPatch(o));
  }
  function rawTarNoEnd(o: CraftOptions): Buffer {
    const t = craftTar(o);
    // strip the end marker and record padding: find the last non-zero block
    let end = t.length;
    while (end > 0 && t.subarray(end - 512, end).every((b) => b === 0)) end -= 512;
    return t.subarray(0, end);
  }

  it("enforces the software.tar rpm count limit", async () => {
    const e = await readPatch(chunked(craftPatch(good), 1000), { trust, workDir: work, limits: { maxRpms: 1 } }).catch((x) => x);
    expect(e.message).to.equal("software.tar: too many members (limit 1)");
  });
  it("enforces the total size limit", async () => {
    const e = await readPatch(chunked(craftPatch(good), 1000), { trust, workDir: work, limits: { maxTotalBytes: 20000 } }).catch((x) => x);
    expect(e.message).to.equal("patch file: decompressed size exceeds the limit of 20000 bytes");
  });
  it("accepts a PKCS#1 v1.5 signature.v2", async () => {
    const r = await readPatch(chunked(craftPatch({ ...good, scheme: "pkcs1" }), 1000), { trust, workDir: work });
    expect([r.signer, r.signatureScheme]).to.deep.equal(["dev", "pkcs1v15"]);
    await r.cleanup();
  });
});
