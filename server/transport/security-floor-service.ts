/**
 * FLOOR (issue 21): the RPCs of the anti-rollback floor and of signed install receipts
 * (docs/security.md, "Anti-rollback floor and install receipts"): PatchService.SecurityFloorList,
 * the admin check of `allow_downgrade` on Apply/RemovePatches, HostService.InstallReceiptList and
 * AgentService.InstallReceiptSubmit, and the receipt key registration of AgentService.Enroll.
 */
import type { CallContext } from "nice-grpc";
import type { HostServiceImplementation } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import type { PatchServiceImplementation } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import type { AgentServiceImplementation } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import type { InstallReceipts } from "../domain/hosts/install-receipts.js";
import type { PatchManager } from "../domain/patches/patch-manager.js";
import type { AuthContextExt } from "./auth-middleware.js";

const RELEASE_RE = /^[A-Za-z0-9._-]{1,64}$/;
const HOSTNAME_RE = /^[A-Za-z0-9._-]{1,253}$/;

/**
 * `allow_downgrade` is an admin's decision: PERMISSION_DENIED (DOWNGRADE_NOT_PERMITTED) for any other
 * role. The call is audited as every Apply/RemovePatches is, its target marked `allow-downgrade`.
 */
export function assertMayDowngrade(ctx: CallContext, allowDowngrade: boolean): void {
  if (!allowDowngrade) return;
  const caller = (ctx as CallContext & Partial<AuthContextExt>).caller;
  if (caller && caller.role !== "admin") {
    throw new DomainError("permission-denied", `role ${caller.role} may not pass --allow-downgrade (admin only)`, { reason: "DOWNGRADE_NOT_PERMITTED" });
  }
}

/** PatchService.SecurityFloorList. */
export function createSecurityFloorMethods(patches: Pick<PatchManager, "securityFloors">): Pick<PatchServiceImplementation, "securityFloorList"> {
  return {
    async securityFloorList(req) {
      if (req.release && !RELEASE_RE.test(req.release)) throw invalidArgument(`release: invalid release "${req.release}"`);
      return { floors: patches.securityFloors(req.release).map((f) => ({ release: f.release, floor: f.floor, patchId: f.patchId, updatedAt: f.updatedAt })) };
    },
  };
}

const unavailable = () => new DomainError("failed-precondition", "install receipts are not available on this server", { reason: "RECEIPTS_UNAVAILABLE" });

/** HostService.InstallReceiptList. */
export function createReceiptListMethods(receipts: Pick<InstallReceipts, "list"> | undefined): Pick<HostServiceImplementation, "installReceiptList"> {
  return {
    async installReceiptList(req) {
      if (!receipts) throw unavailable();
      if (!HOSTNAME_RE.test(req.hostname)) throw invalidArgument(`hostname: invalid hostname "${req.hostname}"`);
      const r = await receipts.list(req.hostname);
      return {
        hostname: req.hostname,
        enrolled: r.keys.length > 0,
        keys: r.keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey, credentialId: k.credentialId, registeredAt: k.registeredAt })),
        receipts: r.receipts.map((x) => ({
          counter: x.counter,
          keyId: x.keyId,
          operationId: x.operationId,
          operation: x.operation,
          result: x.result,
          receivedAt: x.receivedAt,
          envelope: x.envelope,
        })),
      };
    },
  };
}

/**
 * AgentService.InstallReceiptSubmit: the caller must be an enrolled host's credential (its
 * hostname is the receipt's host; an admin token has no host and is refused).
 */
export function createReceiptSubmitMethods(
  receipts: Pick<InstallReceipts, "submit"> | undefined,
): Pick<AgentServiceImplementation<AuthContextExt>, "installReceiptSubmit"> {
  return {
    async installReceiptSubmit(req, ctx) {
      if (!receipts) throw unavailable();
      const hostname = ctx.caller?.role === "agent" ? ctx.caller.hostname : undefined;
      if (!hostname) {
        throw new DomainError("permission-denied", "only a host's own agent credential may submit its install receipts", { reason: "RECEIPT_CALLER_NOT_HOST" });
      }
      const r = await receipts.submit(hostname, req.envelope);
      return { counter: r.counter };
    },
  };
}
