import { expect } from "chai";
import { createPrivateKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseControllerArgs, resolveControllerConfig } from "../../../server/config/controller-config.js";
import { FORMAL_CERTIFICATE, publicPrivateKeyLabels, startupTrust, STARLINGX_DEV_KEY_FINGERPRINT } from "../../../server/controller/default-trust.js";
import { ensureLocalSigningKey, selfSignedCertificate } from "../../../server/controller/local-signing-key.js";
import { keyFingerprint } from "../../../server/domain/auth/trust-manager.js";
import { loadTrustStore, verifyDigestSignature, signDigestPss } from "../../../server/domain/patchfile/signature.js";
import { createHash } from "node:crypto";

const FIXTURES = path.resolve(__dirname, "../../fixtures/starlingx");

describe("local signing key and the trust a controller starts with", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-lsk-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("first call makes a 0600 RSA key and a valid self-signed certificate for it; later calls keep both", async () => {
    const first = await ensureLocalSigningKey(dir);
    expect(first.created).to.equal(true);
    expect(first.keyFile).to.equal(path.join(dir, "signing", "local-signing-key.pem"));
    expect(statSync(first.keyFile).mode & 0o777).to.equal(0o600);
    expect(statSync(path.join(dir, "signing")).mode & 0o777).to.equal(0o700);
    const key = createPrivateKey(readFileSync(first.keyFile));
    const cert = new X509Certificate(readFileSync(first.certFile));
    expect(cert.checkPrivateKey(key)).to.equal(true);
    expect(cert.verify(cert.publicKey)).to.equal(true);
    expect(cert.ca).to.equal(false);
    expect(Date.parse(cert.validTo) - Date.now()).to.be.greaterThan(9 * 365 * 86_400_000);
    // A signature by the key verifies against the certificate through the patch verifier.
    const digest = createHash("sha256").update("x").digest();
    const trust = await loadTrustStore([`${first.certFile}:local`]);
    expect(verifyDigestSignature(digest, signDigestPss(digest, key), trust)).to.deep.equal({ label: "local", scheme: "pss" });

    const keyText = readFileSync(first.keyFile, "utf8");
    const certText = readFileSync(first.certFile, "utf8");
    chmodSync(first.keyFile, 0o644);
    const again = await ensureLocalSigningKey(dir);
    expect(again.created).to.equal(false);
    expect(readFileSync(again.keyFile, "utf8")).to.equal(keyText);
    expect(readFileSync(again.certFile, "utf8")).to.equal(certText);
    expect(statSync(again.keyFile).mode & 0o777).to.equal(0o600);
  });

  it("a certificate for another key is re-made from the existing key; a file that is no RSA key is an error", async () => {
    const first = await ensureLocalSigningKey(dir);
    const other = generateKeyPairSync("rsa", { modulusLength: 1024 });
    writeFileSync(first.certFile, selfSignedCertificate({ privateKey: other.privateKey, commonName: "other", days: 1 }));
    await ensureLocalSigningKey(dir);
    expect(new X509Certificate(readFileSync(first.certFile)).checkPrivateKey(createPrivateKey(readFileSync(first.keyFile)))).to.equal(true);
    writeFileSync(first.keyFile, generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }));
    const e = await ensureLocalSigningKey(dir).then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).to.contain("does not hold an RSA private key");
  });

  it("defaults: --trust keys first, then local and formal; a default with a --trust key or label is left out; the dev key is flagged", async () => {
    const plain = await startupTrust({ dataDir: dir, explicit: [], defaults: true });
    expect(plain.store.keys.map((k) => k.label)).to.deep.equal(["local", "formal"]);
    expect(plain.localKey?.certFile).to.equal(path.join(dir, "signing", "local-signing-cert.pem"));
    expect(readFileSync(FORMAL_CERTIFICATE, "utf8")).to.equal(readFileSync(path.join(FIXTURES, "formal-certificate.pem"), "utf8"));

    const withDev = await startupTrust({
      dataDir: dir,
      explicit: [`${path.join(FIXTURES, "dev-certificate.pem")}:dev`, `${path.join(FIXTURES, "formal-certificate.pem")}:sx`],
      defaults: true,
    });
    expect(withDev.store.keys.map((k) => k.label)).to.deep.equal(["dev", "sx", "local"]);
    const listed = withDev.store.keys.map((k) => ({ label: k.label, fingerprint: keyFingerprint(k.key) }));
    expect(publicPrivateKeyLabels(listed)).to.deep.equal(["dev"]);
    expect(listed[0]!.fingerprint).to.equal(STARLINGX_DEV_KEY_FINGERPRINT);

    const none = await startupTrust({ dataDir: path.join(dir, "other"), explicit: [], defaults: false });
    expect(none).to.deep.equal({ store: { keys: [] }, localKey: undefined });
  });

  it("--no-default-trust turns the defaults off; they are on otherwise", () => {
    expect(resolveControllerConfig(parseControllerArgs([]), {}).defaultTrust).to.equal(true);
    expect(resolveControllerConfig(parseControllerArgs(["--no-default-trust"]), {}).defaultTrust).to.equal(false);
  });
});
