/**
 * The store the domain needs, declared by the domain (ports); server/storage/sqlite implements it.
 * A write is one `transact` body; bodies may be committed together (group commit), and a body's
 * caller sees its result only once the commit is durable. Reads see committed state only.
 * All write batching sits behind this port: group commit (`transact`), bodies riding the next
 * commit (`later`) and coalesced items written by one body per batch (`batch`); each body
 * succeeds or fails as a whole, and its caller learns which only after the commit.
 */
import type { AlarmRecord } from "./alarms/model.js";
import type { DomainEvent, EventFilter } from "./events/event-log.js";
import type { InstallProgress } from "./hosts/agent-types.js";
import type { HostRecord, OperationRecord, OperationStateName } from "./hosts/model.js";
import type { PackageRecord, PatchMeta, PatchRecord, RepoState } from "./patches/model.js";
import type { SecurityFloorRecord } from "./patches/security-floor.js";
import type { Readable } from "node:stream";

/** Patch repository writes (patches, blobs, releases, base feed, interim lists, app dependencies). */
export interface PatchWrites {
  insertPatch(p: PatchRecord): Promise<void>;
  updatePatchMetadata(id: string, meta: PatchMeta, xml: string, signer: string): Promise<void>;
  setRepoState(id: string, state: RepoState): Promise<void>;
  deletePatch(id: string): Promise<void>;
  /** A package of a committed patch superseded by a higher version: no longer stored. */
  markReclaimed(patchId: string, fileName: string): Promise<void>;
  insertBlob(sha256: string, size: number): Promise<void>;
  /** Blob rows no patch or base package refers to (seen inside the transaction). */
  orphanBlobs(): Promise<string[]>;
  deleteBlobRows(shas: readonly string[]): Promise<void>;
  insertRelease(release: string): Promise<void>;
  deleteRelease(release: string): Promise<void>;
  /** False when the release already has a package of that file name. */
  insertBasePackage(release: string, k: PackageRecord): Promise<boolean>;
  setInterim(patchId: string, hostnames: readonly string[]): Promise<void>;
  clearInterimForHost(hostname: string): Promise<void>;
  setAppDependencies(app: string, ids: readonly string[]): Promise<void>;
}

/** Host, install operation and alarm writes. */
export interface HostWrites {
  upsertHost(h: HostRecord): Promise<void>;
  deleteHost(hostname: string): Promise<void>;
  insertOperation(o: OperationRecord & { last: InstallProgress }): Promise<void>;
  updateOperation(id: string, state: OperationStateName, last: InstallProgress): Promise<void>;
  insertAlarm(a: AlarmRecord): Promise<void>;
  deleteAlarm(uuid: string): Promise<number>;
}

/** The single strategy document of orchestration. */
export interface StrategyDocument {
  uuid: string;
  name: string;
  state: string;
  json: string;
}

/** What a transaction body may do. Every write is part of the body's transaction. */
export interface StoreTx {
  readonly patches: PatchWrites;
  readonly hosts: HostWrites;
  setControllerState(key: string, value: string): Promise<void>;
  /** Stores one event (sequence number and time already given by the event log). */
  appendEvent(e: DomainEvent): void;
  saveStrategy(doc: StrategyDocument): Promise<void>;
  deleteStrategy(): Promise<boolean>;
  /** Called (latest first) if this body's changes are rolled back: it threw, or its commit failed. */
  onRollback(fn: () => void): void;
  /** FLOOR (issue 21): stores a release's anti-rollback floor (replacing its row). */
  setSecurityFloor(f: SecurityFloorRecord): Promise<void>;
}

/** Committed state, read. */
export interface StoreReader {
  loadPatches(): Promise<PatchRecord[]>;
  knownBlobs(): Promise<Set<string>>;
  loadReleases(): Promise<string[]>;
  loadBasePackages(): Promise<Map<string, PackageRecord[]>>;
  loadInterim(): Promise<Map<string, Set<string>>>;
  loadAppDependencies(): Promise<Map<string, string[]>>;
  getControllerState(key: string): Promise<string | undefined>;
  loadHosts(): Promise<HostRecord[]>;
  loadAlarms(): Promise<AlarmRecord[]>;
  getOperation(id: string): Promise<OperationRecord | undefined>;
  runningOperations(): Promise<OperationRecord[]>;
  /** The newest install.progress event of an operation. */
  latestProgress(operationId: string): Promise<InstallProgress | undefined>;
  lastEventSeq(): Promise<number>;
  /** Events after `afterSeq`, in order, at most `limit`; `filter` narrows by operation, patch or host (indexed). */
  eventsAfter(afterSeq: number, limit: number, filter?: Pick<EventFilter, "operationId" | "patchId" | "hostname">): Promise<DomainEvent[]>;
  loadStrategy(): Promise<StrategyDocument | undefined>;
  /** FLOOR (issue 21): every release's stored anti-rollback floor, by release. */
  loadSecurityFloors(): Promise<SecurityFloorRecord[]>;
}

