/**
 * A second store for the contract suite: everything in memory (blobs in plain files), written
 * from the ports' documentation alone. It proves the suite talks only to the ports, and is a
 * reference for what a store must do: a body works on a copy of the committed data and its copy
 * becomes the committed data when it resolves (bodies run one at a time); `later` bodies run
 * first in the next transaction and are kept when that transaction's own body throws; `batch`
 * items wait in their group's open batch until its one body runs as a transaction; keys and
 * references are checked as the sqlite schema checks them. "Durable" means kept in a `Disk`
 * that `reopen()` reads back into new objects.
 */
import type { StoredTrustRoot } from "../../server/domain/auth/trust-root-manager.js";
import { randomBytes } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import type { AlarmRecord } from "../../server/domain/alarms/model.js";
import type {
  AuditChainAnchor,
  AuditChainRow,
  AuditChainStore,
  AuditCheckpoint,
  AuditEntry,
  AuditKey,
  AuditStore,
  EnrollmentRecord,
  EnrollmentStore,
  Role,
  StoredTrustedKey,
  TokenRecord,
  TokenStore,
  TrustedKeyStore,
} from "../../server/domain/auth/index.js";
import type { DomainEvent } from "../../server/domain/events/event-log.js";
import { AUDIT_GENESIS_HASH, MerkleFrontier, auditRowHash } from "../../server/lib/audit-hash.js";
import type { HostRecord, OperationRecord } from "../../server/domain/hosts/model.js";
import type { PackageRecord, PatchRecord } from "../../server/domain/patches/model.js";
import type { SecurityFloorRecord } from "../../server/domain/patches/security-floor.js";
import type { BlobPort, EventRetentionPort, Store, StoreReader, StoreTx, StrategyDocument, WriteGroup } from "../../server/domain/store.js";

/** Everything a memory store holds. */
export interface Disk {
  patches: Map<string, PatchRecord>;
  blobs: Map<string, number>;
  releases: Set<string>;
  base: Map<string, Map<string, PackageRecord>>;
  interim: Map<string, Set<string>>;
  appDeps: Map<string, string[]>;
  state: Map<string, string>;
  hosts: Map<string, HostRecord>;
  ops: Map<string, OperationRecord>;
  alarms: Map<string, AlarmRecord>;
  events: Map<number, DomainEvent>;
  strategy: StrategyDocument | undefined;
  tokens: Map<string, TokenRecord>;
  enrollments: Map<string, EnrollmentRecord>;
  audit: AuditChainRow[];
  auditLastId: number;
  auditAnchor: AuditChainAnchor | undefined;
  auditCheckpoints: AuditCheckpoint[];
  auditKeys: AuditKey[];
  trusted: StoredTrustedKey[];
  /** Root of trust documents (issue 21). */
  trustRoots: StoredTrustRoot[];
  /** FLOOR (issue 21). */
  floors: Map<string, SecurityFloorRecord>;
}

export function emptyDisk(): Disk {
  return {
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
    events: new Map(),
    strategy: undefined,
    tokens: new Map(),
    enrollments: new Map(),
    audit: [],
    auditLastId: 0,
    auditAnchor: undefined,
    auditCheckpoints: [],
    auditKeys: [],
    trusted: [],
    trustRoots: [],
    floors: new Map(),
  };
}

