/** Records for the contract suite: full, with every field set to something a store could lose. */
import { expect } from "chai";
import { createHash } from "node:crypto";
import type { PackageRecord, PatchRecord } from "../../server/domain/patches/model.js";
import type { HostRecord, OperationRecord } from "../../server/domain/hosts/model.js";
import type { InstallProgress } from "../../server/domain/hosts/agent-types.js";
import type { AlarmRecord } from "../../server/domain/alarms/model.js";
import type { DomainEvent } from "../../server/domain/events/event-log.js";
import type { StoreReader, StoreTx } from "../../server/domain/store.js";

/** sha256 hex of a string (a content address for rows that need one). */
export function shaOf(s: string | Buffer): string {
  return createHash("sha256").update(s).digest("hex");
}

export function pkg(name: string, over: Partial<PackageRecord> = {}): PackageRecord {
  return {
    fileName: `${name}-1.2-3.tis.x86_64.rpm`,
    name,
    epoch: "1",
    version: "1.2",
    release: "3.tis",
    arch: "x86_64",
    sha256: shaOf(`rpm ${name}`),
    size: 1000 + name.length,
    ...over,
  };
}

/** A patch with two packages, both semantic actions and every metadata field set. */
export function patchRecord(id: string, over: Partial<PatchRecord> = {}): PatchRecord {
  const packages = [pkg(`${id}-a`), pkg(`${id}-b`, { epoch: "", arch: "noarch" })];
  return {
    meta: {
      id,
      swVersion: "19.09",
      summary: `summary of ${id}`,
      description: "line one\nline two ‘quoted’ & <escaped>",
      installInstructions: "reboot",
      warnings: "none",
      status: "REL",
      unremovable: true,
      rebootRequired: false,
      applyActiveReleaseOnly: true,
      personalities: { controller: [`${id}-a`], worker: [`${id}-a`, `${id}-b`] },
      contents: packages.map((p) => p.fileName),
      requires: ["BASE_1", "BASE_2"],
      semantics: ["pre-apply", "pre-remove"],
    },
    repoState: "Available",
    patchState: "n/a",
    metadataXml: `<patch><id>${id}</id></patch>`,
    signer: "dev",
    fileSha256: shaOf(`file ${id}`),
    uploadedAt: new Date("2026-11-30T10:11:12.345Z"),
    packages,
    semantics: [
      { action: "pre-apply", sha256: shaOf(`pre-apply ${id}`) },
      { action: "pre-remove", sha256: shaOf(`pre-remove ${id}`) },
    ],
    ...over,
  };
}

/** Every content address a patch refers to (its blob rows must exist before it is inserted). */
export function blobsOf(p: PatchRecord): string[] {
  return [p.fileSha256, ...p.packages.map((k) => k.sha256), ...p.semantics.map((s) => s.sha256)];
}

/** Inserts the patch's blob rows, then the patch. */
export async function insertPatchWithBlobs(tx: StoreTx, p: PatchRecord): Promise<void> {
  for (const sha of blobsOf(p)) await tx.patches.insertBlob(sha, 4096);
  await tx.patches.insertPatch(p);
}

export function hostRecord(hostname: string, over: Partial<HostRecord> = {}): HostRecord {
  return {
    hostname,
    ip: "192.168.204.3",
    personality: "controller",
    subfunctions: ["controller", "worker"],
    release: "19.09",
    adminState: "locked",
    agentState: "install-failed",
    installReason: "rpm said no",
    requiresReboot: true,
    patchFailed: true,
    installed: [
      { name: "kernel", epoch: "", version: "3.10.0", release: "957.tis", arch: "x86_64" },
      { name: "bash", epoch: "1", version: "4.2.46", release: "31.el7", arch: "x86_64" },
    ],
    instances: [{ uuid: "8d1b2c4e-0000-4000-8000-000000000001", name: "vm-1", state: "running" }],
    firstSeen: new Date("2026-11-01T00:00:01.001Z"),
    lastSeen: new Date("2026-12-01T23:59:59.999Z"),
    // Not stored: a loaded host is "offline" until its agent says hello.
    availability: "offline",
    ...over,
  };
}

export function progress(operationId: string, hostname: string, over: Partial<InstallProgress> = {}): InstallProgress {
  return {
    operationId,
    hostname,
    phase: "downloading",
    current: 2,
    total: 5,
    bytesDone: 12345,
    bytesTotal: 99999,
    item: "bash-4.2.46-31.el7.x86_64.rpm",
    message: "fetching",
    terminal: false,
    time: new Date("2026-12-02T08:00:00.125Z"),
    ...over,
  };
}

type NewOperation = OperationRecord & { last: InstallProgress };

