import { stat } from "node:fs/promises";
import { UnavailableError, UploadPatchResponse } from "../../../sdk/src/index.js";
import type { Command, CommandContext } from "../command.js";
import { errorLine } from "../errors.js";
import { emitMessages } from "./shared.js";

/** Uploads files one by one, printing each result; returns 1 if any failed. */
export async function uploadFiles(ctx: CommandContext, files: readonly string[]): Promise<number> {
  let rc = 0;
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      ctx.err(`Error: ${file} is a directory. Please use upload-dir\n`);
      rc = 1;
      continue;
    }
    if (!info?.isFile()) {
      ctx.err(`Error: File does not exist: ${file}\n`);
      rc = 1;
      continue;
    }
    try {
      const response = await ctx.client().uploadPatchFile(file);
      emitMessages(ctx, UploadPatchResponse, response);
    } catch (e) {
      if (e instanceof UnavailableError) throw e; // no point trying the next file
      ctx.err(errorLine(e, ctx.endpoint) + "\n");
      rc = 1;
    }
  }
  return rc;
}

export const command: Command = {
  name: "upload",
  summary: "Upload one or more patches to the patching system",
  usage: "upload <patch-file> ...",
  async run(ctx, { positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    return uploadFiles(ctx, [...new Set(positionals)].sort());
  },
};
