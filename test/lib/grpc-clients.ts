import { Metadata, createChannel, createClient, type Channel } from "nice-grpc";
import { createReadStream } from "node:fs";
import * as path from "node:path";
import { PatchServiceDefinition, type PatchServiceClient, type UploadPatchRequest } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition, type HostServiceClient } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { OrchestrationServiceDefinition, type OrchestrationServiceClient } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";

/**
 * Raw generated clients on one channel (tests of the controller's own contract). Given a
 * controller handle, they carry its admin token; given an endpoint, the token passed (if any).
 */
export function rawClients(
  target: string | { endpoint: string; adminToken: string },
  token?: string,
): { channel: Channel; patches: PatchServiceClient; hosts: HostServiceClient; orchestration: OrchestrationServiceClient; close(): void } {
  const endpoint = typeof target === "string" ? target : target.endpoint;
  const bearer = token ?? (typeof target === "string" ? undefined : target.adminToken);
  const channel = createChannel(endpoint);
  const defaults = bearer ? { "*": { metadata: Metadata({ authorization: `Bearer ${bearer}` }) } } : {};
  return {
    channel,
    patches: createClient(PatchServiceDefinition, channel, defaults),
    hosts: createClient(HostServiceDefinition, channel, defaults),
    orchestration: createClient(OrchestrationServiceDefinition, channel, defaults),
    close: () => channel.close(),
  };
}

/** Streams a file as header + 256 KiB chunks, optionally under another name. */
export async function* uploadStream(file: string, fileName = path.basename(file)): AsyncGenerator<UploadPatchRequest> {
  yield { payload: { $case: "header", value: { fileName, sizeBytes: 0 } } };
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    yield { payload: { $case: "chunk", value: chunk as Buffer } };
  }
}
