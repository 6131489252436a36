/**
 * AdminService: tokens, run-time trusted keys and the audit log. Every method needs the admin role
 * (RPC_POLICY) and is audited by the auth middleware; this file only maps messages.
 */
import type {
  AdminServiceImplementation,
  AuditEntry as AuditEntryMsg,
  TokenInfo as TokenInfoMsg,
  TrustedKey as TrustedKeyMsg,
  TrustRootInfo as TrustRootInfoMsg,
} from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { failedPrecondition, invalidArgument } from "../domain/errors.js";
import type { AuthManager, TokenInfo } from "../domain/auth/auth-manager.js";
import type { AuditEntry, AuditLog } from "../domain/auth/audit-log.js";
import type { TrustManager, TrustedKeyInfo } from "../domain/auth/trust-manager.js";
import type { TrustRootInfo, TrustRootManager } from "../domain/auth/trust-root-manager.js";
import type { AuthContextExt } from "./auth-middleware.js";

/** Dependencies of {@link createAdminService}. */
export interface AdminServiceDeps {
  auth: Pick<AuthManager, "createToken" | "list" | "revoke">;
  trust: Pick<TrustManager, "list" | "add" | "remove">;
  audit: Pick<AuditLog, "list">;
  /** The root of trust (issue 21); without it the TrustRoot RPCs answer FAILED_PRECONDITION. */
  trustRoot?: Pick<TrustRootManager, "show" | "install" | "rotate">;
}

function trustRootMsg(r: TrustRootInfo): TrustRootInfoMsg {
  return {
    version: r.version,
    expires: r.expires,
    expired: r.expired,
    document: r.document,
    sha256: r.sha256,
    installedAt: new Date(r.installedAt),
    installedBy: r.installedBy,
    roles: r.roles.map((x) => ({ name: x.name, keyids: x.keyids, threshold: x.threshold })),
    signedBy: r.signedBy,
  };
}

function trustRootOf(d: AdminServiceDeps): NonNullable<AdminServiceDeps["trustRoot"]> {
  if (!d.trustRoot) throw failedPrecondition("This controller has no root of trust support", { reason: "TRUST_ROOT_UNSUPPORTED" });
  return d.trustRoot;
}

function callerId(ctx: unknown): string {
  return (ctx as Partial<AuthContextExt> | undefined)?.caller?.tokenId ?? "";
}

function tokenInfoMsg(t: TokenInfo): TokenInfoMsg {
  return {
    id: t.id,
    role: t.role,
    hostname: t.hostname,
    description: t.description,
    createdAt: new Date(t.createdAt),
    revoked: t.revoked,
    personality: t.personality,
  };
}

function trustedKeyMsg(k: TrustedKeyInfo): TrustedKeyMsg {
  return { label: k.label, pem: k.pem, fingerprintSha256: k.fingerprint };
}

function auditEntryMsg(e: AuditEntry): AuditEntryMsg {
  return { id: e.id, time: new Date(e.time), actor: e.actor, role: e.role, action: e.action, target: e.target, outcome: e.outcome, detail: e.detail };
}

function required(value: string, field: string): string {
  const v = value.trim();
  if (!v) throw invalidArgument(`${field}: required`);
  return v;
}

/** Builds the AdminService implementation. Errors are DomainErrors, mapped by the error middleware. */
export function createAdminService(d: AdminServiceDeps): AdminServiceImplementation {
  return {
    async createToken(req) {
      const { info, token } = await d.auth.createToken({ role: required(req.role, "role"), hostname: req.hostname, description: req.description });
      return { info: tokenInfoMsg(info), token };
    },
    async listTokens() {
      return { tokens: (await d.auth.list()).map(tokenInfoMsg) };
    },
    async revokeToken(req) {
      await d.auth.revoke(required(req.id, "id"));
      return {};
    },
    async listTrustedKeys() {
      return { keys: d.trust.list().map(trustedKeyMsg) };
    },
    async addTrustedKey(req) {
      return { key: trustedKeyMsg(await d.trust.add(required(req.label, "label"), required(req.pem, "pem"))) };
    },
    async removeTrustedKey(req) {
      await d.trust.remove(required(req.label, "label"));
      return {};
    },
    async listAuditLog(req) {
      return { entries: (await d.audit.list({ afterId: req.afterId, limit: req.limit })).map(auditEntryMsg) };
    },
    // ---- issue 21 (TRUSTROOT) ----
    async trustRootGet() {
      const r = trustRootOf(d).show();
      return r ? { trustRoot: trustRootMsg(r) } : {};
    },
    async trustRootSet(req, ctx) {
      return { trustRoot: trustRootMsg(await trustRootOf(d).install(required(req.document, "document"), callerId(ctx))) };
    },
    async trustRootRotate(req, ctx) {
      return { trustRoot: trustRootMsg(await trustRootOf(d).rotate(required(req.document, "document"), callerId(ctx))) };
    },
  };
}
