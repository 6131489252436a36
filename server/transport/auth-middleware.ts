/**
 * Authentication, authorization and audit for every RPC, in one nice-grpc server middleware.
 *
 * Per call: look the method path up in RPC_POLICY (unknown paths are denied), read
 * `authorization: Bearer <token>`, verify it (UNAUTHENTICATED "missing token" / "invalid token" /
 * "token revoked"), check the role (PERMISSION_DENIED "role reader may not call ApplyPatches"),
 * attach `{ caller }` to the call context, run the call, and for operator/admin methods append an
 * audit row (success or failure, auth failures included) once the call has completed.
 *
 * Attach it after the error middleware: `createServer().use(errorMiddleware(log)).use(auth)`.
 */
import { ServerError, Status, type CallContext, type ServerMiddleware, type ServerMiddlewareCall } from "nice-grpc";
import { ReasonedServerError } from "./errors.js";
import { isAbortError } from "abort-controller-x";
import { isDomainError } from "../domain/errors.js";
import { LOCAL_CALLER, roleSatisfies, type Caller } from "../domain/auth/roles.js";
import { RPC_POLICY, isAuditedRequirement, methodNameOf, type RpcRequirement } from "../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../domain/auth/audit-log.js";
import { peerIp } from "./peer-address.js";
import { parseEnrollToken, parseToken } from "../domain/auth/token.js";
import type { Logger } from "../lib/log.js";

export { assertMayActAsHost } from "../domain/auth/roles.js";
export type { Caller } from "../domain/auth/roles.js";

/**
 * What the middleware adds to every call context. `caller` is undefined only for public methods
 * (health, reflection), whose tokens are not looked at.
 */
export interface AuthContextExt {
  caller: Caller | undefined;
}

/** Options of {@link createAuthMiddleware}. */
export interface AuthMiddlewareOptions {
  /** Resolves a token string to its caller; throws DomainError unauthenticated (AuthManager). */
  auth: { verify(token: string): Promise<Caller> };
  /** Where audited calls are recorded (AuditLog). Omit only in tests of authorization alone. */
  audit?: { record(r: AuditRecord): Promise<unknown> };
  /**
   * Default true. When false every call runs as LOCAL_CALLER (actor "local", role admin) and is
   * still audited; meant for embedding and tests, never for a listener others can reach.
   */
  enabled?: boolean;
  /** Audit write failures are logged here (they never change the call's outcome). */
  log?: Logger;
  /** @internal Override the policy table (tests). Default RPC_POLICY. */
  policy?: Readonly<Record<string, RpcRequirement>>;
}

const TARGET_KEYS = ["host", "hostname", "release", "app", "uuid", "alarmId", "entityInstanceId", "operationId", "id", "label", "role", "fileName"] as const;

/** Best-effort description of what a request acts on: `patches=A,B host=h release=r`. Never secrets. */
export function auditTargetOf(request: unknown): string {
  if (!request || typeof request !== "object") return "";
  const r = request as Record<string, unknown>;
  const parts: string[] = [];
  if (Array.isArray(r.patchIds) && r.patchIds.length) parts.push(`patches=${r.patchIds.join(",")}`);
  if (r.all === true) parts.push("all");
  // FLOOR (issue 21): a forced downgrade past the security floor shows in the audit log.
  if (r.allowDowngrade === true) parts.push("allow-downgrade");
  for (const k of TARGET_KEYS) {
    const v = r[k];
    if (typeof v === "string" && v) parts.push(`${k}=${v}`);
  }
  return parts.join(" ");
}

