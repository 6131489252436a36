/**
 * Harness of the browser tests: a real controller (in process, temp data dir, gRPC on port 0,
 * `--time-scale 0.01`), the web console server over its domain objects, real agent processes
 * against its gRPC port, a freshly built console (Vite) and Debian's chromium driven by
 * playwright-core.
 *
 * Until the controller has `--web-listen`, the console server is composed here exactly as the
 * controller will compose it (see docs/web-console.md, "Wiring").
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { createController, type Controller } from "../../server/controller/controller.js";
import { resolveControllerConfig } from "../../server/config/controller-config.js";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { AuthStore } from "../../server/storage/sqlite/auth-store.js";
import { AuditLog, AuthManager } from "../../server/domain/auth/index.js";
import { createLogger } from "../../server/lib/log.js";
import { createWebConsoleServer, type WebConsoleServer } from "../../server/transport/web/web-console.js";
import { startAgent, type AgentHandle, type AgentSpec } from "../lib/cluster-harness.js";
import { DEV_CERT, FORMAL_CERT, REPO_ROOT } from "../lib/controller-harness.js";

export const CHROMIUM = "/usr/bin/chromium";
/** The flags this machine's chromium needs (no sandbox as root, no network beyond loopback). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const SCREENSHOTS = path.join(REPO_ROOT, "test/browser/screenshots");

/** Installs Debian's chromium when missing (as root); never downloads a browser of its own. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing: install it with: sudo apt-get install -y chromium`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const r = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], { stdio: "inherit", env });
  if (r.status !== 0) {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], { stdio: "inherit", env });
  }
}

/** Builds the console with Vite into a fresh directory (a second or so). */
export function buildConsole(outDir: string): string {
  const vite = path.join(REPO_ROOT, "node_modules/.bin/vite");
  execFileSync(vite, ["build", "clients/web", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: "true" },
  });
  if (!existsSync(path.join(outDir, "index.html"))) throw new Error("vite build produced no index.html");
  return outDir;
}

export interface ConsoleRig {
  controller: Controller;
  web: WebConsoleServer;
  url: string;
  adminToken: string;
  readerToken: string;
  operatorToken: string;
  agents: Map<string, AgentHandle>;
  browser: Browser;
  /** The gRPC endpoint (for the CLIs). */
  endpoint: string;
  waitHosts(pred: (hs: ReturnType<Controller["hosts"]["list"]>) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops the console server and starts a new one on the same port (its sessions are gone, as after a controller restart). */
  restartWeb(): Promise<void>;
  close(): Promise<void>;
}

export async function startConsoleRig(o: { hosts: AgentSpec[]; baseFeed: string }): Promise<ConsoleRig> {
  ensureChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), "swpatch-web-"));
  const staticDir = buildConsole(path.join(work, "web"));
  const dataDir = path.join(work, "data");
  const log = createLogger({ level: "warn", bindings: { proc: "controller" } });
  const config = resolveControllerConfig({
    dataDir,
    listen: "127.0.0.1:0",
    release: "19.09",
    trust: [`${DEV_CERT}:dev`, `${FORMAL_CERT}:formal`],
    baseFeed: o.baseFeed,
    logLevel: "warn",
    timeScale: 0.01,
  });
  const controller = await createController(config, { log });
  // The controller keeps its AuthManager and AuditLog to itself; a second connection to the same
  // sqlite file (WAL) sees and writes the same tokens and audit rows.
  const authDb = await Db.open(path.join(dataDir, "sw-patch.sqlite"), migrations);
  const authStore = new AuthStore(authDb);
  const auth = new AuthManager({ store: authStore });
  const audit = new AuditLog(authStore);
  const adminToken = readFileSync(controller.adminTokenFile, "utf8").trim();
  const readerToken = (await auth.createToken({ role: "reader", description: "browser test reader" })).token;
  const operatorToken = (await auth.createToken({ role: "operator", description: "browser test operator" })).token;
  const makeWeb = () =>
    createWebConsoleServer({
      patches: controller.patches,
      hosts: controller.hosts,
      orchestrator: controller.orchestrator,
      events: controller.events,
      auth,
      audit,
      log: log.child({ component: "web-console" }),
      staticDir,
    });
  let web = makeWeb();
  const addr = await web.listen("127.0.0.1", 0);
  const rootsDir = path.join(work, "roots");
  mkdirSync(rootsDir);
  const agents = new Map<string, AgentHandle>();
  for (const h of o.hosts) agents.set(h.hostname, startAgent(controller.address, h, rootsDir, adminToken));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const waitHosts: ConsoleRig["waitHosts"] = async (pred, timeoutMs = 60_000) => {
    const until = Date.now() + timeoutMs;
    while (!pred(controller.hosts.list())) {
      if (Date.now() > until)
        throw new Error(`hosts not as expected: ${JSON.stringify(controller.hosts.list().map((h) => [h.hostname, h.connected, h.patchCurrent, h.agentState]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const rig: ConsoleRig = {
    controller,
    web,
    url: `http://127.0.0.1:${addr.port}`,
    adminToken,
    readerToken,
    operatorToken,
    agents,
    browser,
    endpoint: controller.address,
    waitHosts,
    async restartWeb() {
      await web.close();
      web = makeWeb();
      rig.web = web;
      await web.listen("127.0.0.1", addr.port);
    },
    async close() {
      await browser.close().catch(() => undefined);
      await Promise.all([...agents.values()].map((a) => a.stop()));
      await web.close();
      await controller.close();
      await authDb.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
  try {
    await waitHosts((hs) => hs.length === o.hosts.length && hs.every((h) => h.connected && h.patchCurrent === "Yes" && h.agentState === "idle"), 120_000);
  } catch (e) {
    await rig.close();
    throw e;
  }
  return rig;
}

/**
 * A TCP pass-through in front of the console, so a test can cut the browser off (every open
 * connection reset, new ones refused) and let it back in: a real lost connection, as the
 * browser's EventSource sees one.
 */
export interface DropProxy {
  url: string;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startDropProxy(targetPort: number): Promise<DropProxy> {
  const sockets = new Set<net.Socket>();
  let isDown = false;
  const server = net.createServer((client) => {
    if (isDown) return client.destroy();
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    down() {
      isDown = true;
      for (const s of sockets) s.destroy();
    },
    up() {
      isDown = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
