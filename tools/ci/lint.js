#!/usr/bin/env node
"use strict";
// `npm run lint`: every static check, one after the other (2 cores: running them side by side is not faster).
// Each check runs even when an earlier one failed, so one run names every failing check; the last line is
// "lint: all N checks passed" or "lint: FAILED: <names>", and the exit code is 1 if any failed.
// `node tools/ci/lint.js eslint prettier` runs only the named checks (names: the keys of CHECKS).
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../..");
const bin = (name) => path.join(ROOT, "node_modules", ".bin", name);

/** name -> [command, args]; the order is cheapest and most often useful first. */
const CHECKS = {
  // --cache: a re-run lints only the files changed since the last one (.eslintcache, git-ignored)
  eslint: [bin("eslint"), ["--cache", "--cache-location", path.join(ROOT, ".eslintcache"), "."]],
  // --cache: files already known to be formatted (and unchanged) are not re-checked (.prettiercache, git-ignored)
  prettier: [bin("prettier"), ["--check", "--log-level", "warn", "--cache", "--cache-location", path.join(ROOT, ".prettiercache"), "."]],
  "buf-lint": [bin("buf"), ["lint"]],
  "buf-breaking": [process.execPath, [path.join(__dirname, "buf-breaking.js")]],
  // everything tsconfig.json includes: server, clients, tools and the tests. --incremental keeps what it learnt in
  // dist/.cache (a re-run re-checks only what changed, about a third of the CPU) and still reports every error.
  tsc: [bin("tsc"), ["--noEmit", "-p", ".", "--incremental", "--tsBuildInfoFile", path.join(ROOT, "dist", ".cache", "tsc-all.tsbuildinfo")]],
  // the web console (its own tsconfig: DOM, JSX, bundler resolution)
  "tsc-web": [bin("tsc"), ["-p", "clients/web", "--incremental", "--tsBuildInfoFile", path.join(ROOT, "dist", ".cache", "tsc-web.tsbuildinfo")]],
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in CHECKS));
if (unknown.length) {
  process.stderr.write(`lint: unknown check ${unknown.join(", ")}; checks: ${Object.keys(CHECKS).join(", ")}\n`);
  process.exit(2);
}
const selected = Object.entries(CHECKS).filter(([name]) => wanted.length === 0 || wanted.includes(name));

const failed = [];
for (const [name, [cmd, args]] of selected) {
  process.stdout.write(`lint: ${name} ...\n`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: "inherit" });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status === 0) {
    process.stdout.write(`lint: ${name} ok (${secs} s)\n`);
  } else {
    failed.push(name);
    const how = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    process.stdout.write(`lint: ${name} FAILED (${how}, ${secs} s)\n`);
  }
}
if (failed.length) {
  process.stdout.write(`lint: FAILED: ${failed.join("; ")} (${selected.length - failed.length} of ${selected.length} checks passed)\n`);
  process.exit(1);
}
process.stdout.write(`lint: all ${selected.length} checks passed\n`);
