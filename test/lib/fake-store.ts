/**
 * An in-memory Store (the domain's port) for unit tests: committed tables as maps, a transaction
 * log, rollback hooks, `later` bodies riding the next transaction, and injected failures. It
 * passes the store contract suite (test/contract/, factory "fake"): keys and references are
 * refused as the sqlite schema refuses them, a body fails alone, `later` bodies share a commit's
 * fate but not a body's. Tests may seed `t` directly (no checks).
 */
import type { SecurityFloorRecord } from "../../server/domain/patches/security-floor.js";
import { Readable } from "node:stream";
import type { AlarmRecord } from "../../server/domain/alarms/model.js";
import type { DomainEvent } from "../../server/domain/events/event-log.js";
import type { InstallProgress } from "../../server/domain/hosts/agent-types.js";
import type { HostRecord, OperationRecord, OperationStateName } from "../../server/domain/hosts/model.js";
import type { PackageRecord, PatchRecord } from "../../server/domain/patches/model.js";
import type { BlobPort, EventRetentionPort, Store, StoreReader, StoreTx, StrategyDocument, WriteGroup } from "../../server/domain/store.js";
import { WriteBatches } from "../../server/storage/sqlite/write-batches.js";

interface Tables {
  patches: Map<string, PatchRecord>;
  /** Blob rows: sha256 to size. */
  blobs: Map<string, number>;
  releases: Set<string>;
  base: Map<string, PackageRecord[]>;
  interim: Map<string, Set<string>>;
  appDeps: Map<string, string[]>;
  state: Map<string, string>;
  hosts: Map<string, HostRecord>;
  ops: Map<string, OperationRecord>;
  alarms: Map<string, AlarmRecord>;
  /** In sequence order. */
  events: DomainEvent[];
  strategy: StrategyDocument | undefined;
  /** FLOOR (issue 21). */
  floors: Map<string, SecurityFloorRecord>;
}

/** A working copy: the maps are copied, the records shared (writes replace records, never change them). */
function clone(t: Tables): Tables {
  return {
    patches: new Map(t.patches),
    blobs: new Map(t.blobs),
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
    floors: new Map(t.floors),
  };
}

