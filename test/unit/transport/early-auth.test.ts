/**
 * Issue 16 point 12 on gRPC: what grpc-js allows. A unary call's request message is read and
 * decoded before any nice-grpc middleware runs, so the auth middleware alone refuses a call
 * without a token only after decoding its (up to 8 MiB) message; the early-auth interceptor
 * refuses it from the metadata, before the message is read or decoded.
 */
import { expect } from "chai";
import * as grpc from "@grpc/grpc-js";
import { createServer, type Server } from "nice-grpc";
import { DomainError } from "../../../server/domain/errors.js";
import type { AuditRecord } from "../../../server/domain/auth/audit-log.js";
import type { Caller } from "../../../server/domain/auth/roles.js";
import { createAuthMiddleware } from "../../../server/transport/auth-middleware.js";
import { createEarlyAuthInterceptor } from "../../../server/transport/early-auth.js";
import { errorMiddleware, ERROR_REASON_TRAILER } from "../../../server/transport/errors.js";
import { createLogger } from "../../../server/lib/log.js";

const APPLY = "/swpatch.v1.PatchService/ApplyPatches";
const log = createLogger({ level: "silent" });

describe("gRPC: an unauthenticated unary call is refused before its message is decoded (early-auth interceptor)", function () {
  this.timeout(30_000);
  let decoded = 0;
  let handled = 0;
  const audit: AuditRecord[] = [];
  const auth = {
    verify: async (t: string): Promise<Caller> => {
      if (t === "good") return { tokenId: "tok1", role: "admin" };
      throw new DomainError("unauthenticated", "invalid token", { reason: "TOKEN_INVALID" });
    },
  };
  // A raw (grpc-js style) definition whose decoder counts what it decodes.
  const definition: grpc.ServiceDefinition<{ applyPatches: grpc.MethodDefinition<Buffer, Buffer> }> = {
    applyPatches: {
      path: APPLY,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => {
        decoded++;
        return b;
      },
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  const servers: Server[] = [];
  const clients: grpc.Client[] = [];
  async function start(early: boolean): Promise<grpc.Client> {
    const server = createServer({
      "grpc.max_receive_message_length": 8 * 1024 * 1024,
      ...(early ? { interceptors: [createEarlyAuthInterceptor({ auth, audit: { record: async (r: AuditRecord) => audit.push(r) }, log })] } : {}),
    })
      .use(errorMiddleware(log))
      .use(createAuthMiddleware({ auth, audit: { record: async (r) => audit.push(r) }, log }));
    // (nice-grpc types grpc-js style definitions loosely: the implementation is checked here.)
    const implementation = {
      applyPatches: async (req: Buffer) => {
        handled++;
        return Buffer.from(String(req.length));
      },
    };
    server.add(definition, implementation as never);
    servers.push(server);
    const port = await server.listen("127.0.0.1:0");
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.max_send_message_length": 8 * 1024 * 1024 });
    clients.push(client);
    return client;
  }
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.shutdown()));
  });

  function call(client: grpc.Client, body: Buffer, token?: string): Promise<{ code: number; details: string; reason: string | undefined; value?: string }> {
    const md = new grpc.Metadata();
    if (token) md.set("authorization", `Bearer ${token}`);
    return new Promise((resolve) => {
      let reason: string | undefined;
      const c = client.makeUnaryRequest(
        APPLY,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        md,
        (err, value) => {
          if (err) resolve({ code: err.code, details: err.details, reason: reason ?? (err.metadata.get(ERROR_REASON_TRAILER)[0] as string | undefined) });
          else resolve({ code: 0, details: "", reason: undefined, value: value!.toString() });
        },
      );
      c.on("status", (s: grpc.StatusObject) => (reason = s.metadata.get(ERROR_REASON_TRAILER)[0] as string | undefined));
    });
  }

  const big = Buffer.alloc(7 * 1024 * 1024, 0x41);

  it("without the interceptor (grpc-js + middleware alone) the 7 MiB message is decoded before the refusal", async () => {
    const client = await start(false);
    decoded = 0;
    const r = await call(client, big);
    expect(r.code).to.equal(grpc.status.UNAUTHENTICATED);
    expect(r.details).to.equal("missing token");
    expect(decoded).to.equal(1);
    expect(handled).to.equal(0);
  });

  it("with it, a call without a token or with a bad one is refused from its metadata: nothing decoded, same status, reason and audit row", async () => {
    const client = await start(true);
    decoded = 0;
    audit.length = 0;
    const missing = await call(client, big);
    expect(missing).to.deep.include({ code: grpc.status.UNAUTHENTICATED, details: "missing token", reason: "TOKEN_MISSING" });
    const bad = await call(client, big, "sw1.nope.nope");
    expect(bad).to.deep.include({ code: grpc.status.UNAUTHENTICATED, details: "invalid token", reason: "TOKEN_INVALID" });
    expect(decoded).to.equal(0);
    expect(handled).to.equal(0);
    expect(audit.map((a) => [a.action, a.outcome, a.detail, a.target])).to.deep.equal([
      ["ApplyPatches", "UNAUTHENTICATED", "missing token", ""],
      ["ApplyPatches", "UNAUTHENTICATED", "invalid token", ""],
    ]);
    const ok = await call(client, big, "good");
    expect(ok).to.deep.include({ code: 0, value: String(big.length) });
    expect(decoded).to.equal(1);
  });
});
