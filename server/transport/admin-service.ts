/**
 * AdminService: tokens, run-time trusted keys and the audit log. Every method needs the admin role
 * (RPC_POLICY) and is audited by the auth middleware; this file only maps messages.
 */
import type {
  AdminServiceImplementation,
  AuditChainVerifyResponse,
  AuditEntry as AuditEntryMsg,
  TokenInfo as TokenInfoMsg,
  TrustedKey as TrustedKeyMsg,
  TrustRootInfo as TrustRootInfoMsg,
} from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { DomainError, failedPrecondition, invalidArgument } from "../domain/errors.js";
import type { AuthManager, TokenInfo } from "../domain/auth/auth-manager.js";
import type { AuditEntry, AuditLog } from "../domain/auth/audit-log.js";
import type { AuditKey, AuditLogVerification } from "../domain/auth/audit-chain.js";
import type { TrustManager, TrustedKeyInfo } from "../domain/auth/trust-manager.js";
import type { TrustRootInfo, TrustRootManager } from "../domain/auth/trust-root-manager.js";
import type { AuthContextExt } from "./auth-middleware.js";

/** Dependencies of {@link createAdminService}. */
export interface AdminServiceDeps {
  auth: Pick<AuthManager, "createToken" | "list" | "revoke">;
  trust: Pick<TrustManager, "list" | "add" | "remove">;
  audit: Pick<AuditLog, "list">;
  /** AUDITCHAIN: the chain's verification and this controller's checkpoint key (AuditChainVerify is FAILED_PRECONDITION without it). */
  auditChain?: {
    readonly signer: { readonly key: AuditKey };
    verify(opts: { trustedKeyIds: readonly string[]; checkpointFirst: boolean }): Promise<AuditLogVerification>;
  };
  /** The root of trust (issue 21); without it the TrustRoot RPCs answer FAILED_PRECONDITION. */
  trustRoot?: Pick<TrustRootManager, "show" | "install" | "rotate">;
}

function auditVerifyMsg(r: AuditLogVerification, own: AuditKey): AuditChainVerifyResponse {
  const key = (k: AuditKey) => ({ keyId: k.keyId, publicKeyPem: k.publicKeyPem });
  return {
    ok: r.ok,
    rows: r.rows,
    checkpoints: r.checkpoints,
    badRowId: r.badRowId ?? 0,
    badSeq: r.badSeq ?? 0,
    reason: r.reason ?? "",
    key: key(own),
    registeredKeys: r.registeredKeys.map(key),
    latestCheckpoint: r.latest && {
      treeSize: r.latest.treeSize,
      rootHash: r.latest.rootHash,
      time: new Date(r.latest.time),
      keyId: r.latest.keyId,
      signature: r.latest.signature,
    },
    prunedThrough: r.prunedThrough,
  };
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
    async auditChainVerify(req) {
      const chain = d.auditChain;
      if (!chain) throw new DomainError("failed-precondition", "this controller keeps no audit chain");
      const r = await chain.verify({ trustedKeyIds: req.trustedKeyIds.map((k) => k.trim()).filter(Boolean), checkpointFirst: req.checkpointFirst });
      return auditVerifyMsg(r, chain.signer.key);
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