export function operationRecord(id: string, hostname: string, over: Partial<NewOperation> = {}): NewOperation {
  return { id, hostname, state: "running", force: true, startSeq: 41, last: progress(id, hostname, { phase: "queued", current: 0 }), ...over };
}

export function alarmRecord(uuid: string, over: Partial<AlarmRecord> = {}): AlarmRecord {
  return {
    uuid,
    alarmId: "900.001",
    entityInstanceId: "host=controller-0",
    severity: "major",
    reasonText: "Patching operation in progress",
    mgmtAffecting: true,
    proposedRepairAction: "Complete reboots of affected hosts",
    time: new Date("2026-12-02T09:30:00.500Z"),
    ...over,
  };
}

/** An event as the event log would give it (sequence number and time set). */
export function event(seq: number, over: Partial<DomainEvent> = {}): DomainEvent {
  return {
    seq,
    time: new Date(Date.UTC(2026, 11, 3, 10, 0, 0, seq)),
    kind: "patch.state",
    patchId: "",
    hostname: "",
    oldState: "",
    newState: "",
    message: `event ${seq}`,
    operationId: "",
    ...over,
  };
}

/**
 * Everything a reader can list, as plain sorted data (deep-equal comparable): what a store
 * holds, seen through the port.
 */
export async function snapshot(r: StoreReader, opts: { controllerKeys?: string[]; operationIds?: string[] } = {}): Promise<Record<string, unknown>> {
  const mapEntries = <V>(m: Map<string, V>, f: (v: V) => unknown = (v) => v) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, f(v)]);
  const byId = <T>(xs: T[], key: (x: T) => string) => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const state: Record<string, string | undefined> = {};
  for (const k of opts.controllerKeys ?? []) state[k] = await r.getControllerState(k);
  const operations: Record<string, unknown> = {};
  for (const id of opts.operationIds ?? []) operations[id] = { op: await r.getOperation(id), latest: await r.latestProgress(id) };
  return {
    patches: byId(await r.loadPatches(), (p) => p.meta.id),
    blobs: [...(await r.knownBlobs())].sort(),
    releases: [...(await r.loadReleases())].sort(),
    basePackages: mapEntries(await r.loadBasePackages(), (l) => byId(l, (k) => k.fileName)),
    interim: mapEntries(await r.loadInterim(), (s) => [...s].sort()),
    appDependencies: mapEntries(await r.loadAppDependencies(), (l) => [...l].sort()),
    hosts: byId(await r.loadHosts(), (h) => h.hostname),
    alarms: byId(await r.loadAlarms(), (a) => a.uuid),
    running: byId(await r.runningOperations(), (o) => o.id),
    lastEventSeq: await r.lastEventSeq(),
    events: await r.eventsAfter(0, 1_000_000),
    strategy: await r.loadStrategy(),
    state,
    operations,
  };
}

/** A promise and its resolver (to hold a transaction body open until the test says so). */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/** Writes one row of every kind, named after `tag` (event `seq` for its event). */
export async function writeOneOfEach(tx: StoreTx, tag: string, seq: number): Promise<void> {
  const p = patchRecord(`P_${tag}`);
  await insertPatchWithBlobs(tx, p);
  await tx.patches.insertRelease(`R_${tag}`);
  const base = pkg(`base-${tag}`);
  await tx.patches.insertBlob(base.sha256, base.size);
  expect(await tx.patches.insertBasePackage(`R_${tag}`, base)).to.equal(true);
  await tx.patches.setInterim(p.meta.id, [`h-${tag}`]);
  await tx.patches.setAppDependencies(`app-${tag}`, [p.meta.id]);
  await tx.hosts.upsertHost(hostRecord(`h-${tag}`));
  await tx.hosts.insertOperation(operationRecord(`op-${tag}`, `h-${tag}`));
  await tx.hosts.insertAlarm(alarmRecord(`alarm-${tag}`));
  await tx.setControllerState(`key-${tag}`, `value-${tag}`);
  tx.appendEvent(
    event(seq, { kind: "install.progress", operationId: `op-${tag}`, hostname: `h-${tag}`, patchId: p.meta.id, progress: progress(`op-${tag}`, `h-${tag}`) }),
  );
  await tx.saveStrategy({ uuid: `uuid-${tag}`, name: "sw-patch", state: "building", json: `{"tag":"${tag}"}` });
}

/** What an empty store reads as (see `snapshot`). */
export const EMPTY = {
  patches: [],
  blobs: [],
  releases: [],
  basePackages: [],
  interim: [],
  appDependencies: [],
  hosts: [],
  alarms: [],
  running: [],
  lastEventSeq: 0,
  events: [],
  strategy: undefined,
};
