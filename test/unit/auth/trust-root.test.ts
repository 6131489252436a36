/**
 * The root of trust (issue 21): documents made offline with the SDK (clients/sdk/src/trust-root.ts)
 * and checked by the controller's domain (trust-root.ts, TrustRootManager): thresholds, each key
 * counted once, rotation N -> N+1 only, expiry.
 */
import { expect } from "chai";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { makeTrustRoot, signTrustRoot, readTrustRoot } from "../../../clients/sdk/src/trust-root.js";
import { parseTrustRoot, verifyInitialRoot, verifyRotation } from "../../../server/domain/auth/trust-root.js";
import { TrustRootManager } from "../../../server/domain/auth/trust-root-manager.js";
import { DomainError } from "../../../server/domain/errors.js";
import { emptyDisk } from "../../contract/memory-store.js";
import { MemoryTrustRootStore } from "../../contract/memory-trust-root-store.js";

interface Pair {
  pub: string;
  priv: string;
}

function pair(type: "ed25519" | "ec" | "rsa"): Pair {
  const k =
    type === "ed25519"
      ? generateKeyPairSync("ed25519")
      : type === "ec"
        ? generateKeyPairSync("ec", { namedCurve: "prime256v1" })
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = (o: KeyObject, t: "spki" | "pkcs8") => o.export({ type: t, format: "pem" }).toString();
  return { pub: pem(k.publicKey, "spki"), priv: pem(k.privateKey, "pkcs8") };
}