/**
 * A group of coalesced writes (see `Store.batch`): the domain says what one batch writes and how
 * it enters the store; the store decides which items go together. Identified by the object itself.
 */
export interface WriteGroup<I, R> {
  /** The most items one batch takes. */
  readonly maxItems: number;
  /**
   * How each batch enters the store, e.g. holding a lock: called once per batch, in the order the
   * batches opened, with `commit`, which it must call once; it resolves with commit's value after
   * any work of its own (such as adopting the batch into memory after the commit). Default: `commit()`.
   */
  enter?(commit: () => Promise<R>): Promise<R>;
  /** The ONE transaction body of a batch: writes `items` (in the order they were given). */
  finalize(tx: StoreTx, items: readonly I[]): Promise<R>;
}

/** The store port. */
export interface Store {
  /** Runs `body` in a write transaction; resolves after its commit is durable, rejects (rolled back) if it throws. */
  transact<T>(body: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Runs `body` at the start of the next transaction that commits, or in one of its own after
   * `maxDelayMs`; resolves once that commit is durable. It shares that commit's fate (a throw
   * fails the whole commit): for appends and upserts only.
   */
  later<T>(body: (tx: StoreTx) => Promise<T>, maxDelayMs: number): Promise<T>;
  /**
   * Coalesced writes (host reports): `item` joins the open batch of `group`, or opens one; each
   * batch is written by ONE `group.finalize` body, committed like any `transact` body (in the
   * group commit, with other bodies, failing alone). The domain says what to write, the store
   * how many go together:
   * - A batch opens with an item given while its group has no open batch, and closes when its
   *   body starts or when it holds `group.maxItems` items. Items given meanwhile (while it waits
   *   in `enter` or behind other transactions) join it; items given after go to the next batch.
   * - Order: `finalize` gets the items in the order they were given; the batches of a group
   *   enter (`group.enter`) in the order they opened, and so, with a first-come-first-served
   *   `enter` (or none), commit in that order: an item never commits before one given earlier.
   * - Outcome: every caller of a batch settles when `enter` has returned. It resolves with the
   *   batch's value once the commit is durable. If `finalize` throws, a write of it is refused, or
   *   the commit fails, each caller of the batch rejects with that one error, none of the batch's
   *   writes stay, and its onRollback hooks have run; the other batches and bodies are unaffected.
   */
  batch<I, R>(group: WriteGroup<I, R>, item: I): Promise<R>;
  readonly read: StoreReader;
}

/** Content-addressed file storage for packages and scripts. */
export interface BlobPort {
  /** Prepares the store; leftovers of puts a crash cut short are removed here (and only here). */
  init(): Promise<void>;
  /** Every stored sha256; reads only (a put in progress is not disturbed). */
  list(): Promise<string[]>;
  /**
   * Stores `file` under its sha256 (moved with `move`, else copied); durable when it resolves.
   * It trusts the given sha256 (the caller hashed the file, e.g. while receiving it): it does not
   * read the file to check, and a blob already stored under that sha256 is kept as it is.
   */
  put(file: string, sha256: string, opts?: { move?: boolean }): Promise<unknown>;
  remove(sha256: string): Promise<void>;
  /**
   * A local file holding the blob's whole bytes, to stream or run (a database store copies it into
   * its local cache first). Rejects (ENOENT / not-found) when there is no such blob, throws on a
   * name that is not a sha256. Open it promptly: a bounded cache may evict a file not used for a while.
   */
  fileOf(sha256: string): Promise<string>;
  /** The blob's bytes as a stream of chunks, in bounded memory. Rejects when there is no such blob. */
  openRead(sha256: string): Promise<Readable>;
  /** The bytes when small enough to keep cached, else undefined (stream from fileOf). */
  readSmall(sha256: string): Promise<Buffer | undefined>;
}

/**
 * Event retention (`--event-retention`): what the event log needs to prune its oldest events.
 * Separate from {@link StoreReader}/{@link StoreTx} so a store without it still is a Store.
 */
export interface EventRetentionPort {
  /** The oldest event's sequence number, 0 when there is none. */
  firstEventSeq(): Promise<number>;
  /** The sequence number of the first event at or after `time`, 0 when there is none. */
  firstEventSeqSince(time: Date): Promise<number>;
  /** Deletes (durably) at most `limit` of the oldest events below sequence `seq`; resolves with how many. */
  deleteEventsBefore(seq: number, limit: number): Promise<number>;
}
