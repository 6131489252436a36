/**
 * `npm run demo`: the seed's walk-through (docs/demo.md) on a throw-away 2+2+2 system.
 *
 * Starts a real controller and six real agents (controller-0/1, compute-0/1, storage-0/1 with the
 * seed's addresses) in a temp dir, builds a base feed and an in-service patch 001 for 19.09 with
 * the real patch_build, then drives the real `sw-patch` CLI: upload, query, query-hosts, apply,
 * query, query-hosts, host-install on every host, query-hosts, query. Each command is printed as
 * `$ sudo sw-patch ...` followed by its output. Exit 0 when every step turned out as the seed
 * says (001 Applied, every host Patch Current Yes), 1 otherwise, 130 on Ctrl-C. Every process and
 * temp dir is removed on the way out, Ctrl-C included.
 *
 * Usage: node dist/tools/demo/demo.js [--keep] [--help]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createSwPatchClient, type Host, type SwPatchClient } from "../../clients/sdk/src/index.js";
import { buildDemoBaseFeed, buildDemoRpm, payload } from "./rpm.js";

const USAGE = `Usage: demo [--keep] [--help]
Runs the StarlingX patching walk-through (upload, apply, host-install on a 2+2+2 system) with a
real controller, six real agents and the real sw-patch CLI, all in a temp dir.
  --keep   keep the temp dir (controller data, host roots, logs) for inspection
`;

/** The seed's 2+2+2 system (test/lib/cluster-harness.ts SEED_HOSTS). */
export const DEMO_HOSTS = [
  { hostname: "controller-0", personality: "controller", mgmtIp: "192.178.204.2" },
  { hostname: "controller-1", personality: "controller", mgmtIp: "192.178.204.3" },
  { hostname: "compute-0", personality: "worker", mgmtIp: "192.178.204.7" },
  { hostname: "compute-1", personality: "worker", mgmtIp: "192.178.204.8" },
  { hostname: "storage-0", personality: "storage", mgmtIp: "192.178.204.9" },
  { hostname: "storage-1", personality: "storage", mgmtIp: "192.178.204.10" },
] as const;

/** The order the walk-through installs hosts in (controllers first, as StarlingX recommends). */
const INSTALL_ORDER = ["controller-0", "controller-1", "storage-0", "storage-1", "compute-0", "compute-1"];

const PATCH_CURRENT_YES = 1;
const PATCH_CURRENT_NO = 2;
const AGENT_IDLE = 2;

/** The repository root: the first ancestor holding bin/sw-patch (works from tools/ and dist/tools/). */
function findRepoRoot(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "bin/sw-patch")) && existsSync(path.join(d, "package.json"))) return d;
    if (path.dirname(d) === d) throw new Error(`cannot find the sw-patch repository above ${__dirname}`);
  }
}

class StepFailed extends Error {}

interface Proc {
  name: string;
  proc: ChildProcess;
  log: () => string;
  exited: Promise<void>;
}

export class Demo {
  readonly root = findRepoRoot();
  readonly work: string;
  private readonly procs = new Set<Proc>();
  private client: SwPatchClient | undefined;
  private endpoint = "";
  private token = "";
  /** The controller's admin token file (agents read it: a token in argv is visible in ps). */
  private tokenFile = "";
  private cleaned: Promise<void> | undefined;
  /** Aborts builds (rpmbuild) still running when we clean up. */
  private readonly abort = new AbortController();
  interrupted = false;

  constructor(
    private readonly out: (s: string) => void,
    private readonly keep: boolean,
  ) {
    this.work = mkdtempSync(path.join(os.tmpdir(), "swpatch-demo-"));
  }

  private note(s: string): void {
    this.out(`# ${s}\n`);
  }

  private check(ok: boolean, what: string, output = ""): void {
    if (!ok) throw new StepFailed(`${what}${output ? `\n--- output ---\n${output}` : ""}`);
  }

