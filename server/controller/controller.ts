import * as path from "node:path";
import { promises as fsp } from "node:fs";
import { logVerbosity, setLogVerbosity } from "@grpc/grpc-js";
import { createServer } from "nice-grpc";
import { withHttp2Window } from "../transport/http2-tuning.js";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { ServerReflection, ServerReflectionService } from "nice-grpc-server-reflection";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { AgentServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { OrchestrationServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { AdminServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import type { ControllerConfig } from "../config/controller-config.js";
import { dbStats } from "../storage/sqlite/db.js";
import type { Store } from "../domain/store.js";
import { openStore, type StoreStats } from "./open-store.js";
import type { Fence } from "../storage/postgres/pg-db.js";
import { assertEpoch } from "../storage/postgres/lease.js";
import { createShellCheckRunner } from "../lib/shell-check-runner.js";
import { EventLog } from "../domain/events/event-log.js";
import { PatchManager } from "../domain/patches/patch-manager.js";
import { UploadBudget, type TrustStore } from "../domain/patchfile/index.js";
import { publicPrivateKeyLabels, startupTrust } from "./default-trust.js";
import { TrustRootManager } from "../domain/auth/trust-root-manager.js";
import type { LocalSigningKey } from "./local-signing-key.js";
import { createLogger, type Logger } from "../lib/log.js";
import { AuthManager, AuditLog, TrustManager } from "../domain/auth/index.js";
import { CredentialRevocations, HostEnrollment } from "../domain/auth/index.js";
import { createAuthMiddleware } from "../transport/auth-middleware.js";
import { createAdminService } from "../transport/admin-service.js";
import { checkListenPolicy, readTlsPem, serverCredentialsFromPem } from "../transport/tls.js";
import { Orchestrator } from "../domain/orchestration/orchestrator.js";
import { createClusterAdapter } from "../domain/orchestration/cluster-adapter.js";
import { createStoreStrategyPersistence } from "../storage/sqlite/strategy-store.js";
import { createOrchestrationService } from "../transport/orchestration-service.js";
import { createVimRestServer, type VimRestServer } from "../transport/vim-rest.js";
import { ConnectionPool } from "../transport/http/limits.js";
import { checkHttpListenPolicy } from "../transport/http/listen-policy.js";
import type { ExternalTokenVerifier } from "../domain/auth/external-token.js";
import { createEarlyAuthInterceptor } from "../transport/early-auth.js";
import { createPatchApiServer } from "../transport/rest/patch-api.js";
import { createWebConsoleServer, type WebConsoleServer } from "../transport/web/web-console.js";
import { errorMiddleware } from "../transport/errors.js";
import { StreamTracker } from "../transport/stream-tracker.js";
import { withSharedEncoding } from "../transport/shared-encoding.js";
import { withSafeDecoding } from "../transport/safe-decode.js";
import { createPatchService } from "../transport/patch-service.js";
import { createHostService } from "../transport/host-service.js";
import { createAgentService } from "../transport/agent-service.js";
import { InstallReceipts } from "../domain/hosts/install-receipts.js";
import { HostManager } from "../domain/hosts/host-manager.js";
import { descriptorSetBase64 } from "../transport/generated/descriptor-set.js";
import { createKeystoneVerifier } from "../transport/keystone/create-keystone-verifier.js";
import { standbyError, standbyGate, type PairView } from "../transport/standby-gate.js";
import { activeTerm, startPair, startPairOnStore, startingStatus, type ControllerPair, type PairOnStore } from "./pair.js";
import { DomainTerms } from "./domain-terms.js";
import { startAuditChain } from "./audit-upkeep.js";

/** A running controller: its bound address and a graceful `close()`. */
export interface Controller {
  readonly address: string;
  /** File holding the admin token written at first start. */
  readonly adminTokenFile: string;
  /** The local signing key, trusted as `local` (undefined with `--no-default-trust`). */
  readonly localSigningKey: LocalSigningKey | undefined;
  /** Labels of trusted keys whose private half is public (the StarlingX dev certificate). */
  readonly publicKeyPairLabels: readonly string[];
  readonly port: number;
  readonly patches: PatchManager;
  readonly hosts: HostManager;
  readonly orchestrator: Orchestrator;
  /** Address of the VIM REST API, when --vim-listen was given. */
  readonly vimAddress: string | undefined;
  /** Address of the reference patching REST API, when --patch-api-listen was given. */
  readonly patchApiAddress: string | undefined;
  /** Address of the web console, when --web-listen was given. */
  readonly webAddress: string | undefined;
  readonly events: EventLog;
  /** The store (`--store`: sqlite or PostgreSQL). */
  readonly store: Store;
  /** The store's transaction and commit counts (diagnostics). */
  readonly storeStats: StoreStats;
  readonly log: Logger;
  /** The controller pair (--controller-id); undefined for a single controller. */
  readonly pair: ControllerPair | undefined;
  close(): Promise<void>;
}

type Lifecycle = "starting" | "running" | "stopping" | "stopped";

/** How long a graceful gRPC shutdown may take before the remaining connections are cut. */
const GRACEFUL_SHUTDOWN_MS = 2000;

/** grpc-js tryShutdown, bounded: after GRACEFUL_SHUTDOWN_MS the remaining sessions are destroyed. */
async function shutdownGrpc(server: { shutdown(): Promise<void>; forceShutdown(): void }, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const graceful = server.shutdown().then(() => true);
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), GRACEFUL_SHUTDOWN_MS)));
  const clean = await Promise.race([graceful, expired]);
  clearTimeout(timer);
  if (!clean) {
    log.warn("graceful gRPC shutdown timed out; closing the remaining connections", { ms: GRACEFUL_SHUTDOWN_MS });
    server.forceShutdown();
    void graceful.catch(() => undefined);
  }
}

