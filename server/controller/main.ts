import * as path from "node:path";
import { CONTROLLER_USAGE, parseControllerArgs, resolveControllerConfig } from "../config/controller-config.js";
import { isDomainError } from "../domain/errors.js";
import { createController, ListenError } from "./controller.js";

/** `sw-patch-controller`: runs until SIGINT/SIGTERM, then shuts down gracefully (exit 0). */
export async function main(argv: string[]): Promise<number> {
  // AUDITCHAIN: the offline check of a data dir's audit chain (no controller started).
  if (argv[0] === "audit-verify") return (await import("./audit-verify-offline.js")).auditVerifyMain(argv.slice(1));
  let config;
  try {
    const opts = parseControllerArgs(argv);
    if (opts.help) {
      process.stdout.write(CONTROLLER_USAGE);
      return 0;
    }
    config = resolveControllerConfig(opts);
  } catch (e) {
    process.stderr.write(`sw-patch-controller: ${(e as Error).message}\n${isDomainError(e) ? CONTROLLER_USAGE : ""}`);
    return 2;
  }
  let controller;
  try {
    controller = await createController(config);
  } catch (e) {
    // One line naming what failed (a taken port names its flag); exit at once, whatever had started.
    process.stderr.write(`sw-patch-controller: ${e instanceof ListenError || isDomainError(e) ? e.message : String((e as Error)?.stack ?? e)}\n`);
    process.exit(1);
  }
  for (const label of controller.publicKeyPairLabels) {
    process.stderr.write(
      `sw-patch-controller: WARNING: trusted key ${label} is the StarlingX dev certificate, whose private key is public ` +
        `(test/fixtures/starlingx/dev-private-key.pem): anyone can sign patches this controller accepts. Use it for tests only.\n`,
    );
  }
  if (controller.localSigningKey) {
    process.stdout.write(
      `sw-patch-controller local signing key ${controller.localSigningKey.keyFile} (certificate ${controller.localSigningKey.certFile}, trusted as local)\n`,
    );
  }
  // Where the admin token is and how to use it, at every start (the log line says it only at the first).
  const tokenFile = path.resolve(controller.adminTokenFile);
  // The HTTP listeners serve https with the --tls-* files.
  const scheme = config.tls ? "https" : "http";
  const byDefault = path.basename(path.dirname(tokenFile)) === "data" ? ` (read by default when run from ${path.dirname(path.dirname(tokenFile))})` : "";
  process.stdout.write(
    `sw-patch-controller admin token in ${tokenFile} (mode 0600): CLIs on this host use it with --token-file ${tokenFile}${byDefault}` +
      (controller.webAddress ? `; web console: open ${scheme}://${controller.webAddress}/ and sign in with the token in that file` : "") +
      "\n",
  );
  process.stdout.write(`sw-patch-controller listening on ${controller.address} (release ${config.release}, data ${config.dataDir})\n`);
  if (controller.vimAddress) process.stdout.write(`VIM REST API listening on ${controller.vimAddress}\n`);
  if (controller.webAddress) process.stdout.write(`sw-patch-controller web console listening on ${scheme}://${controller.webAddress}\n`);
  if (controller.patchApiAddress) process.stdout.write(`sw-patch-controller patch API listening on ${controller.patchApiAddress}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await controller.close();
  return 0;
}
