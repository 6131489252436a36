/**
 * Builds what compat.sh needs into OUT (argv[2]): OUT/feed/*.rpm (the test base feed: busybox-base,
 * sysinv, pkg-a, pkg-b at 1.0-1) and OUT/001.patch (the seed's in-service patch: sysinv 1.0-2 for
 * every host plus sysinv-helper for controllers, REL, RR=N), signed with the dev key. Needs rpmbuild.
 */
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../../test/lib/base-feed.js";
import { runCli } from "../../test/lib/cli.js";
import { DEV_KEY } from "../../test/lib/controller-harness.js";

async function main(out: string): Promise<void> {
  const feedDir = path.join(out, "feed");
  mkdirSync(feedDir, { recursive: true });
  const feed = await buildBaseFeed();
  for (const f of readdirSync(feed.dir)) if (f.endsWith(".rpm")) copyFileSync(path.join(feed.dir, f), path.join(feedDir, f));
  const sysinv2 = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
  const helper = await buildPayloadRpm({ name: "sysinv-helper", version: "1.0", release: "1" });
  const r = await runCli("patch_build", [
    "--id",
    "001",
    "--release",
    "19.09",
    "--summary",
    "sysinv fix",
    "--status",
    "REL",
    "--reboot-required",
    "N",
    "--key",
    DEV_KEY,
    "--output-dir",
    out,
    "--controller",
    helper.file,
    sysinv2.file,
  ]);
  if (r.rc !== 0) throw new Error(`patch_build failed: ${r.stderr}`);
}

const out = process.argv[2];
if (!out) {
  process.stderr.write("usage: make-fixtures.ts OUT_DIR\n");
  process.exit(2);
}
main(path.resolve(out)).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`make-fixtures: ${(e as Error)?.message ?? e}\n`);
    process.exit(1);
  },
);
