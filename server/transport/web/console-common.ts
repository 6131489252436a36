/**
 * What the web console's route modules share: route metadata, the `api` registration hook, the
 * console's kind→HTTP table and error wording, and JSON body and argument parsing.
 */
import { type DomainError } from "../../domain/errors.js";
import type { Caller } from "../../domain/auth/roles.js";
import { RPC_POLICY, type RpcRequirement } from "../../domain/auth/rpc-policy.js";
import { CONSOLE_ERRORS, HttpError, badRequest } from "../http/errors.js";
import { readBody } from "../http/body.js";
import type { RequestContext } from "../http/target.js";

/** Route metadata: the equivalent RPC method (role and audit action). */
export interface Meta {
  action: string;
  requirement: RpcRequirement;
}
export type Ctx = RequestContext<Caller, Meta>;

/** What an `api` handler answers; `target`/`detail` go to the audit row. */
export interface ApiAnswer {
  body: unknown;
  status?: number;
  target?: string;
  detail?: string;
}

/**
 * Registers a JSON route needing the role of `rpcPath` (or "public"). For audited
 * (operator/admin) routes the outcome is recorded; domain errors become `{error}` answers with the
 * text `wording` gives (default "Error: <message>"). `keepBody` leaves a GET's body unread.
 */
export type ApiFn = (
  methods: readonly string[],
  pattern: string,
  rpcPath: string | "public",
  fn: (ctx: Ctx) => Promise<ApiAnswer>,
  opts?: { wording?: (e: DomainError, ctx: Ctx) => string; keepBody?: boolean },
) => void;

/** Which console action needs which RPC's role (the same table the gRPC middleware uses). */
export const CONSOLE_ACTIONS = {
  upload: "/swpatch.v1.PatchService/UploadPatch",
  apply: "/swpatch.v1.PatchService/ApplyPatches",
  remove: "/swpatch.v1.PatchService/RemovePatches",
  delete: "/swpatch.v1.PatchService/DeletePatches",
  commit: "/swpatch.v1.PatchService/CommitPatches",
  install: "/swpatch.v1.HostService/InstallHostAsync",
  lock: "/swpatch.v1.HostService/LockHost",
  unlock: "/swpatch.v1.HostService/UnlockHost",
  createStrategy: "/swpatch.v1.OrchestrationService/CreateStrategy",
  applyStrategy: "/swpatch.v1.OrchestrationService/ApplyStrategy",
  abortStrategy: "/swpatch.v1.OrchestrationService/AbortStrategy",
  deleteStrategy: "/swpatch.v1.OrchestrationService/DeleteStrategy",
} as const;

/** Header every state-changing console request carries (CSRF). */
export const CSRF_HEADER = "x-sw-patch-console";
/** Largest JSON (or ignored) request body, bytes. */
export const MAX_JSON = 64 * 1024;
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HOST_RE = /^[A-Za-z0-9:._[\]-]{1,253}$/;
export const RELEASE_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** The requirement of the RPC at `path` in RPC_POLICY. */
export const rpcRequirement = (path: string): RpcRequirement => {
  const r = RPC_POLICY[path];
  if (!r) throw new Error(`web console: ${path} missing from RPC_POLICY`);
  return r;
};
/** "/swpatch.v1.PatchService/ApplyPatches" → "ApplyPatches". */
export const methodOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** A domain refusal as the answer the browser shows: `{error, reason}` with the CLI's words. */
export function refusal(e: DomainError, text: string): HttpError {
  // The console's one kind → status table (CONSOLE_ERRORS in http/errors.ts).
  const status = CONSOLE_ERRORS.kindStatus[e.kind] ?? 500;
  return new HttpError(status, e.message, { error: status === 500 ? "Error: internal error" : text, reason: e.reason });
}

/** The CLI's wording of a domain error: "Error: <message>". */
export const cliError = (e: DomainError) => `Error: ${e.message.replace(/\n+$/, "")}`;

/** The 403 for a state-changing request without the console header. */
export function csrfRefusal(): HttpError {
  return new HttpError(403, "missing console header", { error: "Forbidden: request not sent by the console" });
}

/** The JSON object body (`{}` when empty); 415 for another content type, 400 when malformed. */
export async function jsonBody(ctx: Ctx): Promise<Record<string, unknown>> {
  const buf = await readBody(ctx.req, MAX_JSON);
  if (buf.length === 0) return {};
  const ct = (ctx.req.headers["content-type"] ?? "").toLowerCase();
  if (!ct.startsWith("application/json")) throw new HttpError(415, "expected application/json", { error: "Error: expected a JSON body" });
  try {
    const v = JSON.parse(buf.toString("utf8")) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, "malformed JSON body", { error: "Error: malformed JSON body" });
  }
}

/** A non-empty list of valid patch ids, deduplicated and sorted; 400 otherwise. */
export function idList(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0) throw new HttpError(400, "ids required", { error: "Error: select at least one patch" });
  if (v.length > 10_000) throw badRequest("too many patch ids");
  const ids = v.map((x) => String(x));
  for (const id of ids) if (!ID_RE.test(id)) throw new HttpError(400, "bad id", { error: `Error: invalid patch id "${id.slice(0, 64)}"` });
  return [...new Set(ids)].sort();
}

/** The `:host` path parameter, validated; 400 otherwise. */
export function hostParam(ctx: Ctx): string {
  const h = ctx.params.host ?? "";
  if (!HOST_RE.test(h)) throw new HttpError(400, "bad host", { error: `Error: invalid hostname or IP "${h.slice(0, 64)}"` });
  return h;
}

/** The audit target of a console request: host= or patches= from the path. */
export const targetOf = (ctx: Ctx) => (ctx.params.host ? `host=${ctx.params.host}` : ctx.params.id ? `patches=${ctx.params.id}` : "");
