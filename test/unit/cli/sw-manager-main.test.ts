import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createServer, type Server } from "nice-grpc";
import { OrchestrationServiceDefinition, Strategy, type OrchestrationServiceImplementation } from "../../../clients/sdk/src/index.js";
import { main } from "../../../clients/cli/sw-manager/main.js";
import { Redraw, rowsOf } from "../../../clients/cli/sw-manager/commands/patch-strategy/show.js";
import { completeService } from "../sdk/fake-service.js";

function strategy(state: string): Strategy {
  return Strategy.fromPartial({ uuid: "5435e049-7002-4403-acfb-7886f6da14af", name: "sw-patch", controllerApplyType: "serial", state, currentPhase: "build" });
}

describe("sw-manager: token file, --format json, show --watch", () => {
  let server: Server;
  let endpoint: string;
  const seenTokens: (string | undefined)[] = [];
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "swpatch-swm-"));
    server = createServer();
    const impl: Partial<OrchestrationServiceImplementation> = {
      async getStrategy(_req, ctx) {
        seenTokens.push(ctx.metadata.get("authorization"));
        return { strategy: strategy("ready-to-apply") };
      },
      async *watchStrategy() {
        yield { strategy: strategy("building") };
        yield { strategy: strategy("ready-to-apply") };
      },
      async deleteStrategy() {
        return {};
      },
    };
    server.add(OrchestrationServiceDefinition, completeService<OrchestrationServiceImplementation>(OrchestrationServiceDefinition.methods, impl));
    endpoint = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
  });
  after(async () => {
    await server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(argv: string[], env: Record<string, string> = {}, tty?: { columns: number }) {
    let stdout = "";
    let stderr = "";
    let terminal = "";
    const rc = await main(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      terminal: { write: (s: string) => ((terminal += s), (stdout += s)) },
      stdin: Readable.from([]),
      env,
      isTTY: tty !== undefined,
      columns: tty?.columns,
    });
    return { rc, stdout, stderr, terminal };
  }

  it("reads the token as sw-patch does: --token-file, then SWPATCH_TOKEN_FILE", async () => {
    const f = join(dir, "t.token");
    writeFileSync(f, "secret-from-file\n");
    expect((await run(["--endpoint", endpoint, "--token-file", f, "patch-strategy", "show"])).rc).to.equal(0);
    expect((await run(["--endpoint", endpoint, "patch-strategy", "show"], { SWPATCH_TOKEN_FILE: f })).rc).to.equal(0);
    expect(seenTokens.slice(-2)).to.deep.equal(["Bearer secret-from-file", "Bearer secret-from-file"]);
    const missing = await run(["--endpoint", endpoint, "--token-file", join(dir, "nope"), "patch-strategy", "show"]);
    expect(missing.rc).to.equal(1);
    expect(missing.stderr).to.match(/^Error: cannot read token file .*nope: ENOENT\n$/);
  });

  it("--format json prints one object with enums as strings; delete says so too; a bad format is refused", async () => {
    const show = await run(["--endpoint", endpoint, "--format", "json", "patch-strategy", "show"]);
    expect(show.rc).to.equal(0);
    const parsed = JSON.parse(show.stdout) as { strategy: { state: string; uuid: string } };
    expect(parsed.strategy.state).to.equal("ready-to-apply");
    expect(parsed.strategy.uuid).to.equal("5435e049-7002-4403-acfb-7886f6da14af");
    const del = await run(["--endpoint", endpoint, "--format", "json", "patch-strategy", "delete"]);
    expect(JSON.parse(del.stdout)).to.deep.equal({ deleted: true });
    const bad = await run(["--endpoint", endpoint, "--format", "yaml", "patch-strategy", "show"]);
    expect(bad.rc).to.equal(1);
    expect(bad.stderr).to.include("argument --format: invalid choice: 'yaml'");
  });

  it("show --watch --format json prints one line per change until the strategy settles", async () => {
    const r = await run(["--endpoint", endpoint, "--format", "json", "patch-strategy", "show", "--watch"]);
    expect(r.rc).to.equal(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { strategy: { state: string } }).strategy.state)).to.deep.equal(["building", "ready-to-apply"]);
  });

  it("show --watch redraws in place on a terminal, and appends elsewhere", async () => {
    const tty = await run(["--endpoint", endpoint, "patch-strategy", "show", "--watch"], {}, { columns: 200 });
    expect(tty.rc).to.equal(0);
    const first = tty.stdout.slice(0, tty.stdout.indexOf("\x1b["));
    // The cursor goes back up over exactly the rows of the first block, which is then cleared.
    expect(tty.terminal).to.equal(`\x1b[${rowsOf(first, 200)}F\x1b[J`);
    expect(tty.stdout.split("Strategy Patch Strategy:").length).to.equal(3);
    const log = await run(["--endpoint", endpoint, "patch-strategy", "show", "--watch"]);
    expect(log.stdout).to.not.include("\x1b");
    expect(log.stdout).to.match(/state: +building\n[^]*\n\nStrategy Patch Strategy:[^]*state: +ready-to-apply\n/);
  });

  it("counts wrapped rows", () => {
    expect(rowsOf("ab\ncd\n", 80)).to.equal(2);
    expect(rowsOf("x".repeat(81) + "\n\n", 80)).to.equal(3);
    const out: string[] = [];
    const r = new Redraw({ stdout: { write: (s: string) => out.push(s) }, isTTY: true, columns: 10 });
    r.show("a\nb\n");
    r.show("c\n");
    r.show("d\n");
    expect(out).to.deep.equal(["a\nb\n", "\x1b[2F\x1b[J", "c\n", "\x1b[1F\x1b[J", "d\n"]);
  });
});
