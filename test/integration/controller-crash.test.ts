import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, readdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients, uploadStream } from "../lib/grpc-clients.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import { checkStore } from "../lib/store-check.js";
import { QueryFilter } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { RepoState } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

type Clients = ReturnType<typeof rawClients>;

/**
 * kill -9 of the real controller process at named points of upload, apply, remove, delete and
 * commit (SWPATCH_FAILPOINT), and at random moments of a streaming upload; after a restart the
 * store is in the old or the new state, consistent, and the operation can be completed.
 */
describe("controller durability under kill -9", function () {
  this.timeout(180_000);
  let work: string;
  let patchA: string;
  let patchB: string;

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-crash-"));
    patchA = (
      await buildTestPatch({
        dir: path.join(work, "a"),
        id: "CRASH_A",
        swVersion: "19.09",
        status: "REL",
        rpms: [{ name: "crasha", version: "1", release: "2", files: [{ path: "/etc/crasha", content: "a\n" }] }],
      } as never)
    ).path;
    patchB = (
      await buildTestPatch({
        dir: path.join(work, "b"),
        id: "CRASH_B",
        swVersion: "19.09",
        status: "REL",
        requires: ["CRASH_A"],
        rpms: [
          { name: "crasha", version: "1", release: "3", files: [{ path: "/etc/crasha", content: "a3\n" }] },
          { name: "crashb", version: "1", release: "2", files: [{ path: "/etc/crashb", content: randomBytes(2 << 20) }], payload: "w0.gzdio" },
        ],
      } as never)
    ).path;
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  async function withCrash(
    failpoint: string,
    setup: (c: Clients) => Promise<void>,
    op: (c: Clients) => Promise<unknown>,
    verify: (c: Clients, died: boolean) => Promise<void>,
  ): Promise<void> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-crashdata-"));
    let ctl: ControllerHandle | undefined;
    let c: Clients | undefined;
    try {
      ctl = await startController({ dataDir, keepDataDir: true });
      c = rawClients(ctl);
      await setup(c);
      c.close();
      await ctl.stop();
      ctl = await startController({ dataDir, keepDataDir: true, env: { SWPATCH_FAILPOINT: failpoint } });
      c = rawClients(ctl);
      const outcome = await op(c).then(
        () => "ok",
        (e: Error) => e.message,
      );
      c.close();
      const died = await new Promise<boolean>((resolve) => {
        if (ctl!.proc.exitCode !== null || ctl!.proc.signalCode !== null) resolve(true);
        else {
          const t = setTimeout(() => resolve(false), 3000);
          ctl!.proc.once("exit", () => {
            clearTimeout(t);
            resolve(true);
          });
        }
      });
      expect(died, `the controller should have died at ${failpoint} (call: ${outcome})`).to.equal(true);
      expect(ctl.proc.signalCode).to.equal("SIGKILL");
      ctl = await startController({ dataDir, keepDataDir: true });
      c = rawClients(ctl);
      await c.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" });
      c.close();
      await ctl.stop();
      expect(checkStore(dataDir), `store after a crash at ${failpoint}`).to.deep.equal([]);
      ctl = await startController({ dataDir, keepDataDir: true });
      c = rawClients(ctl);
      await verify(c, died);
    } finally {
      c?.close();
      await ctl?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  const ids = async (c: Clients) =>
    (await c.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" })).patches.map((p) => `${p.id}:${RepoState[p.repoState]}`);

  for (const point of ["upload:verified", "upload:blobs-stored", "upload:in-transaction"]) {
    it(`upload killed at ${point}: the patch is absent, and a new upload succeeds`, async () => {
      await withCrash(
        point,
        async () => undefined,
        (c) => c.patches.uploadPatch(uploadStream(patchA)),
        async (c) => {
          expect(await ids(c)).to.deep.equal([]);
          const r = await c.patches.uploadPatch(uploadStream(patchA));
          expect(r.messages?.info).to.equal("CRASH_A is now available\n");
        },
      );
    });
  }

  for (const [point, kind] of [
    ["patch.applied:in-transaction", "apply"],
    ["patch.removed:in-transaction", "remove"],
  ] as const) {
    it(`${kind} killed inside its transaction: the old state stays, and ${kind} then succeeds`, async () => {
      await withCrash(
        point,
        async (c) => {
          await c.patches.uploadPatch(uploadStream(patchA));
          if (kind === "remove") await c.patches.applyPatches({ patchIds: ["CRASH_A"], all: false, skipSemantic: false });
        },
        (c) =>
          kind === "apply"
            ? c.patches.applyPatches({ patchIds: ["CRASH_A"], all: false, skipSemantic: false })
            : c.patches.removePatches({ patchIds: ["CRASH_A"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false }),
        async (c) => {
          expect(await ids(c)).to.deep.equal([kind === "apply" ? "CRASH_A:REPO_STATE_AVAILABLE" : "CRASH_A:REPO_STATE_APPLIED"]);
          if (kind === "apply") await c.patches.applyPatches({ patchIds: ["CRASH_A"], all: false, skipSemantic: false });
          else await c.patches.removePatches({ patchIds: ["CRASH_A"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
          expect(await ids(c)).to.deep.equal([kind === "apply" ? "CRASH_A:REPO_STATE_APPLIED" : "CRASH_A:REPO_STATE_AVAILABLE"]);
        },
      );
    });
  }

  for (const [point, expected] of [
    ["delete:in-transaction", ["CRASH_A:REPO_STATE_AVAILABLE"]],
    ["delete:committed", []],
  ] as const) {
    it(`delete killed at ${point}: old or new state, no orphan file`, async () => {
      await withCrash(
        point,
        async (c) => void (await c.patches.uploadPatch(uploadStream(patchA))),
        (c) => c.patches.deletePatches({ patchIds: ["CRASH_A"] }),
        async (c) => {
          expect(await ids(c)).to.deep.equal([...expected]);
          if (expected.length) await c.patches.deletePatches({ patchIds: ["CRASH_A"] });
          expect(await ids(c)).to.deep.equal([]);
        },
      );
    });
  }

  for (const [point, committed] of [
    ["commit:in-transaction", false],
    ["commit:committed", true],
  ] as const) {
    it(`commit killed at ${point}: all committed or none, superseded files reclaimed`, async () => {
      await withCrash(
        point,
        async (c) => {
          await c.patches.uploadPatch(uploadStream(patchA));
          await c.patches.uploadPatch(uploadStream(patchB));
          await c.patches.applyPatches({ patchIds: ["CRASH_A", "CRASH_B"], all: false, skipSemantic: false });
        },
        (c) => c.patches.commitPatches({ patchIds: ["CRASH_B"], all: false, release: "", dryRun: false }),
        async (c) => {
          const state = committed ? "REPO_STATE_COMMITTED" : "REPO_STATE_APPLIED";
          expect(await ids(c)).to.deep.equal([`CRASH_A:${state}`, `CRASH_B:${state}`]);
          if (!committed) await c.patches.commitPatches({ patchIds: ["CRASH_B"], all: false, release: "", dryRun: false });
          expect(await ids(c)).to.deep.equal(["CRASH_A:REPO_STATE_COMMITTED", "CRASH_B:REPO_STATE_COMMITTED"]);
        },
      );
    });
  }

  it("kill -9 at random moments of a streaming upload never leaves a half patch", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-crashdata-"));
    try {
      let seed = 12345;
      const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let round = 0; round < 6; round++) {
        const ctl = await startController({ dataDir, keepDataDir: true });
        const c = rawClients(ctl);
        const slow = (async function* () {
          for await (const m of uploadStream(patchB)) {
            yield m;
            await new Promise((r) => setTimeout(r, 2));
          }
        })();
        const call = c.patches.uploadPatch(slow).then(
          () => "done",
          () => "failed",
        );
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 60)));
        await ctl.kill9();
        await call;
        c.close();
        expect(checkStore(dataDir, { allowTmp: true }), `round ${round}`).to.deep.equal([]);
        const again = await startController({ dataDir, keepDataDir: true });
        const c2 = rawClients(again);
        const list = (await c2.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" })).patches;
        c2.close();
        await again.stop();
        expect(list.length === 0 || (list.length === 1 && list[0]!.contents.length === 2)).to.equal(true);
        expect(readdirSync(path.join(dataDir, "tmp"))).to.deep.equal([]);
        expect(checkStore(dataDir)).to.deep.equal([]);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
