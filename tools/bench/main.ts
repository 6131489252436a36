/**
 * `npm run bench -- [suite...]`: runs the named benchmark suites (all registered ones when none
 * are named) and prints their figures with PASS/MISS against each target. Exit 1 if a suite fails
 * to run (a MISS is reported, not an error).
 */

/** A benchmark suite: prints its own report; resolves when done. */
export interface BenchSuite {
  name: string;
  description: string;
  run(args: { log: (line: string) => void }): Promise<void>;
}

const registry = new Map<string, () => Promise<BenchSuite>>();

/** Register a suite under `name`; `load` is called only when the suite runs. */
export function registerSuite(name: string, load: () => Promise<BenchSuite>): void {
  registry.set(name, load);
}

registerSuite("verify", async () => (await import("./verify.js")).verifySuite);
registerSuite("upload", async () => (await import("./upload.js")).uploadSuite);
registerSuite("fleet", async () => (await import("./fleet.js")).fleetSuite);
registerSuite("orchestrate", async () => (await import("./orchestrate.js")).orchestrateSuite);
registerSuite("query", async () => (await import("./query.js")).querySuite);
registerSuite("bomb", async () => (await import("./bomb.js")).bombSuite);
registerSuite("slow-sockets", async () => (await import("./slow-sockets.js")).slowSocketsSuite);
registerSuite("watch", async () => (await import("./watch.js")).watchSuite);
registerSuite("blobs", async () => (await import("./blobs.js")).blobsSuite);
registerSuite("http", async () => (await import("./http.js")).httpSuite);
registerSuite("audit", async () => (await import("./audit.js")).auditSuite);
registerSuite("failover", async () => (await import("./failover.js")).failoverSuite);
registerSuite("scale", async () => (await import("./scale.js")).scaleSuite);

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--child-verify") {
    const { childVerify } = await import("./verify.js");
    return childVerify(argv.slice(1));
  }
  if (argv[0] === "--child-upload-client") {
    const { childUploadClient } = await import("./upload.js");
    return childUploadClient(argv.slice(1));
  }
  if (argv[0] === "--child-bare-upload") {
    const { childBareUpload } = await import("./upload.js");
    return childBareUpload(argv.slice(1));
  }
  if (argv[0] === "--child-http-load") {
    const { childHttpLoad } = await import("./http.js");
    return childHttpLoad(argv.slice(1));
  }
  if (argv[0] === "--child-http-upload") {
    const { childHttpUpload } = await import("./http.js");
    return childHttpUpload(argv.slice(1));
  }
  // `--baseline-dist DIR`: another checkout's built dist/ to measure too (suites that compare builds, e.g. http).
  const b = argv.indexOf("--baseline-dist");
  if (b >= 0) {
    if (!argv[b + 1]) {
      process.stderr.write("--baseline-dist needs a directory\n");
      return 1;
    }
    process.env.BENCH_BASELINE_DIST = argv[b + 1];
    argv = [...argv.slice(0, b), ...argv.slice(b + 2)];
  }
  // `--hosts 1000,10000`: the fleet sizes of the scale suite.
  const h = argv.indexOf("--hosts");
  if (h >= 0) {
    if (!argv[h + 1]) {
      process.stderr.write("--hosts needs a list of sizes, e.g. 1000,10000\n");
      return 1;
    }
    process.env.BENCH_SCALE_HOSTS = argv[h + 1];
    argv = [...argv.slice(0, h), ...argv.slice(h + 2)];
  }
  const names = argv.length > 0 ? argv : [...registry.keys()];
  for (const n of names) {
    const load = registry.get(n);
    if (!load) {
      process.stderr.write(`Unknown bench suite '${n}'. Known: ${[...registry.keys()].join(", ")}\n`);
      return 1;
    }
    const suite = await load();
    process.stdout.write(`== ${suite.name}: ${suite.description}\n`);
    await suite.run({ log: (l) => process.stdout.write(l + "\n") });
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (c) => (process.exitCode = c),
    (e) => {
      process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
