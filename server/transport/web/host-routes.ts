/** The console's host routes: list (with any running install), install, operation progress, lock, unlock. */
import type { HostManager } from "../../domain/hosts/host-manager.js";
import { HttpError } from "../http/errors.js";
import { type ApiFn, CONSOLE_ACTIONS, hostParam, jsonBody } from "./console-common.js";
import { hostView, installView, type InstallView } from "./views.js";

/** Registers the host routes. */
export function registerHostRoutes(api: ApiFn, hosts: HostManager): void {
  const currentInstall = async (hostname: string): Promise<InstallView | undefined> => {
    const op = hosts.runningOperation(hostname);
    if (!op) return undefined;
    try {
      return installView((await hosts.operation(op)) as unknown as Record<string, unknown>);
    } catch {
      return undefined;
    }
  };

  api(["GET"], "/api/hosts", "/swpatch.v1.HostService/ListHosts", async () => {
    const list = hosts.list();
    const out = [];
    for (const h of list) out.push(hostView(h, await currentInstall(h.hostname)));
    return { body: { hosts: out } };
  });

  api(["POST"], "/api/hosts/:host/install", CONSOLE_ACTIONS.install, async (ctx) => {
    const b = await jsonBody(ctx);
    const r = await hosts.install(hostParam(ctx), b.force === true);
    return { body: { operationId: r.operationId, hostname: r.hostname }, detail: `operation=${r.operationId}` };
  });

  api(["GET"], "/api/operations/:id", "/swpatch.v1.HostService/GetOperation", async (ctx) => {
    const id = ctx.params.id!;
    if (!/^[0-9a-f-]{1,64}$/.test(id)) throw new HttpError(400, "bad operation id", { error: "Error: invalid operation id" });
    return { body: { progress: installView((await hosts.operation(id)) as unknown as Record<string, unknown>) } };
  });

  api(["POST"], "/api/hosts/:host/lock", CONSOLE_ACTIONS.lock, async (ctx) => {
    const b = await jsonBody(ctx);
    const h = await hosts.lock(hostParam(ctx), b.force === true);
    return { body: { host: hostView(h, undefined) } };
  });

  api(["POST"], "/api/hosts/:host/unlock", CONSOLE_ACTIONS.unlock, async (ctx) => {
    await jsonBody(ctx);
    const r = await hosts.unlock(hostParam(ctx));
    return { body: { host: hostView(r.host, undefined), rebooting: r.rebooting } };
  });
}