const refused = (what: string) => new Error(`refused: ${what}`);
const byKey = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/** The repositories of one body over its working copy `d`; `late` records an error to fail the body with at its end. */
function txOver(d: Disk, hooks: (() => void)[], late: (e: Error) => void): StoreTx {
  const needBlob = (sha: string) => {
    if (!d.blobs.has(sha)) throw refused(`no blob row ${sha}`);
  };
  return {
    patches: {
      async insertPatch(p) {
        if (d.patches.has(p.meta.id)) throw refused(`patch ${p.meta.id} exists`);
        for (const sha of [...p.packages.map((k) => k.sha256), ...p.semantics.map((s) => s.sha256)]) needBlob(sha);
        d.patches.set(p.meta.id, structuredClone({ ...p, patchState: "n/a" }));
      },
      async updatePatchMetadata(id, meta, xml, signer) {
        const p = d.patches.get(id);
        if (p) d.patches.set(id, { ...p, meta: structuredClone(meta), metadataXml: xml, signer });
      },
      async setRepoState(id, state) {
        const p = d.patches.get(id);
        if (p) d.patches.set(id, { ...p, repoState: state });
      },
      async deletePatch(id) {
        d.patches.delete(id);
        d.interim.delete(id);
      },
      async markReclaimed(patchId, fileName) {
        const p = d.patches.get(patchId);
        if (p) d.patches.set(patchId, { ...p, packages: p.packages.filter((k) => k.fileName !== fileName) });
      },
      async insertBlob(sha, size) {
        if (!d.blobs.has(sha)) d.blobs.set(sha, size);
      },
      async orphanBlobs() {
        const used = new Set<string>();
        for (const p of d.patches.values()) {
          used.add(p.fileSha256);
          for (const k of p.packages) used.add(k.sha256);
          for (const s of p.semantics) used.add(s.sha256);
        }
        for (const l of d.base.values()) for (const k of l.values()) used.add(k.sha256);
        return [...d.blobs.keys()].filter((s) => !used.has(s));
      },
      async deleteBlobRows(shas) {
        for (const s of shas) d.blobs.delete(s);
      },
      async insertRelease(r) {
        d.releases.add(r);
      },
      async deleteRelease(r) {
        d.releases.delete(r);
        d.base.delete(r);
      },
      async insertBasePackage(release, k) {
        if (!d.releases.has(release)) throw refused(`no release ${release}`);
        needBlob(k.sha256);
        const l = d.base.get(release) ?? new Map<string, PackageRecord>();
        if (l.has(k.fileName)) return false;
        l.set(k.fileName, structuredClone(k));
        d.base.set(release, l);
        return true;
      },
      async setInterim(patchId, hostnames) {
        if (hostnames.length && !d.patches.has(patchId)) throw refused(`no patch ${patchId}`);
        if (hostnames.length) d.interim.set(patchId, new Set(hostnames));
        else d.interim.delete(patchId);
      },
      async clearInterimForHost(h) {
        for (const [id, s] of d.interim) {
          s.delete(h);
          if (!s.size) d.interim.delete(id);
        }
      },
      async setAppDependencies(app, ids) {
        if (ids.length) d.appDeps.set(app, [...ids]);
        else d.appDeps.delete(app);
      },
    },
    hosts: {
      async upsertHost(h) {
        d.hosts.set(h.hostname, structuredClone({ ...h, availability: "offline" }));
      },
      async deleteHost(h) {
        d.hosts.delete(h);
      },
      async insertOperation(o) {
        if (d.ops.has(o.id)) throw refused(`operation ${o.id} exists`);
        d.ops.set(o.id, structuredClone({ id: o.id, hostname: o.hostname, state: o.state, force: o.force, startSeq: o.startSeq, last: o.last }));
      },
      async updateOperation(id, state, last) {
        const o = d.ops.get(id);
        if (o) d.ops.set(id, { ...o, state, last: structuredClone(last) });
      },
      async insertAlarm(a) {
        if (d.alarms.has(a.uuid)) throw refused(`alarm ${a.uuid} exists`);
        d.alarms.set(a.uuid, structuredClone(a));
      },
      async deleteAlarm(uuid) {
        return d.alarms.delete(uuid) ? 1 : 0;
      },
    },
    async setControllerState(k, v) {
      d.state.set(k, v);
    },
    appendEvent(e) {
      if (d.events.has(e.seq)) late(refused(`event ${e.seq} exists`));
      else d.events.set(e.seq, structuredClone(e));
    },
    async saveStrategy(doc) {
      d.strategy = { uuid: doc.uuid, name: doc.name, state: doc.state, json: doc.json };
    },
    async deleteStrategy() {
      const had = d.strategy !== undefined;
      d.strategy = undefined;
      return had;
    },
    onRollback(fn) {
      hooks.push(fn);
    },
    async setSecurityFloor(f) {
      d.floors.set(f.release, { ...f });
    },
  };
}

