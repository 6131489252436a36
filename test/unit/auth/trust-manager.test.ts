import { expect } from "chai";
import { generateKeyPairSync, createPublicKey } from "node:crypto";
import { TrustManager, keyFingerprint } from "../../../server/domain/auth/trust-manager.js";
import type { TrustStore } from "../../../server/domain/patchfile/signature.js";
import { DomainError } from "../../../server/domain/errors.js";
import { openAuthDb } from "./helpers.js";

function rsa() {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  return {
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    pkcs1Pem: publicKey.export({ type: "pkcs1", format: "pem" }).toString(),
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    key: publicKey,
  };
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return e.kind;
  }
}

describe("TrustManager (sqlite)", () => {
  const configuredKey = rsa();
  const k1 = rsa();
  const k2 = rsa();
  const configured: TrustStore = { keys: [{ label: "dev", key: configuredKey.key, source: "/etc/dev.pem" }] };
  let h: Awaited<ReturnType<typeof openAuthDb>>;
  let trust: TrustManager;
  beforeEach(async () => {
    h = await openAuthDb();
    trust = new TrustManager({ store: h.store, configured });
    await trust.init();
  });
  afterEach(() => h.close());

  it("current() starts with the --trust keys", () => {
    expect(trust.current().keys.map((k) => k.label)).to.deep.equal(["dev"]);
  });

  it("adds a key that current() returns after the configured ones, with its SPKI fingerprint", async () => {
    const info = await trust.add("site", k1.publicPem);
    expect(info).to.include({ label: "site", origin: "store", fingerprint: keyFingerprint(k1.key) });
    expect(trust.current().keys.map((k) => k.label)).to.deep.equal(["dev", "site"]);
    expect(trust.current().keys[1]!.key.equals(k1.key)).to.equal(true);
  });

  it("persists added keys across a restart", async () => {
    await trust.add("site", k1.pkcs1Pem);
    await h.close({ keep: true });
    h = await openAuthDb(h.dir);
    const again = new TrustManager({ store: h.store, configured });
    await again.init();
    expect(again.current().keys.map((k) => k.label)).to.deep.equal(["dev", "site"]);
    expect(again.list()[1]!.fingerprint).to.equal(keyFingerprint(createPublicKey(k1.publicPem)));
  });

  it("hands out snapshots: a store taken before remove() keeps the key", async () => {
    await trust.add("site", k1.publicPem);
    const before = trust.current();
    await trust.remove("site");
    expect(before.keys.map((k) => k.label)).to.deep.equal(["dev", "site"]);
    expect(trust.current().keys.map((k) => k.label)).to.deep.equal(["dev"]);
    expect(await h.store.listTrustedKeys()).to.deep.equal([]);
  });

  it("refuses duplicate labels, an already-trusted key, private keys and junk", async () => {
    await trust.add("site", k1.publicPem);
    expect(await kindOf(trust.add("site", k2.publicPem))).to.equal("already-exists");
    expect(await kindOf(trust.add("dev", k2.publicPem))).to.equal("already-exists");
    expect(await kindOf(trust.add("other", k1.pkcs1Pem))).to.equal("already-exists");
    expect(await kindOf(trust.add("other", configuredKey.publicPem))).to.equal("already-exists");
    expect(await kindOf(trust.add("priv", k2.privatePem))).to.equal("invalid-argument");
    expect(await kindOf(trust.add("junk", "hello"))).to.equal("invalid-argument");
    expect(await kindOf(trust.add("bad label", k2.publicPem))).to.equal("invalid-argument");
    expect(trust.current().keys).to.have.length(2);
  });

  it("refuses to remove a --trust key and reports unknown labels as not-found", async () => {
    expect(await kindOf(trust.remove("dev"))).to.equal("failed-precondition");
    expect(await kindOf(trust.remove("nope"))).to.equal("not-found");
  });

  it("lists configured keys with their public key PEM", () => {
    const [dev] = trust.list();
    expect(dev).to.include({ label: "dev", origin: "config", fingerprint: keyFingerprint(configuredKey.key) });
    expect(dev!.pem).to.include("BEGIN PUBLIC KEY");
  });
});