/** Facts worth keeping from a response: the patch an upload created, an operation or token id. */
function auditDetailOfResponse(response: unknown): string {
  if (!response || typeof response !== "object") return "";
  const r = response as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof r.patchId === "string" && r.patchId) parts.push(`patch=${r.patchId}`);
  if (typeof r.operationId === "string" && r.operationId) parts.push(`operation=${r.operationId}`);
  const info = r.info as Record<string, unknown> | undefined;
  if (info && typeof info.id === "string" && info.id) parts.push(`token=${info.id}`);
  const enrollment = r.enrollment as Record<string, unknown> | undefined;
  if (enrollment && typeof enrollment.id === "string" && enrollment.id) parts.push(`enrollment=${enrollment.id}`);
  if (typeof r.tokenId === "string" && r.tokenId) parts.push(`token=${r.tokenId}`);
  if (Array.isArray(r.revokedTokenIds) && r.revokedTokenIds.length) parts.push(`revoked=${r.revokedTokenIds.join(",")}`);
  // issue 21 (TRUSTROOT): the root of trust version and document digest installed.
  const root = r.trustRoot as Record<string, unknown> | undefined;
  if (root && typeof root.version === "number" && typeof root.sha256 === "string") parts.push(`trust-root=v${root.version} sha256=${root.sha256}`);
  return parts.join(" ");
}

/** `enrollment:<id>` of the request's enrolment token (its id is not secret), else "anonymous". */
function enrollmentActorOf(request: unknown): string {
  const t = (request as { enrollToken?: unknown } | undefined)?.enrollToken;
  const parsed = typeof t === "string" ? parseEnrollToken(t.trim()) : null;
  return parsed ? `enrollment:${parsed.id}` : "anonymous";
}

/** The gRPC status name an error will reach the client as (the error middleware maps the rest). */
export function outcomeOf(e: unknown, signal?: AbortSignal): string {
  if (e instanceof ServerError) return Status[e.code] ?? "UNKNOWN";
  if (isDomainError(e)) return e.kind.toUpperCase().replace(/-/g, "_");
  if (isAbortError(e) || signal?.aborted) return "CANCELLED";
  return "INTERNAL";
}

function detailOf(e: unknown): string {
  if (e instanceof ServerError) return e.details;
  if (isDomainError(e)) return e.message;
  return "";
}

