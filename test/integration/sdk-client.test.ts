import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import {
  createSwPatchClient,
  HostNotFoundError,
  NotFoundError,
  OperationNotFoundError,
  PatchNotFoundError,
  PermissionDeniedError,
  ReleaseNotFoundError,
  SwPatchError,
  PatchState,
  QueryFilter,
  RepoState,
  UnavailableError,
  UploadOutcome,
  type Event,
  type SwPatchClient,
} from "../../clients/sdk/src/index.js";

describe("SDK against a real controller", function () {
  this.timeout(60_000);
  let ctl: ControllerHandle;
  let client: SwPatchClient;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sdk-it-"));
    ctl = await startController({ release: "19.09" });
    client = createSwPatchClient({ endpoint: ctl.endpoint, token: ctl.adminToken });
  });
  after(async () => {
    client?.close();
    await ctl?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("uploads a patch file in chunks and reads it back", async () => {
    const built = await buildTestPatch({ dir, id: "SDK_0001", swVersion: "19.09" });
    let lastProgress = 0;
    const r = await client.uploadPatchFile(built.path, { onProgress: (p) => (lastProgress = p.bytesSent) });
    expect(r.patchId).to.equal("SDK_0001");
    expect(r.outcome).to.equal(UploadOutcome.UPLOAD_OUTCOME_IMPORTED);
    expect(lastProgress).to.be.greaterThan(0);
    const q = await client.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL });
    expect(q.patches.map((p) => [p.id, p.repoState, p.patchState])).to.deep.equal([["SDK_0001", RepoState.REPO_STATE_AVAILABLE, PatchState.PATCH_STATE_NA]]);
  });

  it("throws PatchNotFoundError for an unknown patch", async () => {
    try {
      await client.patches.applyPatches({ patchIds: ["GHOST"] });
      expect.fail("should have thrown");
    } catch (e) {
      expect(e).to.be.instanceOf(PatchNotFoundError);
      expect((e as Error).message).to.equal("Patch GHOST does not exist");
    }
  });

  it("picks the error class by the controller's reason, not by the method", async () => {
    const caught = async (p: Promise<unknown>): Promise<SwPatchError> => {
      try {
        await p;
      } catch (e) {
        expect(e).to.be.instanceOf(SwPatchError);
        return e as SwPatchError;
      }
      return expect.fail("should have thrown");
    };
    const patch = await caught(client.patches.applyPatches({ patchIds: ["GHOST"] }));
    expect(patch).to.be.instanceOf(PatchNotFoundError);
    expect(patch.reason).to.equal("PATCH_NOT_FOUND");
    // A PatchService call, but the release is what is missing.
    const release = await caught(client.patches.delRelease({ release: "99.99" }));
    expect(release).to.be.instanceOf(ReleaseNotFoundError).and.instanceOf(NotFoundError).and.not.instanceOf(PatchNotFoundError);
    expect(release.reason).to.equal("RELEASE_NOT_FOUND");
    expect(release.message).to.equal("Release 99.99 is not known");
    const host = await caught(client.hosts.getHost({ host: "ghost-host" }));
    expect(host).to.be.instanceOf(HostNotFoundError);
    expect(host.reason).to.equal("HOST_NOT_FOUND");
    const op = await caught(client.hosts.getOperation({ operationId: "00000000-0000-4000-8000-000000000000" }));
    expect(op).to.be.instanceOf(OperationNotFoundError);
    expect(op.reason).to.equal("OPERATION_NOT_FOUND");
    const reader = createSwPatchClient({
      endpoint: ctl.endpoint,
      token: (await client.admin.createToken({ role: "reader", hostname: "", description: "sdk-reason" })).token,
    });
    try {
      const denied = await caught(reader.patches.applyPatches({ patchIds: ["SDK_0001"] }));
      expect(denied).to.be.instanceOf(PermissionDeniedError);
      expect(denied.reason).to.equal("ROLE_NOT_PERMITTED");
    } finally {
      reader.close();
    }
  });

  it("watchEvents replays the log from a sequence and follows new events", async () => {
    const ac = new AbortController();
    const events: Event[] = [];
    const done = (async () => {
      try {
        for await (const ev of client.watchEvents({ signal: ac.signal })) {
          events.push(ev);
          if (events.some((e) => e.patchId === "SDK_0001" && e.kind !== "patch.uploaded")) ac.abort();
        }
      } catch (e) {
        if ((e as Error).name !== "AbortError") throw e;
      }
    })();
    await client.patches.applyPatches({ patchIds: ["SDK_0001"] });
    await done;
    const seqs = events.map((e) => e.sequence);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).to.equal(seqs.length);
    expect(events[0]!.kind).to.equal("patch.uploaded");
  });

  it("reports a stopped controller as UnavailableError", async () => {
    const other = createSwPatchClient({ endpoint: "127.0.0.1:1" });
    try {
      await other.patches.getControllerInfo({});
      expect.fail("should have thrown");
    } catch (e) {
      expect(e).to.be.instanceOf(UnavailableError);
    } finally {
      other.close();
    }
  });
});
