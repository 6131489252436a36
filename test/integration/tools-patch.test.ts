import { expect } from "chai";
import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildRpm } from "../lib/rpm-builder.js";
import { DEV_CERT, DEV_KEY, FORMAL_CERT } from "../lib/patch-fixtures.js";

const ROOT = path.resolve(__dirname, "..", "..");

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const base = { ...process.env };
    delete base.PLATFORM_RELEASE;
    delete base.SWPATCH_SIGNING_KEY;
    const p = spawn(process.execPath, [path.join(ROOT, "bin", bin), ...args], { cwd, env: { ...base, ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("patch tools (patch_build, query_patch, patch_verify)", function () {
  this.timeout(60_000);
  let dir: string;
  let rpmA: string;
  let rpmB: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tools-"));
    rpmA = await buildRpm({ name: "tool-a", version: "1.0", release: "1.tis", outDir: dir });
    rpmB = await buildRpm({ name: "tool-b", version: "2.0", release: "3", arch: "noarch", outDir: dir });
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it("patch_build --help prints the usage and exits 0", async () => {
    const r = await run("patch_build", ["--help"]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Usage: patch_build \[ <args> \] \.\.\. <rpm list>\nOptions:\n--id <id>/);
    expect(r.stdout).to.contain("--all-nodes <rpm>");
  });
  it("patch_build requires --id", async () => {
    const r = await run("patch_build", [rpmA], { PLATFORM_RELEASE: "19.12", SWPATCH_SIGNING_KEY: DEV_KEY });
    expect(r).to.include({ code: 1, stderr: "The --id argument is mandatory.\n" });
  });
  it("patch_build refuses an empty patch", async () => {
    const r = await run("patch_build", ["--id", "P1"], { PLATFORM_RELEASE: "19.12", SWPATCH_SIGNING_KEY: DEV_KEY });
    expect(r).to.include({ code: 1, stderr: "Cannot generate empty patch\n" });
  });
  it("patch_build validates --reboot-required", async () => {
    const r = await run("patch_build", ["--id", "P1", "--reboot-required", "yes", rpmA], { PLATFORM_RELEASE: "19.12", SWPATCH_SIGNING_KEY: DEV_KEY });
    expect(r).to.include({ code: 1, stderr: "The --reboot-required option requires either Y or N as argument.\n" });
  });
  it("patch_build needs a release", async () => {
    const r = await run("patch_build", ["--id", "P1", rpmA], { SWPATCH_SIGNING_KEY: DEV_KEY });
    expect(r).to.include({ code: 1, stderr: "The release version must be specified in the sw_version field\n" });
  });
  it("patch_build needs a signing key", async () => {
    const r = await run("patch_build", ["--id", "P1", "--release", "19.12", rpmA]);
    expect(r).to.include({ code: 1, stderr: "Could not find signing key\n" });
  });
  it("patch_build rejects an unknown option with the usage", async () => {
    const r = await run("patch_build", ["--bogus"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^patch_build: option --bogus not recognized\nUsage:/);
  });

  it("builds, queries and verifies a patch end to end", async () => {
    const out = path.join(dir, "out");
    const b = await run(
      "patch_build",
      [
        "--id=TOOLS_0001",
        "--summary",
        "Tool test",
        "--status=REL",
        "--reboot-required",
        "N",
        "--req",
        "TOOLS_0000",
        "--controller",
        rpmA,
        "--output-dir",
        out,
        "--key",
        DEV_KEY,
        "--desc=two\nlines",
        rpmB,
      ],
      { PLATFORM_RELEASE: "19.12" },
      dir,
    );
    expect(b.stderr).to.equal("");
    expect(b).to.include({ code: 0, stdout: `Patch is ${path.join(out, "TOOLS_0001.patch")}\n` });
    const file = path.join(out, "TOOLS_0001.patch");

    const q = await run("query_patch", ["--file", file, "--trust", `${FORMAL_CERT}:formal`, "--trust", `${DEV_CERT}:dev`]);
    expect(q.code).to.equal(0);
    expect(q.stdout).to.equal(
      "id: 'TOOLS_0001'\nsw_version: '19.12'\nstatus: 'REL'\ncert: 'dev'\nreboot_required: 'N'\nunremovable: 'N'\n" +
        "summary: 'Tool test'\ndescription: 'two\\nlines'\ninstall_instructions: ''\nwarnings: ''\n",
    );
    const qf = await run("query_patch", ["--file", file, "--field", "sw_version"]);
    expect(qf).to.include({ code: 0, stdout: "19.12\n" });
    const qu = await run("query_patch", ["--file", file]);
    expect(qu.stdout).to.contain("cert: 'unknown'\n");

    const v = await run("patch_verify", ["--trust", `${DEV_CERT}:dev`, file]);
    expect(v.code).to.equal(0);
    expect(JSON.parse(v.stdout)).to.deep.equal({
      file,
      valid: true,
      id: "TOOLS_0001",
      sw_version: "19.12",
      status: "REL",
      summary: "Tool test",
      reboot_required: false,
      unremovable: false,
      requires: ["TOOLS_0000"],
      contents: ["tool-a-1.0-1.tis.x86_64.rpm", "tool-b-2.0-3.noarch.rpm"],
      personalities: { controller: ["tool-a"] },
      signer: "dev",
    });

    const bad = path.join(dir, "bad.patch");
    await fsp.writeFile(bad, "junk");
    const v2 = await run("patch_verify", ["--trust", `${FORMAL_CERT}:formal`, file, bad]);
    expect(v2.code).to.equal(1);
    const lines = v2.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0]).to.include({ file, valid: false });
    expect(lines[0].reason).to.match(/does not verify with any trusted key \(tried formal\)/);
    expect(lines[1]).to.deep.equal({ file: bad, valid: false, reason: "patch file: not a gzip file (bad magic)" });
  });
});
