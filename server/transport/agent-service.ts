import { createReadStream } from "node:fs";
import type { CallContext } from "nice-grpc";
import type { AgentServiceImplementation, ConnectRequest, ConnectResponse } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { DomainError, invalidArgument, notFound } from "../domain/errors.js";
import type { HostEnrollment } from "../domain/auth/host-enrollment.js";
import type { CredentialRevocations } from "../domain/auth/revocations.js";
import type { HostManager } from "../domain/hosts/host-manager.js";
import type { AgentLink } from "../domain/hosts/agent-types.js";
import type { PatchManager } from "../domain/patches/patch-manager.js";
import { AsyncQueue } from "../lib/async-queue.js";
import type { Logger } from "../lib/log.js";
import { assertMayActAsHost, type AuthContextExt } from "./auth-middleware.js";
import { peerIp } from "./peer-address.js";
import { isDomainError } from "../domain/errors.js";
import type { InstallReceipts } from "../domain/hosts/install-receipts.js";
import { createReceiptSubmitMethods } from "./security-floor-service.js";
import { fromProtoHello, fromProtoInstallResult, fromProtoProgress, fromProtoReport, toConnectResponse } from "./mappers/agent.js";

/** Dependencies of {@link createAgentService}. */
export interface AgentServiceDeps {
  hosts: HostManager;
  patches: PatchManager;
  log: Logger;
  /** Enrolment exchange (Enroll); without it Enroll answers FAILED_PRECONDITION. */
  enrollment?: Pick<HostEnrollment, "exchange">;
  /** A Connect stream ends (UNAUTHENTICATED "token revoked") as soon as its token is revoked. */
  revocations?: CredentialRevocations;
  /** FLOOR (issue 21): receipt keys registered at Enroll, receipts (InstallReceiptSubmit). */
  receipts?: Pick<InstallReceipts, "checkKey" | "registerKey" | "submit">;
}

