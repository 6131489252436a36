/**
 * What every patching API endpoint module shares: route metadata, the handler answer, the
 * registration hook, argument validation and the reference's refusal shapes.
 */
import { isDomainError, type DomainError } from "../../../domain/errors.js";
import type { Caller } from "../../../domain/auth/roles.js";
import { RPC_POLICY, type RpcRequirement } from "../../../domain/auth/rpc-policy.js";
import { badRequest } from "../../http/errors.js";
import type { RequestContext } from "../../http/target.js";

/** Route metadata: the equivalent RPC (role and audit action) and what the endpoint mutates. */
export interface Meta {
  /** RPC method name used for the role and the audit row, e.g. "ApplyPatches". */
  action: string;
  requirement: RpcRequirement;
}

export type Ctx = RequestContext<Caller, Meta>;

/** What a handler answers, plus how the call went for the audit row. */
export interface Answer {
  status?: number;
  body: unknown;
  outcome?: string;
  detail?: string;
}

/**
 * Registers `action` under both prefixes (`/patch/<action>/...`, `/v1/<action>/...`); the handler
 * returns the JSON answer. `target` overrides the audit target; `keepBody` leaves the body unread.
 */
export type RouteFn = (
  methods: readonly ("GET" | "POST")[],
  action: string,
  meta: Meta,
  fn: (ctx: Ctx) => Promise<Answer>,
  opts?: { target?: (ctx: Ctx) => string; keepBody?: boolean },
) => void;

export const RELEASE_RE = /^[A-Za-z0-9._-]{1,64}$/;
export const APP_RE = /^[A-Za-z0-9._:@/-]{1,128}$/;
const MAX_IDS = 10_000;

const rpcReq = (service: string, method: string): RpcRequirement => {
  const r = RPC_POLICY[`/swpatch.v1.${service}/${method}`];
  if (!r) throw new Error(`patch-api: ${service}/${method} missing from RPC_POLICY`);
  return r;
};
/** The requirement of PatchService/`m` in RPC_POLICY. */
export const P = (m: string) => rpcReq("PatchService", m);
/** The requirement of HostService/`m` in RPC_POLICY. */
export const H = (m: string) => rpcReq("HostService", m);

/** A DomainError kind as an audit outcome ("not-found" → "NOT_FOUND"). */
export const outcomeOfError = (e: DomainError) => e.kind.toUpperCase().replace(/-/g, "_");
/** `s` ending in a newline (unless empty). */
export const nl = (s: string) => (s === "" || s.endsWith("\n") ? s : `${s}\n`);

/** Reasons the reference raises as exceptions (→ `{"error": "Error: ..."}`), not list entries. */
const EXCEPTION_REASONS = new Set(["SEMANTIC_CHECK_FAILED"]);
const isRefusal = (e: DomainError) =>
  (e.kind === "invalid-argument" || e.kind === "not-found" || e.kind === "failed-precondition" || e.kind === "already-exists") && !EXCEPTION_REASONS.has(e.reason);

/**
 * The patch ids of the path (`--all` allowed if asked). An id no patch can have (our ids match
 * `[A-Za-z0-9][A-Za-z0-9._-]*`) is passed on all the same: it is only ever looked up, so the
 * domain answers it as the reference does an unknown id ("X is unrecognized", "Patch X does not
 * exist", False) with HTTP 200, which the reference client prints; a 400 it would print nothing
 * for. Only more than 10,000 ids, or one longer than 1,024 characters, is a 400.
 */
export function ids(rest: readonly string[], opts: { allowAll?: boolean } = {}): string[] {
  if (rest.length > MAX_IDS) throw badRequest(`too many patch ids (${rest.length} > ${MAX_IDS})`);
  for (const id of rest) {
    if (opts.allowAll && id === "--all") continue;
    if (id.length > 1024) throw badRequest(`invalid patch id "${id.slice(0, 64)}...": longer than 1024 characters`);
  }
  return [...rest];
}

/**
 * A hostname or IP from the path. Like ids, one no host can have is passed on, so the domain
 * answers "Unknown host specified: X" (HTTP 200) as the reference does; only one longer than
 * 1,024 characters is a 400.
 */
export function hostArg(v: string): string {
  if (v.length > 1024) throw badRequest(`invalid hostname or IP "${v.slice(0, 64)}...": longer than 1024 characters`);
  return v;
}

/** Domain refusal → the reference's list-style answer; exceptions → `{"error": "Error: ..."}`. */
export const opError = (e: unknown, listStyle: (msg: string) => unknown): Answer => {
  if (!isDomainError(e)) throw e;
  const body = isRefusal(e) ? listStyle(nl(e.message)) : { error: `Error: ${e.message}` };
  return { body, outcome: outcomeOfError(e), detail: e.message };
};
/** `{info: "", warning: "", error: msg}`. */
export const triple = (msg: string) => ({ info: "", warning: "", error: msg });
/** A successful `{info, warning, error: ""}` answer. */
export const okTriple = (m: { info: string; warning: string }, detail = ""): Answer => ({ body: { info: m.info, warning: m.warning, error: "" }, detail });
