import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../lib/controller-harness.js";

/** After `npm ci` (prepare builds dist/), the package entry and every bin work. */
describe("package entry points", () => {
  it("the SDK loads with require() from the package root, typed entry present", () => {
    const r = spawnSync(
      process.execPath,
      [
        "-e",
        "const s = require(process.argv[1]); process.stdout.write(JSON.stringify([typeof s.createSwPatchClient, typeof s.PatchNotFoundError, typeof s.watchEvents]))",
        REPO_ROOT,
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal(["function", "function", "function"]);
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { types: string };
    expect(readFileSync(path.join(REPO_ROOT, pkg.types), "utf8")).to.include("createSwPatchClient");
  });

  for (const bin of ["sw-patch-controller", "sw-patch-agent", "sw-patch", "sw-manager", "system", "fm", "patch_build", "query_patch", "patch_verify", "patch_sign"]) {
    it(`bin/${bin} runs and answers --help`, () => {
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "bin", bin), "--help"], { encoding: "utf8" });
      expect(`${r.stdout}${r.stderr}`).to.match(/usage|Usage|USAGE/);
      expect(`${r.stdout}${r.stderr}`).to.not.match(/is not built|Error: Cannot find module/);
    });
  }
});
