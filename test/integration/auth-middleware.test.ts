/**
 * The auth middleware on a real nice-grpc server (127.0.0.1:0): every RPC of every service is
 * called with no token, each role and a revoked token. Services are stubs returning empty
 * responses (the unit under test is the middleware), except AdminService, which is the real one
 * over a real sqlite Db, and health/reflection, which are the real ones.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { ClientError, Metadata, Status, createChannel, createClient, createServer, type CallContext, type Channel, type Server } from "nice-grpc";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { ServerReflection, ServerReflectionService } from "nice-grpc-server-reflection";
import { ServerReflectionRequest } from "nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { AgentServiceDefinition, type ConnectRequest } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { OrchestrationServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { AdminServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { descriptorSetBase64 } from "../../server/transport/generated/descriptor-set.js";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { AuthStore } from "../../server/storage/sqlite/auth-store.js";
import { AuthManager } from "../../server/domain/auth/auth-manager.js";
import { AuditLog } from "../../server/domain/auth/audit-log.js";
import { verifyAuditLog } from "../../server/domain/auth/audit-chain.js";
import { TrustManager } from "../../server/domain/auth/trust-manager.js";
import { RPC_POLICY } from "../../server/domain/auth/rpc-policy.js";
import { roleSatisfies, type Role } from "../../server/domain/auth/roles.js";
import { createAuthMiddleware, assertMayActAsHost, type AuthContextExt } from "../../server/transport/auth-middleware.js";
import { createAdminService } from "../../server/transport/admin-service.js";
import { TrustRootManager } from "../../server/domain/auth/trust-root-manager.js";
import { MemoryTrustRootStore } from "../contract/memory-trust-root-store.js";
import type { Disk } from "../contract/memory-store.js";
import { errorMiddleware } from "../../server/transport/errors.js";
import { createLogger } from "../../server/lib/log.js";

type AnyMethod = { name: string; path?: string; requestStream: boolean; responseStream: boolean };
type AnyDefinition = { fullName: string; methods: Record<string, AnyMethod> };

const STUBBED: AnyDefinition[] = [PatchServiceDefinition, HostServiceDefinition, OrchestrationServiceDefinition];

/** An implementation of `def` whose every method returns an empty response. */
function stubImplementation(def: AnyDefinition): Record<string, unknown> {
  const impl: Record<string, unknown> = {};
  for (const [key, m] of Object.entries(def.methods)) {
    if (!m.requestStream && !m.responseStream) impl[key] = async () => ({});
    else if (!m.requestStream && m.responseStream) impl[key] = async function* () {};
    else if (m.requestStream && !m.responseStream)
      impl[key] = async (reqs: AsyncIterable<unknown>) => {
        for await (const _ of reqs);
        return {};
      };
    else
      impl[key] = async function* (reqs: AsyncIterable<unknown>) {
        for await (const _ of reqs);
      };
  }
  return impl;
}

async function* once<T>(msg: T): AsyncGenerator<T> {
  yield msg;
}

/** Calls one method with an empty request; resolves to "OK" or the status name. */
async function callMethod(
  channel: Channel,
  def: AnyDefinition | typeof ServerReflectionService,
  key: string,
  m: AnyMethod,
  token?: string,
  request: unknown = {},
): Promise<string> {
  const client = createClient(def as never, channel) as unknown as Record<string, (req: unknown, opts: unknown) => unknown>;
  const metadata = new Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  const opts = { metadata };
  try {
    const req = m.requestStream ? once(request) : request;
    if (!m.responseStream) {
      await client[key]!(req, opts);
    } else {
      // Take at most one message (health Watch never ends), then cancel by leaving the loop.
      for await (const _ of client[key]!(req, opts) as AsyncIterable<unknown>) break;
    }
    return "OK";
  } catch (e) {
    if (e instanceof ClientError) return Status[e.code]!;
    throw e;
  }
}

