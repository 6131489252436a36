/**
 * Two network namespaces joined by a veth pair, for tests that need real hosts on a network: the
 * controller in one (`swp-<pid>-c`, address 10.231.<n>.1/24), agents and operator tools in the
 * other (`swp-<pid>-a`, 10.231.<n>.2/24), with <n> taken from the pid so that two concurrent runs
 * use different subnets. Processes run inside with `ip netns exec NS ...` (which execs the
 * command, so the child's pid is the command's own). {@link NetnsPair.close} stops every process
 * it started (SIGTERM, then SIGKILL after a grace period) and then deletes both namespaces, which
 * removes the veth pair and the addresses with them; nothing is created outside the namespaces.
 *
 * Needs root, iproute2's `ip` and tcpdump (for {@link NetnsPair.capture}); {@link canRun} says why
 * not, for the test to skip with that reason.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { readTcpStreams, type TcpStream } from "./pcap.js";
import { secretPatterns } from "./hpack-huffman.js";

/** How long close() and stop() wait after SIGTERM before SIGKILL. */
const GRACE_MS = 10_000;
/** Port of the capture's sentinel listener inside the controller's namespace. */
const SENTINEL_PORT = 5999;

/** Resolves when `ready()` holds (checked now and on each output of `p`); rejects when `p` exits first. */
export function waitFor(p: NsProcess, ready: () => boolean, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!ready()) return;
      p.proc.stdout!.off("data", check);
      p.proc.stderr!.off("data", check);
      resolve();
    };
    p.proc.stdout!.on("data", check);
    p.proc.stderr!.on("data", check);
    void p.exited.then((code) => reject(new Error(`${what} exited (${code}) before it was ready: ${p.stderr()}`)));
    check();
  });
}

/** Whether this machine can run the namespace tests, and if not, why (for `this.skip()` and the log). */
export function canRun(): { ok: true } | { ok: false; reason: string } {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return { ok: false, reason: "network namespaces need root (run as root, as .ci/run does)" };
  if (spawnSync("ip", ["-V"], { stdio: "ignore" }).status !== 0) return { ok: false, reason: "no `ip` command (Debian package iproute2)" };
  if (spawnSync("tcpdump", ["--version"], { stdio: "ignore" }).status !== 0)
    return { ok: false, reason: "no tcpdump (Debian package tcpdump; npm test's setup installs it)" };
  const probe = `swp-${process.pid}-probe`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.status !== 0) return { ok: false, reason: `creating a network namespace was refused: ${(add.stderr || add.error?.message || "").trim()}` };
  spawnSync("ip", ["netns", "del", probe], { stdio: "ignore" });
  return { ok: true };
}

/** A process started inside a namespace. */
export interface NsProcess {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, SIGKILL after the grace period. @returns false when it had to be killed. */
  stop(signal?: NodeJS.Signals): Promise<boolean>;
}

/** Result of {@link NetnsPair.run}. */
export interface NsRunResult {
  rc: number;
  stdout: string;
  stderr: string;
}

/** A capture running on a veth end. */
export interface Capture {
  /** Stops tcpdump (it writes out what it buffered) and reassembles the TCP streams it saw. */
  stop(): Promise<TcpStream[]>;
}

/** Where a secret was found in a capture. */
export interface SecretHit {
  label: string;
  form: string;
  stream: string;
}

/**
 * Searches reassembled TCP streams for each secret: its raw bytes and its HPACK Huffman forms
 * (see hpack-huffman.ts; a bearer token in a clear-text gRPC header is only there Huffman-coded).
 */
export function findSecrets(streams: TcpStream[], secrets: Record<string, string>): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const [label, secret] of Object.entries(secrets)) {
    const patterns = secretPatterns(secret);
    for (const s of streams) {
      const p = patterns.find((x) => s.payload.includes(x.bytes));
      if (p) hits.push({ label, form: p.form, stream: `${s.src} > ${s.dst}` });
    }
  }
  return hits;
}

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

/** Two namespaces and the veth pair between them. Create with {@link NetnsPair.create}. */
export class NetnsPair {
  /** The controller's namespace and its address on the veth. */
  readonly ctl: string;
  readonly ctlIp: string;
  /** The agents' (and operator's) namespace and its address. */
  readonly agt: string;
  readonly agtIp: string;
  /** Interface names inside each namespace. */
  readonly ctlDev = "veth-c";
  readonly agtDev = "veth-a";
  private readonly procs: NsProcess[] = [];
  private closed = false;
  private readonly onExit = () => this.deleteNamespaces();

  private constructor(pid: number) {
    this.ctl = `swp-${pid}-c`;
    this.agt = `swp-${pid}-a`;
    const n = (pid % 254) + 1;
    this.ctlIp = `10.231.${n}.1`;
    this.agtIp = `10.231.${n}.2`;
  }

