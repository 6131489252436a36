import type { Db, Reader, Tx } from "./db.js";
import type { EventRetentionPort, Store, StoreReader, StoreTx, PatchWrites, HostWrites, StrategyDocument, WriteGroup } from "../../domain/store.js";
import type { DomainEvent } from "../../domain/events/event-log.js";
import type { InstallProgress } from "../../domain/hosts/agent-types.js";
import type { HostRecord, OperationRecord, OperationStateName } from "../../domain/hosts/model.js";
import type { AlarmRecord } from "../../domain/alarms/model.js";
import type { PackageRecord, PatchMeta, PatchRecord, RepoState } from "../../domain/patches/model.js";
import * as ps from "./patch-store.js";
import * as hs from "./host-store.js";
import * as es from "./event-store.js";
import * as ss from "./strategy-store.js";
import * as rs from "./receipt-store.js";
import type { SecurityFloorRecord } from "../../domain/patches/security-floor.js";
import { WriteBatches } from "./write-batches.js";

/** Patch writes of one transaction (one object per transaction; methods on the prototype). */
class SqlitePatchWrites implements PatchWrites {
  constructor(private readonly tx: Tx) {}
  insertPatch(p: PatchRecord) {
    return ps.insertPatch(this.tx, p);
  }
  updatePatchMetadata(id: string, meta: PatchMeta, xml: string, signer: string) {
    return ps.updatePatchMetadata(this.tx, id, meta, xml, signer);
  }
  setRepoState(id: string, state: RepoState) {
    return ps.setRepoState(this.tx, id, state);
  }
  deletePatch(id: string) {
    return ps.deletePatch(this.tx, id);
  }
  markReclaimed(patchId: string, fileName: string) {
    return ps.markReclaimed(this.tx, patchId, fileName);
  }
  insertBlob(sha256: string, size: number) {
    return ps.insertBlob(this.tx, sha256, size);
  }
  orphanBlobs() {
    return ps.orphanBlobs(this.tx);
  }
  deleteBlobRows(shas: readonly string[]) {
    return ps.deleteBlobRows(this.tx, shas);
  }
  insertRelease(release: string) {
    return ps.insertRelease(this.tx, release);
  }
  deleteRelease(release: string) {
    return ps.deleteRelease(this.tx, release);
  }
  insertBasePackage(release: string, k: PackageRecord) {
    return ps.insertBasePackage(this.tx, release, k);
  }
  setInterim(patchId: string, hostnames: readonly string[]) {
    return ps.setInterim(this.tx, patchId, hostnames);
  }
  clearInterimForHost(hostname: string) {
    return ps.clearInterimForHost(this.tx, hostname);
  }
  setAppDependencies(app: string, ids: readonly string[]) {
    return ps.setAppDependencies(this.tx, app, ids);
  }
}

/** Host, operation and alarm writes of one transaction. */
class SqliteHostWrites implements HostWrites {
  constructor(private readonly tx: Tx) {}
  upsertHost(h: HostRecord) {
    return hs.upsertHost(this.tx, h);
  }
  deleteHost(hostname: string) {
    return hs.deleteHost(this.tx, hostname);
  }
  insertOperation(o: OperationRecord & { last: InstallProgress }) {
    return hs.insertOperation(this.tx, o);
  }
  updateOperation(id: string, state: OperationStateName, last: InstallProgress) {
    return hs.updateOperation(this.tx, id, state, last);
  }
  insertAlarm(a: AlarmRecord) {
    return hs.insertAlarm(this.tx, a);
  }
  deleteAlarm(uuid: string) {
    return hs.deleteAlarm(this.tx, uuid);
  }
}

/** The StoreTx of one transaction body (over any `Tx`: the PostgreSQL adapter's too). */
export class SqliteStoreTx implements StoreTx {
  private p: PatchWrites | undefined;
  private h: HostWrites | undefined;
  constructor(private readonly tx: Tx) {}
  get patches(): PatchWrites {
    return (this.p ??= new SqlitePatchWrites(this.tx));
  }
  get hosts(): HostWrites {
    return (this.h ??= new SqliteHostWrites(this.tx));
  }
  setControllerState(key: string, value: string) {
    return ps.setControllerState(this.tx, key, value);
  }
  appendEvent(e: DomainEvent) {
    es.writeEvent(this.tx, e);
  }
  saveStrategy(doc: StrategyDocument) {
    return ss.saveStrategyRow(this.tx, doc);
  }
  deleteStrategy() {
    return ss.deleteStrategyRow(this.tx);
  }
  onRollback(fn: () => void) {
    this.tx.onRollback(fn);
  }
  setSecurityFloor(f: SecurityFloorRecord) {
    return rs.setSecurityFloor(this.tx, f);
  }
}

/** The StoreReader over a `Reader` (the PostgreSQL adapter's too). */
export function reader(r: Reader): StoreReader {
  return {
    loadPatches: () => ps.loadPatches(r),
    knownBlobs: () => ps.knownBlobs(r),
    loadReleases: () => ps.loadReleases(r),
    loadBasePackages: () => ps.loadBasePackages(r),
    loadInterim: () => ps.loadInterim(r),
    loadAppDependencies: () => ps.loadAppDependencies(r),
    getControllerState: (key) => ps.getControllerState(r, key),
    loadHosts: () => hs.loadHosts(r),
    loadAlarms: () => hs.loadAlarms(r),
    getOperation: (id) => hs.getOperation(r, id),
    runningOperations: () => hs.runningOperations(r),
    latestProgress: (id) => hs.latestProgress(r, id),
    lastEventSeq: () => es.lastEventSeq(r),
    eventsAfter: (after, limit, filter) => es.listEventsAfter(r, after, limit, filter),
    loadStrategy: () => ss.loadStrategyRow(r),
    loadSecurityFloors: () => rs.loadSecurityFloors(r),
  };
}

/**
 * The domain's Store over the sqlite Db: `transact` is Db.tx (group commit, queued writes, lazy
 * rows riding the next commit) with the body given typed repositories instead of SQL; `batch`
 * coalesces items into one Db.tx body per batch (WriteBatches).
 */
export class SqliteStore implements Store, EventRetentionPort {
  readonly read: StoreReader;
  private readonly batches = new WriteBatches((body) => this.transact(body));
  constructor(readonly db: Db) {
    this.read = reader(db.read);
  }
  batch<I, R>(group: WriteGroup<I, R>, item: I): Promise<R> {
    return this.batches.add(group, item);
  }
  transact<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.tx((tx) => body(new SqliteStoreTx(tx)));
  }
  later<T>(body: (tx: StoreTx) => Promise<T>, maxDelayMs: number): Promise<T> {
    return this.db.later((tx) => body(new SqliteStoreTx(tx)), maxDelayMs);
  }

  // Event retention (EventRetentionPort): reads on the reader connection, deletes in a write transaction.
  firstEventSeq(): Promise<number> {
    return es.firstEventSeq(this.db.read);
  }
  firstEventSeqSince(time: Date): Promise<number> {
    return es.firstEventSeqSince(this.db.read, time);
  }
  deleteEventsBefore(seq: number, limit: number): Promise<number> {
    return this.db.tx((tx) => es.deleteEventsBefore(tx, seq, limit));
  }
}
