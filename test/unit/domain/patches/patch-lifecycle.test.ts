import { expect } from "chai";
import { isDomainError } from "../../../../server/domain/errors.js";
import type { SemanticCheckRunner } from "../../../../server/domain/patches/semantic-checks.js";
import { applyMessages, commitMessages, deleteMessages, releaseMessages, removeMessages } from "../../../../server/transport/mappers/patch-messages.js";
import type { HostPackageView, PackageRecord } from "../../../../server/domain/patches/model.js";
import { patchManager, record } from "./fixtures.js";

/** Rejects with a DomainError whose reason is `reason`; returns its message. */
async function refused(p: Promise<unknown>, reason: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(isDomainError(e), String(e)).to.equal(true);
    expect((e as { reason?: string }).reason).to.equal(reason);
    return (e as Error).message;
  }
  throw new Error(`expected a refusal ${reason}`);
}

/** The lifecycle through fakes of the store, blobs and semantic-check runner (no sqlite, no processes). */
describe("patch lifecycle (fake ports)", () => {
  it("apply: refusals name the patches; an apply writes one transaction, then memory and events follow", async () => {
    const { pm, store } = await patchManager([
      record("A", "Available"),
      record("B", "Available", { requires: ["A"] }),
      record("U", "Available", { applyActiveReleaseOnly: true, swVersion: "20.06" }),
    ]);
    expect(await refused(pm.apply(["NOPE"]), "PATCH_NOT_FOUND")).to.equal("Patch NOPE does not exist");
    expect(await refused(pm.apply(["B"]), "REQUIREMENT_NOT_APPLIED")).to.equal("A is required by: B");
    expect(await refused(pm.apply(["U"]), "UPGRADE_APPLY_REFUSED")).to.equal("U cannot be applied in an upgrade");
    const commits = store.commits;
    const r = await pm.apply(["B", "A"]);
    expect(r).to.deep.equal({
      noneAvailable: false,
      results: [
        { patchId: "A", applied: true },
        { patchId: "B", applied: true },
      ],
      applied: ["A", "B"],
      // No host is known yet: nothing changes on any host, and the apply says so.
      changesNoHost: [
        { patchId: "A", release: "19.09", hosts: 0 },
        { patchId: "B", release: "19.09", hosts: 0 },
      ],
    });
    // The reference's texts are made at the edge.
    expect(applyMessages(r)).to.deep.equal({
      info: "A is now in the repo\nB is now in the repo\n",
      warning: "A changes no host: no host of release 19.09 is known yet\nB changes no host: no host of release 19.09 is known yet\n",
    });
    expect(store.commits - commits).to.equal(1);
    expect(pm.get("A")!.repoState).to.equal("Applied");
    expect(store.t.patches.get("A")!.repoState).to.equal("Applied");
    expect(store.eventsOf("patch.applied").map((e) => e.patchId)).to.deep.equal(["A", "B"]);
    expect(applyMessages(await pm.apply(["A"])).info).to.equal("A is already in the repo\n");
    await pm.delete(["U"]);
    expect(applyMessages(await pm.apply([], { all: true })).info).to.equal("There are no available patches to be applied.\n");
  });

  it("remove, delete and commit: refusals and outcomes", async () => {
    const { pm } = await patchManager([
      record("A", "Applied"),
      record("B", "Applied", { requires: ["A"] }),
      record("C", "Committed"),
      record("N", "Available", { unremovable: true }),
      record("D", "Available", { status: "DEV" }),
    ]);
    expect(await refused(pm.remove(["A"]), "REQUIRED_BY_APPLIED")).to.equal("A is required by: B");
    expect(await refused(pm.remove(["C"]), "NOT_REMOVABLE")).to.equal("Patch C is committed and cannot be removed");
    expect(await refused(pm.remove(["N"]), "NOT_REMOVABLE")).to.equal("Patch N is not removable");
    expect(removeMessages(await pm.remove(["N"], { removeUnremovable: true }))).to.deep.equal({
      info: "N is not in the repo\n",
      warning: "Unremovable patch N being removed\n",
    });
    await pm.reportAppDependencies("app1", ["B"]);
    expect(await refused(pm.remove(["A", "B"]), "REQUIRED_BY_APPLICATION")).to.equal("B is required by application(s): app1");
    const removed = await pm.remove(["A", "B"], { skipAppCheck: true });
    expect(removed.removed).to.deep.equal(["A", "B"]);
    expect(removeMessages(removed).info).to.equal("A has been removed from the repo\nB has been removed from the repo\n");
    expect(await refused(pm.delete(["C"]), "NOT_AVAILABLE")).to.equal("Patch C not in Available state");
    expect(deleteMessages(await pm.delete(["A"])).info).to.equal("A has been deleted\n");
    expect(pm.get("A")).to.equal(undefined);
    expect(await refused(pm.commit({ ids: ["C"] }), "NON_REL_PATCHES")).to.match(/^A commit cannot be performed with non-REL status patches in the system:\n {4}D$/);
    await pm.delete(["D", "N"]);
    const dry = await pm.commit({ ids: ["C"], dryRun: true });
    expect(dry).to.deep.equal({ kind: "dry-run", release: "", patchIds: ["C"], freedBytes: 0 });
    expect(commitMessages(dry).info).to.equal("This commit operation would free 0.00 MiB");
    expect(commitMessages(await pm.commit({ all: true, release: "20.06" })).info).to.equal("There are no 20.06 patches to commit.");
    expect(releaseMessages(await pm.initRelease("20.06"))).to.deep.equal({ info: "Patch repository for 20.06 has been created\n", warning: "" });
    expect(releaseMessages(await pm.initRelease("20.06")).info).to.equal("Patch repository for 20.06 already exists\n");
    expect(releaseMessages(await pm.delRelease("20.06")).info).to.equal("Release 20.06 has been deleted\n");
  });

  it("a failed commit leaves memory as it was and publishes nothing", async () => {
    const { pm, store, events } = await patchManager([record("A", "Available")]);
    const seq = events.lastSequence;
    store.failNext = new Error("injected: disk full");
    await pm.apply(["A"]).then(
      () => expect.fail("apply should fail"),
      (e: Error) => expect(e.message).to.equal("injected: disk full"),
    );
    expect(pm.get("A")!.repoState).to.equal("Available");
    expect(pm.hostInInterim("any")).to.equal(false);
    expect(store.t.patches.get("A")!.repoState).to.equal("Available");
    expect(events.lastSequence).to.equal(seq);
    // The next one goes through with the sequence numbers the failed one gave back.
    await pm.apply(["A"]);
    expect(store.eventsOf("patch.applied")[0]!.seq).to.equal(seq + 1);
  });

  it("semantic checks run outside the lock, are cancellable, and run again if the repository changed meanwhile", async () => {
    let release: (() => void) | undefined;
    const calls: string[] = [];
    const checks: SemanticCheckRunner = {
      run: (script, _args, { signal }) =>
        new Promise((resolve, reject) => {
          calls.push(script);
          release = () => resolve({ code: 0, output: "" });
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
    };
    const sem = { semantics: [{ action: "pre-apply", sha256: "s1" }] };
    const { pm } = await patchManager([record("A", "Available", { semantics: ["pre-apply"] }, sem), record("B", "Available")], { checks });
    /** The running script's "exit 0", once a script runs. */
    const running = async (): Promise<() => void> => {
      while (!release) await new Promise((r) => setImmediate(r));
      const r = release;
      release = undefined;
      return r;
    };
    const applying = pm.apply(["A"]);
    const first = await running();
    // The lock is free while the script runs: another change goes through, and moves the version.
    await pm.apply(["B"]);
    first();
    (await running())();
    expect((await applying).applied).to.deep.equal(["A"]);
    expect(calls).to.deep.equal(["/blobs/s1", "/blobs/s1"]);
    // Cancelled: the script's signal fires and the apply rejects with its reason; nothing changed.
    await pm.remove(["A"], { skipSemantic: true });
    const ac = new AbortController();
    const cancelled = pm.apply(["A"], {}, ac.signal);
    await running();
    ac.abort(new Error("client went away"));
    await cancelled.then(
      () => expect.fail("should be cancelled"),
      (e: Error) => expect(e.message).to.equal("client went away"),
    );
    expect(pm.get("A")!.repoState).to.equal("Available");
  });

  it("a failing semantic check refuses with its output", async () => {
    const checks: SemanticCheckRunner = { run: async () => ({ code: 3, output: "not today\n" }) };
    const { pm } = await patchManager([record("A", "Available", {}, { semantics: [{ action: "pre-apply", sha256: "s" }] })], { checks });
    expect(await refused(pm.apply(["A"]), "SEMANTIC_CHECK_FAILED")).to.equal("Semantic check failed for A:\nnot today");
    expect((await pm.apply(["A"], { skipSemantic: true })).applied).to.deep.equal(["A"]);
  });

  it("query-dependencies lists direct requirements that were never uploaded; --recursive names the missing one", async () => {
    const { pm } = await patchManager([record("A", "Available", { requires: ["B", "GONE"] }), record("B", "Available", { requires: ["C"] })]);
    // As the reference does: the given ids plus what they name, uploaded or not.
    expect(pm.queryDependencies(["A"], false)).to.deep.equal(["A", "B", "GONE"]);
    expect(pm.queryDependencies(["B"], false)).to.deep.equal(["B", "C"]);
    let err: unknown;
    try {
      pm.queryDependencies(["A"], true);
    } catch (e) {
      err = e;
    }
    expect((err as { reason?: string }).reason).to.equal("REQUIRED_PATCH_MISSING");
    expect((err as Error).message).to.equal("C is required by: B but is not uploaded\nGONE is required by: A but is not uploaded");
  });

  it("apply warns about a patch that changes no host (a bare RPM: a package for no personality)", async () => {
    const rpm = (name: string): PackageRecord => ({
      fileName: `${name}-2.0-1.noarch.rpm`,
      name,
      epoch: "",
      version: "2.0",
      release: "1",
      arch: "noarch",
      sha256: name.padEnd(64, "0"),
      size: 1,
    });
    const { pm } = await patchManager([
      record("BARE", "Available", { contents: ["tool-2.0-1.noarch.rpm"] }, { packages: [rpm("tool")] }),
      record("WORKER", "Available", { contents: ["agent-2.0-1.noarch.rpm"], personalities: { worker: ["agent"] } }, { packages: [rpm("agent")] }),
    ]);
    const host: HostPackageView = { hostname: "compute-0", release: "19.09", personalityKey: "worker", installed: new Map() };
    const views = { get: (n: string) => (n === host.hostname ? host : undefined), values: () => [host], size: 1 };
    pm.setHostsProvider({ views: () => views, anyInstalling: () => false, requestReports: () => undefined });
    const r = await pm.apply(["BARE", "WORKER"]);
    expect(r.changesNoHost).to.deep.equal([{ patchId: "BARE", release: "19.09", hosts: 1 }]);
    expect(applyMessages(r).warning).to.equal(
      "BARE changes no host: none of the 1 host(s) of release 19.09 gets a package from it (a package without a personality, such as a bare RPM given to patch_build, only updates hosts that already have it installed)\n",
    );
  });
});
