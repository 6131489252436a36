#!/usr/bin/env node
"use strict";
// Builds dist/ only when it is stale, so CI builds once (`npm ci` runs `prepare`) and `pretest`, `test:chaos`,
// `bench` and `demo` reuse that build, while a developer who edits a source still gets a rebuild.
//
//   node tools/ci/build-if-stale.js           run `npm run build` if dist is stale, else say it is up to date
//   node tools/ci/build-if-stale.js --check   exit 0 if dist is up to date, 1 if stale (prints why)
//   node tools/ci/build-if-stale.js --begin   first step of `npm run build`: drops the stamp, notes the start time
//   node tools/ci/build-if-stale.js --end     last step of `npm run build` (reached only if every step passed)
//
// The stamp, dist/.build-stamp, holds the time the last successful build *started*: a file saved while tsc was
// running is newer than that and triggers the next rebuild. A failed build leaves no stamp, so it is retried.
// Stale means: no stamp, or a build input (file or directory, so deletions count) modified after the stamp time.
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "../..");
const DIST = path.join(ROOT, "dist");
const STAMP = path.join(DIST, ".build-stamp");
const STARTED = path.join(DIST, ".build-started");

/** What `npm run build` reads: tsconfig.build.json's include plus the web console and the dependency set. */
const INPUT_DIRS = ["server", "clients", "tools"];
const INPUT_FILES = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"];
/** Not build inputs: the Python client (its tests write __pycache__) and the CI scripts themselves. */
const SKIP_DIRS = new Set(["clients/python", "tools/ci", "node_modules", "__pycache__"]);

/** Newest mtime (ms) under the inputs, with the path that has it. */
function newestInput() {
  let newest = { ms: 0, file: "" };
  const note = (file, st) => {
    if (st.mtimeMs > newest.ms) newest = { ms: st.mtimeMs, file: path.relative(ROOT, file) };
  };
  const walk = (dir) => {
    const rel = path.relative(ROOT, dir);
    if (SKIP_DIRS.has(rel) || SKIP_DIRS.has(path.basename(dir))) return;
    note(dir, fs.statSync(dir));
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(full);
      else if (ent.isFile()) note(full, fs.statSync(full));
    }
  };
  for (const d of INPUT_DIRS) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  for (const f of INPUT_FILES) if (fs.existsSync(path.join(ROOT, f))) note(path.join(ROOT, f), fs.statSync(path.join(ROOT, f)));
  return newest;
}

/** @returns {string | null} why dist is stale, or null when it is up to date */
function staleReason() {
  let stampMs;
  try {
    stampMs = Number(fs.readFileSync(STAMP, "utf8").trim());
  } catch {
    return "no successful build recorded (dist/.build-stamp is missing)";
  }
  if (!Number.isFinite(stampMs)) return "dist/.build-stamp is unreadable";
  const newest = newestInput();
  if (newest.ms > stampMs) return `${newest.file} changed after the last build`;
  return null;
}

const arg = process.argv[2];
if (arg === "--begin") {
  fs.mkdirSync(DIST, { recursive: true });
  fs.rmSync(STAMP, { force: true });
  fs.writeFileSync(STARTED, `${Date.now()}\n`);
} else if (arg === "--end") {
  fs.renameSync(STARTED, STAMP);
} else if (arg === "--check") {
  const why = staleReason();
  process.stdout.write(why ? `dist is stale: ${why}\n` : "dist is up to date\n");
  process.exit(why ? 1 : 0);
} else if (arg === undefined) {
  const why = staleReason();
  if (why === null) {
    process.stderr.write("build: dist is up to date, not rebuilding\n");
  } else {
    process.stderr.write(`build: ${why}; running npm run build\n`);
    const r = spawnSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
} else {
  process.stderr.write(`usage: build-if-stale.js [--check|--begin|--end]\n`);
  process.exit(2);
}
