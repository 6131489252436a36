import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import { main } from "../../clients/cli/sw-patch/main.js";

/** sw-patch run in-process against a real controller (upload, query, show, apply, remove, delete). */
describe("sw-patch CLI against a real controller", function () {
  this.timeout(60_000);
  let ctl: ControllerHandle;
  let dir: string;
  let patchPath: string;

  async function sw(...argv: string[]): Promise<{ rc: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const rc = await main(["--endpoint", ctl.endpoint, ...argv], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: Readable.from([]),
      env: { SWPATCH_TOKEN: ctl.adminToken },
      isTTY: false,
      columns: undefined,
    });
    return { rc, stdout, stderr };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cli-it-"));
    const built = await buildTestPatch({ dir, id: "001", swVersion: "19.09", rebootRequired: false, summary: "Test patch" });
    patchPath = built.path;
    ctl = await startController({ release: "19.09" });
  });
  after(async () => {
    await ctl?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("uploads a patch and lists it (n/a with no hosts, so with Repo State)", async () => {
    expect(await sw("upload", patchPath)).to.deep.equal({ rc: 0, stdout: "001 is now available\n\n", stderr: "" });
    const q = await sw("query");
    expect(q.rc).to.equal(0);
    expect(q.stdout).to.equal(
      "Patch ID  RR  Release  Repo State  Patch State\n" + "========  ==  =======  ==========  ===========\n" + "001       N    19.09   Available       n/a    \n" + "\n",
    );
  });

  it("re-uploading the same file updates metadata only", async () => {
    const r = await sw("upload", patchPath);
    expect(r.rc).to.equal(0);
    expect(r.stdout).to.equal("001 is already imported. Updated metadata only\n\n");
  });

  it("shows a patch and reports unknown IDs", async () => {
    const r = await sw("show", "001", "NOPE");
    expect(r.rc).to.equal(1);
    expect(r.stdout).to.equal(
      "001:\n" +
        "    Release:        19.09\n" +
        "    Patch State:    n/a\n" +
        "    Repo State:     Available\n" +
        "    Status:         DEV\n" +
        "    Unremovable:    N\n" +
        "    RR:             N\n" +
        "    Summary:        Test patch\n" +
        "    Contents:\n" +
        "                    testpkg-1.0-1.tis.x86_64.rpm\n" +
        "\n\n",
    );
    expect(r.stderr).to.equal("NOPE is unrecognized\n");
  });

  it("applies, answers the dependency queries, removes and deletes", async () => {
    // No host is known here: the apply warns that it changes none.
    expect(await sw("apply", "001")).to.deep.equal({
      rc: 0,
      stdout: "001 is now in the repo\n\nWarning:\n001 changes no host: no host of release 19.09 is known yet\n\n",
      stderr: "",
    });
    expect((await sw("query", "applied")).stdout).to.include("001       N    19.09    Applied        n/a    ");
    expect((await sw("query", "available")).stdout.split("\n")).to.have.length(4); // header, rule, blank, ""
    expect(await sw("what-requires", "001")).to.deep.equal({
      rc: 0,
      stdout: "001 is not required by any patches.\n\n",
      stderr: "",
    });
    expect(await sw("query-dependencies", "001", "--recursive")).to.deep.equal({ rc: 0, stdout: "001\n", stderr: "" });
    // n/a (no hosts) is neither Applied nor Available.
    expect((await sw("is-applied", "001")).stdout).to.equal("False\n");
    expect(await sw("remove", "001")).to.deep.equal({ rc: 0, stdout: "001 has been removed from the repo\n\n", stderr: "" });
    expect(await sw("delete", "001")).to.deep.equal({ rc: 0, stdout: "001 has been deleted\n\n", stderr: "" });
    expect((await sw("query")).stdout).to.equal("Patch ID  RR  Release  Patch State\n========  ==  =======  ===========\n\n");
  });

  it("uploads every *.patch of a directory", async () => {
    const r = await sw("upload-dir", dir);
    expect(r).to.deep.equal({ rc: 0, stdout: "001 is now available\n\n", stderr: "" });
  });

  it("prints the controller's reference errors as one line and exits 1", async () => {
    expect(await sw("apply", "GHOST")).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Patch GHOST does not exist\n" });
    expect(await sw("delete", "GHOST")).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Patch GHOST does not exist\n" });
    const c = await sw("commit", "--dry-run", "001");
    expect(c.rc).to.equal(1);
    expect(c.stderr).to.equal("Error: A commit cannot be performed with non-REL status patches in the system:\n    001\n");
    expect(c.stdout).to.equal("The following patches will be committed:\n    001\n\nAborting...\n");
  });

  it("lists hosts and app dependencies (none yet)", async () => {
    expect(await sw("query-hosts")).to.deep.equal({
      rc: 0,
      stdout: "Hostname  IP Address  Patch Current  Reboot Required  Release  State\n" + "========  ==========  =============  ===============  =======  =====\n",
      stderr: "",
    });
    expect((await sw("query-app-dependencies")).stdout).to.equal("There are no application dependencies.\n");
    expect((await sw("report-app-dependencies", "--app", "myapp", "001")).rc).to.equal(0);
    expect((await sw("query-app-dependencies")).stdout).to.equal("Application  Required Patches\n===========  ================\nmyapp        001             \n");
  });

  it("prints JSON for --format json", async () => {
    const r = await sw("query", "--format", "json");
    const parsed = JSON.parse(r.stdout) as { patches: { id: string; patchState: string; repoState: string }[] };
    expect(parsed.patches.map((p) => [p.id, p.repoState, p.patchState])).to.deep.equal([["001", "Available", "n/a"]]);
  });
});
