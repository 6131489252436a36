/**
 * TLS on a real server (127.0.0.1:0) with certificates made by node-forge: a TLS client trusting
 * the CA gets through (and still needs its bearer token), a plaintext client does not; with a
 * client CA (mTLS) a client without a certificate is refused at the handshake.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ChannelCredentials } from "@grpc/grpc-js";
import { ClientError, Metadata, ServerError, Status, createChannel, createClient, createServer, type Channel, type Server } from "nice-grpc";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { PatchServiceDefinition, type PatchServiceImplementation } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { createAuthMiddleware } from "../../server/transport/auth-middleware.js";
import { serverCredentials } from "../../server/transport/tls.js";
import { errorMiddleware } from "../../server/transport/errors.js";
import { createLogger } from "../../server/lib/log.js";
import type { Caller } from "../../server/domain/auth/roles.js";
import { DomainError } from "../../server/domain/errors.js";
import { issue, type Issued } from "../lib/test-certs.js";

const READER: Caller = { tokenId: "r1", role: "reader" };
const auth = {
  async verify(token: string): Promise<Caller> {
    if (token === "swp_reader") return READER;
    throw new DomainError("unauthenticated", "invalid token");
  },
};

/** PatchService with only GetControllerInfo implemented; every other method is UNIMPLEMENTED. */
const patchImpl = Object.fromEntries(
  Object.keys(PatchServiceDefinition.methods).map((k) => [
    k,
    k === "getControllerInfo"
      ? async () => ({ runningRelease: "19.09" })
      : async () => {
          throw new ServerError(Status.UNIMPLEMENTED, k);
        },
  ]),
) as unknown as PatchServiceImplementation;

async function startServer(files: { certFile: string; keyFile: string; clientCaFile?: string }): Promise<{ server: Server; port: number }> {
  const log = createLogger({ level: "silent" });
  const server = createServer().use(errorMiddleware(log)).use(createAuthMiddleware({ auth, log }));
  server.add(HealthDefinition, HealthServiceImpl(HealthState()));
  server.add(PatchServiceDefinition, patchImpl);
  const port = await server.listen("127.0.0.1:0", serverCredentials(files));
  return { server, port };
}

async function statusOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (e) {
    if (e instanceof ClientError) return Status[e.code]!;
    throw e;
  }
}

describe("TLS listener", () => {
  let dir: string;
  let ca: Issued;
  let serverCert: Issued;
  const channels: Channel[] = [];
  const open = (creds?: ChannelCredentials, port?: number) => {
    const ch = createChannel(`127.0.0.1:${port}`, creds);
    channels.push(ch);
    return ch;
  };
  const bearer = { metadata: Metadata({ authorization: "Bearer swp_reader" }) };
  const fast = () => ({ ...bearer, signal: AbortSignal.timeout(5000) });

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-tls-"));
    ca = issue("sw-patch test CA", { ca: true });
    serverCert = issue("127.0.0.1", { issuer: ca, ip: "127.0.0.1" });
    writeFileSync(path.join(dir, "ca.pem"), ca.certPem);
    writeFileSync(path.join(dir, "server.pem"), serverCert.certPem);
    writeFileSync(path.join(dir, "server.key"), serverCert.keyPem, { mode: 0o600 });
  });
  afterEach(() => {
    for (const ch of channels.splice(0)) ch.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("server TLS", () => {
    let s: { server: Server; port: number };
    before(async () => {
      s = await startServer({ certFile: path.join(dir, "server.pem"), keyFile: path.join(dir, "server.key") });
    });
    after(() => s.server.shutdown());

    it("serves a client that trusts the CA, with its token", async () => {
      const ch = open(ChannelCredentials.createSsl(Buffer.from(ca.certPem)), s.port);
      expect((await createClient(PatchServiceDefinition, ch).getControllerInfo({}, fast())).runningRelease).to.equal("19.09");
      expect((await createClient(HealthDefinition, ch).check({ service: "" })).status).to.equal(1);
    });

    it("still requires the bearer token over TLS", async () => {
      const ch = open(ChannelCredentials.createSsl(Buffer.from(ca.certPem)), s.port);
      expect(await statusOf(createClient(PatchServiceDefinition, ch).getControllerInfo({}, { signal: AbortSignal.timeout(5000) }))).to.equal("UNAUTHENTICATED");
    });

    it("refuses a plaintext client", async () => {
      const ch = open(undefined, s.port);
      expect(await statusOf(createClient(PatchServiceDefinition, ch).getControllerInfo({}, fast()))).to.equal("UNAVAILABLE");
    });

    it("refuses a client that does not trust the server's CA", async () => {
      const other = issue("other CA", { ca: true });
      const ch = open(ChannelCredentials.createSsl(Buffer.from(other.certPem)), s.port);
      expect(await statusOf(createClient(PatchServiceDefinition, ch).getControllerInfo({}, fast()))).to.equal("UNAVAILABLE");
    });
  });

  describe("mTLS (--tls-client-ca)", () => {
    let s: { server: Server; port: number };
    let clientCert: Issued;
    before(async () => {
      clientCert = issue("compute-0", { issuer: ca, client: true });
      s = await startServer({ certFile: path.join(dir, "server.pem"), keyFile: path.join(dir, "server.key"), clientCaFile: path.join(dir, "ca.pem") });
    });
    after(() => s.server.shutdown());

    it("serves a client presenting a certificate signed by the client CA", async () => {
      const creds = ChannelCredentials.createSsl(Buffer.from(ca.certPem), Buffer.from(clientCert.keyPem), Buffer.from(clientCert.certPem));
      const ch = open(creds, s.port);
      expect((await createClient(PatchServiceDefinition, ch).getControllerInfo({}, fast())).runningRelease).to.equal("19.09");
    });

    it("refuses a client without a certificate at the handshake", async () => {
      const ch = open(ChannelCredentials.createSsl(Buffer.from(ca.certPem)), s.port);
      expect(await statusOf(createClient(PatchServiceDefinition, ch).getControllerInfo({}, fast()))).to.equal("UNAVAILABLE");
    });

    it("refuses a client certificate from another CA", async () => {
      const otherCa = issue("rogue CA", { ca: true });
      const rogue = issue("compute-0", { issuer: otherCa, client: true });
      const creds = ChannelCredentials.createSsl(Buffer.from(ca.certPem), Buffer.from(rogue.keyPem), Buffer.from(rogue.certPem));
      const ch = open(creds, s.port);
      expect(await statusOf(createClient(PatchServiceDefinition, ch).getControllerInfo({}, fast()))).to.equal("UNAVAILABLE");
    });
  });
});
