import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli, type CliResult } from "../lib/cli.js";

/** The Value column of a host-show / alarm-show table, by property. */
function props(table: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of table.split("\n")) {
    const m = /^\| (\S+)\s+\| (.*?)\s*\|$/.exec(line);
    if (m && m[1] !== "Property") out[m[1]!] = m[2]!;
  }
  return out;
}

/** The data rows of a prettytable, as trimmed cells. */
function rows(table: string): string[][] {
  const lines = table.trimEnd().split("\n");
  return lines.slice(3, -1).map((l) =>
    l
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim()),
  );
}

/**
 * `system` and `fm` against the real controller and three real agents (2 controllers + 1 worker).
 * The tests run in order: each starts from the state the previous one left.
 */
describe("system and fm CLIs on a 2+1 cluster", function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let work: string;
  const system = (...args: string[]): Promise<CliResult> => runCli("system", args, { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });
  const fm = (...args: string[]): Promise<CliResult> => runCli("fm", args, { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-sysfm-"));
    cluster = await startCluster({
      hosts: [
        { hostname: "controller-0", personality: "controller", mgmtIp: "192.168.204.2" },
        { hostname: "controller-1", personality: "controller", mgmtIp: "192.168.204.3" },
        { hostname: "compute-0", personality: "worker", mgmtIp: "192.168.204.7" },
      ],
      baseFeed: feed.dir,
    });
  });

  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("host-list: one row per host in hostname order, ids 1..3", async () => {
    const r = await system("host-list");
    expect(r.stderr).to.equal("");
    expect(r.rc).to.equal(0);
    expect(r.stdout).to.equal(
      "+----+--------------+-------------+----------------+-------------+--------------+\n" +
        "| id | hostname     | personality | administrative | operational | availability |\n" +
        "+----+--------------+-------------+----------------+-------------+--------------+\n" +
        "| 1  | compute-0    | worker      | unlocked       | enabled     | available    |\n" +
        "| 2  | controller-0 | controller  | unlocked       | enabled     | available    |\n" +
        "| 3  | controller-1 | controller  | unlocked       | enabled     | available    |\n" +
        "+----+--------------+-------------+----------------+-------------+--------------+\n",
    );
    const j = await system("host-list", "--format", "json");
    const { hosts } = JSON.parse(j.stdout) as { hosts: { id: number; hostname: string; active_controller: boolean }[] };
    expect(hosts.map((h) => [h.id, h.hostname, h.active_controller])).to.deep.equal([
      [1, "compute-0", false],
      [2, "controller-0", true],
      [3, "controller-1", false],
    ]);
  });

  it("host-show: the Property/Value table (by name or by IP)", async () => {
    const r = await system("host-show", "controller-0");
    expect(r.rc, r.stderr).to.equal(0);
    expect(r.stdout.split("\n").slice(0, 3)).to.deep.equal([
      "+--------------------+--------------------------------------+",
      "| Property           | Value                                |",
      "+--------------------+--------------------------------------+",
    ]);
    expect(props(r.stdout)).to.deep.equal({
      administrative: "unlocked",
      availability: "available",
      capabilities: "{'Personality': 'Controller-Active'}",
      hostname: "controller-0",
      id: "2",
      install_state: "idle",
      install_state_info: "None",
      mgmt_ip: "192.168.204.2",
      operational: "enabled",
      patch_current: "Yes",
      personality: "controller",
      reboot_required: "False",
      software_load: "19.09",
      subfunctions: "controller",
    });
    const byIp = await system("host-show", "192.168.204.7");
    expect(props(byIp.stdout)).to.include({ hostname: "compute-0", id: "1", personality: "worker", capabilities: "{}" });
    const j = await system("host-show", "controller-1", "--format", "json");
    expect((JSON.parse(j.stdout) as { host: object }).host).to.include({ hostname: "controller-1", id: 3, active_controller: false, administrative: "unlocked" });
  });

  it("an unknown host is one error line, exit 1", async () => {
    for (const cmd of ["host-show", "host-lock", "host-unlock", "host-swact"]) {
      const r = await system(cmd, "nosuch-host");
      expect(r, cmd).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Unknown host specified: nosuch-host\n" });
    }
  });

  it("lock/unlock of a worker", async () => {
    const lock = await system("host-lock", "compute-0");
    expect(lock.rc, lock.stderr).to.equal(0);
    expect(props(lock.stdout)).to.include({ hostname: "compute-0", administrative: "locked" });
    expect(rows((await system("host-list")).stdout)[0]).to.deep.equal(["1", "compute-0", "worker", "locked", "enabled", "available"]);
    const unlock = await system("host-unlock", "compute-0");
    expect(unlock.rc, unlock.stderr).to.equal(0);
    expect(props(unlock.stdout)).to.include({ hostname: "compute-0", administrative: "unlocked" });
    const again = await system("host-unlock", "compute-0");
    expect(again).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Host compute-0 is already unlocked\n" });
  });

  it("locking the active controller is refused; the last unlocked controller needs --force", async () => {
    const active = await system("host-lock", "controller-0");
    expect(active).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Rejected: Can not lock an active controller. Swact controller-0 first\n" });
    expect((await system("host-lock", "controller-1")).rc).to.equal(0);
    const last = await system("host-lock", "controller-0");
    expect(last).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Rejected: Can not lock the only unlocked controller controller-0\n" });
    expect(props((await system("host-show", "controller-0")).stdout).administrative).to.equal("unlocked");
    const forced = await system("host-lock", "--force", "controller-0");
    expect(forced.rc, forced.stderr).to.equal(0);
    expect(props(forced.stdout)).to.include({ hostname: "controller-0", administrative: "locked" });
    for (const h of ["controller-0", "controller-1"]) {
      const r = await system("host-unlock", h);
      expect(r.rc, r.stderr).to.equal(0);
    }
    expect(rows((await system("host-list")).stdout).map((r) => r[3])).to.deep.equal(["unlocked", "unlocked", "unlocked"]);
  });

  it("host-swact controller-0 makes controller-1 active (host-show shows it)", async () => {
    const notActive = await system("host-swact", "controller-1");
    expect(notActive).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: Rejected: controller-1 is not the active controller\n" });
    const worker = await system("host-swact", "compute-0");
    expect(worker.stderr).to.equal("Error: Rejected: compute-0 is not a controller\n");
    const r = await system("host-swact", "controller-0");
    expect(r.rc, r.stderr).to.equal(0);
    expect(props(r.stdout)).to.include({ hostname: "controller-0", capabilities: "{'Personality': 'Controller-Standby'}" });
    expect(props((await system("host-show", "controller-1")).stdout).capabilities).to.equal("{'Personality': 'Controller-Active'}");
    // The standby can now be locked without --force; the new active one cannot.
    expect((await system("host-lock", "controller-0")).rc).to.equal(0);
    expect((await system("host-lock", "controller-1")).stderr).to.equal("Error: Rejected: Can not lock the only unlocked controller controller-1\n");
    expect((await system("host-unlock", "controller-0")).rc).to.equal(0);
    // Swact back, so the cluster ends as it started.
    expect((await system("host-swact", "controller-1")).rc).to.equal(0);
    expect(props((await system("host-show", "controller-0")).stdout).capabilities).to.equal("{'Personality': 'Controller-Active'}");
  });

  it("fm alarm-raise, alarm-list, alarm-show, alarm-delete", async () => {
    const empty = await fm("alarm-list");
    expect(empty.rc, empty.stderr).to.equal(0);
    expect(empty.stdout).to.equal(
      "+------+----------+-------------+-----------+----------+------------+\n" +
        "| UUID | Alarm ID | Reason Text | Entity ID | Severity | Time Stamp |\n" +
        "+------+----------+-------------+-----------+----------+------------+\n" +
        "+------+----------+-------------+-----------+----------+------------+\n",
    );
    const raised = await fm(
      "alarm-raise",
      "--alarm-id",
      "100.114",
      "--entity",
      "host=controller-0.ntp",
      "--severity",
      "minor",
      "--reason",
      "NTP server unreachable",
      "--repair",
      "Check the NTP configuration",
    );
    expect(raised.rc, raised.stderr).to.equal(0);
    const a = props(raised.stdout);
    expect(a).to.include({
      alarm_id: "100.114",
      alarm_state: "set",
      entity_instance_id: "host=controller-0.ntp",
      severity: "minor",
      reason_text: "NTP server unreachable",
      proposed_repair_action: "Check the NTP configuration",
      mgmt_affecting: "False",
    });
    expect(a.uuid).to.match(/^[0-9a-f-]{36}$/);
    expect(a.timestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const second = await fm(
      "alarm-raise",
      "--alarm-id",
      "900.001",
      "--entity",
      "orchestration=test",
      "--severity",
      "critical",
      "--reason",
      "Blocking",
      "--mgmt-affecting",
    );
    expect(second.rc, second.stderr).to.equal(0);
    const b = props(second.stdout);
    expect(b.mgmt_affecting).to.equal("True");

    const list = await fm("alarm-list");
    expect(list.rc).to.equal(0);
    expect(list.stdout.split("\n")[1]).to.match(/^\| UUID +\| Alarm ID \| Reason Text +\| Entity ID +\| Severity \| Time Stamp +\|$/);
    expect(rows(list.stdout)).to.deep.equal([
      [a.uuid, "100.114", "NTP server unreachable", "host=controller-0.ntp", "minor", a.timestamp],
      [b.uuid, "900.001", "Blocking", "orchestration=test", "critical", b.timestamp],
    ]);
    const json = JSON.parse((await fm("alarm-list", "--format", "json")).stdout) as { alarms: { uuid: string }[] };
    expect(json.alarms.map((x) => x.uuid)).to.deep.equal([a.uuid, b.uuid]);

    const show = await fm("alarm-show", a.uuid!);
    expect(show.rc).to.equal(0);
    expect(props(show.stdout)).to.deep.equal(a);

    expect(await fm("alarm-delete", a.uuid!)).to.deep.equal({ rc: 0, stdout: `Deleted alarm uuid ${a.uuid}\n`, stderr: "" });
    expect(await fm("alarm-show", a.uuid!)).to.deep.equal({ rc: 1, stdout: "", stderr: `Error: Alarm not found: ${a.uuid}\n` });
    expect((await fm("alarm-delete", a.uuid!)).stderr).to.equal(`Error: Alarm not found: ${a.uuid}\n`);
    expect(rows((await fm("alarm-list")).stdout).map((r) => r[0])).to.deep.equal([b.uuid]);
    expect((await fm("alarm-delete", b.uuid!)).rc).to.equal(0);
  });

  it("takes the token from --token-file and refuses a wrong token in one line", async () => {
    const file = path.join(work, "admin.token");
    writeFileSync(file, cluster.controller.adminToken + "\n");
    const ok = await runCli("system", ["--token-file", file, "host-list"], { endpoint: cluster.controller.endpoint });
    expect(ok.rc, ok.stderr).to.equal(0);
    const bad = await runCli("fm", ["alarm-list"], { endpoint: cluster.controller.endpoint, token: "swp_0000000000000000_" + "0".repeat(64) });
    expect(bad).to.deep.equal({ rc: 1, stdout: "", stderr: "Error: invalid token (use --token, --token-file or SWPATCH_TOKEN)\n" });
  });
});
