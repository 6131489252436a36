/** The console's patch routes: list, show, upload (multipart, many files), apply, remove, delete, commit. */
import { applyMessages, commitMessages, deleteMessages, removeMessages, uploadMessages, withReferenceLine } from "../mappers/patch-messages.js";
import { isDomainError } from "../../domain/errors.js";
import type { PatchManager } from "../../domain/patches/patch-manager.js";
import { HttpError } from "../http/errors.js";
import { bodyStream, drain } from "../http/body.js";
import { parseMultipart } from "../http/multipart.js";
import { checkUploadFileName } from "../http/upload-name.js";
import { throwIfBusy } from "../rest/patch-api/upload.js";
import { type ApiFn, cliError, CONSOLE_ACTIONS, CSRF_HEADER, csrfRefusal, ID_RE, idList, jsonBody, RELEASE_RE } from "./console-common.js";
import { patchDetails, patchSummary } from "./views.js";

/** Registers the patch routes; `maxUpload` bounds one upload request in bytes. */
export function registerPatchRoutes(api: ApiFn, patches: PatchManager, maxUpload: number): void {
  api(["GET"], "/api/patches", "/swpatch.v1.PatchService/QueryPatches", async (ctx) => {
    const show = (ctx.query.get("show") ?? "all").toLowerCase();
    const filter = show === "applied" || show === "available" || show === "committed" ? show : "all";
    const release = ctx.query.get("release") ?? "";
    if (release && !RELEASE_RE.test(release)) throw new HttpError(400, "bad release", { error: `Error: invalid release "${release.slice(0, 64)}"` });
    return { body: { patches: patches.query(filter, release).map(patchSummary), releases: patches.releasesKnown() } };
  });

  api(["GET"], "/api/patches/:id", "/swpatch.v1.PatchService/ShowPatches", async (ctx) => {
    const id = ctx.params.id!;
    if (!ID_RE.test(id)) throw new HttpError(400, "bad id", { error: `Error: invalid patch id "${id.slice(0, 64)}"` });
    const p = patches.get(id);
    if (!p) throw new HttpError(404, "unrecognized", { error: `${id} is unrecognized` });
    return { body: { patch: patchDetails(p, patches) } };
  });

  api(
    ["POST"],
    "/api/patches/upload",
    CONSOLE_ACTIONS.upload,
    async (ctx) => {
      if (ctx.req.headers[CSRF_HEADER] !== "1") throw csrfRefusal();
      const results: { file: string; id: string; info: string; warning: string; error: string }[] = [];
      for await (const part of parseMultipart(bodyStream(ctx.req, maxUpload), ctx.req.headers["content-type"], { maxParts: 64 })) {
        if (part.name !== "file" || !part.filename) {
          await drain(part.body);
          continue;
        }
        let name = part.filename;
        try {
          name = checkUploadFileName(part.filename);
        } catch (e) {
          await drain(part.body);
          results.push({ file: name, id: "", info: "", warning: "", error: `Error: ${(e as Error).message}` });
          continue;
        }
        try {
          const r = await patches.upload(name, part.body, ctx.signal);
          results.push({ file: name, id: r.id, ...uploadMessages(r), error: "" });
        } catch (e) {
          if (ctx.signal.aborted || !isDomainError(e)) throw e;
          throwIfBusy(e);
          results.push({ file: name, id: "", info: "", warning: "", error: cliError(withReferenceLine(e)) });
        }
      }
      if (results.length === 0) throw new HttpError(400, "no file", { error: "Error: choose one or more .patch files" });
      const ok = results.filter((r) => !r.error).map((r) => r.id);
      return {
        body: { results },
        target: `files=${results.map((r) => r.file).join(",")}`.slice(0, 256),
        detail: ok.length ? `patch=${ok.join(",")}` : results[0]!.error,
      };
    },
    { keepBody: true },
  );

  api(["POST"], "/api/patches/apply", CONSOLE_ACTIONS.apply, async (ctx) => {
    const b = await jsonBody(ctx);
    const all = b.all === true;
    const ids = all ? [] : idList(b.ids);
    const r = await patches.apply(ids, { all });
    return { body: applyMessages(r), target: all ? "all" : `patches=${ids.join(",")}` };
  });

  api(["POST"], "/api/patches/remove", CONSOLE_ACTIONS.remove, async (ctx) => {
    const ids = idList((await jsonBody(ctx)).ids);
    const r = await patches.remove(ids);
    return { body: removeMessages(r), target: `patches=${ids.join(",")}` };
  });

  api(["POST"], "/api/patches/delete", CONSOLE_ACTIONS.delete, async (ctx) => {
    const ids = idList((await jsonBody(ctx)).ids);
    const r = await patches.delete(ids);
    return { body: deleteMessages(r), target: `patches=${ids.join(",")}` };
  });

  api(["POST"], "/api/patches/commit", CONSOLE_ACTIONS.commit, async (ctx) => {
    const b = await jsonBody(ctx);
    const ids = idList(b.ids);
    const dryRun = b.dryRun === true;
    const r = await patches.commit({ ids, dryRun });
    return {
      body: { info: commitMessages(r).info, patchIds: r.patchIds, freedBytes: r.freedBytes, dryRun },
      target: `patches=${ids.join(",")}`,
      detail: dryRun ? "dry-run" : "",
    };
  });
}
