import * as path from "node:path";
import { promises as fsp } from "node:fs";
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
import { Db, dbStats } from "../storage/sqlite/db.js";
import { migrations } from "../storage/sqlite/migrations/index.js";
import { BlobStore } from "../storage/sqlite/blob-store.js";
import { SqliteStore } from "../storage/sqlite/store.js";
import { createShellCheckRunner } from "../lib/shell-check-runner.js";
import { EventLog } from "../domain/events/event-log.js";
import { PatchManager } from "../domain/patches/patch-manager.js";
import { loadTrustStore, type TrustStore } from "../domain/patchfile/index.js";
import { createLogger, type Logger } from "../lib/log.js";
import { AuthManager, AuditLog, TrustManager } from "../domain/auth/index.js";
import { AuthStore } from "../storage/sqlite/auth-store.js";
import { createAuthMiddleware } from "../transport/auth-middleware.js";
import { createAdminService } from "../transport/admin-service.js";
import { checkListenPolicy, serverCredentials } from "../transport/tls.js";
import { Orchestrator } from "../domain/orchestration/orchestrator.js";
import { createClusterAdapter } from "../domain/orchestration/cluster-adapter.js";
import { createStoreStrategyPersistence } from "../storage/sqlite/strategy-store.js";
import { createOrchestrationService } from "../transport/orchestration-service.js";
import { createVimRestServer, type VimRestServer } from "../transport/vim-rest.js";
import { roleSatisfies } from "../domain/auth/index.js";
import { createPatchApiServer } from "../transport/rest/patch-api.js";
import { createWebConsoleServer, type WebConsoleServer } from "../transport/web/web-console.js";
import { errorMiddleware } from "../transport/errors.js";
import { StreamTracker } from "../transport/stream-tracker.js";
import { withSafeDecoding } from "../transport/safe-decode.js";
import { createPatchService } from "../transport/patch-service.js";
import { createHostService } from "../transport/host-service.js";
import { createAgentService } from "../transport/agent-service.js";
import { HostManager } from "../domain/hosts/host-manager.js";
import { descriptorSetBase64 } from "../transport/generated/descriptor-set.js";

