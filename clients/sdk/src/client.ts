import { readFileSync } from "node:fs";
import {
  ChannelCredentials,
  createChannel,
  createClientFactory,
  Metadata,
  type CallOptions,
  type Channel,
  type ChannelOptions,
  type ClientMiddlewareCall,
} from "nice-grpc";
import { deadlineMiddleware, type DeadlineOptions } from "nice-grpc-client-middleware-deadline";
import { PatchServiceDefinition, type PatchServiceClient } from "./gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition, type HostServiceClient } from "./gen/swpatch/v1/host_service.js";
import { OrchestrationServiceDefinition, type OrchestrationServiceClient } from "./gen/swpatch/v1/orchestration_service.js";
import { AdminServiceDefinition, type AdminServiceClient } from "./gen/swpatch/v1/admin_service.js";
import { reasonFromTrailer, toSwPatchError } from "./errors.js";
import { checkPlaintext, endpointParts, hasPemCertificate, hasPemPrivateKey } from "./transport.js";
import { ActiveRouter, followingClient, type FollowTarget } from "./follow.js";

/** Default port of the controller's gRPC API. */
export const DEFAULT_PORT = 5490;
/** Default endpoint: the local controller. */
export const DEFAULT_ENDPOINT = `127.0.0.1:${DEFAULT_PORT}`;
/** Default deadline of unary calls, in milliseconds. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** PEM material: file contents (string or bytes). */
export type PemInput = string | Uint8Array;

/** TLS settings; with `cert` and `key` the client also authenticates itself (mTLS). */
export interface SwPatchTlsOptions {
  /** CA certificate(s) to trust; default: the system roots. */
  ca?: PemInput;
  /** Client certificate chain (mTLS). */
  cert?: PemInput;
  /** Client private key (mTLS). */
  key?: PemInput;
  /** The name the controller's certificate must carry when it is not the host dialled (e.g. dialling by IP). */
  serverName?: string;
}

/** Options of {@link createSwPatchClient}. */
export interface SwPatchClientOptions {
  /**
   * Controller address, `host:port` or `[v6addr]:port`; default `127.0.0.1:5490`. An `https://` or
   * `grpcs://` endpoint means TLS (with the system's CAs unless `tls.ca` is given). A controller pair:
   * both, comma-separated (`"a:5490,b:5490"`): calls follow the active one (follow.ts).
   */
  endpoint?: string;
  /** Bearer token, sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /** Use TLS (omit for plaintext, unless the endpoint is `https://` or `grpcs://`). */
  tls?: SwPatchTlsOptions;
  /**
   * Allow plaintext to a host that is not loopback (tokens travel in cleartext). Without it,
   * creating a client for such an endpoint without TLS throws {@link InsecureTransportError}.
   */
  allowInsecure?: boolean;
  /** Deadline of unary calls in milliseconds (default 30000; 0 = none); a call's own `deadline` wins. */
  defaultDeadlineMs?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
}

/** Per-call options accepted by every SDK method: `signal`, `metadata`, `deadline` (Date or ms). */
export type SwPatchCallOptions = CallOptions & DeadlineOptions;

/** The raw service clients, with typed errors, deadlines and the token applied. */
export interface SwPatchServiceClients {
  readonly patches: PatchServiceClient<DeadlineOptions>;
  readonly hosts: HostServiceClient<DeadlineOptions>;
  readonly orchestration: OrchestrationServiceClient<DeadlineOptions>;
  readonly admin: AdminServiceClient<DeadlineOptions>;
}

/** Normalises an endpoint to the grpc-js target form; accepts `host:port`, `[::1]:port`, `host`, and comma-separated lists of them. */
export function normalizeEndpoint(endpoint: string): string {
  return splitEndpoints(endpoint)
    .map((e) => endpointParts(e, DEFAULT_PORT).target)
    .join(",");
}

/** The endpoints of a comma-separated list (one for a plain endpoint). */
export function splitEndpoints(endpoint: string): string[] {
  const list = endpoint
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  return list.length === 0 ? [endpoint] : list;
}

function pem(input: PemInput | undefined): Buffer | null {
  if (input === undefined) return null;
  return typeof input === "string" ? Buffer.from(input) : Buffer.from(input);
}

/** Reads a PEM file for {@link SwPatchTlsOptions}. */
export function readPem(path: string): Buffer {
  return readFileSync(path);
}

/**
 * Channel credentials for `tls` (checked: PEM certificates, a PEM key, cert and key together).
 * @throws Error naming the option that is wrong.
 */
