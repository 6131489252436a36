/**
 * The agent's controller connection: one long-lived AgentService.Connect stream per host, re-dialled
 * with exponential backoff (100 ms doubling to a 5 s cap, equal jitter) whenever it ends or fails.
 *
 * Per stream: the agent sends AgentHello first, the controller answers HelloAck, then commands
 * (InstallCommand, RebootCommand, LockStateCommand, InstanceActionCommand) flow down and progress,
 * results and reports flow up. A RebootCommand closes the stream (the host goes offline), performs
 * the reboot (HostAgent.reboot) and re-dials at once with a fresh hello; the RebootResult follows
 * the next HelloAck.
 *
 * INVARIANTS
 * - At most one stream per host is open at a time; the HostAgent's sink is attached only while
 *   it is.
 * - Commands of one stream are handled in arrival order (each handler is awaited; installs run in
 *   the background and do not block later commands).
 */
import { constants, promises as fsp } from "node:fs";
import { ClientError, Metadata, Status, type Client } from "nice-grpc";
import {
  AgentServiceDefinition,
  type AgentHello,
  type ConnectRequest,
  type ConnectResponse,
  type HelloAck,
  type InstallCommand,
  type InstanceActionCommand,
} from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import type { Logger } from "../lib/log.js";
import type { FetchPackageFn } from "./installer.js";

export type AgentServiceClient = Client<typeof AgentServiceDefinition>;

/**
 * What a connection drives: a real host (HostAgent, rpm root) or a simulated one (sim-host.ts,
 * packages in memory).
 */
export interface ConnectedHost {
  readonly hostname: string;
  /** Package source; set by the connection (FetchPackage into a file) unless `useClient` is given. */
  fetch?: FetchPackageFn | undefined;
  /** A host that fetches by itself: receives the client and token its FetchPackage calls use. */
  useClient?(client: AgentServiceClient, token: string | undefined): void;
  buildHello(): Promise<AgentHello>;
  /** Attach the stream's sink (undefined detaches); `drop` ends the stream (the connection re-dials). */
  attach(sink: ((msg: ConnectRequest) => void) | undefined, drop?: () => void): void;
  onHelloAck(ack: HelloAck): Promise<void>;
  handleInstall(cmd: InstallCommand): Promise<void>;
  setLocked(locked: boolean): Promise<void>;
  reportNow(): Promise<void>;
  handleInstanceAction(cmd: InstanceActionCommand): Promise<void>;
  canReboot(): boolean;
  reboot(requestId: string, signal?: AbortSignal): Promise<void>;
  /** FLOOR (issue 21): where signed install receipts wait to be sent (rpm hosts; the in-memory simulator has none). */
  readonly receipts?: { submit?: ((envelope: string) => Promise<void>) | undefined };
}

export interface BackoffOptions {
  /** First delay, ms. Default 100. */
  initialMs?: number;
  /** Cap, ms. Default 5000. */
  maxMs?: number;
}

/**
 * The controller(s) an agent talks to: one, or a pair (`--controller a,b`) whose active one it follows. A
 * standby ends the stream UNAVAILABLE naming the active controller in the `swpatch-active` trailer (`ID@HOST:PORT`).
 */
export interface ControllerChoice {
  /** The client calls go to now. */
  current(): AgentServiceClient;
  /** A stream on `client` failed: go to the named active controller (when given and known), else the next one. */
  failed(client: AgentServiceClient, active: string | undefined): void;
}

/** A {@link ControllerChoice} over `targets` (each a `host:port` and its client), starting at the first. */
export function createControllerChoice(targets: Array<{ target: string; client: AgentServiceClient }>): ControllerChoice {
  let current = 0;
  return {
    current: () => targets[current]!.client,
    failed(client, active) {
      if (targets[current]!.client !== client) return;
      const address = active?.slice(active.indexOf("@") + 1);
      const named = address ? targets.findIndex((t) => t.target === address) : -1;
      current = named >= 0 && named !== current ? named : (current + 1) % targets.length;
    },
  };
}

export interface ConnectionOptions {
  client: AgentServiceClient;
  /** With a controller pair: which one to dial (overrides `client`). */
  choice?: ControllerChoice;
  host: ConnectedHost;
  logger: Logger;
  /** Bearer token sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  backoff?: BackoffOptions;
  /** Aborting it closes the stream and ends `runConnection`. */
  signal: AbortSignal;
  /**
   * Aborting it ends the stream gracefully and then `runConnection`: what the agent has queued is
   * still sent, the request stream is half-closed, and the controller (which handles an agent's
   * messages in order) ends the call after the last one. Cut after {@link FINISH_GRACE_MS}.
   */
  finish?: AbortSignal;
  /** Turns a failed connection's error text into a reason for the log (e.g. a TLS failure), or undefined. */
  describeError?: (message: string) => string | undefined;
  /** Observability hook for tests: called on every connection lifecycle step. */
  onEvent?: (e: ConnectionEvent) => void;
}

