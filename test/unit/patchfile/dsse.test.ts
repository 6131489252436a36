/**
 * DSSE patch signatures (issue 21): PAE, the three key types, the member `signature.dsse` written
 * by buildPatch and patch_sign's signPatchFile, and readPatch's threshold check.
 */
import { expect } from "chai";
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import {
  checkPatchDsse,
  keyIdOf,
  pae,
  readPatch,
  signBytes,
  signEnvelope,
  signPatchFile,
  validSigners,
  verifyBytes,
  type PatchSignerPolicy,
} from "../../../server/domain/patchfile/index.js";
import { TarStreamParser } from "../../../server/domain/patchfile/tar-format.js";
import { DomainError } from "../../../server/domain/errors.js";
import { buildTestPatch, starlingxTrust } from "../../lib/patch-fixtures.js";

/** The outer members of a patch file with their bytes, in order. */
async function members(file: string): Promise<{ name: string; data: Buffer }[]> {
  const out: { name: string; parts: Buffer[] }[] = [];
  const p = new TarStreamParser(
    "patch",
    (e) => {
      const rec = { name: e.name, parts: [] as Buffer[] };
      out.push(rec);
      return { write: (b) => void rec.parts.push(Buffer.from(b)), end: () => undefined };
    },
    16,
  );
  await p.write(zlib.gunzipSync(await fsp.readFile(file)));
  await p.finish();
  return out.map((m) => ({ name: m.name, data: Buffer.concat(m.parts) }));
}

async function rejection(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error("expected a DomainError");
}