/** Reads `authorization: Bearer <token>`; undefined when absent, "" when malformed. */
function bearerOf(context: CallContext): string | undefined {
  const value = context.metadata.get("authorization");
  if (value === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(String(value));
  return m ? m[1]! : "";
}

/** Taps a client stream: calls `onHeader` with the first `payload.$case === "header"` value. */
async function* tapHeader<T>(source: AsyncIterable<T>, onHeader: (h: unknown) => void): AsyncGenerator<T> {
  let seen = false;
  for await (const m of source) {
    if (!seen) {
      const p = (m as { payload?: { $case?: string; value?: unknown } }).payload;
      if (p?.$case === "header") {
        seen = true;
        onHeader(p.value);
      }
    }
    yield m;
  }
}

/**
 * Creates the auth middleware. See the module comment for the per-call steps.
 * Statuses: UNAUTHENTICATED ("missing token", "invalid token", "token revoked"),
 * PERMISSION_DENIED ("role R may not call M", or "method P is not classified" for a path missing
 * from the policy table), UNAVAILABLE when the token store itself fails (logged). Public methods
 * (health, reflection) skip all of this. Reasons sent with them (swpatch-error-reason): TOKEN_MISSING,
 * TOKEN_INVALID, TOKEN_REVOKED, ROLE_NOT_PERMITTED, METHOD_NOT_CLASSIFIED, TOKEN_STORE_UNAVAILABLE.
 */
export function createAuthMiddleware(opts: AuthMiddlewareOptions): ServerMiddleware<AuthContextExt> {
  const enabled = opts.enabled ?? true;
  const policy = opts.policy ?? RPC_POLICY;
  const { auth, audit, log } = opts;

  return async function* authMiddleware<Req, Res>(call: ServerMiddlewareCall<Req, Res, AuthContextExt>, context: CallContext) {
    const path = call.method.path;
    const action = methodNameOf(path);
    const requirement = policy[path];
    const audited = isAuditedRequirement(requirement);

    let target = call.requestStream ? "" : auditTargetOf(call.request);
    // Refusals (before the call runs) are rate-limited per source by the audit log; a call that ran is not.
    const source = peerIp(context.peer) || undefined;
    const write = async (actor: string, role: string, outcome: string, detail: string, ran = false) => {
      if (!audit) return;
      try {
        await audit.record({ actor, role, action, target, outcome, detail, ...(source ? { source } : {}), ...(ran && audited ? { refusal: false } : {}) });
      } catch (e) {
        log?.error("audit write failed", { method: path, actor, outcome, error: (e as Error).message });
      }
    };

    // Public methods (health, reflection) ignore tokens entirely: a probe never depends on the
    // token store, and a stale token in a tool's config does not break it.
    if (requirement === "public") return yield* call.next(call.request, { ...context, caller: enabled ? undefined : LOCAL_CALLER });

    // An enrolment exchange has no bearer token: the method checks the one-time enrolment token in
    // the request. Audited either way, with the enrolment's id (never its secret) as the actor.
    if (requirement === "enrollment") {
      const actor = enrollmentActorOf(call.request);
      try {
        const response = yield* call.next(call.request, { ...context, caller: undefined });
        await write(actor, "", "ok", auditDetailOfResponse(response), true);
        return response;
      } catch (e) {
        await write(actor, "", outcomeOf(e, context.signal), detailOf(e));
        throw e;
      }
    }

    // Authenticate.
    let caller: Caller | undefined;
    const token = bearerOf(context);
    if (!enabled) {
      caller = LOCAL_CALLER;
    } else if (token === undefined) {
      if (audited || requirement === "agent") await write("anonymous", "", "UNAUTHENTICATED", "missing token");
      throw new ReasonedServerError(Status.UNAUTHENTICATED, "missing token", "TOKEN_MISSING");
    } else {
      try {
        caller = await auth.verify(token);
      } catch (e) {
        const message = isDomainError(e) && e.kind === "unauthenticated" ? e.message : "invalid token";
        if (!isDomainError(e)) log?.error("token verification failed", { method: path, error: (e as Error)?.message });
        if (audited || requirement === "agent") await write(parseToken(token)?.id ?? "anonymous", "", "UNAUTHENTICATED", message);
        if (!isDomainError(e)) throw new ReasonedServerError(Status.UNAVAILABLE, "token verification unavailable", "TOKEN_STORE_UNAVAILABLE");
        throw new ReasonedServerError(Status.UNAUTHENTICATED, message, isDomainError(e) && e.kind === "unauthenticated" ? e.reason : "TOKEN_INVALID");
      }
    }

    // Authorize.
    if (requirement === undefined) {
      log?.error("rpc missing from the auth policy table", { method: path });
      throw new ReasonedServerError(Status.PERMISSION_DENIED, `method ${path} is not classified`, "METHOD_NOT_CLASSIFIED");
    }
    if (!roleSatisfies(caller!.role, requirement)) {
      const message = `role ${caller!.role} may not call ${action}`;
      if (audited || requirement === "agent") await write(caller!.tokenId, caller!.role, "PERMISSION_DENIED", message);
      throw new ReasonedServerError(Status.PERMISSION_DENIED, message, "ROLE_NOT_PERMITTED");
    }

    const next = { ...context, caller };
    if (!audited && requirement !== "agent") return yield* call.next(call.request, next);

    // Run, then audit (agent calls only when refused by the service, e.g. a hostname mismatch).
    const request = call.requestStream
      ? tapHeader(call.request, (h) => {
          target = auditTargetOf(h);
        })
      : call.request;
    let outcome = "ok";
    let detail = "";
    try {
      const response = yield* call.next(request, next);
      if (context.signal.aborted) outcome = "CANCELLED";
      if (!call.responseStream) detail = auditDetailOfResponse(response);
      return response;
    } catch (e) {
      outcome = outcomeOf(e, context.signal);
      detail = detailOf(e);
      throw e;
    } finally {
      if (context.signal.aborted && outcome === "ok") outcome = "CANCELLED";
      const refused = outcome === "PERMISSION_DENIED" || outcome === "UNAUTHENTICATED";
      if (audited || refused) await write(caller!.tokenId, caller!.role, outcome, detail, true);
    }
  };
}