function runHooks(hooks: (() => void)[]): void {
  for (let i = hooks.length - 1; i >= 0; i--) {
    try {
      hooks[i]!();
    } catch {
      // One failing hook does not stop the others.
    }
  }
}

/**
 * The memory Store. INVARIANTS: bodies (and the `later` bodies riding with them) run one at a
 * time, in call order, each on a deep copy of `disk`; `disk` is replaced only by a copy whose
 * body resolved; reads copy out of `disk`.
 */
export class MemoryStore implements Store, EventRetentionPort {
  private chain: Promise<unknown> = Promise.resolve();
  private lazy: { body: (tx: StoreTx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  closed = false;

  constructor(readonly disk: { d: Disk }) {}

  transact<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    const p = this.chain.then(() => this.run(body));
    this.chain = p.catch(() => undefined);
    return p;
  }

  later<T>(body: (tx: StoreTx) => Promise<T>, maxDelayMs: number): Promise<T> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    return new Promise<T>((resolve, reject) => {
      this.lazy.push({ body, resolve: resolve as (v: unknown) => void, reject });
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        if (this.lazy.length) void this.transact(async () => undefined).catch(() => undefined);
      }, maxDelayMs);
    });
  }

  /** Open batch per group: items, and their callers. */
  private readonly batches = new Map<object, { items: unknown[]; settle: ((ok: boolean, v: unknown) => void)[] }>();

  batch<I, R>(group: WriteGroup<I, R>, item: I): Promise<R> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    return new Promise<R>((resolve, reject) => {
      const open = this.batches.get(group);
      const b = open ?? { items: [], settle: [] };
      b.items.push(item);
      b.settle.push((ok, v) => (ok ? resolve(v as R) : reject(v)));
      if (b.items.length >= group.maxItems) this.batches.delete(group);
      else if (!open) this.batches.set(group, b);
      if (open) return;
      const commit = () =>
        this.transact((tx) => {
          if (this.batches.get(group) === b) this.batches.delete(group);
          return group.finalize(tx, [...(b.items as I[])]);
        });
      Promise.resolve()
        .then(() => (group.enter ? group.enter(commit) : commit()))
        .then(
          (v) => b.settle.forEach((s) => s(true, v)),
          (e: unknown) => b.settle.forEach((s) => s(false, e)),
        )
        .finally(() => {
          if (this.batches.get(group) === b) this.batches.delete(group);
        });
    });
  }

  // Event retention (EventRetentionPort): deletes on a copy, adopted in the write chain.
  async firstEventSeq(): Promise<number> {
    const keys = [...this.disk.d.events.keys()];
    return keys.length ? Math.min(...keys) : 0;
  }
  async firstEventSeqSince(time: Date): Promise<number> {
    const keys = [...this.disk.d.events.values()].filter((e) => e.time.getTime() >= time.getTime()).map((e) => e.seq);
    return keys.length ? Math.min(...keys) : 0;
  }
  deleteEventsBefore(seq: number, limit: number): Promise<number> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    const p = this.chain.then(() => {
      const work = structuredClone(this.disk.d);
      const gone = [...work.events.keys()]
        .filter((k) => k < seq)
        .sort((a, b) => a - b)
        .slice(0, limit);
      for (const k of gone) work.events.delete(k);
      this.disk.d = work;
      return gone.length;
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Runs one body (after the `later` bodies waiting) on a copy; adopts the copy if it resolves. */
  private async run<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    const lazy = this.lazy.splice(0);
    clearTimeout(this.timer);
    this.timer = undefined;
    let base = this.disk.d;
    if (lazy.length) {
      const work = structuredClone(base);
      const hooks: (() => void)[] = [];
      let lateError: Error | undefined;
      const tx = txOver(work, hooks, (e) => (lateError ??= e));
      const values: unknown[] = [];
      try {
        for (const l of lazy) values.push(await l.body(tx));
        if (lateError) throw lateError;
      } catch (e) {
        runHooks(hooks);
        for (const l of lazy) l.reject(e);
        throw e;
      }
      base = work;
      this.disk.d = work;
      lazy.forEach((l, i) => l.resolve(values[i]));
    }
    const work = structuredClone(base);
    const hooks: (() => void)[] = [];
    let lateError: Error | undefined;
    try {
      const value = await body(txOver(work, hooks, (e) => (lateError ??= e)));
      if (lateError) throw lateError;
      this.disk.d = work;
      return value;
    } catch (e) {
      runHooks(hooks);
      throw e;
    }
  }

  /** Runs `later` bodies still waiting, waits for the bodies in progress, then refuses new ones. */
  async close(): Promise<void> {
    if (this.lazy.length) await this.transact(async () => undefined).catch(() => undefined);
    clearTimeout(this.timer);
    await this.chain;
    this.closed = true;
  }

  get read(): StoreReader {
    const d = () => this.disk.d;
    const copy = <T>(v: T): T => structuredClone(v);
    return {
      loadPatches: async () => copy(byKey(d().patches)),
      knownBlobs: async () => new Set(d().blobs.keys()),
      loadReleases: async () => [...d().releases].sort(),
      loadBasePackages: async () => new Map([...d().base].map(([r, l]) => [r, copy(byKey(l))])),
      loadInterim: async () => copy(d().interim),
      loadAppDependencies: async () => copy(d().appDeps),
      getControllerState: async (k) => d().state.get(k),
      loadHosts: async () => copy(byKey(d().hosts)),
      loadAlarms: async () => copy(byKey(d().alarms)),
      getOperation: async (id) => copy(d().ops.get(id)),
      runningOperations: async () => copy([...d().ops.values()].filter((o) => o.state === "running")),
      latestProgress: async (id) => {
        const evs = [...d().events.values()].filter((e) => e.operationId === id && e.kind === "install.progress").sort((a, b) => b.seq - a.seq);
        return copy(evs[0]?.progress);
      },
      lastEventSeq: async () => Math.max(0, ...d().events.keys()),
      eventsAfter: async (after, limit, f) =>
        copy(
          [...d().events.values()]
            .filter(
              (e) =>
                e.seq > after &&
                (!f?.operationId || e.operationId === f.operationId) &&
                (!f?.patchId || e.patchId === f.patchId) &&
                (!f?.hostname || e.hostname === f.hostname),
            )
            .sort((a, b) => a.seq - b.seq)
            .slice(0, limit),
        ),
      loadStrategy: async () => copy(d().strategy),
      loadSecurityFloors: async () => copy(byKey(d().floors)),
    };
  }
}

