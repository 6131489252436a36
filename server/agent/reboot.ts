/**
 * How the agent reboots its host when the controller asks (RebootCommand, after an unlock that needs
 * one). Two modes:
 * - "simulate" (test roots): the agent waits a moment in its own process, then does what a boot
 *   does to the host's volatile state (host-agent.ts).
 * - "system" (a real host, `--root /`): the agent records the request and the kernel's boot id in
 *   its state file, runs the reboot command (`systemctl reboot` by default) and waits to be
 *   stopped by the shutdown. After the boot, systemd starts the agent again; it sees a new boot
 *   id, finishes the reboot's work and reports the result on its first stream.
 */
import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";

/** The reboot settings of one agent process. */
export type RebootMode =
  | { mode: "simulate"; delayMs: number }
  | {
      mode: "system";
      /** Run with /bin/sh -c. */
      command: string;
      /** Where the kernel's boot id is read. */
      bootIdFile: string;
      /** How long to wait for the shutdown after the command succeeded before reporting failure. */
      waitMs: number;
    };

/** The settings of a real reboot. */
export type SystemRebootMode = Extract<RebootMode, { mode: "system" }>;

/**
 * A real reboot: `save` records the boot id first (with the request, in the agent's state file),
 * then the command runs and this waits to be stopped by the shutdown (`signal` aborts: resolves
 * undefined, the reboot goes on). Resolves with a failure reason when the boot id cannot be read,
 * the command fails, or the host is still up after `waitMs`.
 */
export async function systemReboot(mode: SystemRebootMode, save: (bootId: string) => Promise<void>, signal?: AbortSignal): Promise<string | undefined> {
  const bootId = await readBootId(mode.bootIdFile);
  if (bootId === "") return `cannot read the boot id from ${mode.bootIdFile}`;
  await save(bootId);
  const r = await runRebootCommand(mode.command);
  if (r.error !== undefined || r.code !== 0) {
    const out = r.output.trim().split("\n").pop() ?? "";
    return `reboot command \`${mode.command}\` ${r.error !== undefined ? `could not run: ${r.error}` : `exited with ${r.code}`}${out ? `: ${out}` : ""}`;
  }
  if (await waitOrAbort(mode.waitMs, signal)) return undefined;
  return `the host did not reboot within ${Math.round(mode.waitMs / 1000)} s of \`${mode.command}\``;
}

/** The kernel's boot id (changes at every boot). */
export const DEFAULT_BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id";
export const DEFAULT_REBOOT_COMMAND = "systemctl reboot";
/** A host that has not gone down this long after a successful reboot command did not reboot. */
export const DEFAULT_REBOOT_WAIT_MS = 10 * 60_000;

/** The reboot mode for `--root` when `--reboot-mode` is not given: a real reboot only for `/`. */
export function defaultRebootMode(root: string): "simulate" | "system" {
  return root === "/" ? "system" : "simulate";
}

/** Reads the boot id (trimmed); "" when it cannot be read. */
export async function readBootId(file: string): Promise<string> {
  try {
    return (await fsp.readFile(file, "utf8")).trim();
  } catch {
    return "";
  }
}

/**
 * Runs the reboot command and resolves with its exit code and the end of its output (at most
 * 2 KiB), or with the spawn error as `error`.
 */
export function runRebootCommand(command: string): Promise<{ code: number | null; output: string; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-2048);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", (e) => resolve({ code: null, output, error: e.message }));
    child.once("close", (code) => resolve({ code, output }));
  });
}

/** Resolves after `ms`, or at once when `signal` aborts; true if it was aborted. */
export function waitOrAbort(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(true);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
