/**
 * FLOOR (issue 21): the controller side of signed install receipts (docs/security.md,
 * "Anti-rollback floor and install receipts"). An enrolled host's agent registers the public half of
 * its own Ed25519 receipt key at enrolment; after every install or removal it sends a DSSE-signed
 * in-toto statement (server/lib/install-receipt.ts). The controller verifies it with the current key
 * of THAT host only (the caller's, never another host's), stores it, and refuses a replayed or lower
 * counter. Agents that did not enrol (admin or --token agents) have no key and send none.
 */
import { DomainError, alreadyExists, failedPrecondition, invalidArgument } from "../errors.js";
import { ReceiptError, parseReceiptPublicKey, receiptKeyId, verifyInstallReceipt } from "../../lib/install-receipt.js";

/** A host's registered receipt key (public half only). */
export interface ReceiptKeyRecord {
  /** sha256 of the SPKI DER, hex (the DSSE keyid). */
  keyId: string;
  hostname: string;
  /** PEM SPKI. */
  publicKey: string;
  /** The enrolled credential (token id) it came with. */
  credentialId: string;
  /** ISO-8601. */
  registeredAt: string;
}

/** A stored receipt. */
export interface InstallReceiptRecord {
  hostname: string;
  counter: number;
  keyId: string;
  operationId: string;
  operation: string;
  result: string;
  /** ISO-8601. */
  receivedAt: string;
  /** The envelope as the agent sent it. */
  envelope: string;
}

/** What receipts need from storage (sqlite/PostgreSQL: server/storage/sqlite/receipt-store.ts; migration 11). */
export interface InstallReceiptStore {
  insertReceiptKey(k: ReceiptKeyRecord): Promise<void>;
  /** The host's keys, oldest first. */
  receiptKeys(hostname: string): Promise<ReceiptKeyRecord[]>;
  /**
   * In one transaction: inserts `r` only if its counter is above every counter stored for its host.
   * Resolves with false (nothing written) otherwise; of two concurrent inserts of one counter, one wins.
   */
  insertReceipt(r: InstallReceiptRecord): Promise<boolean>;
  /** The host's receipts by counter. */
  listReceipts(hostname: string): Promise<InstallReceiptRecord[]>;
}

/** Receipt key registration, receipt verification and listing. Stateless apart from the store. */
export class InstallReceipts {
  constructor(private readonly o: { store: InstallReceiptStore; now?: () => Date }) {}

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /**
   * Checks a public key an agent presents at enrolment (before the enrolment token is spent).
   * @throws DomainError invalid-argument (RECEIPT_KEY_INVALID) when it is not an Ed25519 PEM public key.
   */
  checkKey(publicKeyPem: string): void {
    try {
      parseReceiptPublicKey(publicKeyPem);
    } catch (e) {
      throw invalidArgument(`receipt_public_key: ${(e as Error).message}`, { reason: "RECEIPT_KEY_INVALID" });
    }
  }

  /** Registers the host's receipt key (after its enrolment exchange); it becomes the host's current key. */
  async registerKey(hostname: string, credentialId: string, publicKeyPem: string): Promise<ReceiptKeyRecord> {
    this.checkKey(publicKeyPem);
    const rec: ReceiptKeyRecord = { keyId: receiptKeyId(publicKeyPem), hostname, publicKey: publicKeyPem, credentialId, registeredAt: this.now().toISOString() };
    await this.o.store.insertReceiptKey(rec);
    return rec;
  }

  /**
   * Verifies and stores a receipt sent by `hostname` (the authenticated caller's host).
   * @throws DomainError failed-precondition RECEIPT_KEY_MISSING (the host registered no key: not
   *   enrolled), permission-denied RECEIPT_SIGNATURE_INVALID (not signed by that host's current
   *   key, or the statement names another host), already-exists RECEIPT_REPLAYED (counter not above
   *   the host's last), invalid-argument RECEIPT_INVALID (malformed).
   */
  async submit(hostname: string, envelope: string): Promise<InstallReceiptRecord> {
    const keys = await this.o.store.receiptKeys(hostname);
    const key = keys.at(-1);
    if (!key) {
      throw failedPrecondition(`host ${hostname} has no receipt key: only enrolled agents send install receipts`, { reason: "RECEIPT_KEY_MISSING", hostname });
    }
    let statement;
    try {
      statement = verifyInstallReceipt(envelope, parseReceiptPublicKey(key.publicKey));
    } catch (e) {
      const msg = (e as Error).message;
      if (e instanceof ReceiptError && /signed|signature/.test(msg)) {
        throw new DomainError("permission-denied", `install receipt refused: ${msg} (the receipt key of host ${hostname})`, {
          reason: "RECEIPT_SIGNATURE_INVALID",
          hostname,
        });
      }
      throw invalidArgument(`install receipt refused: ${msg}`, { reason: "RECEIPT_INVALID", hostname });
    }
    const p = statement.predicate;
    if (p.host !== hostname) {
      throw new DomainError("permission-denied", `install receipt refused: it names host ${p.host}, not ${hostname}`, { reason: "RECEIPT_SIGNATURE_INVALID", hostname });
    }
    const rec: InstallReceiptRecord = {
      hostname,
      counter: p.counter,
      keyId: key.keyId,
      operationId: p.operationId,
      operation: p.operation,
      result: p.result,
      receivedAt: this.now().toISOString(),
      envelope,
    };
    if (!(await this.o.store.insertReceipt(rec))) {
      throw alreadyExists(`install receipt refused: counter ${p.counter} of host ${hostname} is not above its last receipt's (replayed or out of order)`, {
        reason: "RECEIPT_REPLAYED",
        hostname,
      });
    }
    return rec;
  }

  /** A host's keys and receipts. */
  async list(hostname: string): Promise<{ keys: ReceiptKeyRecord[]; receipts: InstallReceiptRecord[] }> {
    return { keys: await this.o.store.receiptKeys(hostname), receipts: await this.o.store.listReceipts(hostname) };
  }
}
