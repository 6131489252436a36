import { expect } from "chai";
import * as path from "node:path";
import { buildBaseFeed } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli, type CliResult } from "../lib/cli.js";
import { DEV_CERT, FIXTURES, FORMAL_CERT } from "../lib/controller-harness.js";

/** The data rows of a prettytable, as trimmed cells. */
function rows(table: string): string[][] {
  return table
    .trimEnd()
    .split("\n")
    .slice(3, -1)
    .map((l) =>
      l
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

const TOKEN_RE = /^swp_([0-9a-f]{16})_[0-9a-f]{64}$/;

/**
 * sw-patch's admin commands (tokens, audit log, trust store) against the real controller with a
 * real agent. The tests run in order.
 */
describe("sw-patch admin commands: tokens, audit log, trust store", function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let readerToken = "";
  let readerId = "";
  const as =
    (token: string) =>
    (cmd: string, ...args: string[]): Promise<CliResult> =>
      runCli(cmd, args, { endpoint: cluster.controller.endpoint, token });
  const admin = (...args: string[]) => as(cluster.controller.adminToken)("sw-patch", ...args);

  before(async () => {
    const feed = await buildBaseFeed();
    cluster = await startCluster({
      hosts: [{ hostname: "controller-0", personality: "controller", mgmtIp: "192.168.204.2" }],
      baseFeed: feed.dir,
      // Only the dev key, so that trust-add formal below is a new key (no local key, no shipped formal).
      controller: { trust: [`${DEV_CERT}:dev`], extraArgs: ["--no-default-trust"] },
    });
  });

  after(async () => {
    await cluster?.close();
  });

  it("every admin command has --help", async () => {
    for (const c of ["token-create", "token-list", "token-revoke", "audit-log", "trust-list", "trust-add", "trust-remove"]) {
      const r = await runCli("sw-patch", [c, "--help"]);
      expect(r.rc, c).to.equal(0);
      expect(r.stdout, c).to.match(new RegExp(`^usage: sw-patch ${c}`));
    }
    expect((await runCli("sw-patch", ["--help"])).stdout).to.include("  token-create ");
  });

  it("token-create prints a summary and the token alone on the last line", async () => {
    const r = await admin("token-create", "--role", "reader", "--description", "ci reader");
    expect(r.stderr).to.equal("");
    expect(r.rc).to.equal(0);
    const lines = r.stdout.trimEnd().split("\n");
    readerToken = lines[lines.length - 1]!;
    const m = TOKEN_RE.exec(readerToken);
    expect(m, r.stdout).to.not.equal(null);
    readerId = m![1]!;
    expect(lines[0]).to.equal(`Created reader token ${readerId}`);
    expect(r.stdout).to.include("Description: ci reader\n");
  });

  it("token-create refuses bad roles and host bindings in one line", async () => {
    expect(await admin("token-create")).to.deep.include({ rc: 1, stderr: "Error: missing required option: --role\n" });
    expect(await admin("token-create", "--role", "root")).to.deep.include({
      rc: 1,
      stderr: 'Error: --role: expected admin, operator, reader, agent; got "root"\n',
    });
    expect(await admin("token-create", "--role", "agent")).to.deep.equal({
      rc: 1,
      stdout: "",
      stderr: "Error: hostname: required for an agent token\n",
    });
    const agent = await admin("token-create", "--role", "agent", "--host", "compute-9");
    expect(agent.rc, agent.stderr).to.equal(0);
    expect(agent.stdout.split("\n")[0]).to.match(/^Created agent token [0-9a-f]{16} for host compute-9$/);
  });

  it("a reader token can query but not apply (PERMISSION_DENIED, one line)", async () => {
    const reader = as(readerToken);
    const q = await reader("sw-patch", "query");
    expect(q.rc, q.stderr).to.equal(0);
    const hosts = await reader("system", "host-list");
    expect(hosts.rc, hosts.stderr).to.equal(0);
    expect(rows(hosts.stdout)).to.deep.equal([["1", "controller-0", "controller", "unlocked", "enabled", "available"]]);
    expect((await reader("fm", "alarm-list")).rc).to.equal(0);
    expect(await reader("sw-patch", "apply", "001")).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: role reader may not call ApplyPatches\n" });
    expect(await reader("system", "host-lock", "controller-0")).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: role reader may not call LockHost\n" });
    expect((await reader("sw-patch", "token-list")).stderr).to.equal("Error: role reader may not call ListTokens\n");
  });

  it("token-list shows every token", async () => {
    const r = await admin("token-list");
    expect(r.rc, r.stderr).to.equal(0);
    expect(r.stdout.split("\n")[1]).to.match(/^\| ID +\| Role +\| Host +\| Created +\| Revoked \| Description +\|$/);
    const byId = new Map(rows(r.stdout).map((row) => [row[0], row]));
    const reader = byId.get(readerId)!;
    expect(reader).to.not.equal(undefined);
    expect([reader[1], reader[2], reader[4], reader[5]]).to.deep.equal(["reader", "", "no", "ci reader"]);
    expect(reader[3]).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(rows(r.stdout).some((row) => row[1] === "agent" && row[2] === "compute-9")).to.equal(true);
    const json = JSON.parse((await admin("token-list", "--format", "json")).stdout) as { tokens: { id: string; revoked: boolean }[] };
    expect(json.tokens.find((t) => t.id === readerId)).to.include({ revoked: false });
  });

  it("token-revoke: the token is then refused (UNAUTHENTICATED, one line)", async () => {
    expect(await admin("token-revoke", readerId)).to.deep.equal({ rc: 0, stdout: `Token ${readerId} has been revoked\n`, stderr: "" });
    const reader = as(readerToken);
    const refused = "Error: token revoked (use --token, --token-file or SWPATCH_TOKEN)\n";
    expect(await reader("sw-patch", "query")).to.deep.equal({ rc: 1, stdout: "", stderr: refused });
    expect(await reader("system", "host-list")).to.deep.equal({ rc: 1, stdout: "", stderr: refused });
    expect(await reader("sw-patch", "apply", "001")).to.deep.equal({ rc: 1, stdout: "", stderr: refused });
    const row = rows((await admin("token-list")).stdout).find((r) => r[0] === readerId)!;
    expect(row[4]).to.equal("yes");
    expect(await admin("token-revoke", "0000000000000000")).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Token 0000000000000000 not found\n" });
  });

  it("audit-log shows the calls, pages with --after/--limit", async () => {
    const r = await admin("audit-log", "--limit", "1000");
    expect(r.rc, r.stderr).to.equal(0);
    expect(r.stdout.split("\n")[1]).to.match(/^\| ID +\| Time +\| Actor +\| Role +\| Action +\| Target +\| Outcome +\|$/);
    const entries = rows(r.stdout);
    const find = (pred: (e: string[]) => boolean) => entries.find(pred);
    expect(find((e) => e[4] === "CreateToken" && e[5] === "role=reader" && e[6] === "ok")).to.not.equal(undefined);
    expect(find((e) => e[4] === "CreateToken" && e[6] === "INVALID_ARGUMENT")).to.not.equal(undefined);
    expect(find((e) => e[2] === readerId && e[3] === "reader" && e[4] === "ApplyPatches" && e[5] === "patches=001" && e[6] === "PERMISSION_DENIED")).to.not.equal(
      undefined,
    );
    expect(find((e) => e[2] === readerId && e[3] === "reader" && e[4] === "LockHost" && e[6] === "PERMISSION_DENIED")).to.not.equal(undefined);
    expect(find((e) => e[4] === "RevokeToken" && e[5] === `id=${readerId}` && e[6] === "ok")).to.not.equal(undefined);
    expect(find((e) => e[2] === readerId && e[4] === "ApplyPatches" && e[6] === "UNAUTHENTICATED")).to.not.equal(undefined);
    const ids = entries.map((e) => Number(e[0]));
    expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));

    const page = await admin("audit-log", "--after", String(ids[1]), "--limit", "2");
    expect(rows(page.stdout).map((e) => Number(e[0]))).to.deep.equal(ids.slice(2, 4));
    const page1 = (
      JSON.parse((await admin("audit-log", "--after", String(ids[0]), "--limit", "1", "--format", "json")).stdout) as { entries: { id: number; action: string }[] }
    ).entries;
    expect(page1).to.have.length(1);
    expect(page1[0]!.id).to.equal(ids[1]);
    expect(await admin("audit-log", "--limit", "ten")).to.deep.equal({ rc: 1, stdout: "", stderr: 'Error: --limit: expected a non-negative integer, got "ten"\n' });
  });

  it("trust-list, trust-add, trust-remove", async () => {
    const list = await admin("trust-list");
    expect(list.rc, list.stderr).to.equal(0);
    expect(rows(list.stdout).map((r) => r[0])).to.deep.equal(["dev"]);
    const add = await admin("trust-add", "--label", "formal", FORMAL_CERT);
    expect(add.rc, add.stderr).to.equal(0);
    expect(add.stdout).to.match(/^Trusted key formal added \(SHA-256 \S+\)\n$/);
    const after = rows((await admin("trust-list")).stdout);
    expect(after.map((r) => r[0])).to.deep.equal(["dev", "formal"]);
    expect(add.stdout).to.include(after[1]![1]!);
    const dup = await admin("trust-add", "--label", "formal", FORMAL_CERT);
    expect(dup).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Trusted key formal already exists\n" });
    const missing = await admin("trust-add", "--label", "x", path.join(FIXTURES, "nonexistent.pem"));
    expect(missing).to.deep.equal({ rc: 1, stdout: "", stderr: `Error: File does not exist: ${path.join(FIXTURES, "nonexistent.pem")}\n` });
    expect((await admin("trust-add", FORMAL_CERT)).stderr).to.equal("Error: missing required option: --label\n");
    const fromFlag = await admin("trust-remove", "dev");
    expect(fromFlag.rc).to.equal(1);
    expect(fromFlag.stderr).to.equal("Error: Trusted key dev comes from --trust; remove it from the controller's command line\n");
    expect(await admin("trust-remove", "formal")).to.deep.equal({ rc: 0, stdout: "Trusted key formal removed\n", stderr: "" });
    expect(rows((await admin("trust-list")).stdout).map((r) => r[0])).to.deep.equal(["dev"]);
    expect((await admin("trust-remove", "formal")).stderr).to.equal("Error: Trusted key formal not found\n");
  });
});
