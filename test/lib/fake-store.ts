/**
 * An in-memory Store (the domain's port) for unit tests: committed tables as maps, a transaction
 * log, rollback hooks, `later` bodies riding the next transaction, and injected failures.
 */
import type { AlarmRecord } from "../../server/domain/alarms/model.js";
import type { DomainEvent } from "../../server/domain/events/event-log.js";
import type { InstallProgress } from "../../server/domain/hosts/agent-types.js";
import type { HostRecord, OperationRecord, OperationStateName } from "../../server/domain/hosts/model.js";
import type { PackageRecord, PatchRecord } from "../../server/domain/patches/model.js";
import type { BlobPort, Store, StoreReader, StoreTx, StrategyDocument } from "../../server/domain/store.js";

interface Tables {
  patches: Map<string, PatchRecord>;
  releases: Set<string>;
  base: Map<string, PackageRecord[]>;
  interim: Map<string, Set<string>>;
  appDeps: Map<string, string[]>;
  state: Map<string, string>;
  hosts: Map<string, HostRecord>;
  ops: Map<string, OperationRecord>;
  alarms: Map<string, AlarmRecord>;
  events: DomainEvent[];
  strategy: StrategyDocument | undefined;
}

function clone(t: Tables): Tables {
  return {
    patches: new Map(t.patches),
    releases: new Set(t.releases),
    base: new Map([...t.base].map(([k, v]) => [k, [...v]])),
    interim: new Map([...t.interim].map(([k, v]) => [k, new Set(v)])),
    appDeps: new Map(t.appDeps),
    state: new Map(t.state),
    hosts: new Map(t.hosts),
    ops: new Map(t.ops),
    alarms: new Map(t.alarms),
    events: [...t.events],
    strategy: t.strategy,
  };
}

