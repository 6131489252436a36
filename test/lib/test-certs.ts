/**
 * Test certificates made in the test (node:crypto RSA keys, node-forge certificates): a CA, server
 * certificates for IP addresses and names, client certificates for mutual TLS.
 */
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import forge from "node-forge";

/** A certificate and its key, PEM. */
export interface Issued {
  certPem: string;
  keyPem: string;
}

/** What {@link issue} puts in a certificate. */
export interface IssueOptions {
  /** The signer; omitted: self-signed. */
  issuer?: Issued;
  /** A CA certificate (keyCertSign). */
  ca?: boolean;
  /** An IP address subjectAltName. */
  ip?: string;
  /** More subjectAltNames: IP addresses and DNS names. */
  ips?: string[];
  dns?: string[];
  /** A client certificate (extKeyUsage clientAuth) instead of a server one. */
  client?: boolean;
}

/** An RSA key (node:crypto, fast) and a certificate signed by `opts.issuer` (or self-signed). */
export function issue(cn: string, opts: IssueOptions = {}): Issued {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const fKey = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(fKey.n, fKey.e);
  // A positive, minimally encoded DER integer (a leading 0x00 before a byte < 0x80 is invalid DER).
  cert.serialNumber = "01" + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: "commonName", value: cn }]);
  const issuerCert = opts.issuer ? forge.pki.certificateFromPem(opts.issuer.certPem) : cert;
  cert.setIssuer(issuerCert.subject.attributes);
  const ext: object[] = [{ name: "basicConstraints", cA: !!opts.ca }];
  if (opts.ca) ext.push({ name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true });
  else ext.push({ name: "keyUsage", digitalSignature: true, keyEncipherment: true }, { name: "extKeyUsage", serverAuth: !opts.client, clientAuth: !!opts.client });
  const altNames = [...(opts.ip ? [opts.ip] : []), ...(opts.ips ?? [])].map((ip) => ({ type: 7, ip }));
  for (const value of opts.dns ?? []) altNames.push({ type: 2, value } as unknown as { type: number; ip: string });
  if (altNames.length) ext.push({ name: "subjectAltName", altNames });
  cert.setExtensions(ext);
  const signer = opts.issuer ? forge.pki.privateKeyFromPem(opts.issuer.keyPem) : fKey;
  cert.sign(signer, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** Writes `<name>.pem` and `<name>.key` (0600) into `dir`; returns their paths. */
export function writeIssued(dir: string, name: string, c: Issued): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  writeFileSync(cert, c.certPem);
  writeFileSync(key, c.keyPem, { mode: 0o600 });
  return { cert, key };
}
