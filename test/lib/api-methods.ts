import { AdminServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { AgentServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { OrchestrationServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";

/** How many RPCs the five swpatch.v1 services have (the fuzz runs must reach every one). */
export const API_METHOD_COUNT = [PatchServiceDefinition, HostServiceDefinition, AgentServiceDefinition, OrchestrationServiceDefinition, AdminServiceDefinition].reduce(
  (n, d) => n + Object.keys(d.methods).length,
  0,
);
