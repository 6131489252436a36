import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EventLog } from "../../../../server/domain/events/event-log.js";
import type { PatchMeta, PatchRecord, RepoState } from "../../../../server/domain/patches/model.js";
import { PatchManager } from "../../../../server/domain/patches/patch-manager.js";
import type { SemanticCheckRunner } from "../../../../server/domain/patches/semantic-checks.js";
import type { TrustStore } from "../../../../server/domain/patchfile/index.js";
import { createLogger } from "../../../../server/lib/log.js";
import { FakeStore, fakeBlobs } from "../../../lib/fake-store.js";

export function meta(id: string, o: Partial<PatchMeta> = {}): PatchMeta {
  return {
    id,
    swVersion: "19.09",
    summary: "",
    description: "",
    installInstructions: "",
    warnings: "",
    status: "REL",
    unremovable: false,
    rebootRequired: false,
    applyActiveReleaseOnly: false,
    personalities: {},
    contents: [],
    requires: [],
    semantics: [],
    ...o,
  };
}

export function record(id: string, repoState: RepoState, o: Partial<PatchMeta> = {}, extra: Partial<PatchRecord> = {}): PatchRecord {
  return {
    meta: meta(id, o),
    repoState,
    patchState: "n/a",
    metadataXml: "",
    signer: "dev",
    fileSha256: "",
    uploadedAt: new Date(0),
    packages: [],
    semantics: [],
    ...extra,
  };
}

/** A PatchManager over a FakeStore seeded with `records` (release 19.09, no hosts). */
export async function patchManager(records: PatchRecord[], opts: { checks?: SemanticCheckRunner; trust?: TrustStore } = {}) {
  const store = new FakeStore();
  store.t.releases.add("19.09");
  for (const r of records) store.t.patches.set(r.meta.id, r);
  const events = new EventLog(store.read);
  await events.init();
  const blobs = fakeBlobs();
  const pm = new PatchManager({
    store,
    blobs,
    events,
    log: createLogger({ level: "silent" }),
    tmpDir: mkdtempSync(path.join(os.tmpdir(), "swpatch-pm-")),
    runningRelease: "19.09",
    trust: () => opts.trust ?? ({ keys: [] } as TrustStore),
    ...(opts.checks ? { checks: opts.checks } : {}),
  });
  await pm.init();
  return { store, events, pm, blobs };
}