  /** Spawns `node bin/<name> args` and tracks it for cleanup. */
  private startProc(name: string, bin: string, args: string[], stdout: "pipe" | "ignore"): Proc {
    const proc = spawn(process.execPath, [path.join(this.root, "bin", bin), ...args], { stdio: ["ignore", stdout, "pipe"], cwd: this.work });
    let log = "";
    proc.stderr!.on("data", (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
    });
    const exited = new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once("exit", () => resolve());
    });
    const p: Proc = { name, proc, log: () => log, exited };
    this.procs.add(p);
    void exited.then(() => this.procs.delete(p));
    return p;
  }

  /** Runs a bin/ command to completion (output captured). */
  private runTool(bin: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000): Promise<{ rc: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [path.join(this.root, "bin", bin), ...args], {
        cwd: this.work,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const exited = new Promise<void>((res) => proc.once("exit", () => res()));
      const tracked: Proc = { name: bin, proc, log: () => "", exited };
      this.procs.add(tracked);
      let stdout = "";
      let stderr = "";
      proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      proc.on("error", reject);
      proc.on("close", (code, signal) => {
        clearTimeout(t);
        this.procs.delete(tracked);
        resolve({ rc: code ?? (signal ? 128 : -1), stdout, stderr });
      });
    });
  }

  /** `$ sudo sw-patch ARGS` and its output, as the seed shows it. */
  private async sw(...args: string[]): Promise<{ rc: number; stdout: string; stderr: string }> {
    this.out(`$ sudo sw-patch ${args.join(" ")}\n`);
    const r = await this.runTool("sw-patch", args, { SWPATCH_ENDPOINT: this.endpoint, SWPATCH_TOKEN: this.token });
    if (this.interrupted) throw new StepFailed("interrupted");
    this.out(r.stdout);
    if (r.stderr) this.out(r.stderr);
    if (!r.stdout.endsWith("\n\n")) this.out("\n");
    return r;
  }

  private async waitHosts(what: string, pred: (hs: Host[]) => boolean, timeoutMs = 120_000): Promise<Host[]> {
    const deadline = Date.now() + timeoutMs;
    let last: Host[] = [];
    while (Date.now() < deadline && !this.interrupted) {
      try {
        last = (await this.client!.hosts.listHosts({})).hosts;
        if (pred(last)) return last;
      } catch {
        // the controller may still be starting
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const died = [...this.procs].filter((p) => p.proc.exitCode !== null).map((p) => p.name);
    throw new StepFailed(
      `${what}: not reached in ${timeoutMs} ms\nhosts: ${last.map((h) => `${h.hostname}(connected=${h.connected} current=${h.patchCurrent} agent=${h.agentState})`).join(" ")}` +
        (died.length ? `\nexited: ${died.join(", ")}` : ""),
    );
  }

  /** Controller, base feed, agents and the patch: everything before the walk-through. */
  async setUp(): Promise<string> {
    const feed = path.join(this.work, "feed");
    const scratch = path.join(this.work, "rpmbuild");
    this.note(`working directory ${this.work}`);
    this.note("building the base feed (busybox-base, sysinv, pkg-a 1.0-1) with rpmbuild");
    await buildDemoBaseFeed(feed, scratch, this.abort.signal);
    this.note("starting the controller (release 19.09)");
    const dataDir = path.join(this.work, "controller");
    const ctl = this.startProc(
      "controller",
      "sw-patch-controller",
      ["--data-dir", dataDir, "--listen", "127.0.0.1:0", "--release", "19.09", "--log-level", "warn", "--base-feed", feed],
      "pipe",
    );
    this.endpoint = await new Promise<string>((resolve, reject) => {
      let buf = "";
      const onData = (d: Buffer) => {
        buf += d.toString();
        const m = /listening on (127\.0\.0\.1:\d+)/.exec(buf);
        if (m) {
          ctl.proc.stdout!.off("data", onData);
          ctl.proc.stdout!.resume();
          resolve(m[1]!);
        }
      };
      ctl.proc.stdout!.on("data", onData);
      void ctl.exited.then(() => reject(new StepFailed(`the controller exited before listening:\n${ctl.log()}`)));
    });
    this.tokenFile = path.join(dataDir, "admin.token");
    this.token = readFileSync(this.tokenFile, "utf8").trim();
    this.client = createSwPatchClient({ endpoint: this.endpoint, token: this.token });

    this.note("building the in-service patch 001 (sysinv 1.0-2, release 19.09) with patch_build, signed with the controller's local key");
    const sysinv2 = await buildDemoRpm(payload("sysinv", "2"), path.join(this.work, "rpms"), scratch, this.abort.signal);
    // Signed with the controller's own key, made at its first start (trusted as "local").
    const localKey = path.join(dataDir, "signing", "local-signing-key.pem");
    const b = await this.runTool("patch_build", [
      "--id",
      "001",
      "--release",
      "19.09",
      "--summary",
      "sysinv in-service fix",
      "--status",
      "REL",
      "--reboot-required",
      "N",
      "--key",
      localKey,
      "--output-dir",
      this.work,
      sysinv2,
    ]);
    this.check(b.rc === 0 && existsSync(path.join(this.work, "001.patch")), "patch_build 001 failed", b.stdout + b.stderr);

    this.note(`starting six agents (${DEMO_HOSTS.map((h) => h.hostname).join(", ")}); each installs the base feed into its own root`);
    for (const h of DEMO_HOSTS) {
      this.startProc(
        h.hostname,
        "sw-patch-agent",
        [
          "--controller",
          this.endpoint,
          "--hostname",
          h.hostname,
          "--personality",
          h.personality,
          "--mgmt-ip",
          h.mgmtIp,
          "--root",
          path.join(this.work, "hosts", h.hostname),
          "--provision",
          "--reboot-delay-ms",
          "100",
          "--log-level",
          "warn",
          "--token-file",
          this.tokenFile,
        ],
        "ignore",
      );
    }
    await this.waitHosts(
      "every host provisioned",
      (hs) => hs.length === DEMO_HOSTS.length && hs.every((h) => h.connected && h.patchCurrent === PATCH_CURRENT_YES && h.agentState === AGENT_IDLE),
    );
    this.note(`controller on ${this.endpoint}; six hosts provisioned and idle`);
    this.out("\n");
    return path.join(this.work, "001.patch");
  }

  /** The seed's walk-through with the real CLI. */
  async walkThrough(): Promise<void> {
    const up = await this.sw("upload", "001.patch");
    this.check(up.rc === 0 && up.stdout.trim() === "001 is now available", 'upload: expected "001 is now available"', up.stdout + up.stderr);

    const q1 = await this.sw("query");
    this.check(q1.rc === 0 && patchState(q1.stdout, "001") === "Available", "query: expected 001 Available", q1.stdout + q1.stderr);

    const h1 = await this.sw("query-hosts");
    this.check(h1.rc === 0 && allCurrent(h1.stdout, "Yes"), "query-hosts: expected six hosts, Patch Current Yes", h1.stdout + h1.stderr);

    const ap = await this.sw("apply", "001");
    this.check(ap.rc === 0 && ap.stdout.trim() === "001 is now in the repo", 'apply: expected "001 is now in the repo"', ap.stdout + ap.stderr);
    // Each agent learns of the new repository content and reports; until then a host is Pending.
    await this.waitHosts("every host Patch Current No after apply", (hs) => hs.every((h) => h.patchCurrent === PATCH_CURRENT_NO));

    const q2 = await this.sw("query");
    this.check(q2.rc === 0 && patchState(q2.stdout, "001") === "Partial-Apply", "query: expected 001 Partial-Apply", q2.stdout + q2.stderr);
    const h2 = await this.sw("query-hosts");
    this.check(h2.rc === 0 && allCurrent(h2.stdout, "No"), "query-hosts: expected every host Patch Current No", h2.stdout + h2.stderr);

    for (const host of INSTALL_ORDER) {
      const r = await this.sw("host-install", host);
      this.check(
        r.rc === 0 && r.stdout.trimEnd().endsWith("Installation was successful."),
        `host-install ${host}: expected "Installation was successful."`,
        r.stdout + r.stderr,
      );
      // The host reports its new package set a moment after the install ends.
      await this.waitHosts(`${host} Patch Current Yes`, (hs) => hs.find((h) => h.hostname === host)?.patchCurrent === PATCH_CURRENT_YES);
    }

    const h3 = await this.sw("query-hosts");
    this.check(h3.rc === 0 && allCurrent(h3.stdout, "Yes"), "query-hosts: expected every host Patch Current Yes", h3.stdout + h3.stderr);
    const q3 = await this.sw("query");
    this.check(q3.rc === 0 && patchState(q3.stdout, "001") === "Applied", "query: expected 001 Applied", q3.stdout + q3.stderr);
  }

  /** Stops every process (SIGTERM, SIGKILL after 5 s) and removes the temp dir; idempotent. */
  cleanUp(): Promise<void> {
    this.cleaned ??= (async () => {
      this.abort.abort();
      this.client?.close();
      await Promise.all(
        [...this.procs].map(async (p) => {
          if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
          p.proc.kill("SIGTERM");
          const t = setTimeout(() => p.proc.kill("SIGKILL"), 5_000);
          await p.exited;
          clearTimeout(t);
        }),
      );
      if (this.keep) this.note(`kept ${this.work}`);
      else rmSync(this.work, { recursive: true, force: true });
    })();
    return this.cleaned;
  }

  /** Logs of the processes still tracked (for a failure report). */
  logs(): string {
    return [...this.procs]
      .map((p) => (p.log() ? `--- ${p.name} ---\n${p.log().slice(-3000)}` : ""))
      .filter(Boolean)
      .join("\n");
  }
}

/** The Patch State column of `id` in `sw-patch query` output ("" when absent). */
export function patchState(queryOut: string, id: string): string {
  const line = queryOut.split("\n").find((l) => l.split(/\s+/)[0] === id);
  return line ? line.trim().split(/\s+/).pop()! : "";
}

/** True when query-hosts lists the six demo hosts, each with Patch Current `want`. */
export function allCurrent(hostsOut: string, want: "Yes" | "No"): boolean {
  const rows = hostsOut
    .trimEnd()
    .split("\n")
    .slice(2)
    .map((l) => l.trim().split(/\s+/));
  const names = rows.map((r) => r[0]).sort();
  return JSON.stringify(names) === JSON.stringify(DEMO_HOSTS.map((h) => h.hostname).sort()) && rows.every((r) => r[2] === want);
}

function missingPrerequisites(): string[] {
  const missing: string[] = [];
  for (const [cmd, pkg] of [
    ["rpm", "rpm"],
    ["rpmbuild", "rpm"],
  ] as const) {
    if (spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status !== 0 && !missing.includes(pkg)) missing.push(pkg);
  }
  if (!existsSync("/bin/busybox")) missing.push("busybox-static");
  return missing;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = argv.filter((a) => a !== "--keep");
  if (unknown.length) {
    process.stderr.write(`demo: unknown argument ${unknown[0]}\n${USAGE}`);
    return 2;
  }
  const missing = missingPrerequisites();
  if (missing.length) {
    process.stderr.write(`demo: needs the Debian packages ${missing.join(" ")}\nInstall them with: sudo apt-get install -y ${missing.join(" ")}\n`);
    return 1;
  }
  const demo = new Demo((s) => process.stdout.write(s), argv.includes("--keep"));
  const onSignal = (sig: NodeJS.Signals) => {
    if (demo.interrupted) return;
    demo.interrupted = true;
    process.stdout.write(`\n# ${sig}: stopping every process and removing ${demo.work}\n`);
    void demo.cleanUp().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let rc = 0;
  try {
    await demo.setUp();
    await demo.walkThrough();
    process.stdout.write("# done: 001 is Applied and every host is Patch Current Yes\n");
  } catch (e) {
    if (demo.interrupted) return new Promise<number>(() => {}); // the signal handler exits
    const msg = e instanceof StepFailed ? e.message : ((e as Error).stack ?? String(e));
    process.stdout.write(`# DEMO FAILED: ${msg}\n`);
    const logs = demo.logs();
    if (logs) process.stderr.write(`${logs}\n`);
    rc = 1;
  }
  if (demo.interrupted) return new Promise<number>(() => {});
  await demo.cleanUp();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return rc;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
