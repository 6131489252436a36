import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createServer, ServerError, Status, type Server } from "nice-grpc";
import {
  HostServiceDefinition,
  InstallPhase,
  PatchServiceDefinition,
  type CommitPatchesRequest,
  type HostServiceImplementation,
  type InstallProgress,
  type PatchServiceImplementation,
} from "../../../clients/sdk/src/index.js";
import { main } from "../../../clients/cli/sw-patch/main.js";
import { completeService } from "../sdk/fake-service.js";

interface Run {
  rc: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], opts: { stdin?: string; env?: Record<string, string>; isTTY?: boolean } = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const rc = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(opts.stdin !== undefined ? [opts.stdin] : []),
    env: opts.env ?? {},
    isTTY: opts.isTTY ?? false,
    columns: undefined,
  });
  return { rc, stdout, stderr };
}

describe("sw-patch: usage and local errors", () => {
  it("prints help and exits 1 without arguments", async () => {
    const r = await run([]);
    expect(r.rc).to.equal(1);
    expect(r.stdout).to.match(/^usage: sw-patch /);
    expect(r.stdout).to.include("query-hosts");
  });

  it("exits 0 for --help and prints a command's help for <cmd> --help", async () => {
    expect((await run(["--help"])).rc).to.equal(0);
    const r = await run(["apply", "--help"]);
    expect(r.rc).to.equal(0);
    expect(r.stdout).to.include("usage: sw-patch apply [--skip-semantic] <patch-id> ... | --all");
  });

  it("prints the command's help and exits 1 on bad arity", async () => {
    for (const argv of [["apply"], ["show"], ["query", "applied", "extra"], ["host-install"], ["drop-host", "a", "b"], ["report-app-dependencies"]]) {
      const r = await run(argv);
      expect(r.rc, argv.join(" ")).to.equal(1);
      expect(r.stdout, argv.join(" ")).to.match(/^usage: sw-patch /);
    }
  });

  it("rejects unknown subcommands and options with one error line", async () => {
    const a = await run(["frobnicate"]);
    expect(a.rc).to.equal(1);
    expect(a.stderr).to.equal("Error: unknown subcommand 'frobnicate'\n");
    const b = await run(["query", "--bogus"]);
    expect(b.rc).to.equal(1);
    expect(b.stderr.split("\n")[0]).to.match(/^Error: Unknown option '--bogus'/);
  });

  it("reports an unreachable controller in one line", async () => {
    const r = await run(["--endpoint", "127.0.0.1:1", "query"]);
    expect(r.rc).to.equal(1);
    expect(r.stderr).to.equal("Error: cannot reach the patch controller at 127.0.0.1:1: connection refused\n");
    expect(r.stdout).to.equal("");
  });

  it("takes the endpoint from SWPATCH_ENDPOINT", async () => {
    const r = await run(["query"], { env: { SWPATCH_ENDPOINT: "127.0.0.1:2" } });
    expect(r.stderr).to.equal("Error: cannot reach the patch controller at 127.0.0.1:2: connection refused\n");
  });

  it("refuses unknown regions and host commands in the SystemController region", async () => {
    const a = await run(["--os-region-name", "RegionTwo", "query"], { env: { HOME: "/nonexistent" } });
    expect(a).to.deep.equal({ rc: 1, stdout: "", stderr: "Unsupported region name: RegionTwo\n" });
    for (const cmd of ["query-hosts", "host-install", "host-install-async", "install-local", "drop-host"]) {
      const b = await run(["--os-region-name", "SystemController", cmd, "h"]);
      expect(b.rc).to.equal(1);
      expect(b.stderr).to.equal(`\n${cmd} command is not allowed in SystemController region\n`);
    }
  });

  it("needs --all for commit --release", async () => {
    const r = await run(["commit", "--release", "19.09", "A"]);
    expect(r).to.deep.equal({ rc: 1, stdout: "", stderr: "Use of --release option requires --all\n" });
  });

  it("requires --app for report-app-dependencies", async () => {
    const r = await run(["report-app-dependencies", "A", "B"]);
    expect(r).to.deep.equal({ rc: 1, stdout: "", stderr: "Application name must be specified with --app argument.\n" });
  });

  it("refuses --format json on commands that are not queries", async () => {
    const r = await run(["apply", "A", "--format", "json"]);
    expect(r.rc).to.equal(1);
    expect(r.stderr).to.equal("Error: --format json is not supported by apply\n");
  });

  it("reports missing files and directories on upload, and empty upload-dir", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-upload-"));
    try {
      const r = await run(["--endpoint", "127.0.0.1:1", "upload", join(dir, "nope.patch"), dir]);
      expect(r.rc).to.equal(1);
      expect(r.stderr).to.equal(`Error: ${dir} is a directory. Please use upload-dir\nError: File does not exist: ${join(dir, "nope.patch")}\n`);
      const e = await run(["--endpoint", "127.0.0.1:1", "upload-dir", dir]);
      expect(e).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: No patches found\n" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("sw-patch: commands against an in-process fake controller", () => {
  let server: Server;
  let endpoint: string;
  let installScript: InstallProgress[] = [];
  const commits: CommitPatchesRequest[] = [];

  const progress = (phase: InstallPhase, terminal = false): InstallProgress => ({
    operationId: "op-1",
    hostname: "compute-0",
    phase,
    current: 1,
    total: 2,
    bytesDone: 0,
    bytesTotal: 0,
    item: "pkg-1.0-1.x86_64.rpm",
    message: "",
    terminal,
    time: undefined,
  });

  before(async () => {
    const patches: Partial<PatchServiceImplementation> = {
      async uploadPatch(requests) {
        let bytes = 0;
        let name = "";
        for await (const r of requests) {
          if (r.payload?.$case === "header") name = r.payload.value.fileName;
          else if (r.payload?.$case === "chunk") bytes += r.payload.value.length;
        }
        return { patchId: name.replace(/\.patch$/, ""), messages: { info: `${name.replace(/\.patch$/, "")} is now available (${bytes} bytes)\n`, warning: "" } };
      },
      async showPatches(req) {
        return { patches: [], unrecognized: req.patchIds };
      },
      async isApplied() {
        return { result: false };
      },
      async queryDependencies(req) {
        return { patchIds: [...req.patchIds, "DEP_1"].sort() };
      },
      async commitPatches(req) {
        commits.push(req);
        return {
          messages: {
            info: req.dryRun ? "This commit operation would free 0.01 MiB" : "The patches have been committed.",
            warning: "",
          },
          patchIds: [],
          freedBytes: 0,
        };
      },
      async applyPatches() {
        throw new ServerError(Status.FAILED_PRECONDITION, "Rejected: One or more nodes are installing patches.");
      },
    };
    const hosts: Partial<HostServiceImplementation> = {
      async *installHost() {
        for (const p of installScript) yield { progress: p };
      },
      async installHostAsync() {
        return { operationId: "op-2", messages: undefined };
      },
      async dropHost(req) {
        throw new ServerError(Status.NOT_FOUND, `Unknown host specified: ${req.host}`);
      },
    };
    server = createServer();
    server.add(PatchServiceDefinition, completeService<PatchServiceImplementation>(PatchServiceDefinition.methods, patches));
    server.add(HostServiceDefinition, completeService<HostServiceImplementation>(HostServiceDefinition.methods, hosts));
    endpoint = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
  });
  after(() => server.forceShutdown());

  it("prints 'X is unrecognized' on stderr for unknown show IDs and exits 1", async () => {
    const r = await run(["--endpoint", endpoint, "show", "B", "A"]);
    expect(r).to.deep.equal({ rc: 1, stdout: "", stderr: "A is unrecognized\nB is unrecognized\n" });
  });

  it("prints False and exits 1 for is-applied", async () => {
    expect(await run(["--endpoint", endpoint, "is-applied", "A"])).to.deep.equal({ rc: 1, stdout: "False\n", stderr: "" });
  });

  it("prints the controller's refusal as one Error line", async () => {
    const r = await run(["apply", "A", "--endpoint", endpoint]);
    expect(r).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Rejected: One or more nodes are installing patches.\n" });
    const d = await run(["--endpoint", endpoint, "drop-host", "ghost"]);
    expect(d).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Unknown host specified: ghost\n" });
  });

  it("host-install prints dots, then the reference's closing line", async () => {
    installScript = [progress(InstallPhase.INSTALL_PHASE_QUEUED), progress(InstallPhase.INSTALL_PHASE_INSTALLING), progress(InstallPhase.INSTALL_PHASE_DONE, true)];
    expect(await run(["--endpoint", endpoint, "host-install", "compute-0"])).to.deep.equal({
      rc: 0,
      stdout: "..\nInstallation was successful.\n",
      stderr: "",
    });
    installScript = [progress(InstallPhase.INSTALL_PHASE_REJECTED, true)];
    expect(await run(["--endpoint", endpoint, "host-install", "compute-0"])).to.deep.equal({
      rc: 1,
      stdout: "\nInstallation rejected. Node must be locked\n",
      stderr: "",
    });
    installScript = [progress(InstallPhase.INSTALL_PHASE_INSTALLING), progress(InstallPhase.INSTALL_PHASE_FAILED, true)];
    expect(await run(["--endpoint", endpoint, "host-install", "--force", "compute-0"])).to.deep.equal({
      rc: 1,
      stdout: ".\nInstallation failed. Please check logs for details.\n",
      stderr: "",
    });
  });

  it("host-install draws a progress bar on a terminal", async () => {
    installScript = [progress(InstallPhase.INSTALL_PHASE_INSTALLING), progress(InstallPhase.INSTALL_PHASE_DONE, true)];
    const r = await run(["--endpoint", endpoint, "host-install", "compute-0"], { isTTY: true });
    // Installing 1 of 2 is 40 + 50/2 = 65 % of the whole install.
    expect(r.stdout).to.equal("\r\x1b[K[#############.......]  65% installing 1/2 pkg-1.0-1.x86_64.rpm\nInstallation was successful.\n");
  });

  it("host-install's bar never drops back to 0 % between phases", async () => {
    const at = (phase: InstallPhase, current: number, total: number, bytes?: [number, number]): InstallProgress => ({
      ...progress(phase),
      current,
      total,
      bytesDone: bytes?.[0] ?? 0,
      bytesTotal: bytes?.[1] ?? 0,
      item: "",
    });
    installScript = [
      at(InstallPhase.INSTALL_PHASE_QUEUED, 0, 0),
      at(InstallPhase.INSTALL_PHASE_DOWNLOADING, 2, 2, [500, 1000]),
      at(InstallPhase.INSTALL_PHASE_DOWNLOADING, 2, 2, [1000, 1000]),
      at(InstallPhase.INSTALL_PHASE_INSTALLING, 0, 2),
      at(InstallPhase.INSTALL_PHASE_INSTALLING, 2, 2),
      at(InstallPhase.INSTALL_PHASE_RUNNING_SCRIPTS, 0, 1),
      // A phase that reports no counts (the agent's "installing" before it knows them) keeps the bar where it was.
      at(InstallPhase.INSTALL_PHASE_DOWNLOADING, 0, 0),
      progress(InstallPhase.INSTALL_PHASE_DONE, true),
    ];
    const r = await run(["--endpoint", endpoint, "host-install", "compute-0"], { isTTY: true });
    const pcts = [...r.stdout.matchAll(/\] +(\d+)%/g)].map((m) => Number(m[1]));
    expect(pcts).to.deep.equal([0, 20, 40, 40, 90, 90, 90]);
  });

  it("upload draws a progress line on a terminal, clears it, then prints the result; plain output has none", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-upload-"));
    try {
      const file = join(dir, "BIG.patch");
      writeFileSync(file, Buffer.alloc(2.5 * 1024 * 1024, 7));
      const tty = await run(["--endpoint", endpoint, "upload", file], { isTTY: true });
      expect(tty.rc).to.equal(0);
      const frames = tty.stdout.split("\r\x1b[K");
      // One frame per 1 MiB chunk (three), then the cleared line and the result.
      expect(frames.slice(1, 4)).to.deep.equal([
        "Uploading BIG.patch [########............]  40% 1.0/2.5 MiB",
        "Uploading BIG.patch [################....]  80% 2.0/2.5 MiB",
        "Uploading BIG.patch [####################] 100% 2.5/2.5 MiB verifying",
      ]);
      expect(frames.at(-1)).to.equal("BIG is now available (2621440 bytes)\n\n");
      const plain = await run(["--endpoint", endpoint, "upload", file]);
      expect(plain.stdout).to.equal("BIG is now available (2621440 bytes)\n\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("host-install-async confirms the request", async () => {
    expect(await run(["--endpoint", endpoint, "host-install-async", "compute-0"])).to.deep.equal({
      rc: 0,
      stdout: "Patch installation request sent to compute-0.\n",
      stderr: "",
    });
  });

  it("commit lists the closure, dry-runs, asks, and aborts on anything but y", async () => {
    commits.length = 0;
    const r = await run(["--endpoint", endpoint, "commit", "A"], { stdin: "n\n" });
    expect(r.rc).to.equal(1);
    expect(r.stdout).to.equal(
      "The following patches will be committed:\n    A\n    DEP_1\n\n" +
        "This commit operation would free 0.01 MiB\n" +
        "\nWARNING: Committing a patch is an irreversible operation. Committed\n         patches cannot be removed.\n\n" +
        "Would you like to continue? [y/N]: Aborting...\n",
    );
    expect(commits.map((c) => c.dryRun)).to.deep.equal([true]);
  });

  it("commit goes ahead on y (or --yes) and stops after the dry run with --dry-run", async () => {
    commits.length = 0;
    const y = await run(["--endpoint", endpoint, "commit", "A"], { stdin: "Y\n" });
    expect(y.rc).to.equal(0);
    expect(y.stdout.endsWith("[y/N]: The patches have been committed.\n")).to.equal(true);
    const yes = await run(["--endpoint", endpoint, "commit", "--yes", "A"]);
    expect(yes.rc).to.equal(0);
    expect(yes.stdout).to.not.include("Would you like to continue");
    const dry = await run(["--endpoint", endpoint, "commit", "--dry-run", "A"]);
    expect(dry.rc).to.equal(0);
    expect(commits.map((c) => c.dryRun)).to.deep.equal([true, false, true, false, true]);
  });

  it("finds a region's endpoint in ~/.config/sw-patch/regions.json", async () => {
    const home = mkdtempSync(join(tmpdir(), "cli-home-"));
    try {
      mkdirSync(join(home, ".config", "sw-patch"), { recursive: true });
      writeFileSync(join(home, ".config", "sw-patch", "regions.json"), JSON.stringify({ RegionOne: endpoint }));
      const r = await run(["--os-region-name", "RegionOne", "is-applied", "A"], { env: { HOME: home } });
      expect(r).to.deep.equal({ rc: 1, stdout: "False\n", stderr: "" });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("prints --format json for query commands", async () => {
    const r = await run(["--endpoint", endpoint, "query-dependencies", "A", "--format", "json"]);
    expect(r.rc).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ patchIds: ["A", "DEP_1"] });
  });
});
