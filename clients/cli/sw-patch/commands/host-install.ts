import { delay } from "abort-controller-x";
import { InstallHostResponse, InstallPhase, installPercent, isTransientError, type InstallProgress } from "../../../sdk/src/index.js";
import { debugJson } from "../../render/json.js";
import { safeText } from "../../render/safe-text.js";
import type { Command, CommandContext } from "../command.js";

const PHASE_WORDS: Partial<Record<InstallPhase, string>> = {
  [InstallPhase.INSTALL_PHASE_QUEUED]: "queued",
  [InstallPhase.INSTALL_PHASE_DOWNLOADING]: "downloading",
  [InstallPhase.INSTALL_PHASE_INSTALLING]: "installing",
  [InstallPhase.INSTALL_PHASE_RUNNING_SCRIPTS]: "running scripts",
  [InstallPhase.INSTALL_PHASE_DONE]: "done",
  [InstallPhase.INSTALL_PHASE_FAILED]: "failed",
  [InstallPhase.INSTALL_PHASE_REJECTED]: "rejected",
};

/**
 * One progress-bar line for a TTY (no newline), at most `width` characters. The percentage is the
 * whole install's ({@link installPercent}: it does not restart at 0 for each phase), never below
 * `floor` (what the bar already showed).
 */
export function progressLine(p: InstallProgress, width: number, floor = 0): string {
  const pct = Math.max(floor, Math.min(100, installPercent(p)));
  const barWidth = 20;
  const filled = Math.round((pct / 100) * barWidth);
  let text = `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ${String(pct).padStart(3)}% ${PHASE_WORDS[p.phase] ?? "working"}`;
  if (p.total > 0) text += ` ${p.current}/${p.total}`;
  if (p.item) text += ` ${safeText(p.item)}`;
  return text.length > width ? text.slice(0, width) : text;
}

/** The reference's closing line for a terminal progress message, and the exit code. */
export function outcomeLine(p: InstallProgress): { text: string; rc: number } {
  switch (p.phase) {
    case InstallPhase.INSTALL_PHASE_DONE:
      return { text: "Installation was successful.", rc: 0 };
    case InstallPhase.INSTALL_PHASE_REJECTED:
      return { text: "Installation rejected. Node must be locked", rc: 1 };
    case InstallPhase.INSTALL_PHASE_FAILED:
      return { text: "Installation failed. Please check logs for details.", rc: 1 };
    default:
      return { text: `Patch agent is reporting unknown state: ${PHASE_WORDS[p.phase] ?? p.phase}`, rc: 1 };
  }
}

const MAX_RETRIES = 4;

async function follow(ctx: CommandContext, host: string, force: boolean): Promise<number> {
  const client = ctx.client();
  let operationId = "";
  let retries = 0;
  let started = false;
  let seen = 0;
  let shown = 0;
  const show = (p: InstallProgress) => {
    if (ctx.debug) ctx.out(debugJson(InstallHostResponse.toJSON({ progress: p })));
    // The bar's own control sequence goes to the raw terminal; the line itself is safe text.
    else if (ctx.io.isTTY) {
      shown = Math.max(shown, installPercent(p));
      void (ctx.io.terminal ?? ctx.io.stdout).write("\r\x1b[K" + progressLine(p, ctx.termWidth, shown));
    } else ctx.out(".");
  };
  for (;;) {
    try {
      const stream = operationId
        ? client.watchOperation(operationId, { resume: false }) // this loop retries, up to MAX_RETRIES
        : (async function* () {
            for await (const r of client.hosts.installHost({ host, force })) if (r.progress) yield r.progress;
          })();
      let index = 0;
      for await (const p of stream) {
        started = true;
        operationId ||= p.operationId;
        index += 1;
        if (p.terminal) {
          const { text, rc } = outcomeLine(p);
          ctx.out(`\n${text}\n`);
          return rc;
        }
        // A resumed watch replays the operation from its start; show only what is new.
        if (index > seen) {
          seen = index;
          show(p);
        }
      }
      ctx.out("\nPatch agent is reporting unknown state: no result\n");
      return 1;
    } catch (e) {
      if (!started || !operationId || !isTransientError(e)) throw e;
      retries += 1;
      if (retries > MAX_RETRIES) {
        ctx.out("\nLost communications with the patch controller\n");
        return 1;
      }
      await delay(new AbortController().signal, 1000);
    }
  }
}

export const command: Command = {
  name: "host-install",
  summary: "Trigger patch installation/removal on a remote host and wait for the result",
  usage: "host-install [--force] <hostname>",
  help: "  --force   install on an unlocked host, even for reboot-required patches\n",
  options: { force: { type: "boolean" } },
  notInSystemController: true,
  async run(ctx, { values, positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    return follow(ctx, positionals[0]!, Boolean(values.force));
  },
};
