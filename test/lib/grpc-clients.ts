import { createChannel, createClient, type Channel } from "nice-grpc";
import { createReadStream } from "node:fs";
import * as path from "node:path";
import { PatchServiceDefinition, type PatchServiceClient, type UploadPatchRequest } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition, type HostServiceClient } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";

/** Raw generated clients on one channel (tests of the controller's own contract). */
export function rawClients(endpoint: string): { channel: Channel; patches: PatchServiceClient; hosts: HostServiceClient; close(): void } {
  const channel = createChannel(endpoint);
  return {
    channel,
    patches: createClient(PatchServiceDefinition, channel),
    hosts: createClient(HostServiceDefinition, channel),
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
