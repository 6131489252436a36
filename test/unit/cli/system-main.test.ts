import { expect } from "chai";
import { Readable } from "node:stream";
import { main as systemMain } from "../../../clients/cli/system/main.js";
import { main as fmMain } from "../../../clients/cli/fm/main.js";

interface Run {
  rc: number;
  stdout: string;
  stderr: string;
}

async function run(which: "system" | "fm", argv: string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const main = which === "system" ? systemMain : fmMain;
  const rc = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([]),
    env,
    isTTY: false,
    columns: undefined,
  });
  return { rc, stdout, stderr };
}

describe("system and fm: usage and local errors (in-process)", () => {
  it("print the command list: exit 1 without arguments, 0 with --help", async () => {
    const a = await run("system", []);
    expect(a.rc).to.equal(1);
    expect(a.stdout).to.match(/^usage: system /);
    for (const c of ["host-list", "host-show", "host-lock", "host-unlock", "host-swact"]) expect(a.stdout).to.include(`  ${c} `);
    const b = await run("fm", ["--help"]);
    expect(b.rc).to.equal(0);
    for (const c of ["alarm-list", "alarm-show", "alarm-delete", "alarm-raise"]) expect(b.stdout).to.include(`  ${c} `);
    expect(b.stdout).to.include("--token-file PATH");
  });

  it("every command has --help (exit 0)", async () => {
    for (const [w, c] of [
      ["system", "host-list"],
      ["system", "host-show"],
      ["system", "host-lock"],
      ["system", "host-unlock"],
      ["system", "host-swact"],
      ["fm", "alarm-list"],
      ["fm", "alarm-show"],
      ["fm", "alarm-delete"],
      ["fm", "alarm-raise"],
    ] as const) {
      const r = await run(w, [c, "--help"]);
      expect(r.rc, c).to.equal(0);
      expect(r.stdout, c).to.match(new RegExp(`^usage: ${w} ${c}`));
    }
    expect((await run("system", ["help", "host-lock"])).stdout).to.include("usage: system host-lock [--force] <hostname or ip>");
  });

  it("bad arity prints the command's help and exits 1", async () => {
    for (const argv of [["host-show"], ["host-lock"], ["host-list", "x"], ["host-swact", "a", "b"]]) {
      const r = await run("system", argv);
      expect(r.rc, argv.join(" ")).to.equal(1);
      expect(r.stdout).to.match(/^usage: system /);
    }
    const f = await run("fm", ["alarm-delete"]);
    expect(f.rc).to.equal(1);
    expect(f.stdout).to.match(/^usage: fm alarm-delete/);
  });

  it("unknown subcommands and options are one error line", async () => {
    const a = await run("system", ["host-frob"]);
    expect(a.rc).to.equal(1);
    expect(a.stderr).to.equal("Error: unknown subcommand 'host-frob'\n");
    const b = await run("fm", ["alarm-list", "--bogus"]);
    expect(b.rc).to.equal(1);
    expect(b.stderr.split("\n")[0]).to.match(/^Error: Unknown option '--bogus'/);
  });

  it("--format json only on list/show commands", async () => {
    const r = await run("system", ["--endpoint", "127.0.0.1:1", "host-lock", "--format", "json", "compute-0"]);
    expect(r).to.deep.include({ rc: 1, stderr: "Error: --format json is not supported by host-lock\n" });
  });

  it("alarm-raise checks its options before calling the controller", async () => {
    const base = ["--endpoint", "127.0.0.1:1", "alarm-raise"];
    const a = await run("fm", [...base, "--alarm-id", "900.001"]);
    expect(a).to.deep.include({ rc: 1, stderr: "Error: missing required options: --entity, --severity, --reason\n" });
    const b = await run("fm", [...base, "--alarm-id", "9001", "--entity", "host=x", "--severity", "major", "--reason", "r"]);
    expect(b).to.deep.include({ rc: 1, stderr: 'Error: --alarm-id: expected NNN.NNN, got "9001"\n' });
    const c = await run("fm", [...base, "--alarm-id", "900.001", "--entity", "host=x", "--severity", "bad", "--reason", "r"]);
    expect(c).to.deep.include({ rc: 1, stderr: "Error: --severity: must be one of critical, major, minor, warning\n" });
  });

  it("an unreachable controller is one line (endpoint from --endpoint or SWPATCH_ENDPOINT)", async () => {
    const a = await run("system", ["--endpoint", "127.0.0.1:1", "host-list"]);
    expect(a).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: cannot reach the patch controller at 127.0.0.1:1: connection refused\n" });
    const b = await run("fm", ["alarm-list"], { SWPATCH_ENDPOINT: "127.0.0.1:2" });
    expect(b.stderr).to.equal("Error: cannot reach the patch controller at 127.0.0.1:2: connection refused\n");
  });

  it("an unreadable --token-file is one line", async () => {
    const r = await run("system", ["--token-file", "/nonexistent/token", "host-list"]);
    expect(r).to.deep.include({ rc: 1, stderr: "Error: cannot read token file /nonexistent/token: ENOENT\n" });
  });
});