/** The auth stores over the same disk (each write its own commit, immediately). */
export class MemoryAuthStore implements TokenStore, AuditStore, AuditChainStore, TrustedKeyStore, EnrollmentStore {
  constructor(private readonly disk: { d: Disk }) {}
  private get d(): Disk {
    return this.disk.d;
  }
  async insertToken(rec: TokenRecord): Promise<void> {
    if (this.d.tokens.has(rec.id)) throw refused(`token ${rec.id} exists`);
    this.d.tokens.set(rec.id, { ...rec });
  }
  async getToken(id: string): Promise<TokenRecord | undefined> {
    const t = this.d.tokens.get(id);
    return t && { ...t };
  }
  async listTokens(): Promise<TokenRecord[]> {
    return [...this.d.tokens.values()].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1)).map((t) => ({ ...t }));
  }
  async revokeToken(id: string, at: string): Promise<boolean> {
    const t = this.d.tokens.get(id);
    if (!t) return false;
    if (t.revokedAt === null) this.d.tokens.set(id, { ...t, revokedAt: at });
    return true;
  }
  async hasActiveToken(role: Role): Promise<boolean> {
    return [...this.d.tokens.values()].some((t) => t.role === role && t.revokedAt === null);
  }
  // Enrolments: each method checks and writes with no await in between (one commit, atomic).
  async insertEnrollment(rec: EnrollmentRecord): Promise<string[]> {
    if (this.d.enrollments.has(rec.id)) throw refused(`enrollment ${rec.id} exists`);
    const replaced = this.sortedEnrollments().filter((e) => e.hostname === rec.hostname && e.state === "pending");
    for (const e of replaced) this.d.enrollments.set(e.id, { ...e, state: "replaced", endedAt: rec.createdAt });
    this.d.enrollments.set(rec.id, { ...rec });
    return replaced.map((e) => e.id);
  }
  async getEnrollment(id: string): Promise<EnrollmentRecord | undefined> {
    const e = this.d.enrollments.get(id);
    return e && { ...e };
  }
  async listEnrollments(): Promise<EnrollmentRecord[]> {
    return this.sortedEnrollments().map((e) => ({ ...e }));
  }
  async exchangeEnrollment(id: string, at: string, credential: TokenRecord): Promise<{ revokedTokenIds: string[] } | null> {
    const e = this.d.enrollments.get(id);
    if (!e || e.state !== "pending" || !(e.expiresAt > at)) return null;
    if (this.d.tokens.has(credential.id)) throw refused(`token ${credential.id} exists`);
    const revoked = this.activeAgentTokens(credential.hostname);
    this.d.enrollments.set(id, { ...e, state: "spent", endedAt: at, credentialId: credential.id });
    for (const t of revoked) this.d.tokens.set(t.id, { ...t, revokedAt: at });
    this.d.tokens.set(credential.id, { ...credential });
    return { revokedTokenIds: revoked.map((t) => t.id) };
  }
  async revokeHost(hostname: string, at: string): Promise<{ tokenIds: string[]; enrollmentIds: string[]; known: boolean }> {
    const tokens = this.activeAgentTokens(hostname);
    const pending = this.sortedEnrollments().filter((e) => e.hostname === hostname && e.state === "pending");
    for (const t of tokens) this.d.tokens.set(t.id, { ...t, revokedAt: at });
    for (const e of pending) this.d.enrollments.set(e.id, { ...e, state: "revoked", endedAt: at });
    const known =
      [...this.d.tokens.values()].some((t) => t.role === "agent" && t.hostname === hostname) || [...this.d.enrollments.values()].some((e) => e.hostname === hostname);
    return { tokenIds: tokens.map((t) => t.id), enrollmentIds: pending.map((e) => e.id), known };
  }
  private sortedEnrollments(): EnrollmentRecord[] {
    return [...this.d.enrollments.values()].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1));
  }
  private activeAgentTokens(hostname: string): TokenRecord[] {
    return [...this.d.tokens.values()]
      .filter((t) => t.role === "agent" && t.hostname === hostname && t.revokedAt === null)
      .sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1));
  }
  // The audit chain: each row after the last (or the anchor, or genesis), as audit-chain-store.ts does.
  async appendAudit(entry: Omit<AuditEntry, "id">): Promise<void> {
    const last = this.d.audit.at(-1) ?? this.d.auditAnchor;
    const seq = (last?.seq ?? 0) + 1;
    const prevHash = last?.hash ?? AUDIT_GENESIS_HASH;
    const e = { time: entry.time, actor: entry.actor, role: entry.role, action: entry.action, target: entry.target, outcome: entry.outcome, detail: entry.detail };
    this.d.audit.push({ id: ++this.d.auditLastId, ...e, seq, prevHash, hash: auditRowHash(prevHash, seq, e) });
  }
  async listAudit(afterId: number, limit: number): Promise<AuditEntry[]> {
    return this.d.audit
      .filter((e) => e.id > afterId)
      .slice(0, limit)
      .map(({ seq: _s, prevHash: _p, hash: _h, ...e }) => e);
  }
  async pruneAudit(before: string, max: number): Promise<number> {
    let n = 0;
    while (n < max && n < this.d.audit.length && this.d.audit[n]!.time < before) n++;
    if (!n) return 0;
    const gone = this.d.audit.splice(0, n);
    const a = this.d.auditAnchor;
    const edge = (a && MerkleFrontier.from(a.seq, a.frontier)) ?? MerkleFrontier.empty();
    for (const r of gone) edge.push(r.hash);
    const last = gone.at(-1)!;
    this.d.auditAnchor = { seq: last.seq, hash: last.hash, frontier: edge.toJSON() };
    this.d.auditCheckpoints = this.d.auditCheckpoints.filter((c) => c.treeSize >= last.seq);
    return n;
  }
  async listAuditChain(afterId: number, limit: number): Promise<AuditChainRow[]> {
    return structuredClone(this.d.audit.filter((e) => e.id > afterId).slice(0, limit));
  }
  async listAuditChainBySeq(afterSeq: number, limit: number): Promise<AuditChainRow[]> {
    return structuredClone(
      this.d.audit
        .filter((e) => e.seq > afterSeq)
        .sort((x, y) => x.seq - y.seq)
        .slice(0, limit),
    );
  }
  async auditRowIdBySeq(seq: number): Promise<number | undefined> {
    return this.d.audit.find((e) => e.seq === seq)?.id;
  }
  async auditChainAnchor(): Promise<AuditChainAnchor | undefined> {
    return structuredClone(this.d.auditAnchor);
  }
  async listAuditCheckpoints(afterSize: number, limit: number): Promise<AuditCheckpoint[]> {
    return structuredClone(this.d.auditCheckpoints.filter((c) => c.treeSize > afterSize).slice(0, limit));
  }
  async latestAuditCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return structuredClone(this.d.auditCheckpoints.at(-1));
  }
  async insertAuditCheckpoint(c: AuditCheckpoint, key: AuditKey): Promise<boolean> {
    if ((this.d.auditCheckpoints.at(-1)?.treeSize ?? 0) >= c.treeSize) return false;
    if (!this.d.auditKeys.some((k) => k.keyId === key.keyId)) this.d.auditKeys.push({ ...key });
    this.d.auditCheckpoints.push(structuredClone(c));
    return true;
  }
  async listAuditKeys(): Promise<AuditKey[]> {
    return this.d.auditKeys.map((k) => ({ ...k })).sort((x, y) => (x.createdAt === y.createdAt ? (x.keyId < y.keyId ? -1 : 1) : x.createdAt < y.createdAt ? -1 : 1));
  }
  async listTrustedKeys(): Promise<StoredTrustedKey[]> {
    return this.d.trusted.map((k) => ({ ...k }));
  }
  async insertTrustedKey(key: StoredTrustedKey): Promise<void> {
    if (this.d.trusted.some((k) => k.label === key.label || k.fingerprint === key.fingerprint)) throw refused(`trusted key ${key.label} exists`);
    this.d.trusted.push({ ...key });
  }
  async deleteTrustedKey(label: string): Promise<boolean> {
    const n = this.d.trusted.length;
    this.d.trusted = this.d.trusted.filter((k) => k.label !== label);
    return this.d.trusted.length < n;
  }
}