  /** Creates both namespaces, the veth pair with an address on each end, and brings up lo and the veth. */
  static create(): NetnsPair {
    const pair = new NetnsPair(process.pid);
    // Namespaces of this pid are stale (a run with the same pid that was killed before its after()).
    pair.deleteNamespaces();
    process.once("exit", pair.onExit);
    try {
      const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
      ip("netns", "add", pair.ctl);
      ip("netns", "add", pair.agt);
      ip("-n", pair.ctl, "link", "add", pair.ctlDev, "type", "veth", "peer", "name", pair.agtDev, "netns", pair.agt);
      for (const [ns, dev, addr] of [
        [pair.ctl, pair.ctlDev, pair.ctlIp],
        [pair.agt, pair.agtDev, pair.agtIp],
      ] as const) {
        ip("-n", ns, "addr", "add", `${addr}/24`, "dev", dev);
        ip("-n", ns, "link", "set", dev, "up");
        ip("-n", ns, "link", "set", "lo", "up");
      }
    } catch (e) {
      pair.deleteNamespaces();
      process.off("exit", pair.onExit);
      const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`netns set-up failed: ${stderr || (e as Error).message}`);
    }
    return pair;
  }

  /** Starts `cmd args` inside namespace `ns`; close() stops it. */
  spawn(ns: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): NsProcess {
    if (this.closed) throw new Error("NetnsPair is closed");
    const proc = spawn("ip", ["netns", "exec", ns, cmd, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
    let out = "";
    let err = "";
    proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    proc.stdin!.on("error", () => undefined);
    proc.stdin!.end(opts.input ?? "");
    const exited = new Promise<number | null>((resolve) => {
      proc.once("error", (e) => {
        err += String(e);
        resolve(-1);
      });
      proc.once("close", (code) => resolve(code));
    });
    const handle: NsProcess = {
      proc,
      stdout: () => out,
      stderr: () => err,
      exited,
      async stop(signal = "SIGTERM") {
        if (!alive(proc)) return true;
        proc.kill(signal);
        let killed = false;
        const t = setTimeout(() => {
          killed = true;
          proc.kill("SIGKILL");
        }, GRACE_MS);
        await exited;
        clearTimeout(t);
        return !killed;
      },
    };
    this.procs.push(handle);
    return handle;
  }

  /** Runs `cmd args` inside `ns` to its end (killed after `timeoutMs`, default 60 s). */
  async run(ns: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<NsRunResult> {
    const p = this.spawn(ns, cmd, args, opts);
    const t = setTimeout(() => p.proc.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    const rc = await p.exited;
    clearTimeout(t);
    return { rc: rc ?? -1, stdout: p.stdout(), stderr: p.stderr() };
  }

  /**
   * Starts tcpdump on `ns`'s veth end writing every TCP packet, whole (-s 0), to `file`, and
   * resolves once it is capturing (its "listening on" line).
   */
  async capture(ns: string, file: string): Promise<Capture> {
    const dev = ns === this.ctl ? this.ctlDev : this.agtDev;
    // -Z root: Debian's tcpdump otherwise drops to the tcpdump user, who cannot write into a 0700 temp dir.
    const p = this.spawn(ns, "tcpdump", ["-i", dev, "-n", "-s", "0", "-U", "--immediate-mode", "-Z", "root", "-w", file, "tcp"]);
    await waitFor(p, () => /listening on/.test(p.stderr()), "tcpdump");
    return {
      stop: async () => {
        await this.flushCapture(file, p);
        if (!(await p.stop("SIGINT"))) throw new Error(`tcpdump did not exit on SIGINT: ${p.stderr()}`);
        return readTcpStreams(readFileSync(file));
      },
    };
  }

  /**
   * Sends a sentinel over the veth (a TCP connection from the agents' namespace to a listener in
   * the controller's) and waits until tcpdump has written it to `file`: every packet that crossed
   * before is then in the file too (the kernel hands packets over in order), so stopping tcpdump
   * loses none of them.
   */
  private async flushCapture(file: string, tcpdump: NsProcess): Promise<void> {
    const sentinel = `swp-capture-sentinel-${process.pid}-${Date.now()}`;
    const listener = this.spawn(this.ctl, process.execPath, [
      "-e",
      `const s=require("net").createServer((c)=>{c.resume();c.on("end",()=>{c.end();s.close();});}).listen(${SENTINEL_PORT},process.argv[1],()=>console.log("ready"));`,
      this.ctlIp,
    ]);
    await waitFor(listener, () => listener.stdout().includes("ready"), "sentinel listener");
    const sent = await this.run(this.agt, process.execPath, [
      "-e",
      `const c=require("net").connect(${SENTINEL_PORT},process.argv[1],()=>c.end(process.argv[2]));c.resume();c.on("close",()=>{});`,
      this.ctlIp,
      sentinel,
    ]);
    if (sent.rc !== 0) throw new Error(`sending the capture sentinel failed: ${sent.stderr}`);
    await listener.exited;
    const deadline = Date.now() + 20_000;
    while (!readFileSync(file).includes(sentinel)) {
      if (Date.now() > deadline) throw new Error(`tcpdump did not write the sentinel within 20 s: ${tcpdump.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Stops every process started here (SIGTERM, SIGKILL after 10 s), then deletes both namespaces.
   * @throws Error, once everything is removed, naming the processes that had to be killed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = await Promise.all(this.procs.map((p) => p.stop()));
    this.deleteNamespaces();
    process.off("exit", this.onExit);
    // A process that does not exit on SIGTERM is a bug (a handle keeping it alive): the caller fails, after the cleanup.
    const killed = this.procs.filter((_, i) => !stopped[i]).map((p) => `${p.proc.spawnargs.slice(3, 5).join(" ")}: ${p.stderr().slice(-1000)}`);
    if (killed.length) throw new Error(`did not exit within ${GRACE_MS} ms of SIGTERM and were killed:\n${killed.join("\n")}`);
  }

  private deleteNamespaces(): void {
    for (const ns of [this.ctl, this.agt]) {
      // Any process still inside (should close() have been skipped) is killed first, then the name goes.
      spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
        .stdout?.split(/\s+/)
        .filter(Boolean)
        .forEach((pid) => {
          try {
            process.kill(Number(pid), "SIGKILL");
          } catch {
            /* already gone */
          }
        });
      spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    }
  }
}
