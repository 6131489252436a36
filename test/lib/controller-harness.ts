import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "../..");
export const FIXTURES = path.join(REPO_ROOT, "test/fixtures");
export const DEV_CERT = path.join(FIXTURES, "starlingx/dev-certificate.pem");
export const FORMAL_CERT = path.join(FIXTURES, "starlingx/formal-certificate.pem");
export const DEV_KEY = path.join(FIXTURES, "starlingx/dev-private-key.pem");
/** How long stop() waits after SIGTERM before it kills the process (and fails). */
export const STOP_GRACE_MS = 10_000;

export interface ControllerHandle {
  endpoint: string;
  /** The admin token the controller wrote to <data-dir>/admin.token at first start. */
  adminToken: string;
  /** The VIM REST API address, when the controller was started with --vim-listen. */
  vimAddress: string | undefined;
  /** The web console URL, when the controller was started with --web-listen. */
  webUrl: string | undefined;
  /** The patching REST API address, when started with --patch-api-listen. */
  patchApiAddress: string | undefined;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the process wrote to stderr so far (JSON log lines). */
  stderr(): string;
  /** What the process printed on stdout up to its listening line(s). */
  startupOutput: string;
  /** SIGTERM and wait for exit; throws when the process had to be SIGKILLed after STOP_GRACE_MS. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit (crash tests). */
  kill9(): Promise<void>;
}

export interface StartControllerOptions {
  dataDir?: string;
  release?: string;
  trust?: string[];
  baseFeed?: string;
  extraArgs?: string[];
  /** Keep the data dir after stop (default: removed if the harness created it). */
  keepDataDir?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Listen on this port instead of 0 (restart tests that agents must find again). */
  port?: number;
}

/** Starts the real `bin/sw-patch-controller` on 127.0.0.1:0 and waits for its listening line. */
export async function startController(opts: StartControllerOptions = {}): Promise<ControllerHandle> {
  const created = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "swpatch-ctl-"));
  const args = [
    path.join(REPO_ROOT, "bin/sw-patch-controller"),
    "--data-dir",
    dataDir,
    "--listen",
    `127.0.0.1:${opts.port ?? 0}`,
    "--release",
    opts.release ?? "19.09",
    "--log-level",
    "warn",
  ];
  for (const t of opts.trust ?? [`${DEV_CERT}:dev`, `${FORMAL_CERT}:formal`]) args.push("--trust", t);
  if (opts.baseFeed) args.push("--base-feed", opts.baseFeed);
  args.push(...(opts.extraArgs ?? []));
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const extra = opts.extraArgs ?? [];
  const wantVim = extra.includes("--vim-listen");
  const wantWeb = extra.includes("--web-listen");
  const wantApi = extra.includes("--patch-api-listen");
  let vimAddress: string | undefined;
  let webUrl: string | undefined;
  let patchApiAddress: string | undefined;
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /sw-patch-controller listening on 127\.0\.0\.1:(\d+)/.exec(out);
      const v = /VIM REST API listening on (\S+)/.exec(out);
      if (v) vimAddress = v[1];
      const w = /web console listening on (\S+)/.exec(out);
      if (w) webUrl = w[1];
      const a = /patch API listening on (\S+)/.exec(out);
      if (a) patchApiAddress = a[1];
      if (m && (!wantVim || v) && (!wantWeb || w) && (!wantApi || a)) {
        proc.stdout!.off("data", onData);
        proc.stdout!.resume();
        resolve(Number(m[1]));
      }
    };
    proc.stdout!.on("data", onData);
    void exited.then((code) => reject(new Error(`controller exited (${code}) before listening:\n${err}`)));
  });
  const cleanup = () => {
    if (created && !opts.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const adminToken = readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
  return {
    vimAddress,
    webUrl,
    patchApiAddress,
    adminToken,
    endpoint: `127.0.0.1:${port}`,
    port,
    dataDir,
    proc,
    stderr: () => err,
    startupOutput: out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        cleanup();
        return proc.exitCode;
      }
      proc.kill("SIGTERM");
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        proc.kill("SIGKILL");
      }, STOP_GRACE_MS);
      const code = await exited;
      clearTimeout(timer);
      cleanup();
      // A controller that does not exit by itself on SIGTERM is a bug (an open stream or handle
      // keeping it alive): the test that stops it fails instead of the harness hiding it.
      if (killed) throw new Error(`controller did not exit within ${STOP_GRACE_MS} ms of SIGTERM and was killed:\n${err.slice(-3000)}`);
      return code;
    },
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
        await exited;
      }
    },
  };
}
