import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readLine } from "../../lib/io.js";
import type { Command } from "../command.js";

/** What install-local needs to decide whether it may touch the root. */
export interface InstallLocalGate {
  /** The root, resolved. */
  root: string;
  /** `--yes` was given. */
  yes: boolean;
  /** stdin and stdout are a terminal (a question can be asked). */
  interactive: boolean;
  /** The effective user id (undefined where the platform has none). */
  euid: number | undefined;
}

/**
 * Whether install-local may go ahead: "go", "ask" (a terminal: ask first), or a refusal line.
 * Installing into `/` changes this machine: it needs root, and the operator's yes (`--yes`, or
 * an answer on a terminal). Another root (`--root DIR`, a host image being prepared) needs neither.
 */
export function installLocalGate(g: InstallLocalGate): "go" | "ask" | { refuse: string } {
  if (g.root !== path.parse(g.root).root) return "go";
  if (g.euid !== undefined && g.euid !== 0) return { refuse: "Error: install-local into / changes this machine's packages: run it as root (or give --root DIR)." };
  if (g.yes) return "go";
  if (g.interactive) return "ask";
  return { refuse: "Error: install-local into / changes this machine's packages: confirm with --yes (or give --root DIR)." };
}

export const installLocal: Command = {
  name: "install-local",
  summary: "Trigger patch installation/removal on the local host (before initial configuration)",
  usage: "install-local [--root DIR] [--yes] [--hostname NAME] [--personality P] [--subfunctions a,b] [--release R]",
  help:
    "  Converges this host's root on its desired package set once, through the local agent\n" +
    "  (`sw-patch-agent --install`), before initial configuration, then says to reboot. It touches\n" +
    "  nothing outside the root. Installing into / (the default) changes this machine: it must run\n" +
    "  as root, and asks first (or takes --yes).\n" +
    "  --root DIR          host root (default /)\n" +
    "  -y, --yes           do not ask before installing into /\n" +
    "  --hostname NAME     this host's name (default: the system's hostname)\n" +
    "  --personality P     controller|worker|storage (default controller)\n" +
    "  --subfunctions a,b  subfunctions (default: the personality)\n" +
    "  --release R         running release (default 19.09)\n",
  options: {
    root: { type: "string" },
    yes: { type: "boolean", short: "y" },
    hostname: { type: "string" },
    personality: { type: "string" },
    subfunctions: { type: "string" },
    release: { type: "string" },
  },
  notInSystemController: true,
  async run(ctx, { values, positionals }) {
    if (positionals.length !== 0) return ctx.usageError();
    const root = path.resolve((values.root as string | undefined) ?? "/");
    if (existsSync(path.join(root, "etc/platform/.initial_config_complete"))) {
      ctx.err("Error: This function can only be used before initial system configuration.\n");
      return 1;
    }
    const hostname = (values.hostname as string | undefined) ?? os.hostname();
    const gate = installLocalGate({
      root,
      yes: values.yes === true,
      interactive: ctx.io.isTTY && Boolean((ctx.io.stdin as { isTTY?: boolean }).isTTY),
      euid: process.geteuid?.(),
    });
    if (typeof gate === "object") {
      ctx.err(gate.refuse + "\n");
      return 1;
    }
    if (gate === "ask") {
      ctx.out(`This installs the patches for ${hostname} into / of this machine. Continue? [y/N]: `);
      const answer = await readLine(ctx.io.stdin);
      if ((answer ?? "").trim().toLowerCase() !== "y") {
        ctx.out(answer === null ? "\nAborting...\n" : "Aborting...\n");
        return 1;
      }
    }
    const agentBin = path.resolve(__dirname, "../../../../../bin/sw-patch-agent");
    const args = [
      agentBin,
      "--install",
      "--controller",
      ctx.endpoint,
      "--root",
      root,
      "--hostname",
      hostname,
      "--personality",
      (values.personality as string | undefined) ?? "controller",
      "--log-level",
      "warn",
    ];
    if (values.subfunctions) args.push("--subfunctions", values.subfunctions as string);
    if (values.release) args.push("--release", values.release as string);
    const t = ctx.transport;
    if (t.tlsCa) args.push("--tls-ca", t.tlsCa);
    else if (ctx.tls) args.push("--tls");
    if (t.tlsCert && t.tlsKey) args.push("--tls-cert", t.tlsCert, "--tls-key", t.tlsKey);
    if (t.insecure) args.push("--insecure");
    // The token goes to the agent in its environment, never in argv (where ps shows it).
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SWPATCH_TOKEN_FILE;
    if (ctx.token) env.SWPATCH_TOKEN = ctx.token;
    else delete env.SWPATCH_TOKEN;
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
      let log = "";
      child.stdout.setEncoding("utf8"); // whole characters per chunk for the terminal-safe stdout
      child.stdout.on("data", (d: string) => ctx.out(d));
      child.stderr.on("data", (d: Buffer) => (log += d.toString()));
      child.on("error", () => resolve(1));
      child.on("close", (c) => {
        if (c !== 0 && log.trim()) ctx.err(`${log.trim().split("\n").pop()}\n`);
        resolve(c ?? 1);
      });
    });
    if (code === 0) {
      ctx.out("Patch installation is complete.\nPlease reboot before continuing with configuration.\n");
      return 0;
    }
    ctx.err("Error: Failed to install patches. Please check /var/log/patching.log for details\n");
    return 1;
  },
};
