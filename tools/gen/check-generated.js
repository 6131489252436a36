#!/usr/bin/env node
"use strict";
// CI check: regenerating the code from proto/ must not change what is committed.
const { execFileSync } = require("node:child_process");
const path = require("node:path");
const root = path.resolve(__dirname, "../..");
const paths = ["clients/sdk/src/gen", "server/transport/generated"];
execFileSync("npm", ["run", "--silent", "generate"], { cwd: root, stdio: "inherit" });
const diff = execFileSync("git", ["status", "--porcelain", "--", ...paths], { cwd: root }).toString();
if (diff.trim()) {
  process.stderr.write(`Generated code is out of date; run "npm run generate" and commit:\n${diff}`);
  process.exit(1);
}
process.stdout.write("generated code is up to date\n");
