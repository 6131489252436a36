/**
 * sw-patch SDK: a typed gRPC client for the sw-patch controller.
 *
 * ```ts
 * const client = createSwPatchClient({ endpoint: "127.0.0.1:5490", token });
 * const { patches } = await client.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL });
 * client.close();
 * ```
 */
import type { CallOptions, Channel } from "nice-grpc";
import { createServiceClients, type SwPatchClientOptions, type SwPatchServiceClients } from "./client.js";
import { uploadPatchFile, type UploadPatchFileOptions } from "./upload.js";
import { importBasePackageFile, type ImportBasePackageFileOptions } from "./base-package.js";
import { watchEvents, watchOperation, watchStrategy, type WatchEventsOptions, type WatchOptions } from "./watch.js";
import type { ImportBasePackageResponse, UploadPatchResponse } from "./gen/swpatch/v1/patch_service.js";
import type { Event, InstallProgress } from "./gen/swpatch/v1/types.js";
import type { Strategy } from "./gen/swpatch/v1/orchestration_service.js";

/** A connected client: the four services plus streaming and upload helpers. */
export interface SwPatchClient extends SwPatchServiceClients {
  /** The normalised endpoint (`host:port`) calls go to now (with several endpoints: the one believed active). */
  readonly endpoint: string;
  /** The underlying grpc-js channel (shared by every service client). */
  readonly channel: Channel;
  /** Streams a `.patch` file from disk; see {@link uploadPatchFile}. */
  uploadPatchFile(path: string, options?: UploadPatchFileOptions & CallOptions): Promise<UploadPatchResponse>;
  /** Streams an RPM into a release's base feed, signed or (admin) unsigned; see {@link importBasePackageFile}. */
  importBasePackageFile(path: string, options: ImportBasePackageFileOptions & CallOptions): Promise<ImportBasePackageResponse>;
  /** Resumable event stream; see {@link watchEvents}. */
  watchEvents(options?: WatchEventsOptions): AsyncGenerator<Event, void, undefined>;
  /** One operation's progress up to its terminal message; see {@link watchOperation}. */
  watchOperation(operationId: string, options?: WatchOptions): AsyncGenerator<InstallProgress, void, undefined>;
  /** Strategy snapshots until aborted; see {@link watchStrategy}. */
  watchStrategy(options?: WatchOptions): AsyncGenerator<Strategy, void, undefined>;
  /** Closes the channel; calls in flight fail with CANCELLED/UNAVAILABLE. */
  close(): void;
}

/**
 * Creates a client for the controller at `options.endpoint` (default `127.0.0.1:5490`). No
 * connection is made until the first call. Every call rejects with a typed {@link SwPatchError}
 * subclass (UnavailableError when the controller cannot be reached); unary calls get a default
 * deadline of `defaultDeadlineMs` (30 s), overridable with the per-call `deadline` option; every
 * call accepts `signal`. An `https://` endpoint or `tls` options mean TLS; plaintext to a host that
 * is not loopback throws {@link InsecureTransportError} unless `allowInsecure` is set.
 */
export function createSwPatchClient(options: SwPatchClientOptions = {}): SwPatchClient {
  const { channel, endpoint, clients, close, resend } = createServiceClients(options);
  return {
    ...clients,
    get endpoint() {
      return endpoint();
    },
    channel,
    // A fresh request stream per attempt: with a pair, an upload a standby refused is sent again to the active one.
    uploadPatchFile: (path, opts) => resend(() => uploadPatchFile(clients.patches, path, opts), opts?.signal),
    importBasePackageFile: (path, opts) => resend(() => importBasePackageFile(clients.patches, path, opts), opts.signal),
    watchEvents: (opts) => watchEvents(clients.patches, opts),
    watchOperation: (operationId, opts) => watchOperation(clients.hosts, operationId, opts),
    watchStrategy: (opts) => watchStrategy(clients.orchestration, opts),
    close,
  };
}

export {
  DEFAULT_DEADLINE_MS,
  DEFAULT_ENDPOINT,
  DEFAULT_PORT,
  normalizeEndpoint,
  splitEndpoints,
  readPem,
  type PemInput,
  type SwPatchCallOptions,
  type SwPatchClientOptions,
  type SwPatchServiceClients,
  type SwPatchTlsOptions,
} from "./client.js";
export * from "./errors.js";
export { ACTIVE_CONTROLLER_TRAILER, notExecuted } from "./follow.js";
export { InsecureTransportError, endpointParts, isLoopbackHost, type EndpointParts } from "./transport.js";
export * from "./labels.js";
export { UPLOAD_CHUNK_BYTES, uploadPatchFile, type UploadPatchFileOptions, type UploadProgress } from "./upload.js";
export { baseStatement, importBasePackageFile, signBasePackage, type ImportBasePackageFileOptions } from "./base-package.js";
export {
  makeTrustRoot,
  signTrustRoot,
  readTrustRoot,
  parseDuration,
  TRUST_ROOT_PAYLOAD_TYPE,
  TRUST_ROOT_TYPE,
  type TrustRootSpec,
  type TrustRootBody,
} from "./trust-root.js";
export { readInstallReceipt, verifyInstallReceipt, type InstallReceiptPredicate, type ReceiptCheck } from "./install-receipt.js";
export { watchEvents, watchOperation, watchStrategy, type WatchEventsOptions, type WatchOptions, type WatchResumeOptions } from "./watch.js";
export { Status, Metadata, ClientError } from "nice-grpc";

// Generated message types and enums. The helper names every generated file exports
// (DeepPartial, MessageFns, ...) are taken from types.js to keep the re-exports unambiguous.
export * from "./gen/swpatch/v1/types.js";
export * from "./gen/swpatch/v1/patch_service.js";
export * from "./gen/swpatch/v1/host_service.js";
export * from "./gen/swpatch/v1/orchestration_service.js";
export * from "./gen/swpatch/v1/admin_service.js";
export { protobufPackage, protobufFileName, type DeepPartial, type MessageFns } from "./gen/swpatch/v1/types.js";
export type { ServerStreamingMethodResult } from "./gen/swpatch/v1/host_service.js";
