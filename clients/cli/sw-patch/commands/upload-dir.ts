import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "../command.js";
import { uploadFiles } from "./upload.js";

export const command: Command = {
  name: "upload-dir",
  summary: "Upload patches from one or more directories",
  usage: "upload-dir <directory> ...",
  help: "Uploads every <directory>/*.patch file, in sorted order.\n",
  async run(ctx, { positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const files: string[] = [];
    for (const dir of [...new Set(positionals)]) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.name.endsWith(".patch") && !e.isDirectory()) files.push(join(resolve(dir), e.name));
      }
    }
    if (files.length === 0) {
      ctx.err("Error: No patches found\n");
      return 1;
    }
    return uploadFiles(ctx, [...new Set(files)].sort());
  },
};