const refused = (what: string) => new Error(`refused: ${what}`);
const sortedBy = <T>(l: Iterable<T>, key: (v: T) => string) => [...l].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/** Runs rollback hooks latest first; one that throws does not stop the others. */
function rollBack(hooks: (() => void)[]): void {
  for (let i = hooks.length - 1; i >= 0; i--) {
    try {
      hooks[i]!();
    } catch {
      // The others still run.
    }
  }
  hooks.length = 0;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The fake store; `commits` counts committed transactions, `failNext` makes the next commit fail. */
export class FakeStore implements Store, EventRetentionPort {
  t: Tables = {
    patches: new Map(),
    blobs: new Map(),
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
    floors: new Map(),
  };
  commits = 0;
  /** Error thrown by the next commit (then cleared): its body and the `later` bodies riding with it all fail. */
  failNext: Error | undefined;
  private lazy: { body: (tx: StoreTx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly batches = new WriteBatches((body) => this.transact(body));

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

  batch<I, R>(group: WriteGroup<I, R>, item: I): Promise<R> {
    return this.batches.add(group, item);
  }

  // EventRetentionPort: reads committed events; deletes in the write chain, like a transaction.
  async firstEventSeq(): Promise<number> {
    return this.t.events[0]?.seq ?? 0;
  }
  async firstEventSeqSince(time: Date): Promise<number> {
    return this.t.events.find((e) => e.time.getTime() >= time.getTime())?.seq ?? 0;
  }
  deleteEventsBefore(seq: number, limit: number): Promise<number> {
    const run = async () => {
      const gone = this.t.events.filter((e) => e.seq < seq).slice(0, limit).length;
      this.t.events.splice(0, gone);
      return gone;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Runs the `later` bodies still waiting and waits for the bodies in progress. */
  async close(): Promise<void> {
    if (this.lazy.length) await this.transact(async () => undefined).catch(() => undefined);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  /**
   * One transaction: the `later` bodies waiting (on a copy; if one throws, they all fail, the body
   * does not), then the body (on a copy of that; if it throws, it fails alone), then the commit.
   */
  private async run<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    const lazy = this.lazy.splice(0);
    clearTimeout(this.timer);
    this.timer = undefined;
    let base = this.t;
    const lazyHooks: (() => void)[] = [];
    let lazyOutcome: Outcome<unknown[]> = { ok: true, value: [] };
    if (lazy.length) {
      const work = clone(base);
      lazyOutcome = await this.attempt(work, lazyHooks, async (tx) => {
        const values: unknown[] = [];
        for (const l of lazy) values.push(await l.body(tx));
        return values;
      });
      if (lazyOutcome.ok) base = work;
    }
    const work = clone(base);
    const hooks: (() => void)[] = [];
    let outcome = await this.attempt(work, hooks, body);
    if (lazy.length || outcome.ok) {
      if (this.failNext) {
        const error = this.failNext;
        this.failNext = undefined;
        if (outcome.ok) rollBack(hooks);
        if (lazyOutcome.ok) rollBack(lazyHooks);
        lazyOutcome = { ok: false, error };
        outcome = { ok: false, error: outcome.ok ? error : outcome.error };
      } else {
        this.t = outcome.ok ? work : base;
        this.commits++;
      }
    }
    const lo = lazyOutcome;
    if (lo.ok) lazy.forEach((l, i) => l.resolve(lo.value[i]));
    else for (const l of lazy) l.reject(lo.error);
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }

  /** Runs `body` over `work`; on a throw (or a refused queued write), its hooks run. */
  private async attempt<T>(work: Tables, hooks: (() => void)[], body: (tx: StoreTx) => Promise<T>): Promise<Outcome<T>> {
    let late: Error | undefined;
    try {
      const value = await body(this.txOver(work, hooks, (e) => (late ??= e)));
      if (late) throw late;
      return { ok: true, value };
    } catch (error) {
      rollBack(hooks);
      return { ok: false, error };
    }
  }

  /** The repositories over a working copy; `late` records an error the body fails with at its end (a queued write refused). */
  private txOver(t: Tables, undo: (() => void)[], late: (e: Error) => void): StoreTx {
    const needBlob = (sha: string) => {
      if (!t.blobs.has(sha)) throw refused(`no blob row ${sha}`);
    };
    return {
      patches: {
        insertPatch: async (p) => {
          if (t.patches.has(p.meta.id)) throw refused(`patch ${p.meta.id} exists`);
          for (const sha of [...p.packages.map((k) => k.sha256), ...p.semantics.map((x) => x.sha256)]) needBlob(sha);
          t.patches.set(p.meta.id, structuredClone({ ...p, patchState: "n/a" }));
        },
        updatePatchMetadata: async (id, meta, xml, signer) => {
          const p = t.patches.get(id);
          if (p) t.patches.set(id, { ...p, meta: structuredClone(meta), metadataXml: xml, signer });
        },
        setRepoState: async (id, state) => {
          const p = t.patches.get(id);
          if (p) t.patches.set(id, { ...p, repoState: state });
        },
        deletePatch: async (id) => {
          t.patches.delete(id);
          t.interim.delete(id);
        },
        markReclaimed: async (id, fileName) => {
          const p = t.patches.get(id);
          if (p) t.patches.set(id, { ...p, packages: p.packages.filter((k) => k.fileName !== fileName) });
        },
        insertBlob: async (sha, size) => {
          if (!t.blobs.has(sha)) t.blobs.set(sha, size);
        },
        orphanBlobs: async () => {
          const used = new Set<string>();
          for (const p of t.patches.values()) {
            used.add(p.fileSha256);
            for (const k of p.packages) used.add(k.sha256);
            for (const x of p.semantics) used.add(x.sha256);
          }
          for (const l of t.base.values()) for (const k of l) used.add(k.sha256);
          return [...t.blobs.keys()].filter((sha) => !used.has(sha));
        },
        deleteBlobRows: async (shas) => {
          for (const sha of shas) t.blobs.delete(sha);
        },
        insertRelease: async (r) => void t.releases.add(r),
        deleteRelease: async (r) => {
          t.releases.delete(r);
          t.base.delete(r);
        },
        insertBasePackage: async (release, k) => {
          if (!t.releases.has(release)) throw refused(`no release ${release}`);
          needBlob(k.sha256);
          const list = t.base.get(release) ?? [];
          if (list.some((x) => x.fileName === k.fileName)) return false;
          t.base.set(release, [...list, structuredClone(k)]);
          return true;
        },
        setInterim: async (id, hostnames) => {
          if (hostnames.length && !t.patches.has(id)) throw refused(`no patch ${id}`);
          if (hostnames.length) t.interim.set(id, new Set(hostnames));
          else t.interim.delete(id);
        },
        clearInterimForHost: async (h) => {
          for (const [id, set] of t.interim) {
            set.delete(h);
            if (!set.size) t.interim.delete(id);
          }
        },
        setAppDependencies: async (app, ids) => void (ids.length ? t.appDeps.set(app, [...ids]) : t.appDeps.delete(app)),
      },
      hosts: {
        upsertHost: async (h) => void t.hosts.set(h.hostname, structuredClone({ ...h, availability: "offline" })),
        deleteHost: async (h) => void t.hosts.delete(h),
        insertOperation: async (o) => {
          if (t.ops.has(o.id)) throw refused(`operation ${o.id} exists`);
          t.ops.set(o.id, structuredClone({ id: o.id, hostname: o.hostname, state: o.state, force: o.force, startSeq: o.startSeq, last: o.last }));
        },
        updateOperation: async (id, state: OperationStateName, last: InstallProgress) => {
          const o = t.ops.get(id);
          if (o) t.ops.set(id, { ...o, state, last: structuredClone(last) });
        },
        insertAlarm: async (a) => {
          if (t.alarms.has(a.uuid)) throw refused(`alarm ${a.uuid} exists`);
          t.alarms.set(a.uuid, structuredClone(a));
        },
        deleteAlarm: async (uuid) => (t.alarms.delete(uuid) ? 1 : 0),
      },
      setControllerState: async (k, v) => void t.state.set(k, v),
      appendEvent: (e) => {
        if (t.events.some((x) => x.seq === e.seq)) return late(refused(`event ${e.seq} exists`));
        const at = t.events.findIndex((x) => x.seq > e.seq);
        if (at < 0) t.events.push(structuredClone(e));
        else t.events.splice(at, 0, structuredClone(e));
      },
      saveStrategy: async (doc) => void (t.strategy = { uuid: doc.uuid, name: doc.name, state: doc.state, json: doc.json }),
      deleteStrategy: async () => {
        const had = !!t.strategy;
        t.strategy = undefined;
        return had;
      },
      onRollback: (fn) => void undo.push(fn),
      setSecurityFloor: async (f) => void t.floors.set(f.release, { ...f }),
    };
  }

  get read(): StoreReader {
    const self = this;
    const copy = <T>(v: T): T => structuredClone(v);
    return {
      loadPatches: async () => sortedBy(self.t.patches.values(), (p) => p.meta.id).map((p) => copy({ ...p, patchState: "n/a" as const })),
      knownBlobs: async () => new Set(self.t.blobs.keys()),
      loadReleases: async () => [...self.t.releases].sort(),
      loadBasePackages: async () => new Map([...self.t.base].map(([k, v]) => [k, copy(sortedBy(v, (x) => x.fileName))])),
      loadInterim: async () => new Map([...self.t.interim].map(([k, v]) => [k, new Set(v)])),
      loadAppDependencies: async () => copy(self.t.appDeps),
      getControllerState: async (k) => self.t.state.get(k),
      loadHosts: async () => copy(sortedBy(self.t.hosts.values(), (h) => h.hostname)),
      loadAlarms: async () => copy(sortedBy(self.t.alarms.values(), (a) => a.uuid)),
      getOperation: async (id) => copy(self.t.ops.get(id)),
      runningOperations: async () => copy([...self.t.ops.values()].filter((o) => o.state === "running")),
      latestProgress: async (id) => copy([...self.t.events].reverse().find((e) => e.operationId === id && e.kind === "install.progress")?.progress),
      lastEventSeq: async () => self.t.events.at(-1)?.seq ?? 0,
      eventsAfter: async (after, limit, f) =>
        copy(
          self.t.events
            .filter(
              (e) =>
                e.seq > after &&
                (!f?.operationId || e.operationId === f.operationId) &&
                (!f?.patchId || e.patchId === f.patchId) &&
                (!f?.hostname || e.hostname === f.hostname),
            )
            .slice(0, limit),
        ),
      loadStrategy: async () => copy(self.t.strategy),
      loadSecurityFloors: async () => copy(sortedBy(self.t.floors.values(), (f) => f.release)),
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
    fileOf: async (sha) => `/blobs/${sha}`,
    openRead: async (sha) => Readable.from([Buffer.from(sha)]),
    readSmall: async () => undefined,
  };
}
