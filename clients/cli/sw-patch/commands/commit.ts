import { CommitPatchesResponse, QueryFilter, type CommitPatchesResponse as CommitResult } from "../../../sdk/src/index.js";
import { readLine } from "../../lib/io.js";
import { renderMessages } from "../../render/messages.js";
import { fillText } from "../../render/text.js";
import { safeText } from "../../render/safe-text.js";
import { debugJson } from "../../render/json.js";
import type { Command, CommandContext } from "../command.js";
import { errorLine } from "../errors.js";

export const COMMIT_WARNING = "WARNING: Committing a patch is an irreversible operation. Committed patches cannot be removed.";

function printResult(ctx: CommandContext, response: CommitResult): void {
  if (ctx.debug) ctx.out(debugJson(CommitPatchesResponse.toJSON(response)));
  else ctx.out(renderMessages(response.messages));
}

export const command: Command = {
  name: "commit",
  summary: "Commit patches to free disk space. WARNING: This action is irreversible!",
  usage: "commit [--dry-run] [--yes] <patch-id> ... | --all [--release RELEASE]",
  help:
    "  --all               commit every patch of the release (default: the running release)\n" +
    "  --release RELEASE   with --all: the release\n" +
    "  --dry-run           only show what would be committed and the space it frees\n" +
    "  -y, --yes           do not ask for confirmation\n",
  options: {
    all: { type: "boolean" },
    release: { type: "string" },
    "dry-run": { type: "boolean" },
    yes: { type: "boolean", short: "y" },
  },
  async run(ctx, { values, positionals }) {
    const all = Boolean(values.all);
    const release = values.release as string | undefined;
    if (!all && positionals.length === 0 && release === undefined) return ctx.usageError();
    if (release !== undefined && !all) {
      ctx.err("Use of --release option requires --all\n");
      return 1;
    }
    const client = ctx.client();
    let ids: string[];
    if (all) {
      const rel = release ?? (await client.patches.getControllerInfo({})).runningRelease;
      const q = await client.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: rel });
      ids = q.patches.map((p) => p.id).sort();
      // IDs from the server: printed terminal-safe, sent back as they are.
      if (ids.length === 0) {
        ctx.out(`There are no ${rel} patches to commit.\n`);
        return 0;
      }
      ctx.out("The following patches will be committed:\n" + ids.map((id) => `    ${safeText(id)}\n`).join("") + "\n");
    } else {
      ids = [...new Set(positionals)].sort();
      const deps = await client.patches.queryDependencies({ patchIds: ids, recursive: true });
      ctx.out(
        "The following patches will be committed:\n" +
          [...deps.patchIds]
            .sort()
            .map((id) => `    ${safeText(id)}\n`)
            .join("") +
          "\n",
      );
    }

    try {
      printResult(ctx, await client.patches.commitPatches({ patchIds: ids, dryRun: true }));
    } catch (e) {
      ctx.err(errorLine(e, ctx.endpoint) + "\n");
      ctx.out("Aborting...\n");
      return 1;
    }
    if (values["dry-run"]) return 0;

    ctx.out("\n" + fillText(COMMIT_WARNING, { width: ctx.termWidth, subsequentIndent: " ".repeat(9) }) + "\n\n");
    if (!values.yes) {
      ctx.out("Would you like to continue? [y/N]: ");
      const answer = await readLine(ctx.io.stdin);
      if (answer === null) ctx.out("\n");
      if ((answer ?? "").trim().toLowerCase() !== "y") {
        ctx.out("Aborting...\n");
        return 1;
      }
    }
    printResult(ctx, await client.patches.commitPatches({ patchIds: ids }));
    return 0;
  },
};
