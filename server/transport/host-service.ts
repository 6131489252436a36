import { WatchOperationResponse, type HostServiceImplementation } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import type { InstallProgress } from "../domain/hosts/agent-types.js";
import { SharedResponses } from "./shared-encoding.js";
import { invalidArgument } from "../domain/errors.js";
import type { HostManager } from "../domain/hosts/host-manager.js";
import { toProtoAlarm, toProtoHost } from "./mappers/host.js";
import { toProtoProgress } from "./mappers/agent.js";
import type { HostEnrollment } from "../domain/auth/host-enrollment.js";
import { createEnrollmentMethods } from "./enrollment-service.js";
import type { InstallReceipts } from "../domain/hosts/install-receipts.js";
import { createReceiptListMethods } from "./security-floor-service.js";

function hostArg(v: string): string {
  if (!v) throw invalidArgument("host: a hostname or IP address is required");
  if (v.length > 253 || !/^[A-Za-z0-9:._[\]-]+$/.test(v)) throw invalidArgument(`host: invalid hostname or IP "${v}"`);
  return v;
}

function opId(v: string): string {
  if (!/^[0-9a-f-]{36}$/.test(v)) throw invalidArgument(`operation_id: expected a UUID, got "${v}"`);
  return v;
}

/** HostService over the host manager (and host enrolment, when given). */
export function createHostService(d: {
  hosts: HostManager;
  enrollment?: Pick<HostEnrollment, "enroll" | "revokeHost" | "list">;
  /** FLOOR (issue 21): InstallReceiptList; without it the call answers FAILED_PRECONDITION. */
  receipts?: Pick<InstallReceipts, "list">;
}): HostServiceImplementation {
  // One response (and one encoding) per progress message, shared by every watcher of the operation.
  const progress = new SharedResponses<InstallProgress, WatchOperationResponse>(WatchOperationResponse, (p) => ({ progress: toProtoProgress(p) }));
  return {
    async listHosts() {
      return { hosts: d.hosts.list().map(toProtoHost) };
    },
    async getHost(req) {
      return { host: toProtoHost(d.hosts.get(hostArg(req.host))) };
    },
    async lockHost(req) {
      return { host: toProtoHost(await d.hosts.lock(hostArg(req.host), req.force)) };
    },
    async unlockHost(req) {
      const r = await d.hosts.unlock(hostArg(req.host));
      return { host: toProtoHost(r.host), rebooting: r.rebooting };
    },
    async swactHost(req) {
      return { activeController: await d.hosts.swact(hostArg(req.host)) };
    },
    async dropHost(req) {
      const name = await d.hosts.drop(hostArg(req.host));
      return { messages: { info: `${name} has been dropped from the host table\n`, warning: "" } };
    },
    async *installHost(req, ctx) {
      const { operationId } = await d.hosts.install(hostArg(req.host), req.force);
      for await (const p of d.hosts.watchOperation(operationId, ctx.signal)) yield { progress: toProtoProgress(p) };
    },
    async installHostAsync(req) {
      const r = await d.hosts.install(hostArg(req.host), req.force);
      return { operationId: r.operationId, messages: { info: `Patch installation request sent to ${r.hostname}.\n`, warning: "" } };
    },
    async getOperation(req) {
      return { progress: toProtoProgress(await d.hosts.operation(opId(req.operationId))) };
    },
    async *watchOperation(req, ctx) {
      for await (const p of d.hosts.watchOperation(opId(req.operationId), ctx.signal)) yield progress.get(p);
    },
    async listAlarms() {
      return { alarms: d.hosts.listAlarms().map(toProtoAlarm) };
    },
    async getAlarm(req) {
      return { alarm: toProtoAlarm(d.hosts.getAlarm(req.uuid)) };
    },
    async raiseAlarm(req) {
      const a = await d.hosts.raiseAlarm({
        alarmId: req.alarmId,
        entityInstanceId: req.entityInstanceId,
        severity: req.severity,
        reasonText: req.reasonText,
        mgmtAffecting: req.mgmtAffecting,
        proposedRepairAction: req.proposedRepairAction,
      });
      return { alarm: toProtoAlarm(a) };
    },
    async clearAlarm(req) {
      await d.hosts.clearAlarm(req.uuid);
      return {};
    },
    ...createEnrollmentMethods(d.enrollment),
    ...createReceiptListMethods(d.receipts),
  };
}
