/**
 * The audit log's checkpoints (AUDITCHAIN, issue 21; its retention and refusal summaries run with the term:
 * domain-terms.ts): the checkpoint signer, every `--audit-checkpoint-rows` rows and every
 * `--audit-checkpoint-seconds` seconds, with the key in `<data-dir>/signing/`.
 */
import { AuditCheckpointer, verifyAuditLog, type AuditChainStore, type AuditLog, type AuditLogVerification, type AuditSigner } from "../domain/auth/index.js";
import type { Logger } from "../lib/log.js";
import { isDomainError } from "../domain/errors.js";
import { ensureAuditKey } from "./audit-key.js";

/** The running checkpoint signer and the verification AdminService.AuditChainVerify serves. */
export interface AuditChainService {
  readonly signer: AuditSigner;
  /** Verifies the chain (signing a checkpoint of what is stored first, when asked). */
  verify(opts: { trustedKeyIds: readonly string[]; checkpointFirst: boolean }): Promise<AuditLogVerification>;
  stop(): void;
}

/**
 * Loads (or makes, at first start) the checkpoint key and signs checkpoints of `store` every
 * `everyRows` rows appended through `audit` and every `everySeconds` seconds. A checkpoint that
 * fails (a standby of a pair: its writes are fenced; a broken chain) is logged and tried again
 * at the next occasion.
 */
export async function startAuditChain(o: {
  dataDir: string;
  store: AuditChainStore;
  audit: AuditLog;
  everyRows: number;
  everySeconds: number;
  log: Logger;
}): Promise<AuditChainService> {
  const key = await ensureAuditKey(o.dataDir);
  if (key.created) o.log.info("audit checkpoint key generated", { key: key.file, keyId: key.signer.key.keyId });
  const checkpointer = new AuditCheckpointer(o.store, key.signer, o.everyRows);
  // A standby's writes are fenced (NOT_ACTIVE, FENCED): the active member signs; nothing to warn about.
  const failed = (e: unknown) => {
    const standby = isDomainError(e) && (e.reason === "NOT_ACTIVE" || e.reason === "FENCED");
    if (standby) o.log.debug("audit checkpoint not written (standby)", { error: (e as Error).message });
    else o.log.warn("audit checkpoint not written", { error: (e as Error).message });
  };
  o.audit.onAppended(() => checkpointer.noteAppended(failed));
  const timer = setInterval(() => void checkpointer.checkpoint().catch(failed), o.everySeconds * 1000);
  timer.unref();
  return {
    signer: key.signer,
    async verify({ trustedKeyIds, checkpointFirst }) {
      if (checkpointFirst) await checkpointer.checkpoint();
      return verifyAuditLog(o.store, { ownKey: key.signer.key, trustedKeyIds });
    },
    stop: () => clearInterval(timer),
  };
}
