import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../lib/controller-harness.js";

/** The built demo (`npm run build` compiles tools/**); `npm run demo` runs exactly this. */
const DEMO = path.join(REPO_ROOT, "dist/tools/demo/demo.js");

interface DemoRun {
  proc: ChildProcess;
  output: () => string;
  done: Promise<{ rc: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[] = []): DemoRun {
  const proc = spawn(process.execPath, [DEMO, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ rc: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once("close", (rc, signal) => resolve({ rc, signal })));
  return { proc, output: () => out, done };
}

/** The demo's temp dir, from its first line "# working directory DIR". */
function workDir(output: string): string {
  const m = /^# working directory (\S+)$/m.exec(output);
  expect(m, output).to.not.equal(null);
  return m![1]!;
}

/** Processes whose command line mentions `dir` (the controller's data dir, the agents' roots). */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone already
    }
  }
  return found;
}

/** The command blocks of the output: "$ sudo sw-patch ..." line -> the output below it. */
function blocks(output: string): Array<{ cmd: string; out: string }> {
  const res: Array<{ cmd: string; out: string }> = [];
  for (const line of output.split("\n")) {
    if (line.startsWith("$ ")) res.push({ cmd: line.slice(2), out: "" });
    else if (line.startsWith("# ")) continue;
    else if (res.length) res[res.length - 1]!.out += `${line}\n`;
  }
  return res;
}

function hostRows(queryHostsOut: string): string[][] {
  return queryHostsOut
    .trim()
    .split("\n")
    .slice(2)
    .map((l) => l.trim().split(/\s+/));
}

describe("npm run demo (dist/tools/demo/demo.js): the seed's walk-through", function () {
  this.timeout(300_000);

  before(function () {
    expect(existsSync(DEMO), `${DEMO} is missing; run "npm run build" first`).to.equal(true);
  });

  describe("a full run", () => {
    let run: { rc: number | null; signal: NodeJS.Signals | null };
    let output: string;

    before(async () => {
      const d = startDemo();
      run = await d.done;
      output = d.output();
    });

    it("exits 0 and says it is done", () => {
      expect(run, output).to.deep.equal({ rc: 0, signal: null });
      expect(output).to.include("# done: 001 is Applied and every host is Patch Current Yes\n");
      expect(output).to.not.include("DEMO FAILED");
    });

    it("runs the seed's commands in order, each printed as `$ sudo sw-patch ...`", () => {
      expect(blocks(output).map((b) => b.cmd)).to.deep.equal([
        "sudo sw-patch upload 001.patch",
        "sudo sw-patch query",
        "sudo sw-patch query-hosts",
        "sudo sw-patch apply 001",
        "sudo sw-patch query",
        "sudo sw-patch query-hosts",
        "sudo sw-patch host-install controller-0",
        "sudo sw-patch host-install controller-1",
        "sudo sw-patch host-install storage-0",
        "sudo sw-patch host-install storage-1",
        "sudo sw-patch host-install compute-0",
        "sudo sw-patch host-install compute-1",
        "sudo sw-patch query-hosts",
        "sudo sw-patch query",
      ]);
    });

    it("shows the seed's outputs: available, in the repo, Partial-Apply, installs successful", () => {
      const b = blocks(output);
      expect(b[0]!.out.trim()).to.equal("001 is now available");
      expect(b[1]!.out.trim().split("\n")[2]!.split(/\s+/)).to.deep.equal(["001", "N", "19.09", "Available"]);
      expect(hostRows(b[2]!.out).map((r) => [r[0], r[1], r[2]])).to.deep.equal([
        ["compute-0", "192.178.204.7", "Yes"],
        ["compute-1", "192.178.204.8", "Yes"],
        ["controller-0", "192.178.204.2", "Yes"],
        ["controller-1", "192.178.204.3", "Yes"],
        ["storage-0", "192.178.204.9", "Yes"],
        ["storage-1", "192.178.204.10", "Yes"],
      ]);
      expect(b[3]!.out.trim()).to.equal("001 is now in the repo");
      expect(b[4]!.out).to.include("Partial-Apply");
      expect(hostRows(b[5]!.out).map((r) => r[2])).to.deep.equal(["No", "No", "No", "No", "No", "No"]);
      for (const inst of b.slice(6, 12)) expect(inst.out.trimEnd().endsWith("Installation was successful."), inst.out).to.equal(true);
    });

    it("ends with 001 Applied and every host Patch Current Yes", () => {
      const b = blocks(output);
      const finalHosts = hostRows(b[12]!.out);
      expect(finalHosts).to.have.length(6);
      for (const r of finalHosts) expect(r.slice(2), r.join(" ")).to.deep.equal(["Yes", "No", "19.09", "idle"]);
      expect(
        b[13]!.out.startsWith("Patch ID  RR  Release  Patch State\n========  ==  =======  ===========\n001       N    19.09     Applied  \n\n"),
        b[13]!.out,
      ).to.equal(true);
      expect(b[13]!.out.trim().split("\n")).to.have.length(3);
    });

    it("leaves no process and no temp dir behind", () => {
      const dir = workDir(output);
      expect(existsSync(dir), dir).to.equal(false);
      expect(processesUsing(dir)).to.deep.equal([]);
    });
  });

  it("Ctrl-C (SIGINT) stops every process, removes the temp dir and exits 130", async () => {
    const d = startDemo();
    // Interrupt once the agents are being started (controller up, hosts provisioning).
    const deadline = Date.now() + 120_000;
    while (!/# starting six agents/.test(d.output()) && Date.now() < deadline && d.proc.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    expect(d.output()).to.match(/# starting six agents/);
    await new Promise((r) => setTimeout(r, 300));
    d.proc.kill("SIGINT");
    const r = await d.done;
    const out = d.output();
    expect(r, out).to.deep.equal({ rc: 130, signal: null });
    expect(out).to.include("# SIGINT: stopping every process");
    const dir = workDir(out);
    expect(existsSync(dir), dir).to.equal(false);
    expect(processesUsing(dir)).to.deep.equal([]);
  });
});
