import { expect } from "chai";
import { mkdtempSync, rmSync, readdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { ClientError, Status, createChannel, createClient } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServerReflectionService } from "nice-grpc-server-reflection";
import { ServerReflectionRequest } from "nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients, uploadStream } from "../lib/grpc-clients.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import { PatchState, RepoState } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { QueryFilter, UploadOutcome } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";

async function expectCode(p: Promise<unknown>, code: Status, text?: string | RegExp): Promise<ClientError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ClientError);
    const ce = e as ClientError;
    expect(Status[ce.code], ce.details).to.equal(Status[code]);
    if (typeof text === "string") expect(ce.details).to.include(text);
    else if (text) expect(ce.details).to.match(text);
    return ce;
  }
  throw new Error(`expected ${Status[code]}, the call succeeded`);
}

/** Every table's rows but the audit log (which records refusals too), to prove a refused call changed nothing. */
function dumpStore(dataDir: string): string {
  return execFileSync("sqlite3", [path.join(dataDir, "sw-patch.sqlite"), ".dump"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => !l.startsWith("INSERT INTO audit_log ") && !/sqlite_sequence.*'audit_log'/.test(l))
    .join("\n");
}

function auditOutcomes(dataDir: string): string[] {
  return execFileSync("sqlite3", [path.join(dataDir, "sw-patch.sqlite"), "SELECT action || ' ' || outcome FROM audit_log ORDER BY id"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
}

describe("controller PatchService (real controller process, real patches)", function () {
  this.timeout(120_000);
  let ctl: ControllerHandle;
  let c: ReturnType<typeof rawClients>;
  let work: string;
  const patchFile: Record<string, string> = {};

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-it-"));
    const mk = async (id: string, o: Parameters<typeof buildTestPatch>[0] extends infer T ? Partial<T> : never) => {
      const dir = path.join(work, id);
      const p = await buildTestPatch({ dir, id, swVersion: "19.09", status: "REL", rebootRequired: false, ...o } as never);
      patchFile[id] = p.path;
    };
    await mk("PATCH_A", { rpms: [{ name: "pkga", version: "1.0", release: "2", files: [{ path: "/etc/pkga", content: "a2\n" }] }] });
    await mk("PATCH_B", { requires: ["PATCH_A"], rpms: [{ name: "pkgb", version: "1.0", release: "2", files: [{ path: "/etc/pkgb", content: "b2\n" }] }] });
    await mk("PATCH_C", { requires: ["PATCH_B"], rpms: [{ name: "pkga", version: "1.0", release: "3", files: [{ path: "/etc/pkga", content: "a3\n" }] }] });
    await mk("PATCH_DEV", { status: "DEV", rpms: [{ name: "pkgd", version: "1.0", release: "1", files: [{ path: "/etc/pkgd", content: "d\n" }] }] });
    await mk("PATCH_OLD", { swVersion: "18.03", rpms: [{ name: "pkgo", version: "1.0", release: "1", files: [{ path: "/etc/pkgo", content: "o\n" }] }] });
    // Same id as PATCH_A but other contents, for the re-import rule.
    const other = path.join(work, "other");
    const p = await buildTestPatch({
      dir: other,
      id: "PATCH_A",
      swVersion: "19.09",
      rpms: [{ name: "pkgz", version: "9", release: "9", files: [{ path: "/etc/z", content: "z\n" }] }],
    } as never);
    patchFile.PATCH_A_OTHER = p.path;
    ctl = await startController();
    c = rawClients(ctl);
  });

  after(async () => {
    c?.close();
    await ctl?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("serves gRPC health and lists every service through reflection", async () => {
    const ch = createChannel(ctl.endpoint);
    try {
      const health = createClient(HealthDefinition, ch);
      expect((await health.check({ service: "" })).status).to.equal(1); // SERVING
      const refl = createClient(ServerReflectionService, ch);
      const names: string[] = [];
      for await (const r of refl.serverReflectionInfo(
        (async function* () {
          yield new ServerReflectionRequest().setListServices("*");
        })(),
      )) {
        for (const s of r.getListServicesResponse()?.getServiceList() ?? []) names.push(s.getName());
      }
      expect(names).to.include.members(["swpatch.v1.PatchService", "swpatch.v1.HostService", "swpatch.v1.AgentService", "grpc.health.v1.Health"]);
    } finally {
      ch.close();
    }
  });

  it("uploads a signed patch: 'X is now available', Available with patchstate n/a and no hosts", async () => {
    const r = await c.patches.uploadPatch(uploadStream(patchFile.PATCH_A!));
    expect(r.patchId).to.equal("PATCH_A");
    expect(r.outcome).to.equal(UploadOutcome.UPLOAD_OUTCOME_IMPORTED);
    expect(r.messages?.info).to.equal("PATCH_A is now available\n");
    const q = await c.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" });
    expect(q.patches.map((p) => [p.id, p.repoState, p.patchState, p.signer])).to.deep.equal([
      ["PATCH_A", RepoState.REPO_STATE_AVAILABLE, PatchState.PATCH_STATE_NA, "dev"],
    ]);
    expect(q.patches[0]!.contents).to.deep.equal(["pkga-1.0-2.x86_64.rpm"]);
  });

  it("refuses bad uploads with the right status, and the store is unchanged", async () => {
    const before = dumpStore(ctl.dataDir);
    await expectCode(c.patches.uploadPatch(uploadStream(patchFile.PATCH_B!, "WRONG.patch")), Status.INVALID_ARGUMENT, "does not match the file name WRONG.patch");
    await expectCode(c.patches.uploadPatch(uploadStream(patchFile.PATCH_B!, "PATCH_B.tgz")), Status.INVALID_ARGUMENT, "File must end in .patch extension: PATCH_B.tgz");
    await expectCode(c.patches.uploadPatch(uploadStream(patchFile.PATCH_B!, "../PATCH_B.patch")), Status.INVALID_ARGUMENT, "bare file name");
    await expectCode(c.patches.uploadPatch(uploadStream(patchFile.PATCH_OLD!)), Status.FAILED_PRECONDITION, "Patch PATCH_OLD software release (18.03) is not installed");
    await expectCode(c.patches.uploadPatch(uploadStream(patchFile.PATCH_A_OTHER!)), Status.FAILED_PRECONDITION, "Contents of PATCH_A do not match re-imported patch");
    await expectCode(
      c.patches.uploadPatch(
        (async function* () {
          yield { payload: { $case: "chunk", value: Buffer.from("x") } } as never;
        })(),
      ),
      Status.INVALID_ARGUMENT,
      "first message must be a header",
    );
    await expectCode(
      c.patches.uploadPatch(
        (async function* () {
          yield { payload: { $case: "header", value: { fileName: "GARBAGE.patch", sizeBytes: 0 } } } as never;
          yield { payload: { $case: "chunk", value: Buffer.from("this is not a gzip file at all") } } as never;
        })(),
      ),
      Status.INVALID_ARGUMENT,
      /gzip/,
    );
    expect(dumpStore(ctl.dataDir)).to.equal(before);
    expect(readdirSync(path.join(ctl.dataDir, "tmp"))).to.deep.equal([]);
    // Refusals are audited like any other mutating call.
    expect(auditOutcomes(ctl.dataDir)).to.include.members(["UploadPatch ok", "UploadPatch INVALID_ARGUMENT", "UploadPatch FAILED_PRECONDITION"]);
  });

  it("re-upload of the same contents refreshes metadata only", async () => {
    const r = await c.patches.uploadPatch(uploadStream(patchFile.PATCH_A!));
    expect(r.outcome).to.equal(UploadOutcome.UPLOAD_OUTCOME_METADATA_UPDATED);
    expect(r.messages?.info).to.equal("PATCH_A is already imported. Updated metadata only\n");
  });

  it("applies with the reference's precondition checks and messages", async () => {
    for (const id of ["PATCH_B", "PATCH_C", "PATCH_DEV"]) await c.patches.uploadPatch(uploadStream(patchFile[id]!));
    const before = dumpStore(ctl.dataDir);
    await expectCode(c.patches.applyPatches({ patchIds: ["NOPE"], all: false, skipSemantic: false }), Status.NOT_FOUND, "Patch NOPE does not exist");
    await expectCode(c.patches.applyPatches({ patchIds: ["PATCH_C"], all: false, skipSemantic: false }), Status.FAILED_PRECONDITION, "PATCH_B is required by: PATCH_C");
    await expectCode(c.patches.applyPatches({ patchIds: ["bad/id"], all: false, skipSemantic: false }), Status.INVALID_ARGUMENT, "patch_ids");
    await expectCode(c.patches.applyPatches({ patchIds: [], all: false, skipSemantic: false }), Status.INVALID_ARGUMENT, "patch_ids");
    expect(dumpStore(ctl.dataDir)).to.equal(before);
    const r = await c.patches.applyPatches({ patchIds: ["PATCH_B", "PATCH_A"], all: false, skipSemantic: false });
    expect(r.messages?.info).to.equal("PATCH_A is now in the repo\nPATCH_B is now in the repo\n");
    const again = await c.patches.applyPatches({ patchIds: ["PATCH_A"], all: false, skipSemantic: false });
    expect(again.messages?.info).to.equal("PATCH_A is already in the repo\n");
    const q = await c.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_APPLIED, release: "" });
    expect(q.patches.map((p) => p.id)).to.deep.equal(["PATCH_A", "PATCH_B"]);
    expect((await c.patches.isApplied({ patchIds: ["PATCH_A"] })).result).to.equal(false); // n/a without hosts, as the reference
  });

  it("answers what-requires and query-dependencies (direct and recursive)", async () => {
    const w = await c.patches.whatRequires({ patchIds: ["PATCH_A", "PATCH_C"] });
    expect(w.requirements).to.deep.equal([
      { patchId: "PATCH_A", requiredBy: ["PATCH_B"] },
      { patchId: "PATCH_C", requiredBy: [] },
    ]);
    expect((await c.patches.queryDependencies({ patchIds: ["PATCH_C"], recursive: false })).patchIds).to.deep.equal(["PATCH_B", "PATCH_C"]);
    expect((await c.patches.queryDependencies({ patchIds: ["PATCH_C"], recursive: true })).patchIds).to.deep.equal(["PATCH_A", "PATCH_B", "PATCH_C"]);
    await expectCode(c.patches.queryDependencies({ patchIds: ["ZZZ"], recursive: true }), Status.NOT_FOUND, "ZZZ is unrecognized");
  });

  it("removes with dependent and app-dependency checks", async () => {
    await expectCode(
      c.patches.removePatches({ patchIds: ["PATCH_A"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false }),
      Status.FAILED_PRECONDITION,
      "PATCH_A is required by: PATCH_B",
    );
    await c.patches.reportAppDependencies({ app: "platform-app", patchIds: ["PATCH_B"] });
    expect((await c.patches.queryAppDependencies({})).dependencies).to.deep.equal([{ app: "platform-app", patchIds: ["PATCH_B"] }]);
    await expectCode(
      c.patches.removePatches({ patchIds: ["PATCH_B"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false }),
      Status.FAILED_PRECONDITION,
      "PATCH_B is required by application(s): platform-app",
    );
    const r = await c.patches.removePatches({ patchIds: ["PATCH_B"], skipSemantic: false, skipAppCheck: true, removeUnremovable: false });
    expect(r.messages?.info).to.equal("PATCH_B has been removed from the repo\n");
    await c.patches.reportAppDependencies({ app: "platform-app", patchIds: [] });
    expect((await c.patches.queryAppDependencies({})).dependencies).to.deep.equal([]);
  });

  it("deletes only Available patches", async () => {
    await expectCode(c.patches.deletePatches({ patchIds: ["PATCH_A"] }), Status.FAILED_PRECONDITION, "Patch PATCH_A not in Available state");
    await expectCode(c.patches.deletePatches({ patchIds: ["MISSING"] }), Status.NOT_FOUND, "Patch MISSING does not exist");
    const r = await c.patches.deletePatches({ patchIds: ["PATCH_DEV"] });
    expect(r.messages?.info).to.equal("PATCH_DEV has been deleted\n");
    const show = await c.patches.showPatches({ patchIds: ["PATCH_DEV", "PATCH_A"] });
    expect(show.unrecognized).to.deep.equal(["PATCH_DEV"]);
    expect(show.patches.map((p) => p.id)).to.deep.equal(["PATCH_A"]);
  });

  it("commits whole dependency chains of REL patches, dry run first", async () => {
    await expectCode(
      c.patches.commitPatches({ patchIds: ["PATCH_B"], all: false, release: "", dryRun: true }),
      Status.FAILED_PRECONDITION,
      "The following patches are not applied and cannot be committed:\n    PATCH_B",
    );
    await c.patches.applyPatches({ patchIds: ["PATCH_B", "PATCH_C"], all: false, skipSemantic: false });
    const dry = await c.patches.commitPatches({ patchIds: ["PATCH_C"], all: false, release: "", dryRun: true });
    expect(dry.patchIds).to.deep.equal(["PATCH_A", "PATCH_B", "PATCH_C"]);
    expect(dry.messages?.info).to.match(/^This commit operation would free \d+\.\d\d MiB$/);
    expect(dry.freedBytes).to.be.greaterThan(0); // pkga-1.0-2 is superseded by pkga-1.0-3
    const r = await c.patches.commitPatches({ patchIds: ["PATCH_C"], all: false, release: "", dryRun: false });
    expect(r.messages?.info).to.equal("The patches have been committed.");
    const q = await c.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_COMMITTED, release: "19.09" });
    expect(q.patches.map((p) => p.id)).to.deep.equal(["PATCH_A", "PATCH_B", "PATCH_C"]);
    await expectCode(
      c.patches.removePatches({ patchIds: ["PATCH_C"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false }),
      Status.FAILED_PRECONDITION,
      "Patch PATCH_C is committed and cannot be removed",
    );
    const re = await c.patches.uploadPatch(uploadStream(patchFile.PATCH_A!));
    expect(re.messages?.info).to.equal("PATCH_A is committed. Metadata not updated\n");
  });

  it("streams every event from any sequence number, in order, without gaps", async () => {
    const ac = new AbortController();
    const seen: { sequence: number; kind: string; patchId: string }[] = [];
    const it = c.patches.watchEvents({ afterSequence: 0, kinds: [], patchId: "", hostname: "", operationId: "" }, { signal: ac.signal });
    const info = await c.patches.getControllerInfo({});
    const last = info.lastEventSequence;
    expect(last).to.be.greaterThan(5);
    try {
      for await (const r of it) {
        seen.push({ sequence: r.event!.sequence, kind: r.event!.kind, patchId: r.event!.patchId });
        if (r.event!.sequence >= last) break;
      }
    } finally {
      ac.abort();
    }
    expect(seen.map((e) => e.sequence)).to.deep.equal(Array.from({ length: last }, (_, i) => i + 1));
    expect(seen.find((e) => e.kind === "patch.uploaded" && e.patchId === "PATCH_A")).to.not.equal(undefined);
    // Resume from the middle: exactly the rest.
    const mid = Math.floor(last / 2);
    const ac2 = new AbortController();
    const rest: number[] = [];
    try {
      for await (const r of c.patches.watchEvents({ afterSequence: mid, kinds: [], patchId: "", hostname: "", operationId: "" }, { signal: ac2.signal })) {
        rest.push(r.event!.sequence);
        if (r.event!.sequence >= last) break;
      }
    } finally {
      ac2.abort();
    }
    expect(rest).to.deep.equal(Array.from({ length: last - mid }, (_, i) => mid + i + 1));
  });

  it("keeps everything across a restart of the controller", async () => {
    const before = (await c.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" })).patches.map((p) => [p.id, p.repoState]);
    c.close();
    const dataDir = ctl.dataDir;
    await ctl.kill9();
    ctl = await startController({ dataDir });
    c = rawClients(ctl);
    const after = (await c.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" })).patches.map((p) => [p.id, p.repoState]);
    expect(after).to.deep.equal(before);
  });
});
