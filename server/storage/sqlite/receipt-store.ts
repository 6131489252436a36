/**
 * FLOOR (issue 21), migration 0011: release anti-rollback floors (part of the domain Store:
 * `setSecurityFloor`, `loadSecurityFloors`), and receipt keys and install receipts (the
 * InstallReceiptStore port). The same SQL runs on PostgreSQL (pg-sql.ts translates it).
 */
import type { Reader, Tx } from "./db.js";
import type { AuthDb } from "./auth-store.js";
import type { SecurityFloorRecord } from "../../domain/patches/security-floor.js";
import type { InstallReceiptRecord, InstallReceiptStore, ReceiptKeyRecord } from "../../domain/hosts/install-receipts.js";

interface FloorRow {
  release: string;
  floor: number | string;
  patch_id: string;
  updated_at: string;
}

/** Every stored floor, by release. */
export async function loadSecurityFloors(r: Reader): Promise<SecurityFloorRecord[]> {
  const rows = await r.all<FloorRow>("SELECT release, floor, patch_id, updated_at FROM security_floors ORDER BY release");
  return rows.map((x) => ({ release: x.release, floor: Number(x.floor), patchId: x.patch_id, updatedAt: x.updated_at }));
}

/** Inserts or replaces a release's floor. */
export async function setSecurityFloor(tx: Tx, f: SecurityFloorRecord): Promise<void> {
  await tx.run(
    "INSERT INTO security_floors (release, floor, patch_id, updated_at) VALUES (?, ?, ?, ?) " +
      "ON CONFLICT(release) DO UPDATE SET floor = excluded.floor, patch_id = excluded.patch_id, updated_at = excluded.updated_at",
    [f.release, f.floor, f.patchId, f.updatedAt],
  );
}

interface KeyRow {
  key_id: string;
  hostname: string;
  public_key: string;
  credential_id: string;
  registered_at: string;
}

interface ReceiptRow {
  hostname: string;
  counter: number | string;
  key_id: string;
  operation_id: string;
  operation: string;
  result: string;
  received_at: string;
  envelope: string;
}

/** The InstallReceiptStore over the controller's database (sqlite Db or PostgreSQL PgDb). */
export class ReceiptStore implements InstallReceiptStore {
  constructor(private readonly db: AuthDb) {}

  async insertReceiptKey(k: ReceiptKeyRecord): Promise<void> {
    await this.db.tx(async (tx) => {
      // The same key registered again (a re-enrolment reusing it) becomes the current one.
      await tx.run("DELETE FROM host_receipt_keys WHERE key_id = ?", [k.keyId]);
      await tx.run("INSERT INTO host_receipt_keys (key_id, hostname, public_key, credential_id, registered_at) VALUES (?, ?, ?, ?, ?)", [
        k.keyId,
        k.hostname,
        k.publicKey,
        k.credentialId,
        k.registeredAt,
      ]);
    });
  }

  async receiptKeys(hostname: string): Promise<ReceiptKeyRecord[]> {
    const rows = await this.db.read.all<KeyRow>(
      "SELECT key_id, hostname, public_key, credential_id, registered_at FROM host_receipt_keys WHERE hostname = ? ORDER BY registered_at, key_id",
      [hostname],
    );
    return rows.map((r) => ({ keyId: r.key_id, hostname: r.hostname, publicKey: r.public_key, credentialId: r.credential_id, registeredAt: r.registered_at }));
  }

  async insertReceipt(r: InstallReceiptRecord): Promise<boolean> {
    return this.db.tx(async (tx) => {
      const last = await tx.get<{ m: number | string | null }>("SELECT MAX(counter) AS m FROM install_receipts WHERE hostname = ?", [r.hostname]);
      if (last?.m !== null && last?.m !== undefined && Number(last.m) >= r.counter) return false;
      await tx.run("INSERT INTO install_receipts (hostname, counter, key_id, operation_id, operation, result, received_at, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        r.hostname,
        r.counter,
        r.keyId,
        r.operationId,
        r.operation,
        r.result,
        r.receivedAt,
        r.envelope,
      ]);
      return true;
    });
  }

  async listReceipts(hostname: string): Promise<InstallReceiptRecord[]> {
    const rows = await this.db.read.all<ReceiptRow>(
      "SELECT hostname, counter, key_id, operation_id, operation, result, received_at, envelope FROM install_receipts WHERE hostname = ? ORDER BY counter",
      [hostname],
    );
    return rows.map((x) => ({
      hostname: x.hostname,
      counter: Number(x.counter),
      keyId: x.key_id,
      operationId: x.operation_id,
      operation: x.operation,
      result: x.result,
      receivedAt: x.received_at,
      envelope: x.envelope,
    }));
  }
}