function tlsCredentials(tls: SwPatchTlsOptions): ChannelCredentials {
  if (tls.ca !== undefined && !hasPemCertificate(tls.ca)) throw new Error("tls.ca: no PEM certificate found");
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new Error("tls.cert and tls.key go together (mutual TLS)");
  if (tls.cert !== undefined && !hasPemCertificate(tls.cert)) throw new Error("tls.cert: no PEM certificate found");
  if (tls.key !== undefined && !hasPemPrivateKey(tls.key)) throw new Error("tls.key: no PEM private key found");
  return ChannelCredentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

/** @internal What createSwPatchClient is built on. */
export interface ServiceClientsHandle {
  /** The (first) endpoint's channel. */
  channel: Channel;
  /** Where calls go now (changes when a pair's clients follow the active controller). */
  endpoint: () => string;
  clients: SwPatchServiceClients;
  /** Closes every channel. */
  close(): void;
  /** Sends a call that builds its own request stream (uploads) again while a pair's standby or a closed port refuses it. */
  resend<R>(send: () => Promise<R>, signal: AbortSignal | undefined): Promise<R>;
}

/** @internal Builds the channel(s) and the four clients; several endpoints follow the active controller. */
export function createServiceClients(options: SwPatchClientOptions): ServiceClientsHandle {
  const list = splitEndpoints(options.endpoint ?? DEFAULT_ENDPOINT);
  if (list.length === 1) {
    const one = createSingleServiceClients({ ...options, endpoint: list[0]! });
    return { channel: one.channel, endpoint: () => one.endpoint, clients: one.clients, close: () => one.channel.close(), resend: (send) => send() };
  }
  type Target = FollowTarget<SwPatchServiceClients> & { channel: Channel };
  const build = (endpoint: string): Target => createSingleServiceClients({ ...options, endpoint });
  const targets = list.map(build);
  const router = new ActiveRouter<SwPatchServiceClients>(targets, (endpoint) => {
    try {
      return build(endpoint);
    } catch {
      return undefined; // an advertised address this client may not use (plaintext to a remote host)
    }
  });
  const clients: SwPatchServiceClients = {
    patches: followingClient(PatchServiceDefinition, router, (c) => c.patches),
    hosts: followingClient(HostServiceDefinition, router, (c) => c.hosts),
    orchestration: followingClient(OrchestrationServiceDefinition, router, (c) => c.orchestration),
    admin: followingClient(AdminServiceDefinition, router, (c) => c.admin),
  };
  return {
    channel: targets[0]!.channel,
    endpoint: () => router.endpoint,
    clients,
    close: () => router.all().forEach((t) => (t as Target).channel.close()),
    resend: (send, signal) => router.resend(send, signal),
  };
}

/** One endpoint's channel and clients. */
function createSingleServiceClients(options: SwPatchClientOptions): { channel: Channel; endpoint: string; clients: SwPatchServiceClients } {
  const parts = endpointParts(options.endpoint ?? DEFAULT_ENDPOINT, DEFAULT_PORT);
  const endpoint = parts.target;
  const tls = options.tls ?? (parts.tlsScheme ? {} : undefined);
  checkPlaintext(parts, tls !== undefined, options.allowInsecure === true);
  const credentials = tls ? tlsCredentials(tls) : ChannelCredentials.createInsecure();
  const channelOptions: ChannelOptions = { ...options.channelOptions };
  if (tls?.serverName) {
    channelOptions["grpc.ssl_target_name_override"] = tls.serverName;
    channelOptions["grpc.default_authority"] = tls.serverName;
  }
  const channel = createChannel(endpoint, credentials, channelOptions);
  const defaultDeadlineMs = options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS;
  const token = options.token;

  // Outermost: turn ClientError into typed errors (for every call type, streams included),
  // picking the class by the reason trailer the controller sends with every error status.
  async function* errors<Req, Res>(call: ClientMiddlewareCall<Req, Res>, callOptions: CallOptions) {
    let reason: string | undefined;
    const onTrailer = callOptions.onTrailer;
    const options: CallOptions = {
      ...callOptions,
      onTrailer(trailer) {
        reason = reasonFromTrailer(trailer);
        onTrailer?.(trailer);
      },
    };
    try {
      return yield* call.next(call.request, options);
    } catch (e) {
      throw toSwPatchError(e, endpoint, reason);
    }
  }
  // Adds the bearer token (without dropping metadata the caller passed).
  async function* auth<Req, Res>(call: ClientMiddlewareCall<Req, Res>, callOptions: CallOptions) {
    if (!token) return yield* call.next(call.request, callOptions);
    const metadata = Metadata(callOptions.metadata);
    if (!metadata.has("authorization")) metadata.set("authorization", `Bearer ${token}`);
    return yield* call.next(call.request, { ...callOptions, metadata });
  }
  // Gives unary calls a default deadline; streams are bounded by their signal instead.
  async function* defaultDeadline<Req, Res>(call: ClientMiddlewareCall<Req, Res, DeadlineOptions>, callOptions: CallOptions & Partial<DeadlineOptions>) {
    const unary = !call.requestStream && !call.responseStream;
    if (unary && callOptions.deadline === undefined && defaultDeadlineMs > 0) {
      return yield* call.next(call.request, { ...callOptions, deadline: defaultDeadlineMs });
    }
    return yield* call.next(call.request, callOptions);
  }

  // The last middleware added is the outermost one.
  const factory = createClientFactory().use(deadlineMiddleware).use(defaultDeadline).use(auth).use(errors);
  const clients: SwPatchServiceClients = {
    patches: factory.create(PatchServiceDefinition, channel),
    hosts: factory.create(HostServiceDefinition, channel),
    orchestration: factory.create(OrchestrationServiceDefinition, channel),
    admin: factory.create(AdminServiceDefinition, channel),
  };
  return { channel, endpoint, clients };
}
