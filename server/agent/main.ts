import { setMaxListeners } from "node:events";
import { createHash } from "node:crypto";
/**
 * `sw-patch-agent`: connects one host (or N simulated hosts) to the controller.
 *
 *   sw-patch-agent --controller HOST:PORT --hostname NAME --personality controller|worker|storage
 *                  [--subfunctions a,b] --root DIR [--mgmt-ip IP] [--release REL] [--provision]
 *                  [--base-feed DIR] [--token-file F] [--tls-ca F [--tls-cert F --tls-key F]]
 *                  [--insecure] [--simulate N] [--reboot-delay-ms MS]
 *                  [--log-level debug|info|warn|error|silent]
 *
 * --simulate N: hosts `<hostname>-<i>` (i = 0..N-1), each with its own root `<root>/<name>`, rpm
 * database and stream, over one shared channel; --mgmt-ip is then the first address (last octet
 * incremented per host). With --sim-installer memory (the fleet simulator, sim-host.ts) the hosts keep
 * their packages in memory instead (no rpm, no root files) and each dials its own connection.
 * --base-feed DIR: at start, a root whose rpm database is empty gets every *.rpm of DIR installed.
 * --provision: initialize the rpm database; while the root has no packages the hello carries
 * provision=true and the controller answers with an InstallCommand of the base feed (force=true).
 * The token comes from --token-file, SWPATCH_TOKEN or SWPATCH_TOKEN_FILE (never argv in docs and
 * tests; --token still works with a warning). TLS and the plaintext rule: agent-transport.ts.
 * SIGINT/SIGTERM: close the streams and exit 0.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { createChannel, createClient } from "nice-grpc";
import { AgentServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import type { Instance } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { createLogger, type LogLevel } from "../lib/log.js";
import { AGENT_TRANSPORT_OPTIONS, channelSecurity, describeTlsFailure, resolveAgentTransport, type AgentTransport } from "./agent-transport.js";
import { createControllerChoice, runConnection } from "./connection.js";
import { CredentialRefusedError, EXIT_CREDENTIAL_REFUSED, resolveCredentials } from "./credential.js";
import { DEFAULT_HEALTH_INTERVAL_S } from "./health-check.js";
import { HostAgent } from "./host-agent.js";
import { DEFAULT_BOOT_ID_FILE, DEFAULT_REBOOT_COMMAND, DEFAULT_REBOOT_WAIT_MS, defaultRebootMode, type RebootMode } from "./reboot.js";
import type { ConnectedHost } from "./connection.js";
import { parseSimOptions, SIM_ARGS, SIM_USAGE, type SimOptions } from "./sim-faults.js";
import { createSimHosts } from "./sim-fleet.js";

const USAGE =
  "usage: sw-patch-agent --controller HOST:PORT --hostname NAME --personality controller|worker|storage " +
  "[--subfunctions a,b] --root DIR [--mgmt-ip IP] [--release REL] [--provision] [--base-feed DIR] [--token-file F] [--enroll-token-file F] " +
  "[--tls-ca F] [--tls-cert F --tls-key F] [--tls-server-name N] [--insecure] [--simulate N [--sim-installer memory ...]] [--instances N] [--install]";

/** `sw-patch-agent --help`: every flag, on stdout, exit 0. */
export const AGENT_HELP = `${USAGE}

Connects one host (or N simulated hosts) to the patch controller and installs what it is told to.

Required:
  --controller HOST:PORT   the controller's gRPC address (agents connect out; nothing listens here);
                           https://HOST:PORT means TLS; a controller pair: both, comma-separated
                           (a,b): the agent follows the active one
  --hostname NAME          this host's name, as the controller and operators see it
  --personality P          controller, worker or storage
  --root DIR               the host's root file system: packages are installed with rpm --root DIR,
                           the agent's state and logs live under it (use / only on a real host)

Optional:
  --subfunctions a,b       the host's subfunctions (default: the personality)
  --mgmt-ip IP             the management address to report (default: the address the controller
                           sees the connection come from)
  --release REL            the software release the host runs (default 19.09)
  --provision              initialise an empty rpm database; the controller then installs the
                           release's base feed on the host
  --base-feed DIR          at start, install every *.rpm of DIR into a root whose rpm database is empty
  --install                converge once (a forced install of the desired packages), then exit 0 or 1
  --token-file PATH        read the agent's API token (bound to this host) from a file (keep it 0600);
                           or give it in SWPATCH_TOKEN (or a file in SWPATCH_TOKEN_FILE); default:
                           none. --token T still works but warns: every local user sees argv in ps
  --enroll-token-file PATH enrolment: when the host has no stored credential yet, exchange the one-time
                           enrolment token in PATH (from sw-patch host-enroll; with --simulate, one
                           line per host) for the host's own credential, stored 0600 in
                           <root>/var/lib/sw-patch-agent/credential.json and used from then on
  --tls-ca FILE            use TLS and verify the controller's certificate with this CA (PEM)
  --tls                    use TLS with the system's CAs (also implied by https://HOST:PORT)
  --tls-cert FILE          client certificate for mutual TLS (PEM; with --tls-key)
  --tls-key FILE           its private key (PEM)
  --tls-server-name NAME   the name the controller's certificate carries, when it is not the
                           address dialled (e.g. dialling by IP)
  --insecure               allow plaintext to a controller that is not on loopback (warned)
  --simulate N             run N simulated hosts <hostname>-0..N-1, each with its own root under --root
  --instances N            virtual machines each host reports (0 to 1000; orchestration tests)
  --reboot-mode M          how the host reboots when the controller asks (an unlock that needs one):
                           system (run --reboot-command; after the boot the agent, started again
                           by systemd, reports the result) or simulate (the agent waits
                           --reboot-delay-ms in its own process); default system for --root /,
                           simulate for any other root
  --reboot-command CMD     the reboot command, run with /bin/sh -c (default "systemctl reboot")
  --boot-id-file PATH      where the kernel's boot id is read to tell that the host rebooted
                           (default /proc/sys/kernel/random/boot_id)
  --reboot-delay-ms MS     how long a simulated reboot takes (default 200)
  --log-level L            debug, info, warn, error or silent (default info); logs are JSON lines on stderr
  --health-check CMD       a health check run with /bin/sh -c after every install and every
                           --health-interval seconds (default 30); exit 0 is healthy; 10 s at most;
                           reported to the controller (the strategy's --health-gate agents)
  --health-interval S      seconds between health checks (default 30)
  -h, --help               show this help and exit

Fleet simulator (with --simulate N; docs/agent.md):
${SIM_USAGE}
SIGINT/SIGTERM close the streams and exit 0. Exit status 78: the controller refused the host's
credential for good (revoked by sw-patch host-revoke, or an enrolment token spent, expired or for
another host); restarting does not help (the systemd unit does not restart on it).
`;

