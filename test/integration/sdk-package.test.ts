import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildPayloadRpm } from "../lib/base-feed.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY, REPO_ROOT, startController, type ControllerHandle } from "../lib/controller-harness.js";

/** The code blocks of `file` that follow a `<!-- quickstart -->` line. */
function quickstart(file: string): string {
  const m = /<!-- quickstart -->\n```js\n([^]*?)```/.exec(readFileSync(file, "utf8"));
  if (!m) throw new Error(`no quickstart block in ${file}`);
  return m[1]!;
}

/**
 * `@sw-patch/sdk` as a package of its own: `npm pack ./clients/sdk`, installed into a fresh project
 * (from the npm cache `npm ci` filled; nothing of the server comes with it), running the programs
 * docs/sdk.md and the README show, as written, against a real controller.
 */
describe("the SDK package @sw-patch/sdk", function () {
  this.timeout(300_000);
  let work: string;
  let project: string;
  let tarball: string;
  let controller: ControllerHandle;
  let patchFile: string;

  before(async function () {
    this.timeout(300_000);
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-sdkpkg-"));
    const pack = spawnSync("npm", ["pack", "./clients/sdk", "--pack-destination", work, "--silent"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(pack.status, pack.stderr).to.equal(0);
    tarball = path.join(work, pack.stdout.trim().split("\n").pop()!);
    project = path.join(work, "fresh");
    spawnSync("mkdir", [project]);
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "fresh", version: "1.0.0", private: true }));
    const install = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: project, encoding: "utf8" });
    expect(install.status, install.stderr).to.equal(0);
    controller = await startController();
    const rpm = await buildPayloadRpm({ name: "sdk-demo", version: "1.0", release: "1" });
    const built = await runCli("patch_build", [
      "--id",
      "SDK_1",
      "--release",
      "19.09",
      "--reboot-required",
      "N",
      "--key",
      DEV_KEY,
      "--output-dir",
      work,
      "--all-nodes",
      rpm.file,
    ]);
    expect(built.rc, built.stderr).to.equal(0);
    patchFile = path.join(work, "SDK_1.patch");
  });
  after(async () => {
    await controller?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const node = (script: string, args: string[] = []) => {
    const file = path.join(project, `script-${Math.random().toString(36).slice(2)}.js`);
    writeFileSync(file, script);
    return spawnSync(process.execPath, [file, ...args], {
      cwd: project,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, SWPATCH_ENDPOINT: controller.endpoint, SWPATCH_TOKEN: controller.adminToken },
    });
  };

  it("holds only the client: compiled SDK and its gRPC dependencies, no server code, no sqlite", () => {
    const listing = spawnSync("tar", ["-tzf", tarball], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
    expect(listing).to.include.members(["package/dist/index.js", "package/dist/index.d.ts", "package/package.json"]);
    expect(listing.filter((f) => /server|sqlite|\.ts$/.test(f) && !f.endsWith(".d.ts"))).to.deep.equal([]);
    const modules = readdirSync(path.join(project, "node_modules"));
    expect(modules).to.include.members(["@sw-patch", "nice-grpc", "@grpc"]);
    expect(modules).to.not.include("sqlite3");
    expect(existsSync(path.join(project, "node_modules/@sw-patch/sdk/dist/index.d.ts"))).to.equal(true);
  });

  it("docs/sdk.md's quickstart, as written: uploads, lists and watches", () => {
    const r = node(quickstart(path.join(REPO_ROOT, "docs/sdk.md")), [patchFile]);
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 2)).to.deep.equal(["SDK_1 is now available", "SDK_1 n/a"]);
    expect(lines[2]).to.match(/^event \d+ patch\.uploaded SDK_1$/);
    expect(lines.length).to.equal(4);
  });

  it("the README's program, as written (CommonJS), lists what the controller has", () => {
    const r = node(quickstart(path.join(REPO_ROOT, "README.md")));
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal("[ 'SDK_1' ] []\n");
  });

  it("a typed error reaches the program by its class", () => {
    const r = node(`const { createSwPatchClient, PatchNotFoundError } = require("@sw-patch/sdk");
const c = createSwPatchClient({ endpoint: process.env.SWPATCH_ENDPOINT, token: process.env.SWPATCH_TOKEN });
c.patches.applyPatches({ patchIds: ["NOPE"] }).then(() => console.log("no error"), (e) => console.log(e instanceof PatchNotFoundError, e.reason)).finally(() => c.close());
`);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal("true PATCH_NOT_FOUND\n");
  });
});