/** AgentService: one bidi stream per host; package downloads by sha256; enrolment exchange. */
export function createAgentService(d: AgentServiceDeps): AgentServiceImplementation<AuthContextExt> {
  return {
    ...createReceiptSubmitMethods(d.receipts),
    async *connect(requests: AsyncIterable<ConnectRequest>, ctx: CallContext & AuthContextExt): AsyncGenerator<ConnectResponse> {
      const out = new AsyncQueue<ConnectResponse>();
      const link: AgentLink = { send: (cmd) => out.push(toConnectResponse(cmd)), close: () => out.end() };
      let hostname: string | undefined;
      let refused: unknown;
      let pumpFinished = false;
      const pump = (async () => {
        try {
          for await (const req of requests) {
            const m = req.message;
            if (!m) continue;
            if (m.$case === "hello") {
              assertMayActAsHost(ctx.caller, m.value.hostname, m.value.personality);
              hostname = await d.hosts.hello(fromProtoHello(m.value), link, peerIp(ctx.peer));
              continue;
            }
            if (!hostname) throw invalidArgument("agent: the first message must be a hello");
            switch (m.$case) {
              case "report":
                await d.hosts.report(hostname, fromProtoReport(m.value));
                break;
              case "progress":
                await d.hosts.progress_(hostname, fromProtoProgress(m.value));
                break;
              case "installResult":
                await d.hosts.installResult(hostname, fromProtoInstallResult(m.value));
                break;
              case "rebootResult":
                await d.hosts.rebootResult(hostname, m.value);
                break;
              case "instanceActionResult":
                d.hosts.instanceActionResult(hostname, m.value);
                break;
              default:
                break;
            }
          }
        } catch (e) {
          if (isDomainError(e)) refused = e;
          d.log.warn("agent stream error", { hostname, error: (e as Error).message });
        } finally {
          pumpFinished = true;
          out.end();
        }
      })();
      const onAbort = () => out.end();
      ctx.signal.addEventListener("abort", onAbort);
      // Revocation (host-revoke, token-revoke, a re-enrolment's exchange) ends the stream at once.
      let revoked: DomainError | undefined;
      const tokenId = ctx.caller?.tokenId;
      const unwatch =
        d.revocations && tokenId && tokenId !== "local"
          ? d.revocations.watch(tokenId, () => {
              revoked = new DomainError("unauthenticated", "token revoked", { reason: "TOKEN_REVOKED" });
              d.log.info("agent stream ended: credential revoked", { hostname, tokenId });
              out.end();
            })
          : undefined;
      try {
        for await (const msg of out) yield msg;
        if (revoked) throw revoked;
        // A refused hello (bad hostname, another host's token) reaches the agent as its status.
        // (When the controller cut the link itself, the pump may still wait for requests.)
        if (pumpFinished && refused) throw refused;
      } finally {
        unwatch?.();
        ctx.signal.removeEventListener("abort", onAbort);
        out.end();
        // Do not wait for the pump: it may be waiting for the agent's next request, and the
        // call's end (returning here) is what ends the agent's request stream.
        void pump.catch(() => undefined);
        if (hostname) await d.hosts.disconnected(hostname, link).catch((e) => d.log.warn("disconnect handling failed", { hostname, error: String(e) }));
      }
    },

    async enroll(req) {
      if (!d.enrollment) throw new DomainError("failed-precondition", "host enrolment is not available on this server", { reason: "ENROLLMENT_UNAVAILABLE" });
      // FLOOR: a receipt key is checked before the token is spent, registered right after.
      if (req.receiptPublicKey && d.receipts) d.receipts.checkKey(req.receiptPublicKey);
      const r = await d.enrollment.exchange({ enrollToken: req.enrollToken, hostname: req.hostname, personality: req.personality });
      d.log.info("host enrolled", { hostname: r.info.hostname, personality: r.info.personality, tokenId: r.info.id, replacedTokens: r.revokedTokenIds.length });
      if (req.receiptPublicKey && d.receipts) {
        // The token is spent: a failure here must not lose the host its credential (its receipts are
        // then refused, RECEIPT_KEY_MISSING, until it enrols again).
        try {
          const k = await d.receipts.registerKey(r.info.hostname, r.info.id, req.receiptPublicKey);
          d.log.info("receipt key registered", { hostname: r.info.hostname, keyId: k.keyId });
        } catch (e) {
          d.log.error("receipt key not registered", { hostname: r.info.hostname, error: (e as Error).message });
        }
      }
      return { token: r.token, tokenId: r.info.id, hostname: r.info.hostname, personality: r.info.personality };
    },

    async *fetchPackage(req, ctx) {
      if (!/^[0-9a-f]{64}$/.test(req.sha256)) throw invalidArgument(`sha256: expected 64 lowercase hex digits`);
      let small: Buffer | undefined;
      try {
        small = await d.patches.packageBytes(req.sha256);
      } catch {
        throw notFound(`Package ${req.sha256} is not in the package store`);
      }
      if (small) {
        for (let off = 0; off < small.length; off += 1 << 20) {
          if (ctx.signal.aborted) return;
          yield { chunk: small.subarray(off, off + (1 << 20)) };
        }
        return;
      }
      let file: string;
      try {
        file = await d.patches.packageFile(req.sha256);
      } catch {
        throw notFound(`Package ${req.sha256} is not in the package store`);
      }
      const stream = createReadStream(file, { highWaterMark: 1 << 20 });
      const err = await new Promise<Error | null>((resolve) => {
        stream.once("open", () => resolve(null));
        stream.once("error", (e) => resolve(e));
      });
      if (err) throw notFound(`Package ${req.sha256} is not in the package store`);
      try {
        for await (const chunk of stream) {
          if (ctx.signal.aborted) return;
          yield { chunk: chunk as Buffer };
        }
      } finally {
        stream.destroy();
      }
    },
  };
}
