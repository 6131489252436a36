/**
 * The status matrix: for every RPC of every service the controller serves, one call per status a
 * caller can provoke (OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS,
 * PERMISSION_DENIED for a reader or operator, UNAUTHENTICATED without or with a bad token),
 * asserting the status code, the message, the reason trailer (`swpatch-error-reason`) and the
 * SDK class the reason maps to. One controller process; rows run in table order (later rows rely
 * on the state earlier ones made). An RPC without a row fails the suite, like the policy test.
 */
import { generateKeyPairSync } from "node:crypto";
import { makeTrustRoot } from "../../clients/sdk/src/trust-root.js";
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClientError, Metadata, Status, createChannel, createClientFactory, type CallOptions, type Channel, type ClientMiddlewareCall } from "nice-grpc";
import * as grpc from "@grpc/grpc-js";
import { HealthDefinition } from "nice-grpc-server-health";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { PatchServiceDefinition, type ImportBasePackageRequest, type UploadPatchRequest } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { AgentServiceDefinition, type ConnectRequest } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { OrchestrationServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { AdminServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { ApplyType } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import {
  AlreadyExistsError,
  HostNotFoundError,
  InvalidArgumentError,
  NotFoundError,
  OperationNotFoundError,
  PatchNotFoundError,
  PermissionDeniedError,
  PreconditionError,
  ReleaseNotFoundError,
  StrategyNotFoundError,
  SwPatchError,
  UnauthenticatedError,
  toSwPatchError,
} from "../../clients/sdk/src/index.js";
import { RPC_POLICY } from "../../server/domain/auth/rpc-policy.js";
import { AsyncQueue } from "../../server/lib/async-queue.js";
import { DEV_CERT, startController, type ControllerHandle } from "../lib/controller-harness.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import { buildPayloadRpm, type FeedPackage } from "../lib/base-feed.js";

type Who = "admin" | "operator" | "reader" | "agent" | "none" | "invalid" | "revoked";

/** Reasons seen in trailers, per error object (captured by a client middleware). */
const REASONS = new WeakMap<object, string | undefined>();
/** The decoded grpc-status-details-bin trailer, per error object. */
const DETAILS = new WeakMap<object, StatusDetails | undefined>();

interface StatusDetails {
  code: number;
  message: string;
  typeUrl: string;
  reason: string;
  domain: string;
}

/** Decodes google.rpc.Status with one google.rpc.ErrorInfo detail (the fields the test needs). */
function decodeStatusDetails(bytes: Uint8Array): StatusDetails {
  const out: StatusDetails = { code: -1, message: "", typeUrl: "", reason: "", domain: "" };
  const status = new BinaryReader(bytes);
  while (status.pos < status.len) {
    const [field, wire] = status.tag();
    if (field === 1) out.code = status.int32();
    else if (field === 2) out.message = status.string();
    else if (field === 3) {
      const any = new BinaryReader(status.bytes());
      while (any.pos < any.len) {
        const [f, w] = any.tag();
        if (f === 1) out.typeUrl = any.string();
        else if (f === 2) {
          const info = new BinaryReader(any.bytes());
          while (info.pos < info.len) {
            const [g, x] = info.tag();
            if (g === 1) out.reason = info.string();
            else if (g === 2) out.domain = info.string();
            else info.skip(x);
          }
        } else any.skip(w);
      }
    } else status.skip(wire);
  }
  return out;
}

async function* captureReason<Req, Res>(call: ClientMiddlewareCall<Req, Res>, options: CallOptions) {
  let reason: string | undefined;
  let details: StatusDetails | undefined;
  try {
    return yield* call.next(call.request, {
      ...options,
      onTrailer: (t) => {
        reason = t.get("swpatch-error-reason") as string | undefined;
        const bin = t.get("grpc-status-details-bin");
        details = bin instanceof Uint8Array ? decodeStatusDetails(bin) : undefined;
      },
    });
  } catch (e) {
    if (e instanceof ClientError) {
      REASONS.set(e, reason);
      DETAILS.set(e, details);
    }
    throw e;
  }
}

function clientsFor(channel: Channel, token: string | undefined) {
  const factory = createClientFactory().use(captureReason);
  const defaults = token === undefined ? {} : { "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } };
  return {
    patches: factory.create(PatchServiceDefinition, channel, defaults),
    hosts: factory.create(HostServiceDefinition, channel, defaults),
    orchestration: factory.create(OrchestrationServiceDefinition, channel, defaults),
    admin: factory.create(AdminServiceDefinition, channel, defaults),
    agent: factory.create(AgentServiceDefinition, channel, defaults),
    health: factory.create(HealthDefinition, channel, defaults),
  };
}
type Clients = ReturnType<typeof clientsFor>;

/** First message of a server stream (the call is cancelled after it). */
async function first<T>(stream: AsyncIterable<T>): Promise<T> {
  for await (const m of stream) return m;
  throw new Error("stream ended without a message");
}

/** A client stream of the given messages. */
async function* streamOf<T>(...items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

function hello(hostname: string, personality = "worker", o: { mgmtIp?: string; release?: string; subfunctions?: string[] } = {}): ConnectRequest {
  return {
    message: {
      $case: "hello",
      value: {
        hostname,
        personality,
        subfunctions: o.subfunctions ?? [],
        release: o.release ?? "19.09",
        mgmtIp: o.mgmtIp ?? "",
        packages: [],
        requiresReboot: false,
        state: 0,
        installReason: "",
        instances: [],
        interruptedOperationId: "",
        agentVersion: "matrix",
        provision: false,
        installRequest: false,
      },
    },
  };
}

/** What a row expects: OK (optionally checking the response) or an error status. */
type Expect =
  { ok: true; check?: (response: unknown) => void } | { code: Status; message: string | RegExp; reason: string; sdk: abstract new (...a: never[]) => SwPatchError };

interface Row {
  rpc: string;
  as: Who;
  name: string;
  call: (c: Clients) => Promise<unknown>;
  expect: Expect;
}

const P = "/swpatch.v1.PatchService/";
const H = "/swpatch.v1.HostService/";
const A = "/swpatch.v1.AgentService/";
const O = "/swpatch.v1.OrchestrationService/";
const D = "/swpatch.v1.AdminService/";
const UNKNOWN_OP = "00000000-0000-4000-8000-000000000000";
const NO_SHA = "0".repeat(64);

const ok = (check?: (response: unknown) => void): Expect => ({ ok: true, ...(check ? { check } : {}) });
const err = (code: Status, message: string | RegExp, reason: string, sdk: Extract<Expect, { code: Status }>["sdk"]): Expect => ({ code, message, reason, sdk });
const invalid = (message: string | RegExp, reason = "INVALID_ARGUMENT") => err(Status.INVALID_ARGUMENT, message, reason, InvalidArgumentError);
const precondition = (message: string | RegExp, reason: string) => err(Status.FAILED_PRECONDITION, message, reason, PreconditionError);

describe("RPC status matrix (every RPC, every status a caller can provoke)", function () {
  this.timeout(180_000);
  let ctl: ControllerHandle;
  let channel: Channel;
  let dir: string;
  const as = {} as Record<Who, Clients>;
  const agentRequests = new AsyncQueue<ConnectRequest>();
  let agentLink: Promise<unknown> | undefined;
  let patchFile: string;
  let patchFile2: string;
  let patchFile3: string;
  let rpm: FeedPackage;
  let operationId = "";
  let tokenToRevoke = "";
  let adminTokenId = "";
  /** The file name of `rpm` (rows are built before it is). */
  const BASE_RPM = "matrix-base-1.0-1.noarch.rpm";

  // The state the rows share, filled as they run.
  const rows: Row[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-matrix-"));
    ctl = await startController();
    channel = createChannel(ctl.endpoint);
    as.admin = clientsFor(channel, ctl.adminToken);
    adminTokenId = ctl.adminToken.split("_")[1]!;
    const mk = async (role: string, hostname = "") => (await as.admin.admin.createToken({ role, hostname, description: `matrix ${role}` })).token;
    as.operator = clientsFor(channel, await mk("operator"));
    as.reader = clientsFor(channel, await mk("reader"));
    as.agent = clientsFor(channel, await mk("agent", "fake-0"));
    as.none = clientsFor(channel, undefined);
    as.invalid = clientsFor(channel, "swp_0000000000000000_" + "0".repeat(64));
    const revoked = await as.admin.admin.createToken({ role: "reader", hostname: "", description: "matrix revoked" });
    await as.admin.admin.revokeToken({ id: revoked.info!.id });
    as.revoked = clientsFor(channel, revoked.token);
    tokenToRevoke = (await as.admin.admin.createToken({ role: "reader", hostname: "", description: "matrix to revoke" })).info!.id;

    patchFile = (await buildTestPatch({ dir, id: "MX_0001", swVersion: "19.09" })).path;
    patchFile2 = (
      await buildTestPatch({
        dir,
        id: "MX_0002",
        swVersion: "19.09",
        rpms: [{ name: "testpkg-two", version: "1.0", release: "1.tis", files: [{ path: "/etc/testpkg-two.conf", content: "x=2\n" }] }],
      })
    ).path;
    patchFile3 = (await buildTestPatch({ dir: path.join(dir, "3"), id: "MX_0003", swVersion: "19.09" })).path;
    rpm = await buildPayloadRpm({ name: "matrix-base", version: "1.0", outDir: dir });

    // A fake agent for host fake-0 (its own agent token): it never answers an install, so the
    // operation started below stays open.
    agentRequests.push(hello("fake-0"));
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    agentLink = (async () => {
      try {
        for await (const m of as.agent.agent.connect(agentRequests)) if (m.message?.$case === "helloAck") markReady();
      } catch {
        // ends with the controller
      }
    })();
    await ready; // the controller answers the hello once the host is registered and connected
  });

  after(async () => {
    agentRequests.end();
    channel?.close();
    await ctl?.stop();
    await agentLink;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function* upload(fileName: string, chunks: Buffer[] = []): AsyncGenerator<UploadPatchRequest> {
    yield { payload: { $case: "header", value: { fileName, sizeBytes: 0 } } };
    for (const c of chunks) yield { payload: { $case: "chunk", value: c } };
  }
  async function* chunkOnly(): AsyncGenerator<UploadPatchRequest> {
    yield { payload: { $case: "chunk", value: Buffer.alloc(1) } };
  }
  async function* basePackage(release: string, fileName: string, bytes: Buffer, signature = Buffer.alloc(0)): AsyncGenerator<ImportBasePackageRequest> {
    yield { payload: { $case: "header", value: { release, fileName, sizeBytes: bytes.length, signature } } };
    yield { payload: { $case: "chunk", value: bytes } };
  }

  /** A call of each RPC with a harmless request: what the generated auth rows send. */
  const SIMPLE: Record<string, (c: Clients) => Promise<unknown>> = {
    [P + "UploadPatch"]: (c) => c.patches.uploadPatch(upload("X.patch")),
    [P + "QueryPatches"]: (c) => c.patches.queryPatches({}),
    [P + "ShowPatches"]: (c) => c.patches.showPatches({ patchIds: ["MX_0001"] }),
    [P + "ApplyPatches"]: (c) => c.patches.applyPatches({ patchIds: ["GHOST"] }),
    [P + "RemovePatches"]: (c) => c.patches.removePatches({ patchIds: ["GHOST"] }),
    [P + "DeletePatches"]: (c) => c.patches.deletePatches({ patchIds: ["GHOST"] }),
    [P + "CommitPatches"]: (c) => c.patches.commitPatches({ patchIds: ["GHOST"], dryRun: true }),
    [P + "WhatRequires"]: (c) => c.patches.whatRequires({ patchIds: ["MX_0001"] }),
    [P + "QueryDependencies"]: (c) => c.patches.queryDependencies({ patchIds: ["MX_0001"] }),
    [P + "IsApplied"]: (c) => c.patches.isApplied({ patchIds: ["MX_0001"] }),
    [P + "IsAvailable"]: (c) => c.patches.isAvailable({ patchIds: ["MX_0001"] }),
    [P + "ReportAppDependencies"]: (c) => c.patches.reportAppDependencies({ app: "matrix-app", patchIds: [] }),
    [P + "QueryAppDependencies"]: (c) => c.patches.queryAppDependencies({}),
    [P + "InitRelease"]: (c) => c.patches.initRelease({ release: "88.88" }),
    [P + "DelRelease"]: (c) => c.patches.delRelease({ release: "99.99" }),
    [P + "ImportBasePackage"]: (c) => c.patches.importBasePackage(basePackage("19.09", "x.rpm", Buffer.alloc(1))),
    [P + "ListBasePackages"]: (c) => c.patches.listBasePackages({}),
    [P + "GetControllerInfo"]: (c) => c.patches.getControllerInfo({}),
    [P + "WatchEvents"]: (c) => first(c.patches.watchEvents({ afterSequence: 0 })),
    [H + "ListHosts"]: (c) => c.hosts.listHosts({}),
    [H + "GetHost"]: (c) => c.hosts.getHost({ host: "fake-0" }),
    [H + "LockHost"]: (c) => c.hosts.lockHost({ host: "ghost-host" }),
    [H + "UnlockHost"]: (c) => c.hosts.unlockHost({ host: "ghost-host" }),
    [H + "SwactHost"]: (c) => c.hosts.swactHost({ host: "ghost-host" }),
    [H + "DropHost"]: (c) => c.hosts.dropHost({ host: "ghost-host" }),
    [H + "InstallHost"]: (c) => first(c.hosts.installHost({ host: "ghost-host" })),
    [H + "InstallHostAsync"]: (c) => c.hosts.installHostAsync({ host: "ghost-host" }),
    [H + "GetOperation"]: (c) => c.hosts.getOperation({ operationId: UNKNOWN_OP }),
    [H + "WatchOperation"]: (c) => first(c.hosts.watchOperation({ operationId: UNKNOWN_OP })),
    [H + "ListAlarms"]: (c) => c.hosts.listAlarms({}),
    [H + "GetAlarm"]: (c) => c.hosts.getAlarm({ uuid: UNKNOWN_OP }),
    [H + "RaiseAlarm"]: (c) => c.hosts.raiseAlarm({ alarmId: "bad" }),
    [H + "ClearAlarm"]: (c) => c.hosts.clearAlarm({ uuid: UNKNOWN_OP }),
    [A + "Connect"]: (c) => first(c.agent.connect(streamOf(hello("fake-9")))),
    [A + "FetchPackage"]: (c) => first(c.agent.fetchPackage({ sha256: NO_SHA })),
    [A + "Enroll"]: (c) => c.agent.enroll({ enrollToken: "not-a-token", hostname: "matrix-host", personality: "worker" }),
    [H + "EnrollHost"]: (c) => c.hosts.enrollHost({ hostname: "matrix-host", personality: "pilot" }),
    [H + "RevokeHost"]: (c) => c.hosts.revokeHost({ hostname: "ghost-host" }),
    [H + "ListEnrollments"]: (c) => c.hosts.listEnrollments({}),
    [P + "SecurityFloorList"]: (c) => c.patches.securityFloorList({}),
    [H + "InstallReceiptList"]: (c) => c.hosts.installReceiptList({ hostname: "ghost-host" }),
    [A + "InstallReceiptSubmit"]: (c) => c.agent.installReceiptSubmit({ envelope: "{}" }),
    [O + "CreateStrategy"]: (c) => c.orchestration.createStrategy({ maxParallelWorkerHosts: 1 }),
    [O + "GetStrategy"]: (c) => c.orchestration.getStrategy({}),
    [O + "ApplyStrategy"]: (c) => c.orchestration.applyStrategy({}),
    [O + "AbortStrategy"]: (c) => c.orchestration.abortStrategy({}),
    [O + "DeleteStrategy"]: (c) => c.orchestration.deleteStrategy({}),
    [O + "WatchStrategy"]: (c) => first(c.orchestration.watchStrategy({})),
    [O + "RehearseStrategy"]: (c) => c.orchestration.rehearseStrategy({ failRate: 0, runs: 1 }),
    [O + "PauseStrategy"]: (c) => c.orchestration.pauseStrategy({}),
    [O + "ResumeStrategy"]: (c) => c.orchestration.resumeStrategy({}),
    [D + "CreateToken"]: (c) => c.admin.createToken({ role: "nobody" }),
    [D + "ListTokens"]: (c) => c.admin.listTokens({}),
    [D + "RevokeToken"]: (c) => c.admin.revokeToken({ id: "0000000000000000" }),
    [D + "ListTrustedKeys"]: (c) => c.admin.listTrustedKeys({}),
    [D + "AddTrustedKey"]: (c) => c.admin.addTrustedKey({ label: "bad label!", pem: "x" }),
    [D + "RemoveTrustedKey"]: (c) => c.admin.removeTrustedKey({ label: "ghost" }),
    [D + "ListAuditLog"]: (c) => c.admin.listAuditLog({ limit: 1 }),
    [D + "AuditChainVerify"]: (c) => c.admin.auditChainVerify({}),
    // issue 21 (TRUSTROOT)
    [D + "TrustRootGet"]: (c) => c.admin.trustRootGet({}),
    [D + "TrustRootSet"]: (c) => c.admin.trustRootSet({ document: "x" }),
    [D + "TrustRootRotate"]: (c) => c.admin.trustRootRotate({ document: "x" }),
  };

  // --- Generated rows: UNAUTHENTICATED without/with a bad token, PERMISSION_DENIED below the role.
  for (const [rpc, requirement] of Object.entries(RPC_POLICY)) {
    // Enroll takes no bearer token: its rows are hand-written (enrolment below).
    if (requirement === "public" || requirement === "enrollment") continue;
    const call = SIMPLE[rpc];
    if (!call) continue; // the coverage test below names it
    const method = rpc.split("/").pop()!;
    rows.push({ rpc, as: "none", name: "no token", call, expect: err(Status.UNAUTHENTICATED, "missing token", "TOKEN_MISSING", UnauthenticatedError) });
    const deny = (who: Who) =>
      rows.push({
        rpc,
        as: who,
        name: `${who} token`,
        call,
        expect: err(Status.PERMISSION_DENIED, `role ${who} may not call ${method}`, "ROLE_NOT_PERMITTED", PermissionDeniedError),
      });
    if (requirement === "operator" || requirement === "admin" || requirement === "agent") deny("reader");
    if (requirement === "admin") deny("operator");
    if (requirement === "reader") {
      rows.push({ rpc, as: "invalid", name: "unknown token", call, expect: err(Status.UNAUTHENTICATED, "invalid token", "TOKEN_INVALID", UnauthenticatedError) });
      rows.push({ rpc, as: "revoked", name: "revoked token", call, expect: err(Status.UNAUTHENTICATED, "token revoked", "TOKEN_REVOKED", UnauthenticatedError) });
    }
  }

  // --- Hand-written rows, in the order they run.
  const row = (rpc: string, asWho: Who, name: string, call: Row["call"], expectation: Expect) => rows.push({ rpc, as: asWho, name, call, expect: expectation });
  const patchNotFound = (id: string) => err(Status.NOT_FOUND, `Patch ${id} does not exist`, "PATCH_NOT_FOUND", PatchNotFoundError);

  // PatchService
  row(
    P + "UploadPatch",
    "operator",
    "a signed patch",
    (c) => c.patches.uploadPatch(upload("MX_0001.patch", [readFileSync(patchFile)])),
    ok((r) => expect((r as { patchId: string }).patchId).to.equal("MX_0001")),
  );
  row(
    P + "UploadPatch",
    "operator",
    "not a .patch name",
    (c) => c.patches.uploadPatch(upload("MX_0001.txt", [Buffer.alloc(4)])),
    invalid("File must end in .patch extension: MX_0001.txt", "BAD_FILE_NAME"),
  );
  row(P + "UploadPatch", "operator", "chunk before header", (c) => c.patches.uploadPatch(chunkOnly()), invalid("upload: the first message must be a header"));
  row(
    P + "QueryPatches",
    "reader",
    "all",
    (c) => c.patches.queryPatches({}),
    ok((r) => expect((r as { patches: { id: string }[] }).patches.map((p) => p.id)).to.deep.equal(["MX_0001"])),
  );
  row(P + "QueryPatches", "reader", "bad release", (c) => c.patches.queryPatches({ release: "a b" }), invalid('release: invalid release "a b"'));
  row(
    P + "ShowPatches",
    "reader",
    "known and unknown",
    (c) => c.patches.showPatches({ patchIds: ["MX_0001", "GHOST"] }),
    ok((r) => expect((r as { unrecognized: string[] }).unrecognized).to.deep.equal(["GHOST"])),
  );
  row(P + "ShowPatches", "reader", "no ids", (c) => c.patches.showPatches({ patchIds: [] }), invalid("patch_ids: at least one patch id is required"));
  row(P + "ApplyPatches", "operator", "unknown patch", (c) => c.patches.applyPatches({ patchIds: ["GHOST"] }), patchNotFound("GHOST"));
  row(
    P + "ApplyPatches",
    "operator",
    "ids and all",
    (c) => c.patches.applyPatches({ patchIds: ["MX_0001"], all: true }),
    invalid("patch_ids: give either patch ids or all, not both"),
  );
  row(P + "ApplyPatches", "operator", "bad id", (c) => c.patches.applyPatches({ patchIds: ["../x"] }), invalid('patch_ids: invalid patch id "../x"'));
  row(
    P + "UploadPatch",
    "operator",
    "a second patch",
    (c) => c.patches.uploadPatch(upload("MX_0002.patch", [readFileSync(patchFile2)])),
    ok((r) => expect((r as { patchId: string }).patchId).to.equal("MX_0002")),
  );
  row(
    P + "UploadPatch",
    "operator",
    "a patch whose rpm another patch provides",
    (c) => c.patches.uploadPatch(upload("MX_0003.patch", [readFileSync(patchFile3)])),
    precondition(/^Patch MX_0003 contains rpm testpkg-1\.0-1\.tis\.\w+\.rpm, which is already provided by patch MX_0001$/, "RPM_ALREADY_PROVIDED"),
  );
  row(
    P + "IsAvailable",
    "reader",
    "an available patch",
    (c) => c.patches.isAvailable({ patchIds: ["MX_0001"] }),
    ok((r) => expect((r as { result: boolean }).result).to.equal(true)),
  );
  row(
    P + "ApplyPatches",
    "operator",
    "a patch",
    (c) => c.patches.applyPatches({ patchIds: ["MX_0001"] }),
    ok((r) => expect((r as { applied: string[] }).applied).to.deep.equal(["MX_0001"])),
  );
  // Partial-Apply: the connected host fake-0 has not installed it.
  row(
    P + "IsApplied",
    "reader",
    "partially applied",
    (c) => c.patches.isApplied({ patchIds: ["MX_0001"] }),
    ok((r) => expect((r as { result: boolean }).result).to.equal(false)),
  );
  row(P + "IsApplied", "reader", "no ids", (c) => c.patches.isApplied({ patchIds: [] }), invalid("patch_ids: at least one patch id is required"));
  row(P + "IsAvailable", "reader", "bad id", (c) => c.patches.isAvailable({ patchIds: ["a b"] }), invalid('patch_ids: invalid patch id "a b"'));
  row(P + "WhatRequires", "reader", "a patch", (c) => c.patches.whatRequires({ patchIds: ["MX_0001"] }), ok());
  row(P + "WhatRequires", "reader", "no ids", (c) => c.patches.whatRequires({ patchIds: [] }), invalid("patch_ids: at least one patch id is required"));
  row(P + "QueryDependencies", "reader", "a patch", (c) => c.patches.queryDependencies({ patchIds: ["MX_0001"] }), ok());
  row(P + "QueryDependencies", "reader", "no ids", (c) => c.patches.queryDependencies({ patchIds: [] }), invalid("patch_ids: at least one patch id is required"));
  row(P + "ReportAppDependencies", "operator", "an app", (c) => c.patches.reportAppDependencies({ app: "matrix-app", patchIds: ["MX_0001"] }), ok());
  row(
    P + "ReportAppDependencies",
    "operator",
    "bad id",
    (c) => c.patches.reportAppDependencies({ app: "matrix-app", patchIds: ["a b"] }),
    invalid('patch_ids: invalid patch id "a b"'),
  );
  row(
    P + "ReportAppDependencies",
    "operator",
    "more ids than an app may depend on",
    (c) => c.patches.reportAppDependencies({ app: "matrix-app", patchIds: Array.from({ length: 1001 }, (_, i) => `P${i}`) }),
    invalid("patch_ids: at most 1000 items, got 1001", "TOO_MANY_ITEMS"),
  );
  row(P + "QueryAppDependencies", "reader", "after a report", (c) => c.patches.queryAppDependencies({}), ok());
  row(P + "RemovePatches", "operator", "unknown patch", (c) => c.patches.removePatches({ patchIds: ["GHOST"] }), patchNotFound("GHOST"));
  row(P + "RemovePatches", "operator", "no ids", (c) => c.patches.removePatches({ patchIds: [] }), invalid("patch_ids: at least one patch id is required"));
  row(P + "ReportAppDependencies", "operator", "clear", (c) => c.patches.reportAppDependencies({ app: "matrix-app", patchIds: [] }), ok());
  row(
    P + "RemovePatches",
    "operator",
    "an applied patch",
    (c) => c.patches.removePatches({ patchIds: ["MX_0001"] }),
    ok((r) => expect((r as { removed: string[] }).removed).to.deep.equal(["MX_0001"])),
  );
  row(
    P + "CommitPatches",
    "admin",
    "ids and all",
    (c) => c.patches.commitPatches({ patchIds: ["MX_0001"], all: true }),
    invalid("patch_ids: give either patch ids or all, not both"),
  );
  row(P + "CommitPatches", "admin", "bad release", (c) => c.patches.commitPatches({ all: true, release: "a b" }), invalid('release: invalid release "a b"'));
  row(
    P + "CommitPatches",
    "admin",
    "a patch not in REL status",
    (c) => c.patches.commitPatches({ all: true, dryRun: true }),
    precondition("A commit cannot be performed with non-REL status patches in the system:\n    MX_0001\n    MX_0002", "NON_REL_PATCHES"),
  );
  row(P + "DeletePatches", "admin", "unknown patch", (c) => c.patches.deletePatches({ patchIds: ["GHOST"] }), patchNotFound("GHOST"));
  row(
    P + "DeletePatches",
    "admin",
    "a patch being removed",
    (c) => c.patches.deletePatches({ patchIds: ["MX_0001"] }),
    precondition("Patch MX_0001 not in Available state", "NOT_AVAILABLE"),
  );
  row(
    P + "DeletePatches",
    "admin",
    "an available patch",
    (c) => c.patches.deletePatches({ patchIds: ["MX_0002"] }),
    ok((r) => expect((r as { deleted: string[] }).deleted).to.deep.equal(["MX_0002"])),
  );
  row(P + "InitRelease", "admin", "a new release", (c) => c.patches.initRelease({ release: "20.06" }), ok());
  row(
    P + "InitRelease",
    "admin",
    "the running release",
    (c) => c.patches.initRelease({ release: "19.09" }),
    precondition("Rejected: Requested release 19.09 is running release", "RUNNING_RELEASE"),
  );
  row(P + "InitRelease", "admin", "bad release", (c) => c.patches.initRelease({ release: "a b" }), invalid('release: invalid release "a b"'));
  row(
    P + "DelRelease",
    "admin",
    "unknown release",
    (c) => c.patches.delRelease({ release: "99.99" }),
    err(Status.NOT_FOUND, "Release 99.99 is not known", "RELEASE_NOT_FOUND", ReleaseNotFoundError),
  );
  row(
    P + "DelRelease",
    "admin",
    "the running release",
    (c) => c.patches.delRelease({ release: "19.09" }),
    precondition("Rejected: Requested release 19.09 is running release", "RUNNING_RELEASE"),
  );
  row(P + "DelRelease", "admin", "a known release", (c) => c.patches.delRelease({ release: "20.06" }), ok());
  row(
    P + "ImportBasePackage",
    "operator",
    "an unsigned rpm",
    (c) => c.patches.importBasePackage(basePackage("19.09", rpm.fileName, readFileSync(rpm.file))),
    err(
      Status.PERMISSION_DENIED,
      `Base package ${BASE_RPM} is not signed by a trusted key: role operator may import only signed base packages ` +
        "(every host installs base packages as root); an admin may import it unsigned",
      "BASE_PACKAGE_UNSIGNED",
      PermissionDeniedError,
    ),
  );
  row(
    P + "ImportBasePackage",
    "operator",
    "an rpm signed by an untrusted key",
    (c) => c.patches.importBasePackage(basePackage("19.09", rpm.fileName, readFileSync(rpm.file), Buffer.alloc(256, 7))),
    err(
      Status.PERMISSION_DENIED,
      `Signature of base package ${BASE_RPM} for release 19.09 does not verify against any trusted key`,
      "BASE_SIGNATURE_INVALID",
      PermissionDeniedError,
    ),
  );
  row(
    P + "ImportBasePackage",
    "operator",
    "an unknown release",
    (c) => c.patches.importBasePackage(basePackage("77.77", rpm.fileName, readFileSync(rpm.file))),
    err(Status.NOT_FOUND, "Release 77.77 is not known; an admin creates it with InitRelease (sw-patch init-release 77.77)", "RELEASE_NOT_FOUND", ReleaseNotFoundError),
  );
  row(
    P + "ImportBasePackage",
    "admin",
    "an unsigned rpm",
    (c) => c.patches.importBasePackage(basePackage("19.09", rpm.fileName, readFileSync(rpm.file))),
    ok((r) => expect((r as { package: { sha256: string } }).package.sha256).to.equal(rpm.sha256)),
  );
  row(
    P + "ListBasePackages",
    "reader",
    "the running release",
    (c) => c.patches.listBasePackages({ release: "19.09" }),
    ok((r) => {
      const l = (r as { packages: { package: { fileName: string }; signer: string; importedBy: string; importedAt?: Date }[] }).packages;
      expect(l.map((k) => [k.package.fileName, k.signer, k.importedBy])).to.deep.equal([[rpm.fileName, "", adminTokenId]]);
      expect(l[0]!.importedAt).to.be.instanceOf(Date);
    }),
  );
  row(
    P + "ListBasePackages",
    "reader",
    "an unknown release",
    (c) => c.patches.listBasePackages({ release: "77.77" }),
    err(Status.NOT_FOUND, "Release 77.77 is not known", "RELEASE_NOT_FOUND", ReleaseNotFoundError),
  );
  row(
    P + "ImportBasePackage",
    "operator",
    "not an .rpm name",
    (c) => c.patches.importBasePackage(basePackage("19.09", "x.txt", Buffer.alloc(1))),
    invalid('file_name: must be a bare *.rpm name, got "x.txt"'),
  );
  row(
    P + "GetControllerInfo",
    "reader",
    "info",
    (c) => c.patches.getControllerInfo({}),
    ok((r) => expect((r as { runningRelease: string }).runningRelease).to.equal("19.09")),
  );
  row(P + "WatchEvents", "reader", "from the start", (c) => first(c.patches.watchEvents({ afterSequence: 0 })), ok());

  // AgentService
  row(A + "FetchPackage", "agent", "a stored package", (c) => first(c.agent.fetchPackage({ sha256: rpm.sha256 })), ok());
  row(
    A + "FetchPackage",
    "agent",
    "unknown sha256",
    (c) => first(c.agent.fetchPackage({ sha256: NO_SHA })),
    err(Status.NOT_FOUND, `Package ${NO_SHA} is not in the package store`, "NOT_FOUND", NotFoundError),
  );
  row(A + "FetchPackage", "agent", "bad sha256", (c) => first(c.agent.fetchPackage({ sha256: "xyz" })), invalid("sha256: expected 64 lowercase hex digits"));
  row(
    A + "Connect",
    "admin",
    "hello as a new host",
    async (c) => {
      // Answered with a helloAck; leaving the stream disconnects fake-1 (the rows below need it offline).
      const after = (await c.patches.getControllerInfo({})).lastEventSequence;
      const ac = new AbortController();
      const disconnected = first(c.patches.watchEvents({ afterSequence: after, kinds: ["host.disconnected"], hostname: "fake-1" }, { signal: ac.signal }));
      disconnected.catch(() => undefined); // awaited below; rejects only if the call above failed
      try {
        const ack = await first(c.agent.connect(streamOf(hello("fake-1"))));
        await disconnected;
        return ack;
      } finally {
        ac.abort();
      }
    },
    ok((r) => expect((r as { message?: { $case: string } }).message?.$case).to.equal("helloAck")),
  );
  row(
    A + "Connect",
    "agent",
    "another host's hello",
    (c) => first(c.agent.connect(streamOf(hello("fake-2")))),
    err(Status.PERMISSION_DENIED, "agent token for fake-0 may not act as host fake-2", "HOST_MISMATCH", PermissionDeniedError),
  );
  row(
    A + "Connect",
    "admin",
    "bad personality",
    (c) => first(c.agent.connect(streamOf(hello("fake-3", "toaster")))),
    invalid('hello.personality: must be controller, worker or storage, got "toaster"'),
  );
  row(
    A + "Connect",
    "admin",
    "a mgmt_ip that is no IP address",
    (c) => first(c.agent.connect(streamOf(hello("fake-3", "worker", { mgmtIp: "\x1b]0;owned\x07" })))),
    invalid('hello.mgmt_ip: not an IP address: "\\u001b]0;owned\\u0007"'),
  );
  row(
    A + "Connect",
    "admin",
    "a release off its pattern",
    (c) => first(c.agent.connect(streamOf(hello("fake-3", "worker", { release: "../19.09" })))),
    invalid('hello.release: invalid release "../19.09" (at most 64 of A-Z a-z 0-9 . _ -)'),
  );
  row(
    A + "Connect",
    "admin",
    "a subfunction off its pattern",
    (c) => first(c.agent.connect(streamOf(hello("fake-3", "worker", { subfunctions: ["worker", "Low Latency"] })))),
    invalid('hello.subfunctions: invalid subfunction "Low Latency" (lower-case words joined by "-", at most 32 characters)'),
  );
  row(
    A + "Connect",
    "admin",
    "the mgmt_ip of another connected host",
    (c) => first(c.agent.connect(streamOf(hello("fake-3", "worker", { mgmtIp: "127.0.0.1" })))),
    err(Status.ALREADY_EXISTS, "hello.mgmt_ip: 127.0.0.1 is the management address of connected host fake-0", "MGMT_IP_IN_USE", AlreadyExistsError),
  );

  // HostService
  row(
    H + "ListHosts",
    "reader",
    "hosts",
    (c) => c.hosts.listHosts({}),
    ok((r) => expect((r as { hosts: { hostname: string }[] }).hosts.map((h) => h.hostname)).to.include("fake-0")),
  );
  row(
    H + "GetHost",
    "reader",
    "a host (its address read from the connection: the agent gave none)",
    (c) => c.hosts.getHost({ host: "fake-0" }),
    ok((r) => expect((r as { host: { ip: string } }).host.ip).to.equal("127.0.0.1")),
  );
  row(
    H + "GetHost",
    "reader",
    "by its address",
    (c) => c.hosts.getHost({ host: "127.0.0.1" }),
    ok((r) => expect((r as { host: { hostname: string } }).host.hostname).to.equal("fake-0")),
  );
  row(
    H + "GetHost",
    "reader",
    "unknown host",
    (c) => c.hosts.getHost({ host: "ghost-host" }),
    err(Status.NOT_FOUND, "Unknown host specified: ghost-host", "HOST_NOT_FOUND", HostNotFoundError),
  );
  row(H + "GetHost", "reader", "no host", (c) => c.hosts.getHost({ host: "" }), invalid("host: a hostname or IP address is required"));
  row(
    H + "InstallHostAsync",
    "operator",
    "unknown host",
    (c) => c.hosts.installHostAsync({ host: "ghost-host" }),
    err(Status.NOT_FOUND, "Unknown host specified: ghost-host", "HOST_NOT_FOUND", HostNotFoundError),
  );
  row(
    H + "InstallHostAsync",
    "operator",
    "an offline host",
    (c) => c.hosts.installHostAsync({ host: "fake-1", force: true }),
    precondition("Host fake-1 is not connected", "HOST_OFFLINE"),
  );
  row(
    H + "InstallHostAsync",
    "operator",
    "a connected host",
    async (c) => {
      const r = await c.hosts.installHostAsync({ host: "fake-0", force: true });
      operationId = r.operationId;
      return r;
    },
    ok(),
  );
  row(
    H + "InstallHostAsync",
    "operator",
    "a host already installing",
    (c) => c.hosts.installHostAsync({ host: "fake-0", force: true }),
    precondition(/^Host fake-0 is already installing patches \(operation [0-9a-f-]{36}\)$/, "INSTALL_IN_PROGRESS"),
  );
  row(
    H + "InstallHost",
    "operator",
    "a host already installing",
    (c) => first(c.hosts.installHost({ host: "fake-0", force: true })),
    precondition(/^Host fake-0 is already installing patches \(operation [0-9a-f-]{36}\)$/, "INSTALL_IN_PROGRESS"),
  );
  row(H + "InstallHost", "operator", "bad host", (c) => first(c.hosts.installHost({ host: "a b" })), invalid('host: invalid hostname or IP "a b"'));
  row(
    H + "GetOperation",
    "reader",
    "a live operation",
    (c) => c.hosts.getOperation({ operationId }),
    ok((r) => {
      const p = (r as { progress: { operationId: string; hostname: string; terminal: boolean } }).progress;
      expect([p.operationId, p.hostname, p.terminal]).to.deep.equal([operationId, "fake-0", false]);
    }),
  );
  row(
    H + "GetOperation",
    "reader",
    "unknown operation",
    (c) => c.hosts.getOperation({ operationId: UNKNOWN_OP }),
    err(Status.NOT_FOUND, `Operation ${UNKNOWN_OP} does not exist`, "OPERATION_NOT_FOUND", OperationNotFoundError),
  );
  row(H + "GetOperation", "reader", "not a UUID", (c) => c.hosts.getOperation({ operationId: "nope" }), invalid('operation_id: expected a UUID, got "nope"'));
  row(H + "WatchOperation", "reader", "a live operation", (c) => first(c.hosts.watchOperation({ operationId })), ok());
  row(
    H + "WatchOperation",
    "reader",
    "unknown operation",
    (c) => first(c.hosts.watchOperation({ operationId: UNKNOWN_OP })),
    err(Status.NOT_FOUND, `Operation ${UNKNOWN_OP} does not exist`, "OPERATION_NOT_FOUND", OperationNotFoundError),
  );
  row(
    H + "UnlockHost",
    "operator",
    "an unlocked host",
    (c) => c.hosts.unlockHost({ host: "fake-0" }),
    precondition("Host fake-0 is already unlocked", "ALREADY_UNLOCKED"),
  );
  row(
    H + "UnlockHost",
    "operator",
    "unknown host",
    (c) => c.hosts.unlockHost({ host: "ghost-host" }),
    err(Status.NOT_FOUND, "Unknown host specified: ghost-host", "HOST_NOT_FOUND", HostNotFoundError),
  );
  row(H + "LockHost", "operator", "a worker", (c) => c.hosts.lockHost({ host: "fake-1" }), ok());
  row(H + "LockHost", "operator", "no host", (c) => c.hosts.lockHost({ host: "" }), invalid("host: a hostname or IP address is required"));
  row(H + "UnlockHost", "operator", "a locked offline host", (c) => c.hosts.unlockHost({ host: "fake-1" }), ok());
  row(H + "SwactHost", "operator", "a worker", (c) => c.hosts.swactHost({ host: "fake-0" }), precondition("Rejected: fake-0 is not a controller", "NOT_CONTROLLER"));
  row(
    H + "SwactHost",
    "operator",
    "unknown host",
    (c) => c.hosts.swactHost({ host: "ghost-host" }),
    err(Status.NOT_FOUND, "Unknown host specified: ghost-host", "HOST_NOT_FOUND", HostNotFoundError),
  );
  row(
    H + "DropHost",
    "admin",
    "unknown host",
    (c) => c.hosts.dropHost({ host: "ghost-host" }),
    err(Status.NOT_FOUND, "Unknown host specified: ghost-host", "HOST_NOT_FOUND", HostNotFoundError),
  );
  row(H + "DropHost", "admin", "an offline host", (c) => c.hosts.dropHost({ host: "fake-1" }), ok());
  row(
    H + "RaiseAlarm",
    "operator",
    "an alarm",
    (c) => c.hosts.raiseAlarm({ alarmId: "900.001", entityInstanceId: "host=fake-0", severity: "major", reasonText: "matrix" }),
    ok(),
  );
  row(
    H + "RaiseAlarm",
    "operator",
    "bad alarm id",
    (c) => c.hosts.raiseAlarm({ alarmId: "bad", entityInstanceId: "x", severity: "major" }),
    invalid('alarm_id: expected NNN.NNN, got "bad"'),
  );
  row(
    H + "RaiseAlarm",
    "operator",
    "a reason over its size limit",
    (c) => c.hosts.raiseAlarm({ alarmId: "900.001", entityInstanceId: "host=fake-0", severity: "major", reasonText: "r".repeat(7 * 1024 * 1024) }),
    invalid(`reason_text: at most 255 characters, got ${7 * 1024 * 1024}`, "TEXT_TOO_LONG"),
  );
  row(
    H + "RaiseAlarm",
    "operator",
    "an entity over its size limit",
    (c) => c.hosts.raiseAlarm({ alarmId: "900.001", entityInstanceId: "e".repeat(256), severity: "major" }),
    invalid("entity_instance_id: at most 255 characters, got 256", "TEXT_TOO_LONG"),
  );
  row(
    H + "ListAlarms",
    "reader",
    "alarms",
    (c) => c.hosts.listAlarms({}),
    ok((r) => expect((r as { alarms: unknown[] }).alarms.length).to.be.greaterThan(0)),
  );
  row(
    H + "GetAlarm",
    "reader",
    "unknown alarm",
    (c) => c.hosts.getAlarm({ uuid: UNKNOWN_OP }),
    err(Status.NOT_FOUND, `Alarm not found: ${UNKNOWN_OP}`, "ALARM_NOT_FOUND", NotFoundError),
  );
  row(
    H + "GetAlarm",
    "reader",
    "a raised alarm",
    async (c) => c.hosts.getAlarm({ uuid: (await c.hosts.listAlarms({})).alarms.find((a) => a.reasonText === "matrix")!.uuid }),
    ok(),
  );
  row(
    H + "ClearAlarm",
    "operator",
    "a raised alarm",
    async (c) => c.hosts.clearAlarm({ uuid: (await c.hosts.listAlarms({})).alarms.find((a) => a.reasonText === "matrix")!.uuid }),
    ok(),
  );
  row(
    H + "ClearAlarm",
    "operator",
    "unknown alarm",
    (c) => c.hosts.clearAlarm({ uuid: UNKNOWN_OP }),
    err(Status.NOT_FOUND, `Alarm not found: ${UNKNOWN_OP}`, "ALARM_NOT_FOUND", NotFoundError),
  );

  // Enrolment: HostService (operator) and AgentService.Enroll (no bearer token; the request's enrolment token).
  let enrollToken = "";
  row(
    H + "EnrollHost",
    "operator",
    "bad personality",
    (c) => c.hosts.enrollHost({ hostname: "matrix-host", personality: "pilot" }),
    invalid('personality: expected controller, worker or storage, got "pilot"'),
  );
  row(
    H + "EnrollHost",
    "operator",
    "longer than 7 days",
    (c) => c.hosts.enrollHost({ hostname: "matrix-host", personality: "worker", expiresSeconds: 604801 }),
    invalid("expires: from 1 second to 7 days (604800 s), got 604801"),
  );
  row(
    H + "EnrollHost",
    "operator",
    "a host",
    async (c) => {
      const r = await c.hosts.enrollHost({ hostname: "matrix-host", personality: "worker" });
      enrollToken = r.enrollToken;
      return r;
    },
    ok((r) => expect((r as { enrollToken: string }).enrollToken).to.match(/^swpe_[0-9a-f]{16}_[0-9a-f]{64}$/)),
  );
  row(
    H + "ListEnrollments",
    "reader",
    "pending",
    (c) => c.hosts.listEnrollments({}),
    ok((r) =>
      expect((r as { enrollments: { hostname: string; state: string }[] }).enrollments.map((e) => [e.hostname, e.state])).to.deep.equal([["matrix-host", "pending"]]),
    ),
  );
  row(
    A + "Enroll",
    "none",
    "malformed token",
    (c) => c.agent.enroll({ enrollToken: "swp_x", hostname: "matrix-host", personality: "worker" }),
    err(Status.UNAUTHENTICATED, "invalid enrolment token", "ENROLL_TOKEN_INVALID", UnauthenticatedError),
  );
  row(
    A + "Enroll",
    "none",
    "another host's token",
    (c) => c.agent.enroll({ enrollToken, hostname: "fake-0", personality: "worker" }),
    err(Status.PERMISSION_DENIED, "enrolment token for host matrix-host may not enrol host fake-0", "ENROLL_HOST_MISMATCH", PermissionDeniedError),
  );
  row(
    A + "Enroll",
    "none",
    "the host's token",
    (c) => c.agent.enroll({ enrollToken, hostname: "matrix-host", personality: "worker" }),
    ok((r) => expect((r as { hostname: string; token: string }).hostname).to.equal("matrix-host")),
  );
  row(
    A + "Enroll",
    "none",
    "spent token",
    (c) => c.agent.enroll({ enrollToken, hostname: "matrix-host", personality: "worker" }),
    err(Status.UNAUTHENTICATED, "enrolment token already used", "ENROLL_TOKEN_SPENT", UnauthenticatedError),
  );
  row(
    H + "RevokeHost",
    "operator",
    "a host never enrolled",
    (c) => c.hosts.revokeHost({ hostname: "ghost-host" }),
    err(Status.NOT_FOUND, "Host ghost-host has no credentials or enrolments", "HOST_NOT_ENROLLED", NotFoundError),
  );
  row(
    H + "RevokeHost",
    "operator",
    "an enrolled host",
    (c) => c.hosts.revokeHost({ hostname: "matrix-host" }),
    ok((r) => expect((r as { revokedTokenIds: string[] }).revokedTokenIds).to.have.length(1)),
  );

  // FLOOR (issue 21): security floors, install receipts.
  row(
    P + "SecurityFloorList",
    "reader",
    "every release",
    (c) => c.patches.securityFloorList({}),
    ok((r) => expect((r as { floors: { floor: number }[] }).floors.every((f) => f.floor === 0)).to.equal(true)),
  );
  row(
    P + "SecurityFloorList",
    "reader",
    "bad release",
    (c) => c.patches.securityFloorList({ release: "bad release" }),
    invalid('release: invalid release "bad release"'),
  );
  row(
    H + "InstallReceiptList",
    "reader",
    "a host enrolled without a receipt key",
    (c) => c.hosts.installReceiptList({ hostname: "matrix-host" }),
    ok((r) => expect(r).to.deep.include({ hostname: "matrix-host", enrolled: false, receipts: [] })),
  );
  row(H + "InstallReceiptList", "reader", "bad hostname", (c) => c.hosts.installReceiptList({ hostname: "bad host" }), invalid('hostname: invalid hostname "bad host"'));
  row(
    A + "InstallReceiptSubmit",
    "agent",
    "a host with no receipt key",
    (c) => c.agent.installReceiptSubmit({ envelope: "{}" }),
    precondition("host fake-0 has no receipt key: only enrolled agents send install receipts", "RECEIPT_KEY_MISSING"),
  );
  row(
    A + "InstallReceiptSubmit",
    "admin",
    "not a host's credential",
    (c) => c.agent.installReceiptSubmit({ envelope: "{}" }),
    err(Status.PERMISSION_DENIED, "only a host's own agent credential may submit its install receipts", "RECEIPT_CALLER_NOT_HOST", PermissionDeniedError),
  );

  // OrchestrationService
  const noStrategy = err(Status.NOT_FOUND, "No strategy available", "STRATEGY_NOT_FOUND", StrategyNotFoundError);
  row(O + "GetStrategy", "reader", "none yet", (c) => c.orchestration.getStrategy({}), noStrategy);
  row(O + "ApplyStrategy", "operator", "none yet", (c) => c.orchestration.applyStrategy({}), noStrategy);
  row(O + "AbortStrategy", "operator", "none yet", (c) => c.orchestration.abortStrategy({}), noStrategy);
  row(O + "DeleteStrategy", "operator", "none yet", (c) => c.orchestration.deleteStrategy({}), noStrategy);
  row(O + "RehearseStrategy", "operator", "none yet", (c) => c.orchestration.rehearseStrategy({ failRate: 0, runs: 1 }), noStrategy);
  row(O + "PauseStrategy", "operator", "none yet", (c) => c.orchestration.pauseStrategy({}), noStrategy);
  row(O + "ResumeStrategy", "operator", "none yet", (c) => c.orchestration.resumeStrategy({}), noStrategy);
  row(
    O + "CreateStrategy",
    "operator",
    "max parallel out of range",
    (c) => c.orchestration.createStrategy({ workerApplyType: ApplyType.APPLY_TYPE_PARALLEL, maxParallelWorkerHosts: 1 }),
    invalid(/^max_parallel_worker_hosts: must be between 2 and 100, got 1$/),
  );
  row(
    O + "CreateStrategy",
    "operator",
    "a bad error budget",
    (c) => c.orchestration.createStrategy({ maxFailures: "ten" }),
    invalid(/^max_failures: must be a count N or a percentage P% \(0-100\), got "ten"$/, "INVALID_MAX_FAILURES"),
  );
  row(
    O + "CreateStrategy",
    "operator",
    "a strategy",
    async (c) => {
      const created = await c.orchestration.createStrategy({});
      // The build runs after the answer; the rows below need it finished (it fails: fake-0 is not current).
      const ac = new AbortController();
      try {
        for await (const r of c.orchestration.watchStrategy({}, { signal: ac.signal })) if (r.strategy && r.strategy.state !== "building") break;
      } finally {
        ac.abort();
      }
      return created;
    },
    ok(),
  );
  row(
    O + "CreateStrategy",
    "operator",
    "a second strategy",
    (c) => c.orchestration.createStrategy({}),
    err(Status.ALREADY_EXISTS, "strategy already exists of type:sw-patch", "STRATEGY_EXISTS", AlreadyExistsError),
  );
  row(O + "GetStrategy", "reader", "the strategy", (c) => c.orchestration.getStrategy({}), ok());
  row(O + "WatchStrategy", "reader", "the current strategy", (c) => first(c.orchestration.watchStrategy({})), ok());
  row(O + "AbortStrategy", "operator", "nothing applying", (c) => c.orchestration.abortStrategy({}), precondition("apply not inprogress", "ABORT_REJECTED"));
  row(
    O + "PauseStrategy",
    "operator",
    "nothing applying",
    (c) => c.orchestration.pauseStrategy({}),
    precondition("pause not allowed while build-failed", "PAUSE_REJECTED"),
  );
  row(
    O + "ResumeStrategy",
    "operator",
    "nothing paused",
    (c) => c.orchestration.resumeStrategy({}),
    precondition("resume not allowed while build-failed", "RESUME_REJECTED"),
  );
  row(
    O + "ApplyStrategy",
    "operator",
    "a strategy whose build failed (a host is not patch current)",
    (c) => c.orchestration.applyStrategy({}),
    precondition("at least one host is in pending patch current state", "APPLY_REJECTED"),
  );
  row(
    O + "RehearseStrategy",
    "operator",
    "a fail rate above 1",
    (c) => c.orchestration.rehearseStrategy({ failRate: 2, runs: 1 }),
    invalid("fail_rate: must be between 0 and 1, got 2", "INVALID_REHEARSAL"),
  );
  row(
    O + "RehearseStrategy",
    "operator",
    "a strategy whose build failed",
    (c) => c.orchestration.rehearseStrategy({ failRate: 0, runs: 1 }),
    precondition("build not complete", "REHEARSE_REJECTED"),
  );
  row(O + "DeleteStrategy", "operator", "the strategy", (c) => c.orchestration.deleteStrategy({}), ok());

  // AdminService
  row(D + "CreateToken", "admin", "a reader token", (c) => c.admin.createToken({ role: "reader", description: "matrix" }), ok());
  row(
    D + "CreateToken",
    "admin",
    "unknown role",
    (c) => c.admin.createToken({ role: "nobody" }),
    invalid('role: expected admin, operator, reader or agent, got "nobody"'),
  );
  row(D + "CreateToken", "admin", "agent without host", (c) => c.admin.createToken({ role: "agent" }), invalid("hostname: required for an agent token"));
  row(D + "ListTokens", "admin", "tokens", (c) => c.admin.listTokens({}), ok());
  row(D + "RevokeToken", "admin", "a token", (c) => c.admin.revokeToken({ id: tokenToRevoke }), ok());
  row(
    D + "RevokeToken",
    "admin",
    "unknown token",
    (c) => c.admin.revokeToken({ id: "0000000000000000" }),
    err(Status.NOT_FOUND, "Token 0000000000000000 not found", "TOKEN_NOT_FOUND", NotFoundError),
  );
  row(D + "RevokeToken", "admin", "no id", (c) => c.admin.revokeToken({ id: "" }), invalid("id: required"));
  row(D + "ListTrustedKeys", "admin", "keys", (c) => c.admin.listTrustedKeys({}), ok());
  row(
    D + "AddTrustedKey",
    "admin",
    "a configured key again",
    (c) => c.admin.addTrustedKey({ label: "dev-again", pem: readFileSync(DEV_CERT, "utf8") }),
    err(Status.ALREADY_EXISTS, "This key is already trusted as dev", "TRUSTED_KEY_EXISTS", AlreadyExistsError),
  );
  row(
    D + "AddTrustedKey",
    "admin",
    "bad label",
    (c) => c.admin.addTrustedKey({ label: "bad label!", pem: "x" }),
    invalid('label: expected 1-64 of A-Z a-z 0-9 . _ -, got "bad label!"'),
  );
  row(
    D + "RemoveTrustedKey",
    "admin",
    "a configured key",
    (c) => c.admin.removeTrustedKey({ label: "dev" }),
    err(Status.FAILED_PRECONDITION, "Trusted key dev comes from --trust; remove it from the controller's command line", "TRUSTED_KEY_CONFIGURED", PreconditionError),
  );
  row(
    D + "RemoveTrustedKey",
    "admin",
    "unknown key",
    (c) => c.admin.removeTrustedKey({ label: "ghost" }),
    err(Status.NOT_FOUND, "Trusted key ghost not found", "TRUSTED_KEY_NOT_FOUND", NotFoundError),
  );
  row(
    D + "ListAuditLog",
    "admin",
    "entries",
    (c) => c.admin.listAuditLog({ limit: 5 }),
    ok((r) => expect((r as { entries: unknown[] }).entries.length).to.be.greaterThan(0)),
  );
  row(
    D + "AuditChainVerify",
    "admin",
    "the chain verifies",
    (c) => c.admin.auditChainVerify({ checkpointFirst: true }),
    ok((r) => expect(r).to.include({ ok: true, reason: "" })),
  );

  // ---- issue 21 (TRUSTROOT): the root of trust; no row installs one (uploads above must not need it) ----
  const unsignedRoot = (version: number) => {
    const pub = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    return makeTrustRoot({ rootKeys: [pub], rootThreshold: 1, version, expires: new Date(Date.now() + 86400_000) });
  };
  row(
    D + "TrustRootGet",
    "admin",
    "none installed",
    (c) => c.admin.trustRootGet({}),
    ok((r) => expect((r as { trustRoot?: unknown }).trustRoot).to.equal(undefined)),
  );
  row(D + "TrustRootSet", "admin", "no document", (c) => c.admin.trustRootSet({ document: " " }), invalid("document: required"));
  row(D + "TrustRootSet", "admin", "not an envelope", (c) => c.admin.trustRootSet({ document: "x" }), invalid(/^trust root: not a JSON DSSE envelope/, "DSSE_INVALID"));
  row(
    D + "TrustRootSet",
    "admin",
    "unsigned",
    (c) => c.admin.trustRootSet({ document: unsignedRoot(1) }),
    precondition("trust root: version 1 signed by its own root keys: 0 valid signatures, 1 required", "TRUST_ROOT_THRESHOLD"),
  );
  row(
    D + "TrustRootRotate",
    "admin",
    "none installed",
    (c) => c.admin.trustRootRotate({ document: unsignedRoot(2) }),
    precondition("No root of trust is installed: install version 1 with sw-patch trust-root set", "TRUST_ROOT_MISSING"),
  );
  // ---- end TRUSTROOT ----

  // Health (public: no token needed, a bad one is ignored)
  row("/grpc.health.v1.Health/Check", "none", "no token", (c) => c.health.check({ service: "" }), ok());
  row("/grpc.health.v1.Health/Check", "invalid", "a bad token is ignored", (c) => c.health.check({ service: "" }), ok());
  row("/grpc.health.v1.Health/Watch", "none", "no token", (c) => first(c.health.watch({ service: "" })), ok());

  it("has a row for every RPC of every service (and every row names a served RPC)", () => {
    const served = [
      PatchServiceDefinition,
      HostServiceDefinition,
      AgentServiceDefinition,
      OrchestrationServiceDefinition,
      AdminServiceDefinition,
      HealthDefinition,
    ].flatMap((d) => Object.values(d.methods).map((m) => `/${d.fullName}/${m.name}`));
    expect(served.length).to.be.greaterThan(45);
    const withRows = new Set(rows.map((r) => r.rpc));
    expect(
      served.filter((p) => !withRows.has(p)),
      "RPCs without a row",
    ).to.deep.equal([]);
    expect(
      [...withRows].filter((p) => !served.includes(p)),
      "rows naming no served RPC",
    ).to.deep.equal([]);
    expect(
      Object.keys(RPC_POLICY).filter((p) => !p.includes("Reflection") && !withRows.has(p)),
      "policy entries without a row",
    ).to.deep.equal([]);
    for (const p of served) if (RPC_POLICY[p] !== "public") expect(SIMPLE[p], `no simple call for ${p}`).to.be.a("function");
  });

  it("answers an undecodable request with INVALID_ARGUMENT, reason MALFORMED_REQUEST, once its token is checked (issue 16.12: no token, no decoding)", async () => {
    const client = new grpc.Client(ctl.endpoint, grpc.credentials.createInsecure());
    const send = (md: grpc.Metadata) =>
      new Promise<grpc.ServiceError | undefined>((resolve) =>
        client.makeUnaryRequest(
          P + "ShowPatches",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0xff, 0xff]),
          md,
          (error) => resolve(error ?? undefined),
        ),
      );
    try {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${ctl.adminToken}`);
      const e = await send(md);
      expect(e?.code).to.equal(Status.INVALID_ARGUMENT);
      expect(e?.details).to.match(/^request to ShowPatches could not be decoded: /);
      expect(e?.metadata.get("swpatch-error-reason")).to.deep.equal(["MALFORMED_REQUEST"]);
      expect(e?.metadata.get("swpatch-error-domain")).to.deep.equal(["swpatch.v1"]);
      // Without a token the message is never read: UNAUTHENTICATED, not a decoding error.
      const anon = await send(new grpc.Metadata());
      expect(anon?.code).to.equal(Status.UNAUTHENTICATED);
      expect(anon?.details).to.equal("missing token");
      expect(anon?.metadata.get("swpatch-error-reason")).to.deep.equal(["TOKEN_MISSING"]);
    } finally {
      client.close();
    }
  });

  it("answers every row with the expected status, message, reason trailer and SDK class", async () => {
    const failures: string[] = [];
    for (const r of rows) {
      const label = `${r.rpc.split("/").slice(1).join("/")} as ${r.as}: ${r.name}`;
      let response: unknown;
      let error: unknown;
      try {
        response = await r.call(as[r.as]);
      } catch (e) {
        error = e;
      }
      const e = r.expect;
      if ("ok" in e) {
        if (error !== undefined) {
          failures.push(
            `${label}: expected OK, got ${error instanceof ClientError ? `${Status[error.code]} "${error.details}" (${REASONS.get(error)})` : String(error)}`,
          );
          continue;
        }
        try {
          e.check?.(response);
        } catch (x) {
          failures.push(`${label}: ${(x as Error).message}`);
        }
        continue;
      }
      if (!(error instanceof ClientError)) {
        failures.push(`${label}: expected ${Status[e.code]}, got ${error === undefined ? "OK" : String(error)}`);
        continue;
      }
      const reason = REASONS.get(error);
      const got = `${Status[error.code]} "${error.details}" (${reason})`;
      const messageOk = typeof e.message === "string" ? error.details === e.message : e.message.test(error.details);
      if (error.code !== e.code || !messageOk || reason !== e.reason) {
        failures.push(`${label}: expected ${Status[e.code]} "${e.message}" (${e.reason}), got ${got}`);
        continue;
      }
      // The standard rich-error trailer says the same: google.rpc.Status + google.rpc.ErrorInfo.
      const rich = DETAILS.get(error);
      const wantRich = { code: error.code, message: error.details, typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", reason: e.reason, domain: "swpatch.v1" };
      if (JSON.stringify(rich) !== JSON.stringify(wantRich))
        failures.push(`${label}: grpc-status-details-bin ${JSON.stringify(rich)}, expected ${JSON.stringify(wantRich)}`);
      const sdk = toSwPatchError(error, ctl.endpoint, reason);
      if (!(sdk instanceof e.sdk) || (sdk as SwPatchError).reason !== e.reason)
        failures.push(`${label}: SDK class ${(sdk as Error).constructor.name}, expected ${e.sdk.name}`);
    }
    expect(failures, `${failures.length} of ${rows.length} rows`).to.deep.equal([]);
  });
});
