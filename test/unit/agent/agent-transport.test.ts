import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { controllerAddress, describeTlsFailure, resolveAgentTransport } from "../../../server/agent/agent-transport.js";
import { parseAgentArgs } from "../../../server/agent/main.js";
import { GRPC_TLS_TEXTS } from "../../lib/grpc-tls-texts.js";

describe("agent transport: token, TLS flags and the plaintext rule", () => {
  let dir: string;
  let pem: { ca: string; key: string; token: string; empty: string };
  const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-agent-transport-"));
    pem = { ca: path.join(dir, "ca.pem"), key: path.join(dir, "k.pem"), token: path.join(dir, "token"), empty: path.join(dir, "empty") };
    writeFileSync(pem.ca, CERT);
    writeFileSync(pem.key, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
    writeFileSync(pem.token, "swp_file\n");
    writeFileSync(pem.empty, "\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("takes the token from --token (warned), --token-file, SWPATCH_TOKEN, then SWPATCH_TOKEN_FILE", () => {
    const argv = resolveAgentTransport("127.0.0.1:1", { token: "swp_argv" }, { SWPATCH_TOKEN: "swp_env" });
    expect(argv.token).to.equal("swp_argv");
    expect(argv.warnings.join("\n")).to.include("ps").and.include("--token-file");
    expect(resolveAgentTransport("127.0.0.1:1", { "token-file": pem.token }, { SWPATCH_TOKEN: "swp_env" })).to.deep.include({ token: "swp_file", warnings: [] });
    expect(resolveAgentTransport("127.0.0.1:1", {}, { SWPATCH_TOKEN: "swp_env", SWPATCH_TOKEN_FILE: pem.token }).token).to.equal("swp_env");
    expect(resolveAgentTransport("127.0.0.1:1", {}, { SWPATCH_TOKEN_FILE: pem.token }).token).to.equal("swp_file");
    expect(resolveAgentTransport("127.0.0.1:1", {}, {}).token).to.equal(undefined);
    expect(() => resolveAgentTransport("127.0.0.1:1", { "token-file": pem.empty }, {})).to.throw(`--token-file: ${pem.empty} is empty`);
    expect(() => resolveAgentTransport("127.0.0.1:1", {}, { SWPATCH_TOKEN_FILE: path.join(dir, "nope") })).to.throw("SWPATCH_TOKEN_FILE: cannot read");
  });

  it("reads the TLS files, naming the flag when one is missing, not PEM or without its partner", () => {
    const t = resolveAgentTransport("127.0.0.1:1", { "tls-ca": pem.ca, "tls-cert": pem.ca, "tls-key": pem.key, "tls-server-name": "ctl" }, {});
    expect(t.tls?.ca?.toString()).to.equal(CERT);
    expect(t.tls).to.include({ serverName: "ctl" });
    expect(() => resolveAgentTransport("127.0.0.1:1", { "tls-ca": pem.token }, {})).to.throw(`--tls-ca: ${pem.token} holds no PEM certificate`);
    expect(() => resolveAgentTransport("127.0.0.1:1", { "tls-cert": pem.ca, "tls-key": pem.ca }, {})).to.throw("--tls-key: " + pem.ca + " holds no PEM private key");
    expect(() => resolveAgentTransport("127.0.0.1:1", { "tls-cert": pem.ca }, {})).to.throw("--tls-cert needs --tls-key");
    expect(() => resolveAgentTransport("127.0.0.1:1", { "tls-ca": path.join(dir, "nope") }, {})).to.throw("--tls-ca: cannot read");
  });

  it("an https:// controller or --tls means TLS with the system CAs", () => {
    expect(resolveAgentTransport("https://ctl.example:5490", {}, {})).to.deep.include({ target: "ctl.example:5490", tls: {} });
    expect(resolveAgentTransport("ctl.example:5490", { tls: true }, {}).tls).to.deep.equal({});
    expect(controllerAddress("grpcs://[fd00::1]:5490")).to.deep.equal({ target: "[fd00::1]:5490", host: "fd00::1", tlsScheme: true });
    expect(() => controllerAddress("ctl.example")).to.throw("--controller: expected HOST:PORT");
  });

  it("refuses plaintext to a non-loopback controller unless --insecure (then warns)", () => {
    expect(() => resolveAgentTransport("10.0.0.1:5490", {}, {})).to.throw(/refusing to connect in plaintext.*--tls-ca.*--insecure/);
    const t = resolveAgentTransport("10.0.0.1:5490", { insecure: true }, {});
    expect(t.tls).to.equal(undefined);
    expect(t.warnings).to.deep.equal(["connecting to 10.0.0.1:5490 without TLS (--insecure): the token and packages travel in cleartext"]);
    for (const ok of ["127.0.0.1:1", "localhost:1", "[::1]:1", "http://127.0.0.1:1"]) expect(resolveAgentTransport(ok, {}, {}).warnings, ok).to.deep.equal([]);
  });

  it("parseAgentArgs carries the transport; the token may come from the environment", () => {
    const base = ["--controller", "127.0.0.1:1", "--hostname", "h", "--personality", "worker", "--root", dir];
    expect(parseAgentArgs(base, { SWPATCH_TOKEN: "swp_env" }).transport).to.deep.include({ target: "127.0.0.1:1", token: "swp_env", tls: undefined });
  });

  it("turns grpc-js TLS failures into a reason naming the flag", () => {
    expect(describeTlsFailure(GRPC_TLS_TEXTS.unknownCa)).to.include("--tls-ca");
    expect(describeTlsFailure(GRPC_TLS_TEXTS.nameMismatch)).to.include("--tls-server-name");
    expect(describeTlsFailure(GRPC_TLS_TEXTS.noClientCert)).to.equal("the controller requires a client certificate (give --tls-cert and --tls-key)");
    expect(describeTlsFailure(GRPC_TLS_TEXTS.plaintextServer)).to.include("does not speak TLS");
    expect(describeTlsFailure(GRPC_TLS_TEXTS.refused)).to.equal(undefined);
  });
});
