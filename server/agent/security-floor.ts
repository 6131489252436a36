/**
 * FLOOR (issue 21): the agent's anti-rollback floor and its signed install receipts
 * (docs/security.md, "Anti-rollback floor and install receipts").
 *
 * Floor: the controller sends each package set with its security counter; the agent keeps the
 * highest counter it installed (state.json, `securityFloor`, written by temp-then-rename) and refuses
 * a set below it, whoever asks (a controller forced with --allow-downgrade, or a compromised one).
 *
 * Receipts: an enrolled agent has its own Ed25519 receipt key (`receipt-key.pem`, 0600, beside
 * credential.json; made at enrolment, public half registered with the controller). After every
 * install or removal it signs an in-toto statement (server/lib/install-receipt.ts) with a fresh
 * counter, persisted (`receipt-counter.json`) before the receipt leaves, so a counter is never
 * reused. An agent without the key (admin or --token agents) sends none.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { DesiredPackage, InstallCommand } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { generateReceiptKeyPair, rpmDatabaseDigest, signInstallReceipt, IN_TOTO_STATEMENT_TYPE, INSTALL_RECEIPT_PREDICATE_TYPE } from "../lib/install-receipt.js";
import type { InstallReceiptPredicate } from "../lib/install-receipt.js";
import { hostPaths } from "./host-paths.js";
import { readFileInRoot, writeFileInRootAtomic } from "./root-fs.js";
import { planChanges, type PlannedChange } from "./installer.js";
import type { RpmPackage } from "./rpm.js";

/** Where a host root keeps its receipt key (private, 0600). */
export function receiptKeyFile(root: string): string {
  return path.join(hostPaths(root).agentDir, "receipt-key.pem");
}

function counterFile(root: string): string {
  return path.join(hostPaths(root).agentDir, "receipt-counter.json");
}

/**
 * At enrolment: a fresh receipt key pair; the private half stored 0600 (atomically) in the root.
 * @returns the public half (PEM SPKI) for EnrollRequest.receipt_public_key.
 */
export async function createReceiptKey(root: string): Promise<string> {
  const k = generateReceiptKeyPair();
  const file = receiptKeyFile(root);
  await writeFileInRootAtomic(root, file, k.privateKeyPem, 0o600);
  await fsp.chmod(file, 0o600);
  return k.publicKeyPem;
}

/** An install refused by the agent's own security floor. */
export class FloorError extends Error {}

/** The reason an install is refused when its set is below the agent's floor (undefined: allowed). */
export function floorRefusal(setCounter: number, floor: number): string | undefined {
  if (setCounter >= floor) return undefined;
  return `security floor: the package set has security counter ${setCounter}, below this host's floor ${floor}; refusing to roll the host back`;
}

/** "remove" when the operation erases or downgrades a package, else "install". */
export function operationOf(changes: readonly PlannedChange[], cmd: Pick<InstallCommand, "erase">): "install" | "remove" {
  return changes.some((c) => c.kind === "erase" || c.kind === "downgrade") || (changes.length === 0 && cmd.erase.length > 0) ? "remove" : "install";
}

/** What one receipt says (besides what the signer adds: counter and time). */
export interface ReceiptFacts {
  cmd: InstallCommand;
  /** What the install changed (empty when it changed nothing or did not run: then what it would have changed counts). */
  changes: readonly PlannedChange[];
  result: "success" | "failed" | "rejected";
  reason: string;
  installed: readonly RpmPackage[];
  securityFloor: number;
}

/** An enrolled agent's receipt signer; `load` gives undefined when the host has no receipt key. */
export class ReceiptSigner {
  private constructor(
    private readonly root: string,
    private readonly hostname: string,
    private readonly key: KeyObject,
  ) {}

  /** The signer of a host root, or undefined when it has no receipt key (not enrolled). */
  static async load(root: string, hostname: string): Promise<ReceiptSigner | undefined> {
    let pem: string;
    try {
      pem = await readFileInRoot(root, receiptKeyFile(root));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new Error(`cannot read the receipt key ${receiptKeyFile(root)}: ${(e as Error).message}`);
    }
    return new ReceiptSigner(root, hostname, createPrivateKey(pem));
  }

