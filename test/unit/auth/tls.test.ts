import { expect } from "chai";
import { checkListenPolicy, checkTlsFlags, isLoopbackHost, serverCredentials } from "../../../server/transport/tls.js";
import { DomainError } from "../../../server/domain/errors.js";
import { parseControllerArgs, resolveControllerConfig } from "../../../server/config/controller-config.js";

function thrown(f: () => unknown): DomainError | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).to.be.instanceOf(DomainError);
    return e as DomainError;
  }
}

describe("listen policy", () => {
  it("recognises loopback addresses", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) expect(isLoopbackHost(h), h).to.equal(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "example.com", "128.0.0.1"]) expect(isLoopbackHost(h), h).to.equal(false);
  });

  it("allows plaintext on loopback and anything with TLS", () => {
    expect(checkListenPolicy("127.0.0.1", false, false)).to.equal(undefined);
    expect(checkListenPolicy("0.0.0.0", true, false)).to.equal(undefined);
  });

  it("refuses plaintext on a non-loopback address naming the flags", () => {
    const e = thrown(() => checkListenPolicy("0.0.0.0", false, false))!;
    expect(e.kind).to.equal("invalid-argument");
    expect(e.message).to.include("--tls-cert").and.include("--insecure ");
  });

  it("allows it with --insecure and returns a warning to log", () => {
    expect(checkListenPolicy("0.0.0.0", false, true)).to.match(/without TLS \(--insecure\)/);
  });

  it("takes --insecure and its old name --insecure-listen-any as the same switch", () => {
    expect(parseControllerArgs(["--insecure"]).insecureListenAny).to.equal(true);
    expect(parseControllerArgs(["--insecure-listen-any"]).insecureListenAny).to.equal(true);
    expect(parseControllerArgs([]).insecureListenAny).to.equal(undefined);
    expect(resolveControllerConfig({ listen: "0.0.0.0:0", ...parseControllerArgs(["--insecure"]) }).insecureListenAny).to.equal(true);
  });
});

describe("TLS flags", () => {
  it("needs cert and key together, and a client CA only with them", () => {
    expect(checkTlsFlags({})).to.equal(undefined);
    expect(thrown(() => checkTlsFlags({ certFile: "c" }))!.message).to.equal("--tls-cert needs --tls-key");
    expect(thrown(() => checkTlsFlags({ keyFile: "k" }))!.message).to.equal("--tls-key needs --tls-cert");
    expect(thrown(() => checkTlsFlags({ clientCaFile: "ca" }))!.message).to.equal("--tls-client-ca needs --tls-cert and --tls-key");
    expect(checkTlsFlags({ certFile: "c", keyFile: "k", clientCaFile: "ca" })).to.deep.equal({ certFile: "c", keyFile: "k", clientCaFile: "ca" });
  });

  it("names the flag of an unreadable file", () => {
    expect(thrown(() => serverCredentials({ certFile: "/nonexistent/c.pem", keyFile: "/nonexistent/k.pem" }))!.message).to.match(/^--tls-cert: cannot read/);
  });
});
