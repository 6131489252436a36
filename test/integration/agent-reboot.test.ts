import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Availability, type Event } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { buildBaseFeed } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";

/**
 * The agent's real reboot mode (`--reboot-mode system`), with a reboot command that does what a
 * reboot does to the agent: a new kernel boot id, and the agent process killed. The test then
 * starts the agent again, as systemd does after the boot.
 */
describe("agent: a real reboot (--reboot-mode system)", function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let work: string;
  const bootFile = () => path.join(work, "boot_id");

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-reboot-"));
    writeFileSync(bootFile(), "boot-1\n");
    // A reboot: the kernel gets a new boot id and every process dies. Here: the nearest ancestor
    // that is compute-0's agent (it runs `/bin/sh -c CMD`, which may or may not fork for the script).
    const script = [
      "#!/bin/sh",
      `echo "boot-$(date +%s%N)" > ${bootFile()}`,
      "p=$PPID",
      'while [ "$p" -gt 1 ]; do',
      '  if tr "\\0" " " < /proc/$p/cmdline | grep -q "sw-patch-agent.*--hostname compute-0 "; then kill -9 $p; exit 0; fi',
      "  p=$(awk '{print $4}' /proc/$p/stat)",
      "done",
      "exit 1",
    ];
    writeFileSync(path.join(work, "reboot.sh"), script.join("\n") + "\n", { mode: 0o755 });
    writeFileSync(path.join(work, "broken-reboot.sh"), "#!/bin/sh\necho 'Failed to reboot: access denied' >&2\nexit 3\n", { mode: 0o755 });
    cluster = await startCluster({
      hosts: [
        {
          hostname: "compute-0",
          personality: "worker",
          extraArgs: ["--reboot-mode", "system", "--reboot-command", path.join(work, "reboot.sh"), "--boot-id-file", bootFile()],
        },
        {
          hostname: "compute-1",
          personality: "worker",
          extraArgs: ["--reboot-mode", "system", "--reboot-command", path.join(work, "broken-reboot.sh"), "--boot-id-file", bootFile()],
        },
      ],
      baseFeed: feed.dir,
    });
    await cluster.waitHosts((hs) => hs.length === 2 && hs.every((h) => h.connected));
  });
  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Locks the host and makes it need a reboot (as a reboot-required install does). */
  async function needReboot(hostname: string): Promise<void> {
    await cluster.clients.hosts.lockHost({ host: hostname });
    const agent = cluster.agents.get(hostname)!;
    await agent.stop();
    mkdirSync(path.join(agent.root, "var/run"), { recursive: true });
    writeFileSync(path.join(agent.root, "var/run/node_is_patched_rr"), "");
    await cluster.restartAgent(hostname);
    await cluster.waitHosts((hs) => hs.some((h) => h.hostname === hostname && h.connected && h.requiresReboot));
  }

  async function rebootEvents(hostname: string): Promise<Event[]> {
    const out: Event[] = [];
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 2000);
    try {
      for await (const r of cluster.clients.patches.watchEvents({ afterSequence: 0, kinds: ["host.reboot"], hostname }, { signal: ac.signal })) {
        if (r.event) out.push(r.event);
        if (r.event?.newState !== "rebooting") break;
      }
    } catch (e) {
      if (!ac.signal.aborted) throw e;
    } finally {
      clearTimeout(t);
    }
    return out;
  }

  it("unlock runs the reboot command; after the boot the agent finishes the reboot and reports it", async () => {
    await needReboot("compute-0");
    const agent = cluster.agents.get("compute-0")!;
    const exited = new Promise<void>((resolve) => agent.proc.once("exit", () => resolve()));
    const r = await cluster.clients.hosts.unlockHost({ host: "compute-0" });
    expect(r.rebooting).to.equal(true);
    await exited; // "the machine went down"
    const state = JSON.parse(readFileSync(path.join(agent.root, "var/lib/sw-patch-agent/state.json"), "utf8")) as { pendingReboot?: { bootId: string } };
    expect(state.pendingReboot?.bootId).to.equal("boot-1");
    expect(readFileSync(bootFile(), "utf8")).to.not.equal("boot-1\n");
    await cluster.restartAgent("compute-0"); // systemd, after the boot
    await cluster.waitHosts((hs) =>
      hs.some((h) => h.hostname === "compute-0" && h.connected && !h.requiresReboot && h.availability === Availability.AVAILABILITY_AVAILABLE),
    );
    expect((await rebootEvents("compute-0")).map((e) => e.newState)).to.deep.equal(["rebooted"]);
    const after = JSON.parse(readFileSync(path.join(agent.root, "var/lib/sw-patch-agent/state.json"), "utf8")) as { pendingReboot?: unknown; requiresReboot: boolean };
    expect(after).to.deep.include({ requiresReboot: false });
    expect(after.pendingReboot).to.equal(undefined);
  });

  it("a reboot command that fails is reported at once, with its reason, and the host is available again", async () => {
    await needReboot("compute-1");
    expect((await cluster.clients.hosts.unlockHost({ host: "compute-1" })).rebooting).to.equal(true);
    const events = await (async () => {
      for (let i = 0; i < 100; i++) {
        const evs = await rebootEvents("compute-1");
        if (evs.length) return evs;
        await new Promise((res) => setTimeout(res, 100));
      }
      return [];
    })();
    expect(events.map((e) => [e.newState, e.message])).to.deep.equal([
      ["reboot-failed", `reboot command \`${path.join(work, "broken-reboot.sh")}\` exited with 3: Failed to reboot: access denied`],
    ]);
    await cluster.waitHosts((hs) =>
      hs.some((h) => h.hostname === "compute-1" && h.connected && h.requiresReboot && h.availability === Availability.AVAILABILITY_AVAILABLE),
    );
    expect(cluster.agents.get("compute-1")!.proc.exitCode).to.equal(null);
  });
});
