/** Patch lifecycle endpoints: apply, remove, delete, commit(_dry_run), report_app_dependencies, init/del_release. */
import { applyMessages, commitMessages, deleteMessages, releaseMessages, removeMessages } from "../../mappers/patch-messages.js";
import { isDomainError } from "../../../domain/errors.js";
import type { PatchManager } from "../../../domain/patches/patch-manager.js";
import { badRequest } from "../../http/errors.js";
import { APP_RE, ids, okTriple, opError, outcomeOfError, P, RELEASE_RE, type RouteFn, triple } from "./common.js";

/** Registers apply, remove and delete. */
export function registerApplyRemoveRoutes(route: RouteFn, patches: PatchManager): void {
  route(["POST"], "apply", { action: "ApplyPatches", requirement: P("ApplyPatches") }, async (ctx) => {
    const list = ids(ctx.rest, { allowAll: true });
    const all = list.includes("--all");
    try {
      const r = await patches.apply(all ? [] : list, { all, skipSemantic: ctx.query.get("skip-semantic") === "yes" });
      return okTriple(applyMessages(r), r.applied.length ? `applied=${r.applied.join(",")}` : "");
    } catch (e) {
      return opError(e, triple);
    }
  });

  route(["POST"], "remove", { action: "RemovePatches", requirement: P("RemovePatches") }, async (ctx) => {
    try {
      const r = await patches.remove(ids(ctx.rest), {
        skipSemantic: ctx.query.get("skip-semantic") === "yes",
        skipAppCheck: ctx.query.get("skipappcheck") === "yes",
        removeUnremovable: ctx.query.get("removeunremovable") === "yes",
      });
      return okTriple(removeMessages(r), r.removed.length ? `removed=${r.removed.join(",")}` : "");
    } catch (e) {
      return opError(e, triple);
    }
  });

  route(["POST"], "delete", { action: "DeletePatches", requirement: P("DeletePatches") }, async (ctx) => {
    try {
      const r = await patches.delete(ids(ctx.rest));
      return okTriple(deleteMessages(r));
    } catch (e) {
      return opError(e, triple);
    }
  });
}

/** Registers commit and commit_dry_run. */
export function registerCommitRoutes(route: RouteFn, patches: PatchManager): void {
  for (const [action, dryRun] of [
    ["commit", false],
    ["commit_dry_run", true],
  ] as const) {
    route(["POST"], action, { action: "CommitPatches", requirement: P("CommitPatches") }, async (ctx) => {
      const list = ids(ctx.rest, { allowAll: true });
      const all = list.includes("--all");
      const release = ctx.query.get("release") ?? "";
      if (release && !RELEASE_RE.test(release)) throw badRequest(`invalid release "${release}"`);
      try {
        const r = await patches.commit(all ? { all, release, dryRun } : { ids: list, dryRun, ...(release ? { release } : {}) });
        return { body: { info: commitMessages(r).info, error: "" }, detail: `${dryRun ? "dry-run " : ""}patches=${r.patchIds.join(",")}` };
      } catch (e) {
        return opError(e, (msg) => ({ info: "", error: msg }));
      }
    });
  }
}

/** Registers report_app_dependencies. */
export function registerAppDependencyReportRoute(route: RouteFn, patches: PatchManager): void {
  route(["POST"], "report_app_dependencies", { action: "ReportAppDependencies", requirement: P("ReportAppDependencies") }, async (ctx) => {
    const list = ids(ctx.rest);
    const app = ctx.query.get("app") ?? "";
    if (app && !APP_RE.test(app)) throw badRequest(`invalid application name "${app.slice(0, 64)}"`);
    try {
      await patches.reportAppDependencies(app, list);
      return { body: true };
    } catch (e) {
      if (!isDomainError(e)) throw e;
      return { body: { status: 500, error: e.message }, outcome: outcomeOfError(e), detail: e.message };
    }
  });
}

/** Registers init_release and del_release. */
export function registerReleaseRoutes(route: RouteFn, patches: PatchManager): void {
  for (const [action, rpc] of [
    ["init_release", "InitRelease"],
    ["del_release", "DelRelease"],
  ] as const) {
    route(["POST"], action, { action: rpc, requirement: P(rpc) }, async (ctx) => {
      if (ctx.rest.length === 0) return { body: { error: "Release must be specified" }, outcome: "INVALID_ARGUMENT" };
      if (ctx.rest.length > 1 || !RELEASE_RE.test(ctx.rest[0]!)) throw badRequest("expected a single release name");
      try {
        const m = rpc === "InitRelease" ? await patches.initRelease(ctx.rest[0]!) : await patches.delRelease(ctx.rest[0]!);
        return okTriple(releaseMessages(m));
      } catch (e) {
        return opError(e, triple);
      }
    });
  }
}