/** Blobs as plain files under `dir/sha256/<hex>`, landing by write-to-temp (in `dir/incoming`) and rename. */
export class FileBlobs implements BlobPort {
  constructor(readonly dir: string) {}
  async init(): Promise<void> {
    await fsp.mkdir(path.join(this.dir, "sha256"), { recursive: true });
    await fsp.mkdir(path.join(this.dir, "incoming"), { recursive: true });
  }
  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`bad sha256: ${sha256}`);
    return path.join(this.dir, "sha256", sha256);
  }
  async list(): Promise<string[]> {
    return (await fsp.readdir(path.join(this.dir, "sha256"))).filter((f) => /^[0-9a-f]{64}$/.test(f));
  }
  async put(file: string, sha256: string, opts: { move?: boolean } = {}): Promise<string> {
    const target = this.pathOf(sha256);
    const tmp = path.join(this.dir, "incoming", randomBytes(8).toString("hex"));
    if (opts.move) await fsp.rename(file, tmp);
    else await fsp.copyFile(file, tmp);
    await fsp.rename(tmp, target);
    return target;
  }
  async remove(sha256: string): Promise<void> {
    await fsp.rm(this.pathOf(sha256), { force: true });
  }
  async fileOf(sha256: string): Promise<string> {
    await fsp.access(this.pathOf(sha256));
    return this.pathOf(sha256);
  }
  async openRead(sha256: string): Promise<Readable> {
    return createReadStream("", { fd: await fsp.open(this.pathOf(sha256), "r") });
  }
  async readSmall(sha256: string): Promise<Buffer | undefined> {
    const p = this.pathOf(sha256);
    if ((await fsp.stat(p)).size > 4 << 20) return undefined;
    return fsp.readFile(p);
  }
}
