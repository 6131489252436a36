/**
 * Refuses an unauthenticated call before its request message is read (issue 16, point 12), as a
 * grpc-js server interceptor (grpc-js >= 1.10; nice-grpc passes `interceptors` through its server
 * options).
 *
 * What grpc-js allows: for unary and server-streaming methods the handler asks for the request
 * message (`startRead`) only once the metadata has passed every interceptor, and nice-grpc runs
 * its middleware (the auth middleware included) only after that message has been read (up to
 * grpc.max_receive_message_length) and decoded. A metadata listener here runs before any of it:
 * a call with no token or a token that does not verify ends with UNAUTHENTICATED at once, the
 * stream is never resumed, so at most one HTTP/2 flow-control window of the body (64 KiB by
 * default) is ever buffered and nothing is decoded. Client-streaming and bidi methods need none of
 * this: the middleware runs before their first message is read.
 *
 * The auth middleware still does everything else (roles, context, audit of calls that run); the
 * refusals here use its statuses, messages and reasons and write the same UNAUTHENTICATED audit
 * row for audited and agent methods, with an empty target (the request was never read).
 */
import { Metadata, ServerInterceptingCall, status as GrpcStatus, type ServerInterceptor } from "@grpc/grpc-js";
import { isDomainError } from "../domain/errors.js";
import type { Caller } from "../domain/auth/roles.js";
import { RPC_POLICY, isAuditedRequirement, methodNameOf, type RpcRequirement } from "../domain/auth/rpc-policy.js";
import { peerIp } from "./peer-address.js";
import type { AuditRecord } from "../domain/auth/audit-log.js";
import { parseToken } from "../domain/auth/token.js";
import type { Logger } from "../lib/log.js";
import { ERROR_DOMAIN, ERROR_DOMAIN_TRAILER, ERROR_REASON_TRAILER, STATUS_DETAILS_TRAILER, encodeStatusDetails } from "./errors.js";

/** Options of {@link createEarlyAuthInterceptor}. */
export interface EarlyAuthOptions {
  auth: { verify(token: string): Promise<Caller> };
  audit?: { record(r: AuditRecord): Promise<unknown> };
  log?: Logger;
  /** @internal Override the policy table (tests). Default RPC_POLICY. */
  policy?: Readonly<Record<string, RpcRequirement>>;
}

function bearerOf(metadata: Metadata): string | undefined {
  const values = metadata.get("authorization");
  if (values.length === 0) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(String(values[0]));
  return m ? m[1]! : "";
}

/** The interceptor; see the module comment. */
export function createEarlyAuthInterceptor(o: EarlyAuthOptions): ServerInterceptor {
  const policy = o.policy ?? RPC_POLICY;
  return (method, call) => {
    const requirement = policy[method.path];
    // Streams of requests, public and unclassified methods: the middleware decides (it runs before
    // a client stream's first message is read). An enrolment exchange carries its token in the
    // request (a few hundred bytes; the method checks it), so it is read like a public call's.
    if (method.requestStream || requirement === undefined || requirement === "public" || requirement === "enrollment") return new ServerInterceptingCall(call);
    const audited = isAuditedRequirement(requirement) || requirement === "agent";
    const refuse = async (code: GrpcStatus, message: string, reason: string, actor: string, auditDetail = message) => {
      if (audited && o.audit) {
        try {
          // The peer address is the source the audit log rate-limits refusals by (as the middleware's rows).
          const source = peerIp(call.getPeer()) || undefined;
          await o.audit.record({
            actor,
            role: "",
            action: methodNameOf(method.path),
            target: "",
            outcome: "UNAUTHENTICATED",
            detail: auditDetail,
            ...(source ? { source } : {}),
          });
        } catch (e) {
          o.log?.error("audit write failed", { method: method.path, actor, error: (e as Error).message });
        }
      }
      const trailers = new Metadata();
      trailers.set(ERROR_REASON_TRAILER, reason);
      trailers.set(ERROR_DOMAIN_TRAILER, ERROR_DOMAIN);
      trailers.set(STATUS_DETAILS_TRAILER, Buffer.from(encodeStatusDetails(code, message, reason)));
      call.sendStatus({ code, details: message, metadata: trailers });
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            const token = bearerOf(metadata);
            if (token === undefined) return void refuse(GrpcStatus.UNAUTHENTICATED, "missing token", "TOKEN_MISSING", "anonymous");
            o.auth.verify(token).then(
              () => pass(metadata),
              (e: unknown) => {
                const actor = parseToken(token)?.id ?? "anonymous";
                if (!isDomainError(e)) {
                  o.log?.error("token verification failed", { method: method.path, error: (e as Error)?.message });
                  return void refuse(GrpcStatus.UNAVAILABLE, "token verification unavailable", "TOKEN_STORE_UNAVAILABLE", actor, "invalid token");
                }
                if (e.kind === "unauthenticated") return void refuse(GrpcStatus.UNAUTHENTICATED, e.message, e.reason, actor);
                return void refuse(GrpcStatus.UNAUTHENTICATED, "invalid token", "TOKEN_INVALID", actor);
              },
            );
          },
        });
      },
    });
  };
}
