import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DropHostResponse, InstallHostAsyncResponse } from "../../../sdk/src/index.js";
import { renderMessages } from "../../render/messages.js";
import type { Command } from "../command.js";
import { emit, emitMessages } from "./shared.js";

export const hostInstallAsync: Command = {
  name: "host-install-async",
  summary: "Trigger asynchronous patch installation/removal on a remote host",
  usage: "host-install-async [--force] <hostname>",
  help: "  --force   install on an unlocked host, even for reboot-required patches\n",
  options: { force: { type: "boolean" } },
  notInSystemController: true,
  async run(ctx, { values, positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const host = positionals[0]!;
    const response = await ctx.client().hosts.installHostAsync({ host, force: Boolean(values.force) });
    emit(ctx, InstallHostAsyncResponse, response, () =>
      response.messages?.info || response.messages?.warning ? renderMessages(response.messages) : `Patch installation request sent to ${host}.\n`,
    );
    return 0;
  },
};

export const dropHost: Command = {
  name: "drop-host",
  summary: "Drop specified host from table",
  usage: "drop-host <hostname-or-ip>",
  notInSystemController: true,
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const response = await ctx.client().hosts.dropHost({ host: positionals[0]! });
    emitMessages(ctx, DropHostResponse, response);
    return 0;
  },
};

export const installLocal: Command = {
  name: "install-local",
  summary: "Trigger patch installation/removal on the local host (before initial configuration)",
  usage: "install-local [--root DIR] [--hostname NAME] [--personality P] [--subfunctions a,b] [--release R]",
  help:
    "  Converges this host's root (default /) on its desired package set once, through the\n" +
    "  local agent (`sw-patch-agent --install`), before initial configuration. It touches\n" +
    "  nothing outside the root.\n" +
    "  --root DIR          host root (default /)\n" +
    "  --hostname NAME     this host's name (default: the system's hostname)\n" +
    "  --personality P     controller|worker|storage (default controller)\n" +
    "  --subfunctions a,b  subfunctions (default: the personality)\n" +
    "  --release R         running release (default 19.09)\n",
  options: {
    root: { type: "string" },
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
    const agentBin = path.resolve(__dirname, "../../../../../bin/sw-patch-agent");
    const args = [
      agentBin,
      "--install",
      "--controller",
      ctx.endpoint,
      "--root",
      root,
      "--hostname",
      (values.hostname as string | undefined) ?? os.hostname(),
      "--personality",
      (values.personality as string | undefined) ?? "controller",
      "--log-level",
      "warn",
    ];
    if (values.subfunctions) args.push("--subfunctions", values.subfunctions as string);
    if (values.release) args.push("--release", values.release as string);
    if (ctx.token) args.push("--token", ctx.token);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
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