/** A running controller: its bound address and a graceful `close()`. */
export interface Controller {
  readonly address: string;
  /** File holding the admin token written at first start. */
  readonly adminTokenFile: string;
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
  /** The sqlite store (diagnostics: commit counts). */
  readonly store: SqliteStore;
  readonly log: Logger;
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

/**
 * The audit log's upkeep: the summary rows of ended refusal windows (every minute) and the
 * retention (at start, then hourly; none when `retentionDays` is 0). Returns its stop.
 */
function startAuditUpkeep(audit: AuditLog, retentionDays: number, log: Logger): () => void {
  const warn = (what: string) => (e: unknown) => log.warn(what, { error: (e as Error).message });
  const prune = () => {
    if (retentionDays > 0) {
      audit
        .prune(retentionDays * 86_400_000)
        .then((n) => n && log.info("audit rows pruned", { rows: n, retentionDays }))
        .catch(warn("audit prune failed"));
    }
  };
  prune();
  const flush = setInterval(() => void audit.flushWindows().catch(warn("audit summary not written")), 60_000);
  const hourly = setInterval(prune, 3600_000);
  flush.unref();
  hourly.unref();
  return () => {
    clearInterval(flush);
    clearInterval(hourly);
  };
}

/** Builds and starts a controller: config -> db + migrations -> domain -> transport -> listen. */
export async function createController(config: ControllerConfig, opts: { log?: Logger } = {}): Promise<Controller> {
  let state: Lifecycle = "starting";
  const log = opts.log ?? createLogger({ level: config.logLevel, bindings: { proc: "controller" } });
  await fsp.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const configuredTrust: TrustStore = await loadTrustStore([...config.trust]);
  const db = await Db.open(path.join(config.dataDir, "sw-patch.sqlite"), migrations);
  const authStore = new AuthStore(db);
  const auth = new AuthManager({ store: authStore });
  const audit = new AuditLog(authStore, undefined, { perWindow: config.limits.auditRefusalsPerMinute, windowMs: 60_000 });
  const stopAuditUpkeep = startAuditUpkeep(audit, config.limits.auditRetentionDays, log);
  const trust = new TrustManager({ store: authStore, configured: configuredTrust });
  await trust.init();
  const adminTokenFile = path.join(config.dataDir, "admin.token");
  const newAdmin = await auth.ensureAdminTokenFile(adminTokenFile);
  if (newAdmin) log.info("admin token written", { file: adminTokenFile, tokenId: newAdmin });
  const store = new SqliteStore(db);
  const events = new EventLog(store.read);
  await events.init();
  const blobs = new BlobStore(path.join(config.dataDir, "blobs"));
  const tmpDir = path.join(config.dataDir, "tmp");
  const patches = new PatchManager({
    store,
    blobs,
    events,
    log,
    tmpDir,
    runningRelease: config.release,
    trust: () => trust.current(),
    limits: { maxPatchBytes: config.maxPatchBytes },
    checks: createShellCheckRunner(),
  });
  await patches.init();
  const hosts = new HostManager({ store, events, patches, log, controllerRelease: config.release });
  await hosts.init();
  if (config.baseFeed) {
    const r = await patches.importBaseFeed(config.release, config.baseFeed);
    log.info("base feed imported", { release: config.release, dir: config.baseFeed, added: r.added, total: r.total });
  }

  const orchestrator = new Orchestrator({
    port: createClusterAdapter({ hosts, patches, log }),
    persistence: createStoreStrategyPersistence({ store, events }),
    log: log.child({ component: "orchestration" }),
    timeScale: config.timeScale,
  });
  await orchestrator.init();

  const health = HealthState();
  const streams = new StreamTracker();
  const server = createServer({
    "grpc.max_receive_message_length": 8 * 1024 * 1024,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_permit_without_calls": 1,
    // Channelz is not served; its per-call bookkeeping is pure cost.
    "grpc.enable_channelz": 0,
  })
    .use(errorMiddleware(log))
    .use(createAuthMiddleware({ auth, audit, log }))
    .use(streams.middleware());
  server.add(
    withSafeDecoding(PatchServiceDefinition),
    createPatchService({
      patches,
      events,
      maxPatchBytes: config.maxPatchBytes,
      tmpDir,
      trustLabels: () => trust.current().keys.map((k) => k.label),
      hostCount: () => hosts.count(),
    }),
  );
  server.add(withSafeDecoding(AdminServiceDefinition), createAdminService({ auth, trust, audit }));
  server.add(withSafeDecoding(OrchestrationServiceDefinition), createOrchestrationService({ orchestrator }));
  server.add(withSafeDecoding(HostServiceDefinition), createHostService({ hosts }));
  server.add(withSafeDecoding(AgentServiceDefinition), createAgentService({ hosts, patches, log }));
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
  const listen = () => server.listen(`${host}:${config.listenPort}`, config.tls ? serverCredentials(config.tls) : undefined);
  const port = config.http2Window === undefined ? await listen() : await withHttp2Window(config.http2Window, listen);
  const address = `${host}:${port}`;
  let vim: VimRestServer | undefined;
  if (config.vimListen) {
    const vh = config.vimListen.host.includes(":") ? `[${config.vimListen.host}]` : config.vimListen.host;
    vim = await createVimRestServer({
      orchestrator,
      listen: `${vh}:${config.vimListen.port}`,
      log,
      authorize: async (token, action) => {
        if (!token) return false;
        const caller = await auth.verify(token);
        return roleSatisfies(caller.role, action === "read" ? "reader" : "operator");
      },
    });
  }
  let patchApi: ReturnType<typeof createPatchApiServer> | undefined;
  let patchApiAddress: string | undefined;
  if (config.patchApi) {
    patchApi = createPatchApiServer({
      patches,
      hosts,
      auth,
      audit,
      log: log.child({ api: "patch-rest" }),
      localTrust: config.patchApi.localTrust,
      maxUploadBytes: config.maxPatchBytes + 1024 * 1024,
    });
    const a = await patchApi.listen(config.patchApi.host, config.patchApi.port);
    patchApiAddress = `${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`;
  }
  let web: WebConsoleServer | undefined;
  let webAddress: string | undefined;
  if (config.web) {
    web = createWebConsoleServer({
      patches,
      hosts,
      orchestrator,
      events,
      auth,
      audit,
      log: log.child({ api: "web-console" }),
      staticDir: config.web.staticDir,
      sessionLimits: { maxSessions: config.limits.consoleMaxSessions, maxPerToken: config.limits.consoleMaxSessionsPerToken },
    });
    const a = await web.listen(config.web.host, config.web.port);
    webAddress = `${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`;
  }
  state = "running";
  log.info("listening", { address, tls: !!config.tls, mtls: !!config.tls?.clientCaFile });

  return {
    address,
    adminTokenFile,
    port,
    patches,
    hosts,
    orchestrator,
    vimAddress: vim?.address,
    patchApiAddress,
    webAddress,
    events,
    store,
    log,
    async close() {
      if (state !== "running") return;
      state = "stopping";
      health.setStatus("unhealthy");
      // Open streams (watchers, agent links) end first with UNAVAILABLE "controller is shutting
      // down": grpc-js tryShutdown would otherwise wait for their clients to go away.
      const aborted = streams.abortAll();
      if (aborted) log.info("streams ended for shutdown", { streams: aborted });
      stopAuditUpkeep();
      await web?.close();
      await patchApi?.close();
      await vim?.close();
      await orchestrator.close();
      await hosts.flush();
      hosts.close();
      await shutdownGrpc(server, log);
      await audit.flushWindows(true).catch((e: unknown) => log.warn("audit summary not written", { error: (e as Error).message }));
      log.info("database transactions", { transactions: db.txCount, commits: db.commitCount });
      if (dbStats) for (const [k, v] of [...dbStats].sort((a, b) => b[1] - a[1])) log.info("statements", { n: v, sql: k });
      await db.close();
      state = "stopped";
    },
  };
}
