import { expect } from "chai";
import * as crypto from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import {
  loadTrustStore,
  md5SignatureText,
  parsePythonHexInt,
  signDigestPss,
  verifyDigestSignature,
  verifyMd5Signature,
  loadPrivateKey,
} from "../../../server/domain/patchfile/index.js";
import { DomainError } from "../../../server/domain/errors.js";
import { DEV_CERT, DEV_KEY, DEV_PUBKEY, FORMAL_CERT, devKeyPem } from "../../lib/patch-fixtures.js";

describe("md5 signature", () => {
  it("is NOT(xor of md5s) as unpadded lowercase hex", () => {
    const a = crypto.createHash("md5").update("a").digest();
    const b = crypto.createHash("md5").update("b").digest();
    const want = (((1n << 128n) - 1n) ^ BigInt("0x" + a.toString("hex")) ^ BigInt("0x" + b.toString("hex"))).toString(16);
    expect(md5SignatureText([a, b])).to.equal(want);
    expect(verifyMd5Signature(want, [a, b])).to.equal(true);
    expect(verifyMd5Signature(want, [b, a])).to.equal(true);
    expect(verifyMd5Signature(want, [a])).to.equal(false);
  });
  it("writes no leading zeros", () => {
    const d = Buffer.from("f0" + "ff".repeat(15), "hex"); // ~d = 0x0f000...
    expect(md5SignatureText([d])).to.equal("f" + "0".repeat(30));
  });
  it("accepts what Python int(text, 16) accepts", () => {
    const d = crypto.createHash("md5").update("x").digest();
    const t = md5SignatureText([d]);
    for (const v of [t, ` ${t}\n`, t.toUpperCase(), `0x${t}`, `0X${t}`, `+${t}`, `\t0x_${t}`, t.replace(/(..)/, "$1_")]) {
      expect(verifyMd5Signature(v, [d]), JSON.stringify(v)).to.equal(true);
    }
    for (const v of ["", "0x", `${t}g`, `_${t}`, `${t}_`, `-${t}`, t.replace(/(..)/, "$1__"), `0x 1`]) {
      expect(verifyMd5Signature(v, [d]), JSON.stringify(v)).to.equal(false);
    }
    expect(parsePythonHexInt("  ff  ")).to.equal(255n);
    expect(parsePythonHexInt("1_0")).to.equal(16n);
  });
});

describe("signature.v2", () => {
  let dir: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "sigv2-"));
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it("signs PSS/SHA-256/salt 32 in a form openssl verifies", async () => {
    const data = crypto.randomBytes(5000);
    const sig = signDigestPss(crypto.createHash("sha256").update(data).digest(), loadPrivateKey(devKeyPem()));
    expect(sig.length).to.equal(256);
    await fsp.writeFile(path.join(dir, "data"), data);
    await fsp.writeFile(path.join(dir, "sig"), sig);
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
      path.join(dir, "sig"),
      path.join(dir, "data"),
    ]).toString();
    expect(out).to.contain("Verified OK");
  });
  it("verifies with the dev certificate (label dev) and not with the formal one", async () => {
    const store = await loadTrustStore([`${FORMAL_CERT}:formal`, `${DEV_CERT}:dev`]);
    const digest = crypto.createHash("sha256").update("hello").digest();
    const sig = signDigestPss(digest, loadPrivateKey(devKeyPem()));
    expect(verifyDigestSignature(digest, sig, store)).to.deep.equal({ label: "dev", scheme: "pss" });
    const formalOnly = await loadTrustStore([FORMAL_CERT]);
    expect(formalOnly.keys[0].label).to.equal("formal-certificate");
    expect(verifyDigestSignature(digest, sig, formalOnly)).to.equal(null);
  });
  it("accepts a PKCS#1 v1.5 signature made by openssl dgst -sign", async () => {
    const data = crypto.randomBytes(1000);
    await fsp.writeFile(path.join(dir, "d2"), data);
    execFileSync("openssl", ["dgst", "-sha256", "-sign", DEV_KEY, "-out", path.join(dir, "s2"), path.join(dir, "d2")]);
    const store = await loadTrustStore([`${DEV_PUBKEY}:dev`]);
    const r = verifyDigestSignature(crypto.createHash("sha256").update(data).digest(), await fsp.readFile(path.join(dir, "s2")), store);
    expect(r).to.deep.equal({ label: "dev", scheme: "pkcs1v15" });
  });
  it("rejects a PSS signature with salt length 20 (openssl-made)", async () => {
    const data = crypto.randomBytes(1000);
    await fsp.writeFile(path.join(dir, "d3"), data);
    execFileSync("openssl", [
      "dgst",
      "-sha256",
      "-sign",
      DEV_KEY,
      "-sigopt",
      "rsa_padding_mode:pss",
      "-sigopt",
      "rsa_pss_saltlen:20",
      "-out",
      path.join(dir, "s3"),
      path.join(dir, "d3"),
    ]);
    const store = await loadTrustStore([`${DEV_CERT}:dev`]);
    const digest = crypto.createHash("sha256").update(data).digest();
    expect(verifyDigestSignature(digest, await fsp.readFile(path.join(dir, "s3")), store)).to.equal(null);
    // and the same key with salt 32 is fine
    const ok = crypto.sign("sha256", data, { key: crypto.createPrivateKey(devKeyPem()), padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    expect(verifyDigestSignature(digest, ok, store)?.label).to.equal("dev");
  });
  it("rejects signatures of the wrong length or for other data", async () => {
    const store = await loadTrustStore([`${DEV_CERT}:dev`]);
    const digest = crypto.createHash("sha256").update("x").digest();
    const sig = signDigestPss(digest, loadPrivateKey(devKeyPem()));
    expect(verifyDigestSignature(digest, sig.subarray(1), store)).to.equal(null);
    expect(verifyDigestSignature(crypto.createHash("sha256").update("y").digest(), sig, store)).to.equal(null);
    expect(verifyDigestSignature(digest, Buffer.alloc(256, 0xff), store)).to.equal(null);
  });
});

describe("trust store", () => {
  let dir: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "trust-"));
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it("loads certificates, SPKI and PKCS#1 public keys, with default and explicit labels", async () => {
    const pkcs1 = crypto.createPublicKey(devKeyPem()).export({ type: "pkcs1", format: "pem" }) as string;
    await fsp.writeFile(path.join(dir, "rsa.pem"), pkcs1);
    const indented = (await fsp.readFile(DEV_CERT, "utf8")).replace(/^(?!-)/gm, "    ");
    await fsp.writeFile(path.join(dir, "indented.pem"), indented);
    const s = await loadTrustStore([DEV_CERT, `${DEV_PUBKEY}:pub`, path.join(dir, "rsa.pem"), `${path.join(dir, "indented.pem")}:ind`]);
    expect(s.keys.map((k) => k.label)).to.deep.equal(["dev-certificate", "pub", "rsa", "ind"]);
  });
  it("names unreadable and unparseable files", async () => {
    await fsp.writeFile(path.join(dir, "junk.pem"), "not a pem");
    let e = await loadTrustStore([path.join(dir, "missing.pem")]).catch((x) => x);
    expect(e).to.be.instanceOf(DomainError);
    expect(e.message).to.match(/^Cannot read trust file .*missing\.pem: ENOENT/);
    e = await loadTrustStore([path.join(dir, "junk.pem")]).catch((x) => x);
    expect(e.message).to.match(/^Cannot parse trust file .*junk\.pem/);
    e = await loadTrustStore([DEV_KEY]).catch((x) => x);
    expect(e.message).to.match(/holds a private key/);
  });
});
