import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeTlsFailure, resolveTransport, transportSettings, TransportProblem } from "../../../clients/cli/lib/transport.js";
import { errorLine } from "../../../clients/cli/sw-patch/errors.js";
import { createSwPatchClient, endpointParts, InsecureTransportError, Status, UnavailableError } from "../../../clients/sdk/src/index.js";
import { GRPC_TLS_TEXTS } from "../../lib/grpc-tls-texts.js";

describe("CLI transport: --tls-ca/--tls-cert/--tls-key, SWPATCH_TLS_*, https://, --insecure", () => {
  let dir: string;
  let ca: string;
  let key: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-cli-transport-"));
    ca = path.join(dir, "ca.pem");
    key = path.join(dir, "k.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    writeFileSync(key, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const problem = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).to.be.instanceOf(TransportProblem);
      return (e as Error).message;
    }
    throw new Error("no problem reported");
  };

  it("flags win over SWPATCH_TLS_CA/CERT/KEY", () => {
    expect(transportSettings({ "tls-ca": "a" }, { SWPATCH_TLS_CA: "b", SWPATCH_TLS_CERT: "c", SWPATCH_TLS_KEY: "d" })).to.deep.equal({
      tlsCa: "a",
      tlsCert: "c",
      tlsKey: "d",
      insecure: false,
    });
    expect(transportSettings({ insecure: true }, {})).to.deep.equal({ insecure: true });
  });

  it("TLS from a CA file, a client certificate, or an https:// endpoint (system CAs)", () => {
    expect(resolveTransport("127.0.0.1:1", { insecure: false }).tls).to.equal(undefined);
    expect(resolveTransport("https://ctl.example:5490", { insecure: false }).tls).to.deep.equal({});
    const t = resolveTransport("ctl.example:5490", { tlsCa: ca, tlsCert: ca, tlsKey: key, insecure: false });
    expect(Object.keys(t.tls!)).to.deep.equal(["ca", "cert", "key"]);
    expect(t.warning).to.equal(undefined);
  });

  it("names the flag for unreadable or non-PEM files and a certificate without its key", () => {
    expect(problem(() => resolveTransport("127.0.0.1:1", { tlsCa: path.join(dir, "nope"), insecure: false }))).to.equal(
      `Error: --tls-ca: cannot read ${path.join(dir, "nope")}: ENOENT`,
    );
    expect(problem(() => resolveTransport("127.0.0.1:1", { tlsCa: key, insecure: false }))).to.equal(`Error: --tls-ca: ${key} holds no PEM certificate`);
    expect(problem(() => resolveTransport("127.0.0.1:1", { tlsCert: ca, tlsKey: ca, insecure: false }))).to.equal(`Error: --tls-key: ${ca} holds no PEM private key`);
    expect(problem(() => resolveTransport("127.0.0.1:1", { tlsKey: key, insecure: false }))).to.equal("Error: --tls-key needs --tls-cert (SWPATCH_TLS_CERT)");
  });

  it("refuses plaintext to a non-loopback controller unless --insecure (then a warning)", () => {
    expect(problem(() => resolveTransport("10.0.0.1:5490", { insecure: false }))).to.match(/in plaintext.*--tls-ca FILE.*--insecure$/);
    const t = resolveTransport("10.0.0.1:5490", { insecure: true });
    expect(t).to.deep.include({ tls: undefined, allowInsecure: true });
    expect(t.warning).to.match(/^Warning: .*10\.0\.0\.1:5490 without TLS \(--insecure\)/);
    for (const ok of ["127.0.0.1:1", "localhost", "[::1]:1", "::1"]) expect(resolveTransport(ok, { insecure: false }).warning, ok).to.equal(undefined);
  });

  it("prints grpc-js TLS failures as one line naming the flag", () => {
    expect(describeTlsFailure(GRPC_TLS_TEXTS.unknownCa)).to.include("--tls-ca");
    expect(describeTlsFailure(GRPC_TLS_TEXTS.nameMismatch)).to.equal("the controller's certificate is not issued for ctl.example (dial a name the certificate carries)");
    expect(describeTlsFailure(GRPC_TLS_TEXTS.noClientCert)).to.include("--tls-cert and --tls-key");
    expect(describeTlsFailure(GRPC_TLS_TEXTS.plaintextServer)).to.include("does not speak TLS");
    expect(describeTlsFailure(GRPC_TLS_TEXTS.refused)).to.equal(undefined);
    const e = new UnavailableError(GRPC_TLS_TEXTS.noClientCert, { code: Status.UNAVAILABLE });
    expect(errorLine(e, "h:1")).to.match(/^Error: TLS with the patch controller at h:1 failed: the controller requires a client certificate/);
    expect(errorLine(new UnavailableError(GRPC_TLS_TEXTS.refused, { code: Status.UNAVAILABLE }), "h:1")).to.equal(
      "Error: cannot reach the patch controller at h:1: connection refused",
    );
  });
});

describe("SDK transport: https:// endpoints and allowInsecure", () => {
  it("splits endpoints and their scheme", () => {
    expect(endpointParts("https://ctl:7", 5490)).to.deep.equal({ target: "ctl:7", host: "ctl", tlsScheme: true });
    expect(endpointParts("grpc://[fd00::1]", 5490)).to.deep.equal({ target: "[fd00::1]:5490", host: "fd00::1", tlsScheme: false });
    expect(endpointParts("fd00::1", 5490)).to.deep.equal({ target: "[fd00::1]:5490", host: "fd00::1", tlsScheme: false });
  });

  it("refuses plaintext to a non-loopback host unless allowInsecure; TLS and loopback are fine", () => {
    expect(() => createSwPatchClient({ endpoint: "10.0.0.1:5490" })).to.throw(InsecureTransportError, /allow plaintext explicitly/);
    for (const options of [{ endpoint: "10.0.0.1:5490", allowInsecure: true }, { endpoint: "https://10.0.0.1:5490" }, { endpoint: "127.0.0.1:5490" }, {}]) {
      const c = createSwPatchClient(options);
      c.close();
    }
  });

  it("checks the TLS material it is given", () => {
    expect(() => createSwPatchClient({ tls: { ca: "not pem" } })).to.throw("tls.ca: no PEM certificate found");
    expect(() => createSwPatchClient({ tls: { cert: "-----BEGIN CERTIFICATE-----" } })).to.throw("tls.cert and tls.key go together");
  });
});