/** The fake store; `commits` counts committed transactions, `failNext` makes the next commit fail. */
export class FakeStore implements Store {
  t: Tables = {
    patches: new Map(),
    releases: new Set(),
    base: new Map(),
    interim: new Map(),
    appDeps: new Map(),
    state: new Map(),
    hosts: new Map(),
    ops: new Map(),
    alarms: new Map(),
    events: [],
    strategy: undefined,
  };
  commits = 0;
  /** Error thrown by the next commit (then cleared). */
  failNext: Error | undefined;
  private lazy: { body: (tx: StoreTx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  transact<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    const run = () => this.run(body);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  later<T>(body: (tx: StoreTx) => Promise<T>, maxDelayMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.lazy.push({ body, resolve: resolve as (v: unknown) => void, reject });
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.transact(async () => undefined).catch(() => undefined);
      }, maxDelayMs);
    });
  }

  private async run<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    const work = clone(this.t);
    const undo: (() => void)[] = [];
    const tx = this.txOver(work, undo);
    const lazy = this.lazy.splice(0);
    clearTimeout(this.timer);
    this.timer = undefined;
    const lazyValues: unknown[] = [];
    try {
      for (const l of lazy) lazyValues.push(await l.body(tx));
      const value = await body(tx);
      if (this.failNext) {
        const e = this.failNext;
        this.failNext = undefined;
        throw e;
      }
      this.t = work;
      this.commits++;
      lazy.forEach((l, i) => l.resolve(lazyValues[i]));
      return value;
    } catch (e) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      for (const l of lazy) l.reject(e);
      throw e;
    }
  }

  private txOver(t: Tables, undo: (() => void)[]): StoreTx {
    return {
      patches: {
        insertPatch: async (p) => void t.patches.set(p.meta.id, p),
        updatePatchMetadata: async (id, meta, xml, signer) => void t.patches.set(id, { ...t.patches.get(id)!, meta, metadataXml: xml, signer }),
        setRepoState: async (id, state) => void t.patches.set(id, { ...t.patches.get(id)!, repoState: state }),
        deletePatch: async (id) => void t.patches.delete(id),
        markReclaimed: async () => undefined,
        insertBlob: async () => undefined,
        orphanBlobs: async () => [],
        deleteBlobRows: async () => undefined,
        insertRelease: async (r) => void t.releases.add(r),
        deleteRelease: async (r) => void t.releases.delete(r),
        insertBasePackage: async (release, k) => {
          const list = t.base.get(release) ?? [];
          if (list.some((x) => x.fileName === k.fileName)) return false;
          t.base.set(release, [...list, k]);
          return true;
        },
        setInterim: async (id, hostnames) => void (hostnames.length ? t.interim.set(id, new Set(hostnames)) : t.interim.delete(id)),
        clearInterimForHost: async (h) => {
          for (const [id, s] of t.interim) {
            s.delete(h);
            if (!s.size) t.interim.delete(id);
          }
        },
        setAppDependencies: async (app, ids) => void (ids.length ? t.appDeps.set(app, [...ids]) : t.appDeps.delete(app)),
      },
      hosts: {
        upsertHost: async (h) => void t.hosts.set(h.hostname, h),
        deleteHost: async (h) => void t.hosts.delete(h),
        insertOperation: async (o) => void t.ops.set(o.id, { ...o }),
        updateOperation: async (id, state: OperationStateName, last: InstallProgress) => void t.ops.set(id, { ...t.ops.get(id)!, state, last }),
        insertAlarm: async (a) => void t.alarms.set(a.uuid, a),
        deleteAlarm: async (uuid) => (t.alarms.delete(uuid) ? 1 : 0),
      },
      setControllerState: async (k, v) => void t.state.set(k, v),
      appendEvent: (e) => void t.events.push(e),
      saveStrategy: async (doc) => void (t.strategy = doc),
      deleteStrategy: async () => {
        const had = !!t.strategy;
        t.strategy = undefined;
        return had;
      },
      onRollback: (fn) => void undo.push(fn),
    };
  }

  get read(): StoreReader {
    const self = this;
    return {
      loadPatches: async () => [...self.t.patches.values()].map((p) => ({ ...p, patchState: "n/a" as const })),
      knownBlobs: async () => new Set(),
      loadReleases: async () => [...self.t.releases],
      loadBasePackages: async () => new Map([...self.t.base].map(([k, v]) => [k, [...v]])),
      loadInterim: async () => new Map([...self.t.interim].map(([k, v]) => [k, new Set(v)])),
      loadAppDependencies: async () => new Map(self.t.appDeps),
      getControllerState: async (k) => self.t.state.get(k),
      loadHosts: async () => [...self.t.hosts.values()],
      loadAlarms: async () => [...self.t.alarms.values()],
      getOperation: async (id) => self.t.ops.get(id),
      runningOperations: async () => [...self.t.ops.values()].filter((o) => o.state === "running"),
      latestProgress: async (id) => [...self.t.events].reverse().find((e) => e.operationId === id && e.kind === "install.progress")?.progress,
      lastEventSeq: async () => self.t.events.at(-1)?.seq ?? 0,
      eventsAfter: async (after, limit, f) =>
        self.t.events
          .filter(
            (e) =>
              e.seq > after &&
              (!f?.operationId || e.operationId === f.operationId) &&
              (!f?.patchId || e.patchId === f.patchId) &&
              (!f?.hostname || e.hostname === f.hostname),
          )
          .slice(0, limit),
      loadStrategy: async () => self.t.strategy,
    };
  }

  /** Events committed so far, of one kind. */
  eventsOf(kind: string): DomainEvent[] {
    return this.t.events.filter((e) => e.kind === kind);
  }
}

/** Blobs that exist by name only. */
export function fakeBlobs(): BlobPort & { removed: string[] } {
  const have = new Set<string>();
  const removed: string[] = [];
  return {
    removed,
    init: async () => undefined,
    list: async () => [...have],
    put: async (_file, sha) => void have.add(sha),
    remove: async (sha) => void (have.delete(sha), removed.push(sha)),
    pathOf: (sha) => `/blobs/${sha}`,
    readSmall: async () => undefined,
  };
}