describe("DSSE patch signatures (signature.dsse)", function () {
  this.timeout(60_000);
  let dir: string;
  const ed = generateKeyPairSync("ed25519");
  const ec = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = generateKeyPairSync("ed25519");
  const policy = (threshold: number, keys: KeyObject[] = [ed.publicKey, ec.publicKey, rsa.publicKey]): PatchSignerPolicy => ({
    keys: new Map(keys.map((k) => [keyIdOf(k), k])),
    threshold,
    rootVersion: 1,
  });

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "dsse-"));
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("PAE is the DSSE v1 encoding (the spec's example)", () => {
    expect(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).to.equal("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  });

  it("Ed25519, ECDSA P-256 and RSA-PSS sign and verify; another key or other bytes do not verify", () => {
    for (const k of [ed, ec, rsa]) {
      const sig = signBytes(Buffer.from("abc"), k.privateKey);
      expect(verifyBytes(Buffer.from("abc"), sig, k.publicKey)).to.equal(true);
      expect(verifyBytes(Buffer.from("abd"), sig, k.publicKey)).to.equal(false);
      expect(verifyBytes(Buffer.from("abc"), sig, other.publicKey)).to.equal(false);
    }
    expect(keyIdOf(ed.privateKey)).to.equal(keyIdOf(ed.publicKey));
    expect(keyIdOf(ed.publicKey)).to.equal(
      createHash("sha256")
        .update(ed.publicKey.export({ type: "spki", format: "der" }))
        .digest("hex"),
    );
  });

  it("validSigners counts each allowed key once, whatever key id a signature names", () => {
    const env = signEnvelope("t", Buffer.from("p"), [ed.privateKey]);
    const sig = env.signatures[0]!.sig;
    const allowed = policy(1).keys;
    // The same signature three times: under its own id, under another allowed key's id, under an unknown id.
    const copies = { ...env, signatures: [env.signatures[0]!, { keyid: keyIdOf(ec.publicKey), sig }, { keyid: "", sig }] };
    expect(validSigners(copies, allowed)).to.deep.equal([keyIdOf(ed.publicKey)]);
    expect(validSigners({ ...env, signatures: [{ keyid: keyIdOf(ec.publicKey), sig }] }, allowed)).to.deep.equal([keyIdOf(ed.publicKey)]);
    expect(validSigners(env, new Map([[keyIdOf(other.publicKey), other.publicKey]]))).to.deep.equal([]);
  });

  it("buildPatch signs with several keys; readPatch counts them against the threshold", async () => {
    const built = await buildTestPatch({ dir: path.join(dir, "a"), id: "DSSE_0001", dsseKeys: [ed.privateKey, ec.privateKey] });
    const names = (await members(built.path)).map((m) => m.name);
    expect(names).to.deep.equal(["metadata.tar", "software.tar", "signature", "signature.v2", "signature.dsse"]);
    const trust = await starlingxTrust();
    const ok = await readPatch(built.path, { trust, workDir: dir, patchSigners: policy(2) });
    expect(ok.dsseSigners).to.have.length(2);
    expect(ok.signer).to.equal("dev");
    await ok.cleanup();
    const e = await rejection(readPatch(built.path, { trust, workDir: dir, patchSigners: policy(3) }));
    expect(e.kind).to.equal("failed-precondition");
    expect(e.message).to.equal("Patch has 2 valid patch-signer signatures, the root of trust requires 3");
    // Without a policy, the member is accepted and not looked at.
    const plain = await readPatch(built.path, { trust, workDir: dir });
    expect(plain.dsseSigners).to.equal(undefined);
    await plain.cleanup();
  });

  it("a patch without the member, or signed by keys outside the role, has 0 valid signatures", async () => {
    const none = await buildTestPatch({ dir: path.join(dir, "b"), id: "DSSE_0002" });
    const trust = await starlingxTrust();
    const e = await rejection(readPatch(none.path, { trust, workDir: dir, patchSigners: policy(1) }));
    expect(e.message).to.equal("Patch has 0 valid patch-signer signatures, the root of trust requires 1 (no member 'signature.dsse')");
    const foreign = await buildTestPatch({ dir: path.join(dir, "c"), id: "DSSE_0003", dsseKeys: [other.privateKey] });
    const f = await rejection(readPatch(foreign.path, { trust, workDir: dir, patchSigners: policy(1) }));
    expect(f.message).to.equal("Patch has 0 valid patch-signer signatures, the root of trust requires 1");
  });

  it("signPatchFile adds a signature, keeps the reference's members byte for byte, and counts a key once", async () => {
    const script = path.join(dir, "pre-apply.sh");
    await fsp.writeFile(script, "#!/bin/sh\nexit 0\n");
    const built = await buildTestPatch({ dir: path.join(dir, "d"), id: "DSSE_0004", dsseKeys: [ed.privateKey], preApply: script });
    const before = await members(built.path);
    const ids = await signPatchFile(built.path, [rsa.privateKey, ed.privateKey]);
    expect(ids).to.deep.equal([keyIdOf(ed.publicKey), keyIdOf(rsa.publicKey)]);
    const after = await members(built.path);
    expect(after.map((m) => m.name)).to.deep.equal(before.map((m) => m.name));
    for (const n of ["metadata.tar", "software.tar", "semantics.tar", "signature", "signature.v2"]) {
      expect(after.find((m) => m.name === n)!.data.equals(before.find((m) => m.name === n)!.data), n).to.equal(true);
    }
    const trust = await starlingxTrust();
    // Lanes path too (software.tar hashed off-thread as it streams).
    const ok = await readPatch(built.path, { trust, workDir: dir, patchSigners: policy(2), hashLanesFromBytes: 1 });
    expect(ok.dsseSigners).to.deep.equal([keyIdOf(ed.publicKey), keyIdOf(rsa.publicKey)].sort());
    await ok.cleanup();
    // A reference patch without the member gets one.
    const bare = await buildTestPatch({ dir: path.join(dir, "e"), id: "DSSE_0005" });
    await signPatchFile(bare.path, [ec.privateKey]);
    expect((await members(bare.path)).map((m) => m.name).at(-1)).to.equal("signature.dsse");
  });

  it("a signed digest that does not match a member is refused", () => {
    const digests = { "metadata.tar": "aa".repeat(32), "software.tar": "bb".repeat(32) };
    const env = Buffer.from(
      JSON.stringify({
        payloadType: "application/vnd.sw-patch.patch-digests+json",
        payload: Buffer.from(
          JSON.stringify({ _type: "sw-patch/patch-digests/v1", members: { "metadata.tar": { sha256: "aa".repeat(32) }, "software.tar": { sha256: "cc".repeat(32) } } }),
        ).toString("base64"),
        signatures: [],
      }),
    );
    let err: unknown;
    try {
      checkPatchDsse(env, digests, policy(1));
    } catch (e) {
      err = e;
    }
    expect((err as DomainError).message).to.equal(
      "Patch has 0 valid patch-signer signatures, the root of trust requires 1 (the signed sha256 of software.tar does not match the patch)",
    );
  });
});
