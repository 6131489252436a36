/**
 * The stores the contract suite runs against. The suite talks to the domain's ports only
 * (Store, BlobPort, the auth stores); a store is plugged in by one factory added to `factories`.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { BlobPort, Store } from "../../server/domain/store.js";
import type { AuditChainStore, AuditStore, EnrollmentStore, TokenStore, TrustedKeyStore } from "../../server/domain/auth/index.js";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { SqliteStore } from "../../server/storage/sqlite/store.js";
import { BlobStore } from "../../server/storage/sqlite/blob-store.js";
import { AuthStore } from "../../server/storage/sqlite/auth-store.js";
import { ReceiptStore } from "../../server/storage/sqlite/receipt-store.js";
import type { InstallReceiptStore } from "../../server/domain/hosts/install-receipts.js";
import { FileBlobs, MemoryAuthStore, MemoryStore, emptyDisk, type Disk } from "./memory-store.js";
import { FakeStore } from "../lib/fake-store.js";
import { postgresFactory, postgresSkipReason } from "./postgres-factory.js";
import type { TrustRootStore } from "../../server/domain/auth/trust-root-manager.js";
import { SqlTrustRootStore } from "../../server/storage/sqlite/trust-root-store.js";
import { MemoryTrustRootStore } from "./memory-trust-root-store.js";

/** One open store: every port over the same data. */
export interface StoreUnderTest {
  store: Store;
  blobs: BlobPort;
  auth: { tokens: TokenStore; audit: AuditStore & AuditChainStore; trust: TrustedKeyStore; enrollments: EnrollmentStore };
  /** Root of trust documents (issue 21). */
  trustRoots: TrustRootStore;
  /** FLOOR (issue 21): receipt keys and install receipts, for the stores that hold them (SQL stores). */
  receipts?: InstallReceiptStore;
  /** A directory outside the store for the test's own files (inputs to `blobs.put`). */
  scratch: string;
  /**
   * Closes this one and opens the same data again with new objects (no cache, no connection
   * shared with this one): what it reads was durable. This object must not be used afterwards.
   */
  reopen(): Promise<StoreUnderTest>;
  /** Closes the store and removes its data. Idempotent. */
  close(): Promise<void>;
}

/** Makes a fresh, empty store per call. */
export interface StoreFactory {
  name: string;
  create(): Promise<StoreUnderTest>;
  /**
   * Contract tests this store is known to fail, by id (see `itContract`), with the defect. Such a
   * test is run and must still fail; once it passes, the entry must go.
   */
  knownDefects?: Readonly<Record<string, string>>;
}

/** sqlite: one database file and a blob directory in a temp dir per store. */
export const sqliteFactory: StoreFactory = {
  name: "sqlite",
  async create() {
    const dir = await mkdtemp(path.join(os.tmpdir(), "swpatch-contract-"));
    return openSqlite(dir);
  },
};

async function openSqlite(dir: string): Promise<StoreUnderTest> {
  const db = await Db.open(path.join(dir, "sw-patch.sqlite"), migrations);
  const blobs = new BlobStore(path.join(dir, "blobs"));
  await blobs.init();
  await mkdir(path.join(dir, "scratch"), { recursive: true });
  const auth = new AuthStore(db);
  let open = true;
  const shut = async () => {
    if (!open) return;
    open = false;
    await db.close();
  };
  return {
    store: new SqliteStore(db),
    blobs,
    auth: { tokens: auth, audit: auth, trust: auth, enrollments: auth },
    trustRoots: new SqlTrustRootStore(db),
    receipts: new ReceiptStore(db),
    scratch: path.join(dir, "scratch"),
    async reopen() {
      await shut();
      return openSqlite(dir);
    },
    async close() {
      await shut();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A contract test with an id: a plain `it`, unless the store lists the id in `knownDefects`; then
 * the test must fail (and says so in its title), and fails itself if it passes.
 */
export function itContract(f: StoreFactory, id: string, title: string, fn: () => Promise<void>): void {
  const defect = f.knownDefects?.[id];
  if (!defect) {
    it(title, fn);
    return;
  }
  it(`${title} [known ${f.name} defect: ${defect}]`, async () => {
    let failed = false;
    try {
      await fn();
    } catch {
      failed = true;
    }
    if (!failed) throw new Error(`known defect "${id}" no longer shows on ${f.name}: remove it from knownDefects`);
  });
}

/** The in-memory reference store (memory-store.ts); reopen hands a deep copy of its data to new objects. */
export const memoryFactory: StoreFactory = {
  name: "memory",
  async create() {
    const dir = await mkdtemp(path.join(os.tmpdir(), "swpatch-contract-mem-"));
    return openMemory(dir, emptyDisk());
  },
};

async function openMemory(dir: string, d: Disk): Promise<StoreUnderTest> {
  const disk = { d };
  const store = new MemoryStore(disk);
  const blobs = new FileBlobs(path.join(dir, "blobs"));
  await blobs.init();
  await mkdir(path.join(dir, "scratch"), { recursive: true });
  const auth = new MemoryAuthStore(disk);
  return {
    store,
    blobs,
    auth: { tokens: auth, audit: auth, trust: auth, enrollments: auth },
    trustRoots: new MemoryTrustRootStore(disk),
    scratch: path.join(dir, "scratch"),
    async reopen() {
      await store.close();
      return openMemory(dir, structuredClone(disk.d));
    },
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The fake the domain's unit tests use (test/lib/fake-store.ts), so that what they test against
 * behaves as a store must. Its Store only: blobs and auth are the memory store's (the unit tests'
 * blobs exist by name only); reopen hands a deep copy of its committed tables to a new fake.
 */
export const fakeFactory: StoreFactory = {
  name: "fake",
  async create() {
    const dir = await mkdtemp(path.join(os.tmpdir(), "swpatch-contract-fake-"));
    return openFake(dir, new FakeStore(), { d: emptyDisk() });
  },
};

async function openFake(dir: string, store: FakeStore, disk: { d: Disk }): Promise<StoreUnderTest> {
  const blobs = new FileBlobs(path.join(dir, "blobs"));
  await blobs.init();
  await mkdir(path.join(dir, "scratch"), { recursive: true });
  const auth = new MemoryAuthStore(disk);
  return {
    store,
    blobs,
    auth: { tokens: auth, audit: auth, trust: auth, enrollments: auth },
    trustRoots: new MemoryTrustRootStore(disk),
    scratch: path.join(dir, "scratch"),
    async reopen() {
      await store.close();
      const again = new FakeStore();
      again.t = structuredClone(store.t);
      return openFake(dir, again, { d: structuredClone(disk.d) });
    },
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Every store the contract suite runs against. PostgreSQL when this machine has it (npm test's
 * pretest installs it); otherwise test/contract/postgres.test.ts says why it is skipped.
 */
export const factories: readonly StoreFactory[] = [sqliteFactory, memoryFactory, fakeFactory, ...(postgresSkipReason ? [] : [postgresFactory])];

/** A fresh store per test: `s()` is the running test's; `reopen()` swaps it for its reopened self. */
export function storePerTest(f: StoreFactory): { s: () => StoreUnderTest; reopen: () => Promise<StoreUnderTest> } {
  let current: StoreUnderTest | undefined;
  beforeEach(async () => {
    current = await f.create();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    s: () => {
      if (!current) throw new Error("no store (outside a test)");
      return current;
    },
    reopen: async () => {
      if (!current) throw new Error("no store (outside a test)");
      return (current = await current.reopen());
    },
  };
}