/** A listener could not bind: the flag that set its address, the address, and why in words. */
export class ListenError extends Error {
  constructor(
    readonly flag: string,
    readonly address: string,
    cause: unknown,
  ) {
    const text = String((cause as Error)?.message ?? cause);
    const code = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(`${(cause as NodeJS.ErrnoException)?.code ?? ""} ${text}`)?.[1];
    const why =
      code === "EADDRINUSE"
        ? "address already in use (another process listens there: stop it or choose another port)"
        : code === "EACCES"
          ? "permission denied (ports below 1024 need root)"
          : code === "EADDRNOTAVAIL"
            ? "address not available on this machine"
            : text;
    super(`${flag} ${address}: ${why}`, { cause });
    this.name = "ListenError";
  }
}

/** Runs a listener's `listen`, turning a bind failure into a {@link ListenError} naming `flag`. */
async function binding<T>(flag: string, address: string, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (e) {
    throw new ListenError(flag, address, e);
  }
}

/** Binds an HTTP listener set by `flag` to `at`; its bound `host:port` (IPv6 in brackets). */
async function listenHttp(
  flag: string,
  server: { listen(host: string, port: number): Promise<{ address: string; port: number }> },
  at: { host: string; port: number },
): Promise<string> {
  const a = await binding(flag, `${at.host}:${at.port}`, () => server.listen(at.host, at.port));
  return `${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`;
}

