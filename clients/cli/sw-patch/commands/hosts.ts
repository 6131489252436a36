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
