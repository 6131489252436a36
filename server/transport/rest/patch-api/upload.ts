/**
 * Upload endpoints: `upload` (one multipart `file` field, streamed into the domain's verify-first
 * import) and `upload_dir` (admin: imports the *.patch files of server directories).
 */
import { uploadMessages, withReferenceLine } from "../../mappers/patch-messages.js";
import type { UploadOutcome } from "../../../domain/patches/patch-manager.js";
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { isDomainError } from "../../../domain/errors.js";
import type { PatchManager } from "../../../domain/patches/patch-manager.js";
import { badRequest, HttpError } from "../../http/errors.js";
import { bodyStream, drain } from "../../http/body.js";
import { parseMultipart } from "../../http/multipart.js";
import { checkUploadFileName } from "../../http/upload-name.js";
import { type Answer, nl, outcomeOfError, P, type RouteFn } from "./common.js";

/** Collects per-file outcomes the way patch_import_api does. */
function importMessages() {
  const acc = { info: "", warning: "", error: "" };
  const ids: string[] = [];
  let outcome = "ok";
  return {
    acc,
    ids,
    get outcome() {
      return outcome;
    },
    ok(r: { id: string; outcome: UploadOutcome }) {
      const messages = uploadMessages(r);
      acc.info += nl(messages.info);
      acc.warning += nl(messages.warning);
      ids.push(r.id);
    },
    fail(fileName: string, e: unknown) {
      if (!isDomainError(e)) throw e;
      outcome = outcomeOfError(e);
      const id = fileName.endsWith(".patch") ? fileName.slice(0, -6) : fileName;
      if (e.reason === "BAD_FILE_NAME" || e.reason === "CONTENTS_MISMATCH") acc.error += nl(e.message);
      else if (e.kind === "internal" || e.kind === "unavailable" || e.kind === "aborted") acc.error += nl(`Failed to import patch ${id}`);
      else acc.error += nl(`Patch validation failed for ${id}:\n${withReferenceLine(e).message}`);
    },
  };
}

/** Too many uploads in flight or their temp disk full: 503 with the limit's message, not a per-file refusal. */
export function throwIfBusy(e: unknown): void {
  if (isDomainError(e) && e.kind === "resource-exhausted") throw new HttpError(503, e.message, { error: `Error: ${e.message}` }, { "retry-after": "10" });
}

/** Registers upload and upload_dir; `maxUpload` bounds the upload request in bytes. */
export function registerUploadRoutes(route: RouteFn, patches: PatchManager, maxUpload: number): void {
  route(
    ["POST"],
    "upload",
    { action: "UploadPatch", requirement: P("UploadPatch") },
    async (ctx) => {
      if (ctx.rest.length) throw badRequest("upload takes no path arguments");
      const parts = parseMultipart(bodyStream(ctx.req, maxUpload), ctx.req.headers["content-type"], { maxParts: 16 })[Symbol.asyncIterator]();
      let streamError: unknown;
      const m = importMessages();
      let sawFile = false;
      let answer: Answer | undefined;
      for (;;) {
        const n = await parts.next();
        if (n.done) break;
        const part = n.value;
        if (part.name !== "file") {
          await drain(part.body);
          continue;
        }
        if (sawFile) throw badRequest("upload: only one 'file' field per request");
        sawFile = true;
        if (!part.filename) {
          await drain(part.body);
          answer = { body: { error: "Error: No file uploaded" }, outcome: "INVALID_ARGUMENT" };
          continue;
        }
        const fileName = checkUploadFileName(part.filename);
        // The file's chunks, then — before the domain may commit anything — the rest of the
        // request must parse to its closing boundary, with no second file.
        const chunks = (async function* () {
          try {
            yield* part.body;
            for (;;) {
              const x = await parts.next();
              if (x.done) break;
              if (x.value.name === "file") throw badRequest("upload: only one 'file' field per request");
              await drain(x.value.body);
            }
          } catch (e) {
            streamError = e;
            throw e;
          }
        })();
        try {
          m.ok(await patches.upload(fileName, chunks, ctx.signal));
        } catch (e) {
          if (streamError) throw streamError;
          if (ctx.signal.aborted) throw e;
          throwIfBusy(e);
          m.fail(fileName, e);
        }
      }
      if (!sawFile) throw badRequest("upload: no 'file' field in the request");
      if (answer) return answer;
      return { body: m.acc, outcome: m.outcome, detail: m.ids.length ? `patch=${m.ids.join(",")}` : m.acc.error.split("\n")[0] };
    },
    { keepBody: true, target: () => "" },
  );

  route(
    ["POST"],
    "upload_dir",
    { action: "UploadPatchDir", requirement: "admin" },
    async (ctx) => {
      if (ctx.rest.length) throw badRequest("upload_dir takes no path arguments");
      const dirs: string[] = [];
      for (const [k, v] of ctx.query) {
        if (!/^dir\d{1,4}$/.test(k)) continue;
        if (!path.isAbsolute(v) || v.length > 4096 || v.includes("\0")) throw badRequest(`${k}: an absolute directory path is required`);
        dirs.push(path.resolve(v));
      }
      if (dirs.length > 64) throw badRequest("upload_dir: too many directories");
      const files: string[] = [];
      for (const d of dirs) {
        let names: string[];
        try {
          if (!(await fsp.stat(d)).isDirectory()) continue;
          names = await fsp.readdir(d);
        } catch {
          continue;
        }
        for (const n of names) {
          if (!n.endsWith(".patch")) continue;
          const f = path.join(d, n);
          try {
            if ((await fsp.stat(f)).isFile()) files.push(f);
          } catch {
            /* vanished */
          }
        }
      }
      const uniq = [...new Set(files)].sort();
      if (uniq.length === 0) return { body: { error: "No patches found" }, outcome: "NOT_FOUND" };
      if (uniq.length > 1000) throw badRequest("upload_dir: more than 1000 patch files");
      const m = importMessages();
      for (const f of uniq) {
        const name = path.basename(f);
        try {
          m.ok(await patches.upload(name, createReadStream(f, { highWaterMark: 256 * 1024 }) as AsyncIterable<Uint8Array>, ctx.signal));
        } catch (e) {
          if (ctx.signal.aborted) throw e;
          throwIfBusy(e);
          m.fail(name, e);
        }
      }
      return { body: m.acc, outcome: m.outcome, detail: m.ids.length ? `patches=${m.ids.join(",")}` : "" };
    },
    {
      target: (ctx) =>
        [...ctx.query]
          .filter(([k]) => /^dir\d+$/.test(k))
          .map(([k, v]) => `${k}=${v}`)
          .join(" "),
    },
  );
}