/** Resolved agent process configuration. */
export interface AgentConfig {
  controller: string;
  hostname: string;
  personality: string;
  subfunctions: string[];
  root: string;
  mgmtIp: string;
  release: string;
  provision: boolean;
  /** `--install`: converge once (a forced install of the desired set), then exit 0/1. */
  install: boolean;
  baseFeed?: string;
  /** Token, TLS and the controller target (agent-transport.ts). */
  transport: AgentTransport;
  /** --enroll-token-file: the one-time enrolment token(s) to exchange when no credential is stored. */
  enrollTokenFile?: string;
  simulate: number;
  /** Virtual machines each host reports (workers in orchestration tests). */
  instances: number;
  rebootDelayMs: number;
  reboot: RebootMode;
  logLevel: LogLevel;
  /** ROLLOUT (issue 20): --health-check / --health-interval. */
  healthCheck?: { command: string; intervalMs: number };
  /** `--sim-installer memory` and the other --sim-* flags: simulated hosts with packages in memory. */
  sim?: SimOptions;
}

/**
 * With --enroll-token-file, a token from the environment (SWPATCH_TOKEN, SWPATCH_TOKEN_FILE — e.g. an
 * operator's shell exported it) is not used: the host enrols (or uses its stored credential) instead
 * of acting with someone else's token. Said once at start.
 */
function enrolling(t: AgentTransport, enroll: boolean, env: NodeJS.ProcessEnv): AgentTransport {
  if (!enroll || t.token === undefined) return t;
  const from = env.SWPATCH_TOKEN ? "SWPATCH_TOKEN" : "SWPATCH_TOKEN_FILE";
  const { token: _ignored, ...rest } = t;
  return { ...rest, token: undefined, warnings: [...t.warnings, `${from} in the environment is ignored: --enroll-token-file enrols this host with its own credential`] };
}