export type ConnectionEvent =
  | { type: "connecting"; attempt: number }
  | { type: "connected" }
  | { type: "disconnected"; error?: string }
  | { type: "rebooting"; requestId: string }
  | { type: "backoff"; delayMs: number };

/** How long a graceful finish waits for the controller to end the call before cutting it. */
export const FINISH_GRACE_MS = 5000;

/** A push-driven async iterable used as the request stream. */
class Outbox implements AsyncIterable<ConnectRequest> {
  private items: ConnectRequest[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  push(m: ConnectRequest): void {
    if (this.ended) return;
    this.items.push(m);
    this.waiter?.();
  }
  end(): void {
    this.ended = true;
    this.waiter?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<ConnectRequest> {
    for (;;) {
      while (this.items.length) yield this.items.shift()!;
      if (this.ended) return;
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }
}

/** Exponential backoff with equal jitter: attempt n waits between d/2 and d, d = min(cap, initial*2^n). */
export function backoffDelayMs(attempt: number, o: BackoffOptions = {}, random = Math.random): number {
  const initial = o.initialMs ?? 100;
  const cap = o.maxMs ?? 5000;
  const d = Math.min(cap, initial * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + random() * (d / 2));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function metadataFor(token?: string): Metadata {
  const md = new Metadata();
  if (token) md.set("authorization", `Bearer ${token}`);
  return md;
}

/** A FetchPackageFn over AgentService.FetchPackage: streams the chunks into `ctx.destPath`. */
export function createGrpcFetch(client: AgentServiceClient, token?: string): FetchPackageFn {
  return async (pkg, ctx) => {
    // Never through a symlink (the installer gives a path in a fresh directory inside the root).
    const fh = await fsp.open(ctx.destPath, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    let n = 0;
    try {
      for await (const r of client.fetchPackage({ sha256: pkg.sha256 }, { signal: ctx.signal, metadata: metadataFor(token) })) {
        await fh.write(r.chunk);
        n += r.chunk.length;
        ctx.onBytes(n);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    return ctx.destPath;
  };
}

/** What a FetchPackage call is given (abort signal, credential). */
type FetchCallOptions = { signal?: AbortSignal; metadata?: Metadata } | undefined;

/** Retries of one package fetch refused before its first byte (a swact or takeover in progress): about a minute. */
const FETCH_FOLLOW_ATTEMPTS = 20;

/**
 * FetchPackage on a pair: from the controller active now; a refusal before the first byte (a standby's answer, the
 * port closed: the call cannot have run) goes to the active controller it names, or the next one, after a backoff,
 * so an install that downloads across a swact goes on. A failure after bytes arrived is the caller's (its file is
 * partly written).
 */
async function* fetchFollowingActive(choice: ControllerChoice, req: { sha256: string }, opts: FetchCallOptions): AsyncGenerator<{ chunk: Uint8Array }> {
  for (let attempt = 0; ; attempt++) {
    const client = choice.current();
    let active: string | undefined;
    let received = false;
    try {
      const stream = client.fetchPackage(req, { ...opts, onTrailer: (t: Metadata) => (active = t.get("swpatch-active") || undefined) });
      for await (const r of stream) {
        received = true;
        yield r;
      }
      return;
    } catch (e) {
      const refused = e instanceof ClientError && e.code === Status.UNAVAILABLE;
      if (received || !refused || opts?.signal?.aborted || attempt + 1 >= FETCH_FOLLOW_ATTEMPTS) throw e;
      choice.failed(client, active);
      if (active && attempt === 0) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoffDelayMs(attempt));
        opts?.signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  }
}

/** True for the controller's answer to a revoked credential (at connect, or ending a live stream). */
export function isCredentialRevoked(e: unknown): boolean {
  return e instanceof ClientError && e.code === Status.UNAUTHENTICATED && e.details === "token revoked";
}

/** How {@link runConnection} ended. */
export interface ConnectionOutcome {
  /** The controller refused the credential as revoked (host-revoke, token-revoke): not retried. */
  revoked: boolean;
}

/**
 * Keep `host` connected until `signal` aborts. Never rejects for connection errors (they are
 * logged and retried); resolves once the signal aborted and the stream closed, or at once when
 * the controller says the credential is revoked (retrying with it cannot succeed).
 */
export async function runConnection(o: ConnectionOptions): Promise<ConnectionOutcome> {
  const { host, signal } = o;
  const log = o.logger.child({ hostname: host.hostname });
  const choice = o.choice;
  // With a pair, packages come from whichever controller is active at the time of the fetch.
  const fetchClient = choice
    ? ({ fetchPackage: (req: { sha256: string }, opts: FetchCallOptions) => fetchFollowingActive(choice, req, opts) } as unknown as AgentServiceClient)
    : o.client;
  if (host.useClient) host.useClient(fetchClient, o.token);
  else if (!host.fetch) host.fetch = createGrpcFetch(fetchClient, o.token);
  // FLOOR (issue 21): signed install receipts go to the active controller with the host's credential (rpm hosts).
  if (host.receipts) {
    host.receipts.submit ??= async (envelope) => {
      await (choice ? choice.current() : o.client).installReceiptSubmit({ envelope }, { signal, metadata: metadataFor(o.token) });
    };
  }
  let attempt = 0;
  const finishing = () => o.finish?.aborted === true;
  while (!signal.aborted && !finishing()) {
    o.onEvent?.({ type: "connecting", attempt });
    const outbox = new Outbox();
    const streamAc = new AbortController();
    const onAbort = () => streamAc.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let grace: NodeJS.Timeout | undefined;
    const onFinish = () => {
      outbox.end();
      grace = setTimeout(() => streamAc.abort(), FINISH_GRACE_MS);
    };
    o.finish?.addEventListener("abort", onFinish, { once: true });
    let reboot: string | undefined;
    let error: string | undefined;
    let revoked = false;
    const client = choice ? choice.current() : o.client;
    let active: string | undefined;
    try {
      outbox.push({ message: { $case: "hello", value: await host.buildHello() } });
      const responses = client.connect(outbox, {
        signal: streamAc.signal,
        metadata: metadataFor(o.token),
        onTrailer: (t) => (active = t.get("swpatch-active") || undefined),
      });
      for await (const resp of responses) {
        const r = await handle(resp, outbox, () => streamAc.abort());
        if (r) {
          reboot = r;
          break;
        }
      }
    } catch (e) {
      if (!signal.aborted && !finishing()) error = e instanceof Error ? e.message : String(e);
      if (!signal.aborted && isCredentialRevoked(e)) revoked = true;
      if (!signal.aborted && e instanceof ClientError && e.code === Status.UNAVAILABLE) choice?.failed(client, active);
    } finally {
      host.attach(undefined);
      outbox.end();
      streamAc.abort();
      clearTimeout(grace);
      signal.removeEventListener("abort", onAbort);
      o.finish?.removeEventListener("abort", onFinish);
    }
    o.onEvent?.({ type: "disconnected", ...(error !== undefined ? { error } : {}) });
    if (revoked) {
      log.error("the controller revoked this host's credential: not reconnecting (enrol the host again to restore it)");
      return { revoked: true };
    }
    if (signal.aborted || finishing()) break;
    if (reboot !== undefined) {
      o.onEvent?.({ type: "rebooting", requestId: reboot });
      await host.reboot(reboot, signal);
      attempt = 0;
      continue;
    }
    const delayMs = backoffDelayMs(attempt++, o.backoff);
    const reason = error === undefined ? undefined : o.describeError?.(error);
    if (reason) log.warn(`cannot connect to the controller: ${reason}; retrying`, { error, delayMs });
    else log.info("controller stream closed; reconnecting", { error, delayMs });
    o.onEvent?.({ type: "backoff", delayMs });
    await sleep(delayMs, signal);
  }
  return { revoked: false };

  /** Handle one controller message; returns a reboot request id when the stream must close. */
  async function handle(resp: ConnectResponse, outbox: Outbox, drop: () => void): Promise<string | undefined> {
    const m = resp.message;
    switch (m?.$case) {
      case "helloAck":
        attempt = 0;
        host.attach((msg) => outbox.push(msg), drop);
        await host.onHelloAck(m.value);
        o.onEvent?.({ type: "connected" });
        log.info("connected to controller", { controllerRelease: m.value.controllerRelease, locked: m.value.locked });
        return undefined;
      case "install":
        await host.handleInstall(m.value);
        return undefined;
      case "lockState":
        await host.setLocked(m.value.locked);
        return undefined;
      case "reportRequest":
        await host.reportNow();
        return undefined;
      case "instanceAction":
        await host.handleInstanceAction(m.value);
        return undefined;
      case "reboot":
        if (!host.canReboot()) {
          outbox.push({ message: { $case: "rebootResult", value: { requestId: m.value.requestId, success: false, reason: "Install in progress" } } });
          return undefined;
        }
        return m.value.requestId;
      default:
        log.warn("ignoring unknown controller message");
        return undefined;
    }
  }
}
