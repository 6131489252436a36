import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { UnavailableError, UploadPatchResponse, type UploadProgress } from "../../../sdk/src/index.js";
import { safeText } from "../../render/safe-text.js";
import type { Command, CommandContext } from "../command.js";
import { errorLine } from "../errors.js";
import { emitMessages } from "./shared.js";

/**
 * One upload progress line for a terminal (no newline), at most `width` characters:
 * `Uploading 001.patch [#####...............]  25% 1.0/4.0 MiB`, then `... verifying` once every
 * byte is sent (the controller checks the signature and contents before it answers).
 */
export function uploadLine(name: string, p: UploadProgress, width: number): string {
  const pct = p.totalBytes > 0 ? Math.min(100, Math.floor((p.bytesSent / p.totalBytes) * 100)) : 100;
  const filled = Math.round((pct / 100) * 20);
  const mib = (n: number) => (n / 1048576).toFixed(1);
  let text = `Uploading ${safeText(name)} [${"#".repeat(filled)}${".".repeat(20 - filled)}] ${String(pct).padStart(3)}% ${mib(p.bytesSent)}/${mib(p.totalBytes)} MiB`;
  if (p.bytesSent >= p.totalBytes) text += " verifying";
  return text.length > width ? text.slice(0, width) : text;
}

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
    // On a terminal (and not --debug/--format json) a progress line is drawn, and cleared before the result.
    const term = ctx.io.isTTY && !ctx.debug && !ctx.json ? (ctx.io.terminal ?? ctx.io.stdout) : undefined;
    const clear = () => void term?.write("\r\x1b[K");
    try {
      const response = await ctx.client().uploadPatchFile(file, {
        ...(term ? { onProgress: (p: UploadProgress) => void term.write("\r\x1b[K" + uploadLine(basename(file), p, ctx.termWidth)) } : {}),
      });
      clear();
      emitMessages(ctx, UploadPatchResponse, response);
    } catch (e) {
      clear();
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