function failure(f: () => unknown): DomainError {
  try {
    f();
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error("expected a DomainError");
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

const YEAR = 365 * 86400_000;

describe("root of trust documents and rotation", function () {
  this.timeout(30_000);
  const now = new Date("2026-12-03T19:00:00Z");
  // Mixed key types: Ed25519, ECDSA P-256, RSA.
  const old = [pair("ed25519"), pair("ec"), pair("rsa")];
  const fresh = [pair("ed25519"), pair("ec"), pair("ed25519")];
  const v1Unsigned = makeTrustRoot({ rootKeys: old.map((k) => k.pub), rootThreshold: 2, expires: new Date(now.getTime() + YEAR) });
  const v2Unsigned = makeTrustRoot({ rootKeys: fresh.map((k) => k.pub), rootThreshold: 2, version: 2, expires: new Date(now.getTime() + YEAR) });

  it("a document made and signed by the SDK parses in the domain, with canonical payload and key ids", () => {
    const doc = parseTrustRoot(signTrustRoot(v1Unsigned, [old[0]!.priv, old[1]!.priv]));
    expect(doc.body.version).to.equal(1);
    expect(doc.body.roles.root.threshold).to.equal(2);
    expect(doc.body.roles["patch-signer"].keyids).to.deep.equal(doc.body.roles.root.keyids);
    expect(
      Object.values(doc.body.keys)
        .map((k) => k.keytype)
        .sort(),
    ).to.deep.equal(["ecdsa-p256", "ed25519", "rsa"]);
    expect(doc.envelope.signatures).to.have.length(2);
    expect(() => verifyInitialRoot(doc, now)).to.not.throw();
  });

  it("v1 signed by one of a 2-of-3 root is refused, naming had and needed", () => {
    const e = failure(() => verifyInitialRoot(parseTrustRoot(signTrustRoot(v1Unsigned, [old[2]!.priv])), now));
    expect(e.kind).to.equal("failed-precondition");
    expect(e.message).to.equal("trust root: version 1 signed by its own root keys: 1 valid signature, 2 required");
  });

  it("the same key signing twice counts once", () => {
    const once = signTrustRoot(v1Unsigned, [old[0]!.priv]);
    const env = JSON.parse(once) as { signatures: { keyid: string; sig: string }[] };
    // A second copy of the signature under another key id hint: still one key.
    env.signatures.push({ keyid: "0".repeat(64), sig: env.signatures[0]!.sig });
    const e = failure(() => verifyInitialRoot(parseTrustRoot(JSON.stringify(env)), now));
    expect(e.message).to.include("1 valid signature, 2 required");
  });

  it("a payload that is not canonical, or a key id that is not its key's, is malformed", () => {
    const env = JSON.parse(v1Unsigned) as { payload: string };
    const body = JSON.parse(Buffer.from(env.payload, "base64").toString()) as Record<string, unknown>;
    const spaced = { ...env, payload: Buffer.from(JSON.stringify(body, null, 1)).toString("base64") };
    expect(failure(() => parseTrustRoot(JSON.stringify(spaced))).message).to.include("not canonical");
    const keys = body.keys as Record<string, unknown>;
    const [id] = Object.keys(keys);
    const other = Object.keys(keys)[1]!;
    const swapped = { ...body, keys: { ...keys, [id!]: keys[other] } };
    const bad = { ...env, payload: Buffer.from(JSON.stringify(swapped, Object.keys(swapped).sort())).toString("base64") };
    expect(failure(() => parseTrustRoot(JSON.stringify(bad))).kind).to.equal("invalid-argument");
  });

  it("rotation: signed only by the new keys is refused; by a threshold of old and new is accepted", () => {
    const v1 = parseTrustRoot(signTrustRoot(v1Unsigned, [old[0]!.priv, old[1]!.priv]));
    const onlyNew = parseTrustRoot(
      signTrustRoot(
        v2Unsigned,
        fresh.map((k) => k.priv),
      ),
    );
    const e = failure(() => verifyRotation(v1, onlyNew, now));
    expect(e.message).to.equal("trust root: version 2 signed by the root keys of version 1: 0 valid signatures, 2 required");
    const onlyOld = parseTrustRoot(signTrustRoot(v2Unsigned, [old[0]!.priv, old[2]!.priv, fresh[0]!.priv]));
    expect(failure(() => verifyRotation(v1, onlyOld, now)).message).to.equal("trust root: version 2 signed by its own root keys: 1 valid signature, 2 required");
    const both = parseTrustRoot(signTrustRoot(v2Unsigned, [old[1]!.priv, old[2]!.priv, fresh[1]!.priv, fresh[2]!.priv]));
    expect(() => verifyRotation(v1, both, now)).to.not.throw();
  });

  it("rotation: only version N+1, never lower, equal or further", () => {
    const v1 = parseTrustRoot(signTrustRoot(v1Unsigned, [old[0]!.priv, old[1]!.priv]));
    const again = parseTrustRoot(signTrustRoot(v1Unsigned, [old[0]!.priv, old[1]!.priv]));
    expect(failure(() => verifyRotation(v1, again, now)).message).to.equal("trust root: version 1 cannot replace version 1 (only version 2 can)");
    const v3 = makeTrustRoot({ rootKeys: old.map((k) => k.pub), rootThreshold: 2, version: 3, expires: new Date(now.getTime() + YEAR) });
    expect(failure(() => verifyRotation(v1, parseTrustRoot(signTrustRoot(v3, [old[0]!.priv, old[1]!.priv])), now)).reason).to.equal("TRUST_ROOT_VERSION");
  });

  it("TrustRootManager: install, rotate, store re-check, expiry refuses uploads with a message", async () => {
    let clock = now;
    const disk = { d: emptyDisk() };
    const m = new TrustRootManager(new MemoryTrustRootStore(disk), { now: () => clock });
    await m.init();
    expect(m.show()).to.equal(null);
    expect(m.uploadPolicy()).to.equal(undefined);
    const v1Text = signTrustRoot(v1Unsigned, [old[0]!.priv, old[1]!.priv]);
    expect((await rejection(m.rotate(v1Text, "tok"))).reason).to.equal("TRUST_ROOT_MISSING");
    const info = await m.install(v1Text, "tok");
    expect(info).to.deep.include({ version: 1, expired: false, installedBy: "tok" });
    expect(info.signedBy).to.have.length(2);
    expect((await rejection(m.install(v1Text, "tok"))).reason).to.equal("TRUST_ROOT_EXISTS");
    expect(m.uploadPolicy()).to.deep.include({ threshold: 2, rootVersion: 1 });
    // Refused rotations write nothing.
    await rejection(
      m.rotate(
        signTrustRoot(
          v2Unsigned,
          fresh.map((k) => k.priv),
        ),
        "tok",
      ),
    );
    expect(disk.d.trustRoots.map((r) => r.version)).to.deep.equal([1]);
    await m.rotate(signTrustRoot(v2Unsigned, [old[0]!.priv, old[1]!.priv, fresh[0]!.priv, fresh[1]!.priv]), "tok2");
    expect(disk.d.trustRoots.map((r) => r.version)).to.deep.equal([1, 2]);
    // A second manager over the same store sees version 2.
    const again = new TrustRootManager(new MemoryTrustRootStore(disk), { now: () => clock });
    await again.init();
    expect(again.show()?.version).to.equal(2);
    // Expired: uploads refused, saying so; rotating to a fresh version is still possible.
    clock = new Date(now.getTime() + YEAR + 1000);
    expect(m.show()?.expired).to.equal(true);
    const e = failure(() => m.uploadPolicy());
    expect(e.kind).to.equal("failed-precondition");
    expect(e.reason).to.equal("TRUST_ROOT_EXPIRED");
    expect(e.message).to.match(/^The root of trust \(version 2\) expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: no patch can be uploaded until/);
    const v3 = makeTrustRoot({ rootKeys: fresh.map((k) => k.pub), rootThreshold: 2, version: 3, expires: new Date(clock.getTime() + YEAR) });
    await m.rotate(signTrustRoot(v3, [fresh[0]!.priv, fresh[2]!.priv]), "tok");
    expect(m.uploadPolicy()?.rootVersion).to.equal(3);
    expect(readTrustRoot(m.show()!.document).body.version).to.equal(3);
  });
});
