/**
 * The one audit writer of the HTTP APIs: every call that changes something and every refusal, on
 * the patch REST API ("rest"), the VIM API ("vim") and the console ("web"). Rows carry the peer
 * address as their source, so the audit log's refusal rate limit (per source) applies to refusals;
 * a call that ran is never dropped by it.
 */
import type * as http from "node:http";
import type { AuditRecord } from "../../domain/auth/audit-log.js";
import type { Logger } from "../../lib/log.js";

/** Which API wrote the row; the first word of its detail. */
export type HttpApi = "rest" | "vim" | "web";

/** One row to write. */
export interface HttpAuditEntry {
  api: HttpApi;
  req: http.IncomingMessage;
  /** What the detail names after the method, e.g. "/patch/apply". */
  path: string;
  /** The equivalent RPC method name, e.g. "ApplyPatches". */
  action: string;
  actor: string;
  role: string;
  target: string;
  /** "ok", a DomainError kind as "NOT_FOUND", "UNAUTHENTICATED", "PERMISSION_DENIED", "HTTP_413"... */
  outcome: string;
  detail: string;
  /** True for a call refused before it ran (rate-limited per source). */
  refused: boolean;
}

/** Writes one row; never throws (a failed write is logged). */
export type HttpAuditWriter = (e: HttpAuditEntry) => Promise<void>;

/** The writer over `audit` (AuditLog); a no-op without one. */
export function createHttpAudit(audit: { record(r: AuditRecord): Promise<unknown> } | undefined, log: Logger): HttpAuditWriter {
  return async (e) => {
    if (!audit) return;
    const source = e.req.socket?.remoteAddress;
    try {
      await audit.record({
        actor: e.actor,
        role: e.role,
        action: e.action,
        target: e.target,
        outcome: e.outcome,
        detail: `${e.api} ${e.req.method ?? "GET"} ${e.path}${e.detail ? `: ${e.detail}` : ""}`,
        ...(source ? { source } : {}),
        refusal: e.refused,
      });
    } catch (err) {
      log.error("audit write failed", { api: e.api, action: e.action, actor: e.actor, outcome: e.outcome, error: (err as Error).message });
    }
  };
}
