/**
 * Stand-in for `sw-patch-controller --patch-api-listen H:P --patch-api-local-trust` until the
 * controller wires those flags: the real controller (createController) plus the REST gateway on
 * its domain objects. Takes the controller's flags plus the two new ones; prints the same
 * "listening on" line as the controller and "patch api listening on H:P". Used by compat.sh only.
 */
import * as path from "node:path";
import { parseControllerArgs, resolveControllerConfig } from "../../server/config/controller-config.js";
import { createController } from "../../server/controller/controller.js";
import { createLogger } from "../../server/lib/log.js";
import { Db } from "../../server/storage/db.js";
import { migrations } from "../../server/storage/migrations/index.js";
import { AuthStore } from "../../server/storage/auth-store.js";
import { AuthManager, AuditLog } from "../../server/domain/auth/index.js";
import { createPatchApiServer } from "../../server/transport/rest/patch-api.js";

async function main(argv: string[]): Promise<number> {
  let apiListen = "";
  let localTrust = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--patch-api-listen") apiListen = argv[++i] ?? "";
    else if (argv[i] === "--patch-api-local-trust") localTrust = true;
    else rest.push(argv[i]!);
  }
  const config = resolveControllerConfig(parseControllerArgs(rest));
  const log = createLogger({ level: config.logLevel, bindings: { proc: "controller" } });
  const controller = await createController(config, { log });
  process.stdout.write(`sw-patch-controller listening on ${controller.address} (release ${config.release}, data ${config.dataDir})\n`);
  const db = await Db.open(path.join(config.dataDir, "sw-patch.sqlite"), migrations);
  const store = new AuthStore(db);
  let api: ReturnType<typeof createPatchApiServer> | undefined;
  if (apiListen) {
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(apiListen);
    if (!m) throw new Error(`--patch-api-listen: expected HOST:PORT, got "${apiListen}"`);
    api = createPatchApiServer({ patches: controller.patches, hosts: controller.hosts, auth: new AuthManager({ store }), audit: new AuditLog(store), log, localTrust, maxUploadBytes: config.maxPatchBytes + 1024 * 1024 });
    const a = await api.listen(m[1] ?? (m[2] || "127.0.0.1"), Number(m[3]));
    process.stdout.write(`patch api listening on ${a.address}:${a.port}\n`);
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await api?.close();
  await controller.close();
  await db.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`rest-controller: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  },
);
