/** Read-only patch endpoints: query, show, what_requires, query_dependencies, is_applied/is_available, query_app_dependencies. */
import { isDomainError } from "../../../domain/errors.js";
import type { PatchManager } from "../../../domain/patches/patch-manager.js";
import { badRequest } from "../../http/errors.js";
import { type Answer, type Ctx, ids, opError, P, RELEASE_RE, type RouteFn, triple } from "./common.js";
import { metaOf } from "./reference-json.js";

/** The `query` answer (`{pd}`), also served at the bare `/patch` and `/v1`. */
export function queryAnswer(patches: PatchManager, ctx: Ctx): Answer {
  const show = (ctx.query.get("show") ?? "all").toLowerCase();
  const filter = show === "applied" || show === "available" || show === "committed" ? show : "all";
  const release = ctx.query.get("release") ?? "";
  if (release && !RELEASE_RE.test(release)) return { body: { pd: {} } };
  const pd: Record<string, unknown> = {};
  for (const p of patches.query(filter, release)) pd[p.meta.id] = metaOf(p);
  return { body: { pd } };
}

/** Registers the read-only patch endpoints. */
export function registerQueryRoutes(route: RouteFn, patches: PatchManager): void {
  route(["GET", "POST"], "query", { action: "QueryPatches", requirement: P("QueryPatches") }, async (ctx) => {
    if (ctx.rest.length) throw badRequest("query takes no path arguments");
    return queryAnswer(patches, ctx);
  });

  route(["GET", "POST"], "show", { action: "ShowPatches", requirement: P("ShowPatches") }, async (ctx) => {
    const r = patches.show(ids(ctx.rest));
    const metadata: Record<string, unknown> = {};
    const contents: Record<string, string[]> = {};
    for (const p of r.patches) {
      metadata[p.meta.id] = metaOf(p);
      contents[p.meta.id] = [...p.meta.contents].sort();
    }
    return { body: { metadata, contents, error: r.unrecognized.map((id) => `${id} is unrecognized\n`).join("") } };
  });
}

/** Registers the dependency queries (what_requires, query_dependencies, is_applied, is_available). */
export function registerDependencyRoutes(route: RouteFn, patches: PatchManager): void {
  route(["GET", "POST"], "what_requires", { action: "WhatRequires", requirement: P("WhatRequires") }, async (ctx) => {
    try {
      const r = patches.whatRequires(ids(ctx.rest));
      const info = r
        .map((x) => (x.requiredBy.length ? `${x.patchId} is required by: ${x.requiredBy.join(", ")}\n` : `${x.patchId} is not required by any patches.\n`))
        .join("");
      return { body: { info, warning: "", error: "" } };
    } catch (e) {
      return opError(e, triple);
    }
  });

  route(["GET", "POST"], "query_dependencies", { action: "QueryDependencies", requirement: P("QueryDependencies") }, async (ctx) => {
    try {
      return { body: { patches: patches.queryDependencies(ids(ctx.rest), ctx.query.get("recursive") === "yes"), error: "" } };
    } catch (e) {
      return opError(e, (msg) => ({ patches: [], error: msg }));
    }
  });

  for (const [action, rpc, state] of [
    ["is_applied", "IsApplied", "Applied"],
    ["is_available", "IsAvailable", "Available"],
  ] as const) {
    route(["GET", "POST"], action, { action: rpc, requirement: P(rpc) }, async (ctx) => {
      try {
        return { body: patches.isInState(ids(ctx.rest), state) };
      } catch (e) {
        // The reference answers False for an unknown id.
        if (isDomainError(e) && (e.kind === "not-found" || e.kind === "invalid-argument")) return { body: false };
        return opError(e, triple);
      }
    });
  }
}

/** Registers query_app_dependencies. */
export function registerAppDependencyQueryRoute(route: RouteFn, patches: PatchManager): void {
  route(["GET", "POST"], "query_app_dependencies", { action: "QueryAppDependencies", requirement: P("QueryAppDependencies") }, async () => {
    const out: Record<string, string[]> = {};
    for (const d of patches.appDependencies()) out[d.app] = d.patchIds;
    return { body: out };
  });
}