async function errorOf(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ClientError);
    return e as ClientError;
  }
  throw new Error("expected the call to fail");
}

describe("auth middleware (real server, every RPC)", () => {
  let dir: string;
  let db: Db;
  let server: Server<AuthContextExt>;
  let channel: Channel;
  let auth: AuthManager;
  let audit: AuditLog;
  const tokens: Partial<Record<Role | "revoked" | "agent-other", string>> = {};
  const connectedAs: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-auth-it-"));
    db = await Db.open(path.join(dir, "sw-patch.sqlite"), migrations);
    const store = new AuthStore(db);
    auth = new AuthManager({ store });
    // Every refusal is recorded here (the rate limit per source is tested in test/unit/auth/audit-log.test.ts).
    audit = new AuditLog(store, undefined, { perWindow: 1_000_000 });
    const trust = new TrustManager({ store, configured: { keys: [] } });
    await trust.init();
    const log = createLogger({ level: "silent" });
    server = createServer().use(errorMiddleware(log)).use(createAuthMiddleware({ auth, audit, log }));
    for (const def of STUBBED) server.add(def as never, stubImplementation(def) as never);
    server.add(AgentServiceDefinition, {
      async installReceiptSubmit() {
        return { counter: 0 };
      },
      async *connect(requests: AsyncIterable<ConnectRequest>, ctx: CallContext & AuthContextExt) {
        for await (const r of requests) {
          if (r.message?.$case === "hello") {
            assertMayActAsHost(ctx.caller, r.message.value.hostname);
            connectedAs.push(r.message.value.hostname);
          }
        }
      },
      async *fetchPackage() {},
      async enroll() {
        return { token: "", tokenId: "", hostname: "", personality: "" };
      },
    });
    const auditChain = { signer: { key: { keyId: "0".repeat(16), publicKeyPem: "", createdAt: "" } }, verify: () => verifyAuditLog(store) };
    // A root of trust over an empty in-memory store: its RPCs answer past the middleware (get: none; set/rotate: bad document).
    const trustRoot = new TrustRootManager(new MemoryTrustRootStore({ d: { trustRoots: [] } as unknown as Disk }));
    await trustRoot.init();
    server.add(AdminServiceDefinition, createAdminService({ auth, trust, audit, auditChain, trustRoot }));
    server.add(HealthDefinition, HealthServiceImpl(HealthState()));
    server.add(ServerReflectionService, ServerReflection(Buffer.from(descriptorSetBase64, "base64"), [PatchServiceDefinition.fullName]));
    const port = await server.listen("127.0.0.1:0");
    channel = createChannel(`127.0.0.1:${port}`);
    for (const role of ["admin", "operator", "reader"] as const) tokens[role] = (await auth.createToken({ role })).token;
    tokens.agent = (await auth.createToken({ role: "agent", hostname: "compute-0" })).token;
    const revoked = await auth.createToken({ role: "admin" });
    await auth.revoke(revoked.info.id);
    tokens.revoked = revoked.token;
  });

  after(async () => {
    channel?.close();
    await server?.shutdown();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ALL: { def: AnyDefinition | typeof ServerReflectionService; key: string; m: AnyMethod; path: string }[] = [
    ...[...STUBBED, AgentServiceDefinition as AnyDefinition, AdminServiceDefinition as AnyDefinition, HealthDefinition as unknown as AnyDefinition].flatMap((def) =>
      Object.entries(def.methods).map(([key, m]) => ({ def, key, m, path: `/${def.fullName}/${m.name}` })),
    ),
    ...Object.entries(ServerReflectionService).map(([key, m]) => ({ def: ServerReflectionService, key, m: { ...m, name: key }, path: m.path })),
  ];

  it("covers every path of the policy table served here", () => {
    const served = new Set(ALL.map((x) => x.path));
    expect(Object.keys(RPC_POLICY).filter((p) => !served.has(p) && !p.includes("v1alpha"))).to.deep.equal([]);
    expect(ALL.length).to.be.greaterThan(45);
  });

  /** Collects path → outcome for every method called with `token`. */
  async function outcomes(token: string | undefined): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const x of ALL) {
      const request =
        x.def === ServerReflectionService ? new ServerReflectionRequest().setListServices("") : x.path.startsWith("/grpc.health.v1.") ? { service: "" } : {};
      const o = await callMethod(channel, x.def, x.key, x.m, token, request);
      // Past the middleware, the real AdminService refuses some empty requests: that still means "allowed".
      const refusedByAdmin = x.path.includes(".AdminService/") && (o === "INVALID_ARGUMENT" || o === "NOT_FOUND");
      out[x.path] = o === "OK" || refusedByAdmin ? "allowed" : o;
    }
    return out;
  }

  function expected(role: Role | "none" | "revoked"): Record<string, string> {
    const out: Record<string, string> = {};
    for (const x of ALL) {
      const req = RPC_POLICY[x.path]!;
      // Enroll needs no bearer token (its request carries the enrolment token; the stub accepts it).
      if (req === "public" || req === "enrollment") out[x.path] = "allowed";
      else if (role === "none" || role === "revoked") out[x.path] = "UNAUTHENTICATED";
      else out[x.path] = roleSatisfies(role, req as Role) ? "allowed" : "PERMISSION_DENIED";
    }
    return out;
  }

  it("without a token: UNAUTHENTICATED everywhere except health and reflection", async () => {
    expect(await outcomes(undefined)).to.deep.equal(expected("none"));
  });

  for (const role of ["reader", "operator", "admin", "agent"] as const) {
    it(`with a ${role} token: exactly the methods the policy gives ${role}`, async () => {
      expect(await outcomes(tokens[role])).to.deep.equal(expected(role));
    });
  }

  it("with a revoked token: UNAUTHENTICATED everywhere except health and reflection (which ignore tokens)", async () => {
    expect(await outcomes(tokens.revoked)).to.deep.equal(expected("revoked"));
  });

  it("says why: missing token, invalid token, token revoked, role R may not call M", async () => {
    const patches = createClient(PatchServiceDefinition, channel);
    const md = (t: string) => ({ metadata: Metadata({ authorization: t }) });
    let e = await errorOf(patches.applyPatches({ patchIds: ["P1"] }));
    expect([e.code, e.details]).to.deep.equal([Status.UNAUTHENTICATED, "missing token"]);
    e = await errorOf(patches.applyPatches({}, md("Bearer swp_nope")));
    expect([e.code, e.details]).to.deep.equal([Status.UNAUTHENTICATED, "invalid token"]);
    e = await errorOf(patches.applyPatches({}, md("Basic abc")));
    expect([e.code, e.details]).to.deep.equal([Status.UNAUTHENTICATED, "invalid token"]);
    e = await errorOf(patches.applyPatches({}, md(`Bearer ${tokens.revoked}`)));
    expect([e.code, e.details]).to.deep.equal([Status.UNAUTHENTICATED, "token revoked"]);
    e = await errorOf(patches.applyPatches({}, md(`Bearer ${tokens.reader}`)));
    expect([e.code, e.details]).to.deep.equal([Status.PERMISSION_DENIED, "role reader may not call ApplyPatches"]);
    e = await errorOf(patches.deletePatches({}, md(`bearer ${tokens.operator}`)));
    expect([e.code, e.details]).to.deep.equal([Status.PERMISSION_DENIED, "role operator may not call DeletePatches"]);
  });

  it("answers health checks without a token", async () => {
    const health = createClient(HealthDefinition, channel);
    expect((await health.check({ service: "" })).status).to.equal(1 /* SERVING */);
  });

  it("lets an agent connect only as its own host, and an admin as any host", async () => {
    const agent = createClient(AgentServiceDefinition, channel);
    const hello = (hostname: string): ConnectRequest => ({
      message: {
        $case: "hello",
        value: { hostname, personality: "worker", subfunctions: [], release: "19.09", mgmtIp: "", installed: [], resumeOperationId: "" } as never,
      },
    });
    const drain = async (t: string, host: string) => {
      for await (const _ of agent.connect(once(hello(host)), { metadata: Metadata({ authorization: `Bearer ${t}` }) }));
    };
    await drain(tokens.agent!, "compute-0");
    const e = await errorOf(drain(tokens.agent!, "compute-1"));
    expect([e.code, e.details]).to.deep.equal([Status.PERMISSION_DENIED, "agent token for compute-0 may not act as host compute-1"]);
    await drain(tokens.admin!, "compute-1");
    expect(connectedAs).to.include.members(["compute-0", "compute-1"]);
    const [last] = (await audit.list({ limit: 1000 })).filter((a) => a.action === "Connect").slice(-1);
    expect(last).to.include({ role: "agent", outcome: "PERMISSION_DENIED" });
  });

  it("takes a revocation into account on the next call", async () => {
    const { info, token } = await auth.createToken({ role: "operator" });
    const patches = createClient(PatchServiceDefinition, channel);
    const opts = { metadata: Metadata({ authorization: `Bearer ${token}` }) };
    await patches.applyPatches({ patchIds: ["P1"] }, opts);
    await auth.revoke(info.id);
    const e = await errorOf(patches.applyPatches({ patchIds: ["P1"] }, opts));
    expect([e.code, e.details]).to.deep.equal([Status.UNAUTHENTICATED, "token revoked"]);
  });

  describe("audit log", () => {
    let afterId = 0;
    beforeEach(async () => {
      afterId = (await audit.list({ limit: 1000 })).reduce((m, e) => Math.max(m, e.id), afterId);
    });
    const fresh = () => audit.list({ afterId, limit: 1000 });

    it("records a mutating call with actor, role, action and target after it completes", async () => {
      const patches = createClient(PatchServiceDefinition, channel);
      await patches.applyPatches({ patchIds: ["PATCH_A", "PATCH_B"] }, { metadata: Metadata({ authorization: `Bearer ${tokens.operator}` }) });
      const entries = await fresh();
      expect(entries).to.have.length(1);
      expect(entries[0]).to.include({ role: "operator", action: "ApplyPatches", target: "patches=PATCH_A,PATCH_B", outcome: "ok" });
      expect(entries[0]!.actor).to.equal(tokens.operator!.slice(4, 20));
    });

    it("records refused attempts: no token, wrong role", async () => {
      const hosts = createClient(HostServiceDefinition, channel);
      await errorOf(hosts.dropHost({ host: "compute-3" }));
      await errorOf(hosts.dropHost({ host: "compute-3" }, { metadata: Metadata({ authorization: `Bearer ${tokens.operator}` }) }));
      const entries = await fresh();
      expect(entries.map((e) => [e.actor === "anonymous", e.role, e.action, e.target, e.outcome])).to.deep.equal([
        [true, "", "DropHost", "host=compute-3", "UNAUTHENTICATED"],
        [false, "operator", "DropHost", "host=compute-3", "PERMISSION_DENIED"],
      ]);
    });

    it("does not record reads", async () => {
      const patches = createClient(PatchServiceDefinition, channel);
      await patches.queryPatches({}, { metadata: Metadata({ authorization: `Bearer ${tokens.reader}` }) });
      expect(await fresh()).to.deep.equal([]);
    });

    it("takes a client-streaming call's target from its header", async () => {
      const patches = createClient(PatchServiceDefinition, channel);
      await patches.uploadPatch(once({ payload: { $case: "header" as const, value: { fileName: "PATCH_0001.patch", sizeBytes: 0 } } }), {
        metadata: Metadata({ authorization: `Bearer ${tokens.operator}` }),
      });
      const [e] = await fresh();
      expect(e).to.include({ action: "UploadPatch", target: "fileName=PATCH_0001.patch", outcome: "ok" });
    });

    it("records the failure status of a call the service refused", async () => {
      const admin = createClient(AdminServiceDefinition, channel);
      await errorOf(admin.revokeToken({ id: "0000000000000000" }, { metadata: Metadata({ authorization: `Bearer ${tokens.admin}` }) }));
      const [e] = await fresh();
      expect(e).to.include({ action: "RevokeToken", target: "id=0000000000000000", outcome: "NOT_FOUND", detail: "Token 0000000000000000 not found" });
    });
  });

  describe("AdminService", () => {
    const adminOpts = () => ({ metadata: Metadata({ authorization: `Bearer ${tokens.admin}` }) });

    it("creates a token usable at once, lists it without the secret, and revokes it", async () => {
      const admin = createClient(AdminServiceDefinition, channel);
      const created = await admin.createToken({ role: "agent", hostname: "worker-9", description: "rack 3" }, adminOpts());
      expect(created.info).to.include({ role: "agent", hostname: "worker-9", description: "rack 3", revoked: false });
      const agent = createClient(AgentServiceDefinition, channel);
      for await (const _ of agent.fetchPackage({ sha256: "" }, { metadata: Metadata({ authorization: `Bearer ${created.token}` }) }));
      const listed = (await admin.listTokens({}, adminOpts())).tokens.find((t) => t.id === created.info!.id)!;
      expect(listed.revoked).to.equal(false);
      expect(JSON.stringify(await admin.listTokens({}, adminOpts()))).not.to.include(created.token.slice(-64));
      await admin.revokeToken({ id: created.info!.id }, adminOpts());
      expect((await admin.listTokens({}, adminOpts())).tokens.find((t) => t.id === created.info!.id)!.revoked).to.equal(true);
      const e = await errorOf(
        (async () => {
          for await (const _ of agent.fetchPackage({ sha256: "" }, { metadata: Metadata({ authorization: `Bearer ${created.token}` }) }));
        })(),
      );
      expect(e.details).to.equal("token revoked");
      const audited = (await admin.listAuditLog({ afterId: 0, limit: 1000 }, adminOpts())).entries.filter((x) => x.action === "CreateToken");
      expect(audited.at(-1)).to.include({ target: "hostname=worker-9 role=agent", detail: `token=${created.info!.id}`, outcome: "ok" });
      expect(JSON.stringify(audited)).not.to.include(created.token);
    });

    it("adds, lists and removes a trusted key", async () => {
      const admin = createClient(AdminServiceDefinition, channel);
      const pem = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
      const added = await admin.addTrustedKey({ label: "site", pem }, adminOpts());
      expect(added.key!.fingerprintSha256).to.match(/^[0-9a-f]{64}$/);
      expect((await admin.listTrustedKeys({}, adminOpts())).keys.map((k) => k.label)).to.deep.equal(["site"]);
      const dup = await errorOf(admin.addTrustedKey({ label: "site2", pem }, adminOpts()));
      expect(dup.code).to.equal(Status.ALREADY_EXISTS);
      await admin.removeTrustedKey({ label: "site" }, adminOpts());
      expect((await admin.listTrustedKeys({}, adminOpts())).keys).to.deep.equal([]);
      const actions = (await admin.listAuditLog({ afterId: 0, limit: 1000 }, adminOpts())).entries.map((e) => `${e.action}:${e.target}:${e.outcome}`);
      expect(actions).to.include.members(["AddTrustedKey:label=site:ok", "AddTrustedKey:label=site2:ALREADY_EXISTS", "RemoveTrustedKey:label=site:ok"]);
    });

    it("rejects bad requests with INVALID_ARGUMENT naming the field", async () => {
      const admin = createClient(AdminServiceDefinition, channel);
      const e = await errorOf(admin.createToken({ role: "agent" }, adminOpts()));
      expect([e.code, e.details]).to.deep.equal([Status.INVALID_ARGUMENT, "hostname: required for an agent token"]);
    });
  });
});
