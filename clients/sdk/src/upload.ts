import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { CallOptions } from "nice-grpc";
import type { UploadPatchRequest, UploadPatchResponse, PatchServiceClient } from "./gen/swpatch/v1/patch_service.js";

/** Size of each chunk sent by {@link uploadPatchFile}: 1 MiB. */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** Progress of an upload. */
export interface UploadProgress {
  /** Bytes handed to the transport so far. */
  bytesSent: number;
  /** File size in bytes. */
  totalBytes: number;
}

/** Options of {@link uploadPatchFile}. */
export interface UploadPatchFileOptions {
  signal?: AbortSignal;
  /** Called after each chunk is queued for sending. */
  onProgress?: (progress: UploadProgress) => void;
  /** Name announced to the controller; default: the file's base name (must be `<id>.patch`). */
  fileName?: string;
  /** Chunk size in bytes (default 1 MiB; the controller accepts at most 4 MiB). */
  chunkBytes?: number;
}

/**
 * Streams one `.patch` file to the controller (`UploadPatch`): a header with the file name and
 * size, then the file in 1 MiB chunks read from disk, so memory stays flat whatever the size.
 * Throws the file-system error if the file cannot be read, else typed SDK errors
 * (InvalidArgumentError for a bad or unsigned patch, ...).
 */
export async function uploadPatchFile(
  patches: Pick<PatchServiceClient<object>, "uploadPatch">,
  path: string,
  options: UploadPatchFileOptions & CallOptions = {},
): Promise<UploadPatchResponse> {
  const { onProgress, fileName, chunkBytes = UPLOAD_CHUNK_BYTES, ...callOptions } = options;
  const info = await stat(path);
  if (info.isDirectory()) throw new Error(`${path} is a directory`);
  const totalBytes = info.size;
  async function* requests(): AsyncGenerator<UploadPatchRequest> {
    yield { payload: { $case: "header", value: { fileName: fileName ?? basename(path), sizeBytes: totalBytes } } };
    let bytesSent = 0;
    const stream = createReadStream(path, { highWaterMark: chunkBytes });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        yield { payload: { $case: "chunk", value: chunk } };
        bytesSent += chunk.length;
        onProgress?.({ bytesSent, totalBytes });
      }
    } finally {
      stream.destroy();
    }
  }
  return patches.uploadPatch(requests(), callOptions);
}
