/**
 * The simulated virtual machines of a host (`--instances N`): what an InstanceActionCommand does
 * to them. Shared by the rpm host (host-agent.ts) and the simulated one (sim-host.ts).
 */
import type { InstanceActionCommand } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import type { Instance } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

/**
 * Applies stop/start/migrate-out/migrate-in to `instances` (not modified).
 * @returns the new instance list and the failure reason ("" on success; the list is then unchanged).
 */
export function applyInstanceAction(instances: readonly Instance[], cmd: InstanceActionCommand): { instances: Instance[]; reason: string } {
  const known = new Set(instances.map((i) => i.uuid));
  const missing = cmd.instanceUuids.filter((u) => !known.has(u) && cmd.action !== "migrate-in");
  const same = instances.map((i) => ({ ...i }));
  if (missing.length) return { instances: same, reason: `Unknown instance(s): ${missing.join(", ")}` };
  switch (cmd.action) {
    case "stop":
    case "start":
      return { instances: same.map((i) => (cmd.instanceUuids.includes(i.uuid) ? { ...i, state: cmd.action === "stop" ? "stopped" : "running" } : i)), reason: "" };
    case "migrate-out":
      return { instances: same.filter((i) => !cmd.instanceUuids.includes(i.uuid)), reason: "" };
    case "migrate-in":
      return { instances: [...same, ...cmd.instanceUuids.filter((u) => !known.has(u)).map((u) => ({ uuid: u, name: u, state: "running" }))], reason: "" };
    default:
      return { instances: same, reason: `Unknown instance action: ${cmd.action}` };
  }
}