/** The agent's flags (each one is described in {@link AGENT_HELP}). */
export const AGENT_OPTIONS = {
  controller: { type: "string" },
  hostname: { type: "string" },
  personality: { type: "string" },
  subfunctions: { type: "string" },
  root: { type: "string" },
  "mgmt-ip": { type: "string" },
  release: { type: "string" },
  provision: { type: "boolean" },
  install: { type: "boolean" },
  "base-feed": { type: "string" },
  ...AGENT_TRANSPORT_OPTIONS,
  "enroll-token-file": { type: "string" },
  simulate: { type: "string" },
  instances: { type: "string" },
  // ROLLOUT (issue 20)
  "health-check": { type: "string" },
  "health-interval": { type: "string" },
  "reboot-delay-ms": { type: "string" },
  "reboot-mode": { type: "string" },
  "reboot-command": { type: "string" },
  "boot-id-file": { type: "string" },
  "log-level": { type: "string" },
  ...SIM_ARGS,
  help: { type: "boolean", short: "h" },
} as const;

/** Parse argv (the token may come from `env`). @throws Error with a one-line message on bad usage. */
export function parseAgentArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const { values } = parseArgs({
    args: argv,
    options: AGENT_OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new Error(USAGE);
  for (const k of ["controller", "hostname", "personality", "root"] as const) {
    if (!values[k]) throw new Error(`--${k} is required\n${USAGE}`);
  }
  if (values["enroll-token-file"] !== undefined && (values.token !== undefined || values["token-file"] !== undefined)) {
    throw new Error("--enroll-token-file does not combine with --token or --token-file (the enrolled credential replaces them)");
  }
  const personality = values.personality!;
  if (!["controller", "worker", "storage"].includes(personality)) throw new Error(`--personality must be controller, worker or storage`);
  const simulate = values.simulate === undefined ? 0 : Number(values.simulate);
  if (!Number.isInteger(simulate) || simulate < 0) throw new Error("--simulate must be a non-negative integer");
  const instances = values.instances === undefined ? 0 : Number(values.instances);
  if (!Number.isInteger(instances) || instances < 0 || instances > 1000) throw new Error("--instances must be an integer from 0 to 1000");
  const sim = parseSimOptions(values);
  if (sim && simulate === 0) throw new Error("--sim-installer needs --simulate N");
  const rebootDelayMs = values["reboot-delay-ms"] === undefined ? 200 : Number(values["reboot-delay-ms"]);
  if (!Number.isFinite(rebootDelayMs) || rebootDelayMs < 0) throw new Error("--reboot-delay-ms must be a non-negative number");
  const root = path.resolve(values.root!);
  const rebootMode = values["reboot-mode"] ?? defaultRebootMode(root);
  if (rebootMode !== "system" && rebootMode !== "simulate") throw new Error("--reboot-mode must be system or simulate");
  if (values["reboot-command"] !== undefined && !values["reboot-command"].trim()) throw new Error("--reboot-command must not be empty");
  const reboot: RebootMode =
    rebootMode === "system"
      ? {
          mode: "system",
          command: values["reboot-command"] ?? DEFAULT_REBOOT_COMMAND,
          bootIdFile: values["boot-id-file"] ?? DEFAULT_BOOT_ID_FILE,
          waitMs: DEFAULT_REBOOT_WAIT_MS,
        }
      : { mode: "simulate", delayMs: rebootDelayMs };
  const subfunctions = values.subfunctions
    ? values.subfunctions
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : [personality];
  return {
    controller: values.controller!,
    hostname: values.hostname!,
    personality,
    subfunctions,
    root,
    mgmtIp: values["mgmt-ip"] ?? "",
    release: values.release ?? "19.09",
    provision: values.provision === true,
    install: values.install === true,
    ...(values["base-feed"] ? { baseFeed: path.resolve(values["base-feed"]) } : {}),
    transport: enrolling(resolveAgentTransport(values.controller!, values, env), values["enroll-token-file"] !== undefined, env),
    ...(values["enroll-token-file"] ? { enrollTokenFile: path.resolve(values["enroll-token-file"]) } : {}),
    simulate,
    instances,
    rebootDelayMs,
    reboot,
    logLevel: (values["log-level"] as LogLevel | undefined) ?? "info",
    ...healthCheckOf(values["health-check"], values["health-interval"]),
    ...(sim ? { sim } : {}),
  };
}

/** ROLLOUT (issue 20): --health-check CMD [--health-interval S]. */
function healthCheckOf(command: string | undefined, interval: string | undefined): { healthCheck?: { command: string; intervalMs: number } } {
  if (command === undefined) {
    if (interval !== undefined) throw new Error("--health-interval needs --health-check");
    return {};
  }
  if (!command.trim()) throw new Error("--health-check must not be empty");
  const s = interval === undefined ? DEFAULT_HEALTH_INTERVAL_S : Number(interval);
  if (!Number.isFinite(s) || s < 0.1 || s > 86_400) throw new Error("--health-interval must be a number of seconds from 0.1 to 86400");
  return { healthCheck: { command, intervalMs: Math.round(s * 1000) } };
}

/** A stable UUID-shaped id for a simulated instance. */
export function instanceUuid(hostname: string, k: number): string {
  const h = createHash("sha256").update(`${hostname}/vm/${k}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `<ip>` with the last IPv4 octet (or IPv6 group) advanced by `i`; "" stays "". */
export function nthAddress(ip: string, i: number): string {
  if (!ip || i === 0) return ip;
  const v4 = /^(\d+\.\d+\.\d+\.)(\d+)$/.exec(ip);
  if (v4) return `${v4[1]}${Number(v4[2]) + i}`;
  const v6 = /^(.*:)([0-9a-fA-F]{1,4})$/.exec(ip);
  if (v6) return `${v6[1]}${(parseInt(v6[2]!, 16) + i).toString(16)}`;
  return ip;
}

/** The rpm hosts (the host itself, or --simulate N hosts with a root each), started (and provisioned when asked). */
async function startRpmHosts(
  cfg: AgentConfig,
  logger: ReturnType<typeof createLogger>,
  instancesOf: (hostname: string) => Instance[],
  onInstallDone: (r: { success: boolean; reason: string }) => void,
): Promise<HostAgent[]> {
  const hosts: HostAgent[] = [];
  const count = Math.max(cfg.simulate, 1);
  for (let i = 0; i < count; i++) {
    const hostname = cfg.simulate > 0 ? `${cfg.hostname}-${i}` : cfg.hostname;
    hosts.push(
      new HostAgent({
        root: cfg.simulate > 0 ? path.join(cfg.root, hostname) : cfg.root,
        hostname,
        personality: cfg.personality,
        subfunctions: cfg.subfunctions,
        release: cfg.release,
        mgmtIp: nthAddress(cfg.mgmtIp, i),
        rebootDelayMs: cfg.rebootDelayMs,
        reboot: cfg.reboot,
        provision: cfg.provision,
        installRequest: cfg.install,
        onInstallDone,
        instances: instancesOf(hostname),
        logger,
        ...(cfg.healthCheck ? { healthCheck: cfg.healthCheck } : {}),
      }),
    );
  }
  await Promise.all(
    hosts.map(async (h) => {
      await h.start();
      if (cfg.baseFeed) await h.provisionFromDir(cfg.baseFeed);
      else if (cfg.provision) await h.initRpmDb();
      h.startHealthCheck();
    }),
  );
  return hosts;
}

/** Entry point for bin/sw-patch-agent. @returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(AGENT_HELP);
    return 0;
  }
  let cfg: AgentConfig;
  try {
    cfg = parseAgentArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const logger = createLogger({ level: cfg.logLevel, bindings: { proc: "sw-patch-agent" } });
  for (const w of cfg.transport.warnings) logger.warn(w);
  if (cfg.install && cfg.simulate > 0) {
    process.stderr.write("--install runs for the local host only; it does not combine with --simulate\n");
    return 2;
  }
  let installOutcome: { success: boolean; reason: string } | undefined;
  const ac = new AbortController();
  // --install: once the install ended, the stream closes gracefully, so that the controller has
  // the host's report and the install's result before it sees the agent go.
  const finish = new AbortController();
  // Every simulated host's connection listens on this one signal.
  setMaxListeners(0, ac.signal);
  setMaxListeners(0, finish.signal);
  const instancesOf = (hostname: string) =>
    Array.from({ length: cfg.instances }, (_, k) => ({
      uuid: instanceUuid(hostname, k),
      name: `${hostname}-vm-${k}`,
      state: "running",
    }));
  const t0 = Date.now();
  const hosts: Array<ConnectedHost & { close(): Promise<void> }> = cfg.sim
    ? await createSimHosts({ ...cfg, sim: cfg.sim, mgmtIp: (i) => nthAddress(cfg.mgmtIp, i), instances: instancesOf }, logger)
    : await startRpmHosts(cfg, logger, instancesOf, (r) => {
        if (!cfg.install) return;
        installOutcome = r;
        finish.abort();
      });
  logger.info("agent started", {
    hosts: hosts.length,
    controller: cfg.controller,
    tls: !!cfg.transport.tls,
    startMs: Date.now() - t0,
    simulator: cfg.sim ? "memory" : undefined,
  });

  const security = channelSecurity(cfg.transport);
  // Real hosts each have their own connection; the rpm simulation shares one. Simulated hosts in memory: one connection
  // per --sim-hosts-per-connection hosts (grpc-js would share one connection between channels of the same target and
  // options: each channel gets its own subchannel pool).
  const perConnection = cfg.sim ? cfg.sim.hostsPerConnection : hosts.length;
  const groups = Array.from({ length: Math.ceil(hosts.length / perConnection) }, () => {
    // One channel per controller given (`--controller a,b`: a pair; the connections follow the active one).
    const options = cfg.sim ? { ...security.options, "grpc.use_local_subchannel_pool": 1 } : security.options;
    const channels = cfg.transport.targets.map((target) => ({ target, channel: createChannel(target, security.credentials, options) }));
    const targets = channels.map(({ target, channel: c }) => ({ target, client: createClient(AgentServiceDefinition, c) }));
    return { channels, client: targets[0]!.client, choice: targets.length > 1 ? createControllerChoice(targets) : undefined };
  });
  const channel = { close: () => groups.forEach((g) => g.channels.forEach((c) => c.channel.close())) };
  const client = groups[0]!.client;
  const roots = hosts.map((h) => (cfg.simulate > 0 ? path.join(cfg.root, h.hostname) : cfg.root));
  // --- Enrolment (ENROL): each host's credential: stored, or enrolled now, or the explicit token. ---
  let tokens: (string | undefined)[];
  try {
    tokens = await resolveCredentials({
      hosts: hosts.map((h, i) => ({ root: roots[i]!, hostname: h.hostname, personality: cfg.personality })),
      client,
      ...(groups[0]!.choice ? { choice: groups[0]!.choice } : {}),
      logger,
      ...(cfg.transport.token !== undefined ? { explicitToken: cfg.transport.token } : {}),
      ...(cfg.enrollTokenFile ? { enrollTokenFile: cfg.enrollTokenFile } : {}),
      signal: ac.signal,
    });
  } catch (e) {
    channel.close();
    process.stderr.write(`sw-patch-agent: ${(e as Error).message}\n`);
    return e instanceof CredentialRefusedError ? EXIT_CREDENTIAL_REFUSED : 1;
  }
  // --- end of enrolment ---
  const stop = (sig: string) => {
    if (ac.signal.aborted) return;
    logger.info("stopping", { signal: sig });
    ac.abort();
  };
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  let revoked = false;
  try {
    const outcomes = await Promise.all(
      hosts.map((host, i) => {
        const g = groups[Math.floor(i / perConnection)]!;
        return runConnection({
          client: g.client,
          ...(g.choice ? { choice: g.choice } : {}),
          host,
          logger,
          signal: ac.signal,
          finish: finish.signal,
          describeError: describeTlsFailure,
          ...(tokens[i] ? { token: tokens[i] } : {}),
        });
      }),
    );
    revoked = outcomes.some((o) => o.revoked);
    await Promise.all(hosts.map((h) => h.close()));
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    channel.close();
  }
  if (revoked) {
    process.stderr.write("sw-patch-agent: the controller revoked this host's credential; exiting (enrol the host again to restore it)\n");
    return EXIT_CREDENTIAL_REFUSED;
  }
  if (cfg.install) {
    if (!installOutcome) return 1;
    if (!installOutcome.success) process.stderr.write(`install failed: ${installOutcome.reason}\n`);
    return installOutcome.success ? 0 : 1;
  }
  return 0;
}
