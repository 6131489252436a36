#!/usr/bin/env node
"use strict";
// `buf breaking` (rules: buf.yaml, FILE) of the working tree's proto/ against the version main had before the
// changes under test:
//   * on main itself (CI checks out a fresh clone of main whose HEAD is the new commit): HEAD's first parent,
//     i.e. the previous commit of main (for a merge commit, main before the merge);
//   * on another branch: the merge base with main (what the branch would break when merged);
//   * no branch named main (local or origin/main): HEAD's first parent.
// It skips, printing the reason and exiting 0, when there is nothing to compare with: a repository with one
// commit, a shallow clone without the base commit, or a base that has no buf.yaml / proto/ yet.
// BUF_BREAKING_AGAINST=<commit-ish> overrides the base.
const { execFileSync, spawnSync } = require("node:child_process");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../..");

/** `git ...` in the repository; null when git fails (unknown ref, no parent). */
function git(...args) {
  try {
    return execFileSync("git", args, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

function skip(reason) {
  process.stdout.write(`buf breaking: skipped, ${reason}\n`);
  process.exit(0);
}

if (git("rev-parse", "--git-dir") === null) skip("not a git checkout");
const head = git("rev-parse", "HEAD");
if (head === null) skip("the repository has no commit");

function chooseBase() {
  const override = process.env.BUF_BREAKING_AGAINST;
  if (override) return { ref: override, why: `BUF_BREAKING_AGAINST=${override}` };
  const main = ["refs/heads/main", "refs/remotes/origin/main"].map((r) => git("rev-parse", "--verify", "--quiet", `${r}^{commit}`)).find(Boolean);
  if (main && main !== head) {
    const mb = git("merge-base", head, main);
    if (mb && mb !== head) return { ref: mb, why: "the merge base with main" };
  }
  return { ref: "HEAD~1", why: main === head ? "the previous commit of main" : "HEAD's first parent" };
}

const base = chooseBase();
const sha = git("rev-parse", "--verify", "--quiet", `${base.ref}^{commit}`);
if (sha === null) {
  const shallow = git("rev-parse", "--is-shallow-repository") === "true";
  if (base.ref === "HEAD~1") skip(shallow ? "shallow clone without HEAD's parent (fetch with --depth=2 or more)" : "HEAD has no parent (a repository with one commit)");
  skip(`${base.why} (${base.ref}) is not in this clone${shallow ? " (shallow clone)" : ""}`);
}
if (git("cat-file", "-e", `${sha}:buf.yaml`) === null) skip(`${base.why} (${sha.slice(0, 12)}) has no buf.yaml`);
if (git("cat-file", "-e", `${sha}:proto`) === null) skip(`${base.why} (${sha.slice(0, 12)}) has no proto/`);

// buf reads the commit from the repository's git directory; in a `git worktree` that is the common directory.
const gitDir = path.resolve(ROOT, git("rev-parse", "--git-common-dir"));
const against = `${gitDir}#format=git,ref=${sha}`;
process.stdout.write(`buf breaking: proto/ against ${base.why} (${sha.slice(0, 12)})\n`);
const buf = path.join(ROOT, "node_modules", ".bin", "buf");
const r = spawnSync(buf, ["breaking", "--against", against], { cwd: ROOT, stdio: "inherit" });
if (r.error) {
  process.stderr.write(`buf breaking: cannot run ${buf}: ${r.error.message}\n`);
  process.exit(1);
}
process.exit(r.status ?? 1);