/** Builds and starts a controller: config -> db + migrations -> domain -> transport -> listen. */
export async function createController(config: ControllerConfig, opts: { log?: Logger; storeFence?: Fence } = {}): Promise<Controller> {
  let state: Lifecycle = "starting";
  const log = opts.log ?? createLogger({ level: config.logLevel, bindings: { proc: "controller" } });
  await fsp.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const started = await startupTrust({ dataDir: config.dataDir, explicit: config.trust, defaults: config.defaultTrust });
  const configuredTrust: TrustStore = started.store;
  if (started.localKey?.created) log.info("local signing key generated", { key: started.localKey.keyFile, certificate: started.localKey.certFile });
  // ---- the controller pair on the PostgreSQL store (issue 19): the lease is in the store's database and fences
  // every write of the store and of its blobs; the domain loads (and writes its start-up rows) once active ----
  const shared = config.pair?.leaseInStore === true;
  let pair: ControllerPair | undefined;
  let pairOnStore: PairOnStore | undefined;
  const storeFence: Fence | undefined = shared ? (client) => assertEpoch(client, activeTerm(pair, config.pair!.controllerId)) : opts.storeFence;
  // ---- end controller pair ----
  const opened = await openStore(config, storeFence ? { fence: storeFence } : {});
  if (opened.kind === "postgres") log.info("store: PostgreSQL", { database: opened.where });
  const authStore = opened.auth;
  // Enrolment (ENROL): revocations reach open agent streams; enrolments share the auth store.
  const revocations = new CredentialRevocations();
  const auth = new AuthManager({ store: authStore, revocations });
  const enrollment = new HostEnrollment({ store: authStore, revocations });
  const receipts = new InstallReceipts({ store: opened.receipts }); // FLOOR (issue 21)
  const audit = new AuditLog(authStore, undefined, { perWindow: config.limits.auditRefusalsPerMinute, windowMs: 60_000 });
  // Retention and refusal summaries run with the term (DomainTerms); the checkpoint signer runs always (a standby's
  // checkpoints are refused by the fence and logged at debug).
  const { auditCheckpointRows: everyRows, auditCheckpointSeconds: everySeconds } = config.limits;
  const auditChain = await startAuditChain({ dataDir: config.dataDir, store: authStore, audit, everyRows, everySeconds, log });
  const trust = new TrustManager({ store: authStore, configured: configuredTrust });
  await trust.init();
  // Root of trust (issue 21): with a root installed, uploads need a threshold of patch-signer signatures.
  const trustRoot = new TrustRootManager(opened.trustRoots);
  for (const label of publicPrivateKeyLabels(trust.list())) {
    log.warn("trusting the StarlingX dev certificate, whose private key is public: anyone can sign patches and base packages this controller accepts", {
      label,
    });
  }
  const adminTokenFile = path.join(config.dataDir, "admin.token");
  const ensureAdmin = async () => {
    const newAdmin = await auth.ensureAdminTokenFile(adminTokenFile);
    if (newAdmin) log.info("admin token written", { file: adminTokenFile, tokenId: newAdmin });
  };
  if (!shared) await ensureAdmin();
  const store = opened.store;
  const events = new EventLog(store.read, {
    maxBuffered: config.watchBuffer,
    retention: { store, rule: config.eventRetention, onError: (e) => log.warn("event retention: prune failed", { error: (e as Error)?.message }) },
  });
  const blobs = opened.blobs;
  const tmpDir = path.join(config.dataDir, "tmp");
  // Uploads in flight and their temp disk, for every upload path (BOUNDS).
  const uploadBudget = new UploadBudget(config.uploads.maxConcurrent, config.uploads.maxTmpBytes);
  const patches = new PatchManager({
    store,
    blobs,
    events,
    log,
    tmpDir,
    runningRelease: config.release,
    trust: () => trust.current(),
    patchSigners: () => trustRoot.uploadPolicy(),
    limits: { maxPatchBytes: config.maxPatchBytes, maxUnpackedBytes: config.uploads.maxUnpackedBytes, maxInflateRatio: config.uploads.maxInflateRatio },
    uploadBudget,
    checks: createShellCheckRunner(),
  });
  // ---- the controller pair (issue 19): host-show names the controller holding the lease now ----
  const liveActive = config.pair ? () => pair?.view.status().active?.controllerId : undefined;
  // ---- end controller pair ----
  const hosts = new HostManager({ store, events, patches, log, controllerRelease: config.release, ...(liveActive ? { activeController: liveActive } : {}) });
  const orchestrator = new Orchestrator({
    port: createClusterAdapter({ hosts, patches, log }),
    persistence: createStoreStrategyPersistence({ store, events }),
    log: log.child({ component: "orchestration" }),
    timeScale: config.timeScale,
    watchBuffer: config.watchBuffer,
  });
  const terms = new DomainTerms({
    events,
    patches,
    hosts,
    orchestrator,
    trust,
    trustRoot,
    audit,
    log,
    release: config.release,
    baseFeed: config.baseFeed,
    auditRetentionDays: config.limits.auditRetentionDays,
    dropStoreCaches: () => authStore.forgetCachedTokens(),
  });
  // A pair member on the PostgreSQL store activates each time it becomes active (a standby writes nothing).
  if (!shared) await terms.activate();

  const health = HealthState();
  // ---- the controller pair (issue 19): the gate answers as standby until the lease is ours ----
  // On the PostgreSQL store the gate stays shut until the domain has loaded on this (active) controller.
  let domainReady = !shared;
  const pairView: PairView | undefined = config.pair
    ? {
        status: () => pair?.view.status() ?? startingStatus(config.pair!),
        term: () => (domainReady ? pair?.view.term() : undefined),
        swact: () => pair!.view.swact(),
      }
    : undefined;
  if (pairView) health.setStatus("unhealthy");
  // ---- end controller pair ----
  const streams = new StreamTracker({ maxWatchStreams: config.maxWatchStreams, maxWatchStreamsPerCaller: config.maxWatchStreamsPerCaller });
  const grpcServer = createServer({
    "grpc.max_receive_message_length": 8 * 1024 * 1024,
    // A burst of streams on one connection waits in its client instead of in this process's memory.
    "grpc.max_concurrent_streams": config.limits.grpcMaxConcurrentStreams,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_permit_without_calls": 1,
    // Channelz is not served; its per-call bookkeeping is pure cost.
    "grpc.enable_channelz": 0,
    // Unary calls without a valid token end before their message is read (BOUNDS, issue 16.12).
    interceptors: [createEarlyAuthInterceptor({ auth, audit, log })],
  }).use(errorMiddleware(log));
  // A single controller has no gate at all (no extra layer per call).
  const server = (pairView ? grpcServer.use(standbyGate(pairView)) : grpcServer).use(createAuthMiddleware({ auth, audit, log })).use(streams.middleware());
  server.add(
    withSafeDecoding(withSharedEncoding(PatchServiceDefinition)),
    createPatchService({
      patches,
      events,
      maxPatchBytes: config.maxPatchBytes,
      tmpDir,
      trustLabels: () => trust.current().keys.map((k) => k.label),
      hostCount: () => hosts.count(),
      uploadBudget,
      pair: pairView?.status,
    }),
  );
  server.add(withSafeDecoding(AdminServiceDefinition), createAdminService({ auth, trust, audit, auditChain, trustRoot }));
  server.add(withSafeDecoding(withSharedEncoding(OrchestrationServiceDefinition)), createOrchestrationService({ orchestrator }));
  server.add(withSafeDecoding(withSharedEncoding(HostServiceDefinition)), createHostService({ hosts, enrollment, receipts }));
  server.add(withSafeDecoding(AgentServiceDefinition), createAgentService({ hosts, patches, log, enrollment, revocations, receipts }));
  server.add(HealthDefinition, HealthServiceImpl(health));
  const serviceNames = [
    PatchServiceDefinition.fullName,
    HostServiceDefinition.fullName,
    AgentServiceDefinition.fullName,
    OrchestrationServiceDefinition.fullName,
    AdminServiceDefinition.fullName,
    "grpc.health.v1.Health",
  ];
  server.add(ServerReflectionService, ServerReflection(Buffer.from(descriptorSetBase64, "base64"), serviceNames));
  const host = config.listenHost.includes(":") ? `[${config.listenHost}]` : config.listenHost;
  const warning = checkListenPolicy(config.listenHost, !!config.tls, config.insecureListenAny);
  if (warning) log.warn("plaintext listener on a non-loopback address", { detail: warning });
  // The --tls-* files, read once: the gRPC listener and the HTTP listeners are built from the same PEM.
  const tlsPem = config.tls ? readTlsPem(config.tls) : undefined;
  const listen = () => server.listen(`${host}:${config.listenPort}`, tlsPem ? serverCredentialsFromPem(tlsPem) : undefined);
  // grpc-js logs its own line for a failed bind; the ListenError says it once, naming the flag.
  const quiet = process.env.GRPC_VERBOSITY === undefined;
  if (quiet) setLogVerbosity(logVerbosity.NONE);
  const port = await binding("--listen", `${host}:${config.listenPort}`, () =>
    config.http2Window === undefined ? listen() : withHttp2Window(config.http2Window, listen),
  ).finally(() => {
    if (quiet) setLogVerbosity(logVerbosity.ERROR);
  });
  const address = `${host}:${port}`;
  if (config.pair && !shared) pair = await startPair(config.pair, address, log, (s) => health.setStatus(s.role === "active" ? "healthy" : "unhealthy"));
  if (shared) {
    const load = async () => {
      await ensureAdmin();
      await terms.activate();
      log.info("domain loaded from the store", { controllerId: config.pair!.controllerId, patches: patches.all().length, hosts: hosts.count() });
    };
    const unload = async () => {
      await terms.deactivate();
      log.info("domain dropped: standby", { controllerId: config.pair!.controllerId });
    };
    pair = pairOnStore = await startPairOnStore(
      config.pair!,
      config.store,
      address,
      log,
      load,
      unload,
      (ready) => (domainReady = ready),
      (h) => health.setStatus(h ? "healthy" : "unhealthy"),
      // A swact commits the writes riding the next commit while the term still fences them.
      async () => void (domainReady && (await hosts.flush())),
    );
  }
  // Every HTTP listener: the configured timeouts, its own connection cap and one shared total.
  const httpLimits = { ...config.httpLimits, pool: new ConnectionPool(config.httpLimits.maxConnectionsTotal) };
  // The HTTP front door (FRONTDOOR): TLS from the --tls-* files; tokens that are not ours go to the
  // external verifier (Keystone with --keystone-url).
  const httpTls = tlsPem;
  // Keystone v3 tokens on the HTTP APIs (--keystone-url); gRPC takes our own tokens only.
  const keystone = config.keystone ? await createKeystoneVerifier(config.keystone, log.child({ component: "keystone" })) : undefined;
  const externalTokens: ExternalTokenVerifier | undefined = keystone;
  // A pair's standby answers its HTTP APIs 503 naming the active controller, as its gRPC does (standby-gate.ts).
  const standby = pairView ? () => (pairView.term() ? undefined : standbyError(pairView.status()).details) : undefined;
  const front = { auth, audit, externalTokens, tls: httpTls, limits: httpLimits, ...(standby ? { standby } : {}) };
  for (const [flag, at] of [
    ["--vim-listen", config.vimListen],
    ["--patch-api-listen", config.patchApi],
    ["--web-listen", config.web],
  ] as const) {
    const w = at && checkHttpListenPolicy(flag, at.host, !!httpTls, config.insecureListenAny);
    if (w) log.warn("plain HTTP on a non-loopback address", { detail: w });
  }
  let vim: VimRestServer | undefined;
  if (config.vimListen) {
    const vh = config.vimListen.host.includes(":") ? `[${config.vimListen.host}]` : config.vimListen.host;
    const vimAt = `${vh}:${config.vimListen.port}`;
    vim = await binding("--vim-listen", vimAt, () =>
      createVimRestServer({ ...front, orchestrator, listen: vimAt, log: log.child({ api: "vim" }), localTrust: config.vimLocalTrust }),
    );
  }
  let patchApi: ReturnType<typeof createPatchApiServer> | undefined;
  let patchApiAddress: string | undefined;
  if (config.patchApi) {
    patchApi = createPatchApiServer({
      ...front,
      patches,
      hosts,
      log: log.child({ api: "patch-rest" }),
      localTrust: config.patchApi.localTrust,
      maxUploadBytes: config.maxPatchBytes + 1024 * 1024,
    });
    patchApiAddress = await listenHttp("--patch-api-listen", patchApi, config.patchApi);
  }
  let web: WebConsoleServer | undefined;
  let webAddress: string | undefined;
  if (config.web) {
    web = createWebConsoleServer({
      ...front,
      patches,
      hosts,
      orchestrator,
      events,
      log: log.child({ api: "web-console" }),
      staticDir: config.web.staticDir,
      maxUploadBytes: config.maxPatchBytes + 1024 * 1024,
      sessionLimits: { maxSessions: config.limits.consoleMaxSessions, maxPerToken: config.limits.consoleMaxSessionsPerToken },
    });
    webAddress = await listenHttp("--web-listen", web, config.web);
  }
  state = "running";
  log.info("listening", { address, tls: !!config.tls, mtls: !!config.tls?.clientCaFile });

  return {
    address,
    adminTokenFile,
    localSigningKey: started.localKey,
    publicKeyPairLabels: publicPrivateKeyLabels(trust.list()),
    port,
    patches,
    hosts,
    orchestrator,
    vimAddress: vim?.address,
    patchApiAddress,
    webAddress,
    events,
    store,
    storeStats: opened.stats,
    log,
    pair,
    async close() {
      if (state !== "running") return;
      state = "stopping";
      health.setStatus("unhealthy");
      // On the PostgreSQL store the active commits its riding writes while its term still fences them.
      if (shared && domainReady && pair?.view.term())
        await hosts.flush().catch((e: unknown) => log.warn("writes not flushed before stepping down", { error: (e as Error).message }));
      // A pair member steps down first, releasing the lease: its peer takes over at its next poll.
      await pair?.close();
      // The domain is dropped for the term that ended (timers, runners) before the parts close.
      await pairOnStore?.settled();
      // Open streams (watchers, agent links) end first with UNAVAILABLE "controller is shutting
      // down": grpc-js tryShutdown would otherwise wait for their clients to go away.
      const aborted = streams.abortAll();
      if (aborted) log.info("streams ended for shutdown", { streams: aborted });
      terms.stop();
      auditChain.stop();
      await web?.close();
      await patchApi?.close();
      await vim?.close();
      keystone?.close();
      await orchestrator.close();
      if (shared)
        await hosts.flush().catch(() => undefined); // fenced once stepped down: flushed above
      else await hosts.flush();
      hosts.close();
      await shutdownGrpc(server, log);
      await audit.flushWindows(true).catch((e: unknown) => log.warn("audit summary not written", { error: (e as Error).message }));
      await events.close();
      log.info("database transactions", { transactions: opened.stats.txCount, commits: opened.stats.commitCount });
      if (dbStats) for (const [k, v] of [...dbStats].sort((a, b) => b[1] - a[1])) log.info("statements", { n: v, sql: k });
      await opened.close();
      state = "stopped";
    },
  };
}
