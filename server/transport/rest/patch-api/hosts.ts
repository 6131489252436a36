/** Host endpoints: query_hosts, host_install_async, host_install (deprecated), drop_host. */
import type { PatchManager } from "../../../domain/patches/patch-manager.js";
import type { HostManager } from "../../../domain/hosts/host-manager.js";
import { badRequest } from "../../http/errors.js";
import { H, hostArg, opError, type RouteFn, triple } from "./common.js";
import { hostOf } from "./reference-json.js";

/** Registers the host endpoints. */
export function registerHostRoutes(route: RouteFn, patches: PatchManager, hosts: HostManager): void {
  route(["GET", "POST"], "query_hosts", { action: "ListHosts", requirement: H("ListHosts") }, async () => {
    const now = Date.now();
    return { body: { data: hosts.list().map((h) => hostOf(h, patches, now)) } };
  });

  route(["POST"], "host_install_async", { action: "InstallHostAsync", requirement: H("InstallHostAsync") }, async (ctx) => {
    if (ctx.rest.length === 0) return { body: { error: "Host must be provided for install" }, outcome: "INVALID_ARGUMENT" };
    if (ctx.rest.length > 2 || (ctx.rest.length === 2 && ctx.rest[1] !== "force")) throw badRequest("expected host_install_async/<host>[/force]");
    try {
      const r = await hosts.install(hostArg(ctx.rest[0]!), ctx.rest[1] === "force");
      return { body: { info: `Patch installation request sent to ${r.hostname}.\n`, warning: "", error: "" }, detail: `operation=${r.operationId}` };
    } catch (e) {
      return opError(e, triple);
    }
  });

  route(["GET", "POST"], "host_install", { action: "InstallHost", requirement: H("InstallHost") }, async () => ({
    body: { error: "Deprecated: Use host_install_async" },
    outcome: "FAILED_PRECONDITION",
  }));

  route(["POST"], "drop_host", { action: "DropHost", requirement: H("DropHost") }, async (ctx) => {
    if (ctx.rest.length === 0) return { body: { error: "Host must be provided" }, outcome: "INVALID_ARGUMENT" };
    if (ctx.rest.length > 1) throw badRequest("expected drop_host/<host>");
    try {
      await hosts.drop(hostArg(ctx.rest[0]!));
      return { body: { info: "", warning: "", error: "" } };
    } catch (e) {
      return opError(e, triple);
    }
  });
}
