/**
 * The controller's local signing key: an RSA key pair made at first start in
 * `<data-dir>/signing/` (private key 0600, directory 0700) with a self-signed X.509 certificate
 * that the controller trusts as `local`. Patches and base packages built on this machine are
 * signed with it (`patch_build --key`, `sw-patch import-base --sign-key`); nobody else has it,
 * unlike the StarlingX dev key, whose private half ships in the test fixtures.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Where the key and its certificate live, relative to the data dir. */
export const SIGNING_DIR = "signing";
export const LOCAL_KEY_FILE = "local-signing-key.pem";
export const LOCAL_CERT_FILE = "local-signing-cert.pem";
/** The label the local certificate is trusted under. */
export const LOCAL_TRUST_LABEL = "local";

/** The files of the local signing key and whether this start made them. */
export interface LocalSigningKey {
  keyFile: string;
  certFile: string;
  /** True when this call generated the key (first start). */
  created: boolean;
}

// ---------------------------------------------------------------- minimal DER (X.509 v3)

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
const derNull = () => Buffer.from([0x05, 0x00]);
const bool = (v: boolean) => der(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (b: Buffer) => der(0x04, b);
const bits = (b: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), b]));
const utf8 = (s: string) => der(0x0c, Buffer.from(s, "utf8"));

function unsignedInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return der(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const groups = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(digits.slice(2) + "Z")) : der(0x18, Buffer.from(digits + "Z"));
}

const SHA256_WITH_RSA = seq(oid("1.2.840.113549.1.1.11"), derNull());

/**
 * A self-signed X.509 v3 certificate (PEM) for an RSA key: sha256WithRSAEncryption, not a CA,
 * key usage digitalSignature, valid from now (less a minute) for `days`.
 */
export function selfSignedCertificate(o: { privateKey: KeyObject; commonName: string; days: number; now?: Date }): string {
  const now = o.now ?? new Date();
  const publicKey = createPublicKey(o.privateKey);
  const spki = publicKey.export({ type: "spki", format: "der" });
  const name = seq(set(seq(oid("2.5.4.10"), utf8("sw-patch"))), set(seq(oid("2.5.4.3"), utf8(o.commonName))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const keyId = createHash("sha1").update(spki).digest();
  const extensions = der(
    0xa3,
    seq(
      seq(oid("2.5.29.19"), bool(true), octets(seq())), // basicConstraints: cA FALSE (critical)
      seq(oid("2.5.29.15"), bool(true), octets(der(0x03, Buffer.from([0x07, 0x80])))), // keyUsage: digitalSignature
      seq(oid("2.5.29.14"), octets(octets(keyId))), // subjectKeyIdentifier
    ),
  );
  const tbs = seq(
    der(0xa0, unsignedInt(Buffer.from([2]))), // v3
    unsignedInt(serial),
    SHA256_WITH_RSA,
    name,
    seq(time(new Date(now.getTime() - 60_000)), time(new Date(now.getTime() + o.days * 86_400_000))),
    name,
    spki,
    extensions,
  );
  const signature = sign("sha256", tbs, o.privateKey);
  const cert = seq(tbs, SHA256_WITH_RSA, bits(signature));
  const b64 = cert
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

// ---------------------------------------------------------------- files

async function exists(file: string): Promise<boolean> {
  return fsp.stat(file).then(
    () => true,
    () => false,
  );
}

async function writeNew(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, text, { mode, flag: "w" });
  await fsp.chmod(tmp, mode);
  await fsp.rename(tmp, file);
}

/**
 * Makes sure `<dataDir>/signing/` holds the local signing key (RSA 2048, PKCS#8 PEM, 0600) and a
 * certificate for it; generates what is missing (a missing or foreign certificate is re-made from
 * the key). An existing key file is never replaced; its mode is tightened to 0600.
 * @throws when the key file exists but holds no RSA private key.
 */
export async function ensureLocalSigningKey(dataDir: string): Promise<LocalSigningKey> {
  const dir = path.join(dataDir, SIGNING_DIR);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await fsp.chmod(dir, 0o700);
  const keyFile = path.join(dir, LOCAL_KEY_FILE);
  const certFile = path.join(dir, LOCAL_CERT_FILE);
  let created = false;
  let privateKey: KeyObject;
  if (await exists(keyFile)) {
    await fsp.chmod(keyFile, 0o600);
    privateKey = createPrivateKey(await fsp.readFile(keyFile));
    if (privateKey.asymmetricKeyType !== "rsa") throw new Error(`${keyFile} does not hold an RSA private key`);
  } else {
    privateKey = await new Promise<KeyObject>((resolve, reject) => generateKeyPair("rsa", { modulusLength: 2048 }, (e, _pub, priv) => (e ? reject(e) : resolve(priv))));
    await writeNew(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }).toString(), 0o600);
    created = true;
  }
  const publicDer = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  let certOk = false;
  if (!created && (await exists(certFile))) {
    try {
      certOk = new X509Certificate(await fsp.readFile(certFile)).publicKey.export({ type: "spki", format: "der" }).equals(publicDer);
    } catch {
      certOk = false;
    }
  }
  if (!certOk) {
    const pem = selfSignedCertificate({ privateKey, commonName: `sw-patch local signing key (${os.hostname()})`, days: 3650 });
    await writeNew(certFile, pem, 0o644);
  }
  return { keyFile, certFile, created };
}