  private async nextCounter(): Promise<number> {
    let last = 0;
    try {
      const v = (JSON.parse(await readFileInRoot(this.root, counterFile(this.root))) as { counter?: unknown }).counter;
      if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) last = v;
    } catch {
      // none yet
    }
    const next = last + 1;
    // Persisted before the receipt leaves: a counter is never signed twice.
    await writeFileInRootAtomic(this.root, counterFile(this.root), JSON.stringify({ counter: next }) + "\n", 0o600);
    return next;
  }

  /** Signs the receipt of one operation: the DSSE envelope as JSON. */
  async sign(f: ReceiptFacts): Promise<string> {
    const byNevra = new Map<string, DesiredPackage>();
    for (const d of f.cmd.desired) byNevra.set(`${d.name}|${d.epoch}|${d.version}|${d.release}|${d.arch}`, d);
    const subject = f.installed
      .flatMap((p) => {
        const d = byNevra.get(`${p.name}|${p.epoch}|${p.version}|${p.release}|${p.arch}`);
        return d?.sha256 ? [{ name: d.fileName, digest: { sha256: d.sha256 } }] : [];
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const predicate: InstallReceiptPredicate = {
      host: this.hostname,
      patches: [...f.cmd.patchIds].sort(),
      operation: operationOf(f.changes.length ? f.changes : planChanges([...f.installed], f.cmd.desired, f.cmd.erase), f.cmd),
      operationId: f.cmd.operationId,
      result: f.result,
      reason: f.reason,
      rpmDatabaseDigest: { sha256: rpmDatabaseDigest(f.installed) },
      securityFloor: f.securityFloor,
      setSecurityCounter: f.cmd.securityCounter,
      counter: await this.nextCounter(),
      time: new Date().toISOString(),
    };
    return signInstallReceipt({ _type: IN_TOTO_STATEMENT_TYPE, subject, predicateType: INSTALL_RECEIPT_PREDICATE_TYPE, predicate }, this.key);
  }
}

/**
 * Receipts waiting to reach the controller: `submit` (set by the connection: the InstallReceiptSubmit
 * call with the host's credential) sends them in order; one that fails for the connection's sake
 * waits for the next HelloAck (`flush`), one the controller refuses is logged and dropped.
 * INVARIANTS: at most one flush runs at a time; receipts leave in counter order.
 */
export class ReceiptOutbox {
  submit: ((envelope: string) => Promise<void>) | undefined;
  private readonly queue: string[] = [];
  private flushing: Promise<void> | undefined;
  /** Receipts the controller refused (tests, logs). */
  refused = 0;

  constructor(
    private readonly log: { warn(msg: string, f?: Record<string, unknown>): void },
    /** The gRPC status names that mean "try again later" (the rest are refusals). */
    private readonly retryable: (e: unknown) => boolean,
  ) {}

  private recording: Promise<void> = Promise.resolve();

  /**
   * Signs the receipt of one operation and sends it, after the receipts recorded before (counters in
   * order), without holding up the caller; failures are logged. `idle()` waits for it.
   */
  record(signer: ReceiptSigner, facts: ReceiptFacts & { installed: readonly RpmPackage[] }): void {
    this.recording = this.recording
      .then(async () => this.push(await signer.sign(facts)))
      .catch((e: unknown) => this.log.warn("install receipt not sent", { error: String(e) }));
  }

  /** Resolves once every recorded receipt is signed and sent (or waits for the next connection). */
  idle(): Promise<void> {
    return this.recording;
  }

  /** Queues a receipt and tries to send it. */
  push(envelope: string): Promise<void> {
    this.queue.push(envelope);
    return this.flush();
  }

  /** Sends what waits (no-op without `submit`, or while another flush runs: that one sends it). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.submit && this.queue.length) {
      try {
        await this.submit(this.queue[0]!);
      } catch (e) {
        if (this.retryable(e)) return;
        this.refused++;
        this.log.warn("install receipt refused by the controller", { error: (e as Error).message });
      }
      this.queue.shift();
    }
  }

  /** Receipts not sent yet. */
  get pending(): number {
    return this.queue.length;
  }
}
