/** The simulated virtual machines of a host: what an InstanceActionCommand does to them. */
import type { InstanceActionCommand } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import type { Instance } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

/**
 * Applies stop/start/migrate-out/migrate-in to `instances` (changed in place, or replaced for a
 * migrate-out): the instances after it and the failure reason ("" on success).
 */
export function applyInstanceAction(instances: Instance[], cmd: InstanceActionCommand): { instances: Instance[]; reason: string } {
  const known = new Set(instances.map((i) => i.uuid));
  const missing = cmd.instanceUuids.filter((u) => !known.has(u) && cmd.action !== "migrate-in");
  if (missing.length) return { instances, reason: `Unknown instance(s): ${missing.join(", ")}` };
  switch (cmd.action) {
    case "stop":
    case "start":
      for (const i of instances) if (cmd.instanceUuids.includes(i.uuid)) i.state = cmd.action === "stop" ? "stopped" : "running";
      return { instances, reason: "" };
    case "migrate-out":
      return { instances: instances.filter((i) => !cmd.instanceUuids.includes(i.uuid)), reason: "" };
    case "migrate-in":
      for (const u of cmd.instanceUuids) if (!known.has(u)) instances.push({ uuid: u, name: u, state: "running" });
      return { instances, reason: "" };
    default:
      return { instances, reason: `Unknown instance action: ${cmd.action}` };
  }
}
