import { expect } from "chai";
import { createHash } from "node:crypto";
import type { ConnectRequest, DesiredPackage, InstallCommand } from "../../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { AgentState, InstallPhase } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";
import { drawInstall, parseSimOptions, SIM_DEFAULTS, seededRandom, type SimOptions } from "../../../server/agent/sim-faults.js";
import { SIM_FAILURE_REASON, SimHost, type SimFetchFn } from "../../../server/agent/sim-host.js";
import { NODE_MUST_BE_LOCKED } from "../../../server/agent/host-agent.js";
import { parseAgentArgs } from "../../../server/agent/main.js";
import { createLogger } from "../../../server/lib/log.js";

const logger = createLogger({ level: "silent" });
const BYTES = Buffer.from("the bytes of sysinv-1.0-2");
const SHA = createHash("sha256").update(BYTES).digest("hex");
const BASE = [
  { name: "sysinv", epoch: "0", version: "1.0", release: "1", arch: "x86_64" },
  { name: "pkg-a", epoch: "0", version: "1.0", release: "1", arch: "x86_64" },
];
const SYSINV2: DesiredPackage = {
  name: "sysinv",
  epoch: "",
  version: "1.0",
  release: "2",
  arch: "x86_64",
  fileName: "sysinv-1.0-2.x86_64.rpm",
  sha256: SHA,
  sizeBytes: BYTES.length,
};

function install(opId: string, over: Partial<InstallCommand> = {}): InstallCommand {
  return {
    operationId: opId,
    force: true,
    desired: [SYSINV2, { ...BASE[1]!, fileName: "", sha256: "", sizeBytes: 0 }],
    erase: [],
    rebootRequired: false,
    securityCounter: 0,
    patchIds: [],
    locked: false,
    ...over,
  };
}

/** A host whose draws at `seed` give `want` for its first install (searching host names). */
function hostWith(sim: SimOptions, want: (d: ReturnType<typeof drawInstall>) => boolean): string {
  for (let i = 0; i < 10_000; i++) if (want(drawInstall(sim, `h-${i}`, 0))) return `h-${i}`;
  throw new Error("no such host");
}

class Probe {
  sent: ConnectRequest[] = [];
  fetched: string[] = [];
  drops = 0;
  waiters: Array<() => void> = [];
  fetch: SimFetchFn = async (sha256) => {
    this.fetched.push(sha256);
    return sha256 === SHA ? { sha256: SHA, size: BYTES.length } : { sha256: "0".repeat(64), size: 1 };
  };
  sink = (m: ConnectRequest) => {
    this.sent.push(m);
    for (const w of this.waiters.splice(0)) w();
  };
  of<C extends NonNullable<ConnectRequest["message"]>["$case"]>(c: C) {
    return this.sent.map((m) => m.message).filter((m): m is Extract<NonNullable<ConnectRequest["message"]>, { $case: C }> => m?.$case === c);
  }
  async until(ok: () => boolean): Promise<void> {
    while (!ok()) await new Promise<void>((r) => this.waiters.push(r));
  }
}

function simHost(name: string, sim: SimOptions, probe: Probe): SimHost {
  const h = new SimHost({ hostname: name, personality: "worker", packages: BASE, sim, logger, fetch: probe.fetch });
  h.attach(probe.sink, () => {
    probe.drops++;
    h.attach(undefined);
    for (const w of probe.waiters.splice(0)) w();
  });
  return h;
}

describe("fleet simulator: options and fault generator", () => {
  it("parses the --sim-* flags and refuses bad ones", () => {
    expect(parseSimOptions({})).to.equal(undefined);
    expect(parseSimOptions({ "sim-installer": "memory" })).to.deep.equal(SIM_DEFAULTS);
    expect(
      parseSimOptions({
        "sim-installer": "memory",
        "sim-install-ms": "120:30",
        "sim-reboot-ms": "5",
        "sim-fail-rate": "0.1",
        "sim-seed": "x",
        "sim-hosts-per-connection": "4",
      }),
    ).to.deep.include({ installMeanMs: 120, installSdMs: 30, rebootMs: 5, failRate: 0.1, seed: "x", hostsPerConnection: 4 });
    expect(() => parseSimOptions({ "sim-fail-rate": "0.1" })).to.throw("--sim-fail-rate needs --sim-installer memory");
    expect(() => parseSimOptions({ "sim-installer": "rpm" })).to.throw("--sim-installer must be memory");
    expect(() => parseSimOptions({ "sim-installer": "memory", "sim-hang-rate": "1.5" })).to.throw("--sim-hang-rate must be a probability");
    expect(() => parseSimOptions({ "sim-installer": "memory", "sim-install-ms": "1:2:3" })).to.throw("MEAN or MEAN:SD");
    expect(() => parseSimOptions({ "sim-installer": "memory", "sim-fail-rate": "0.6", "sim-hang-rate": "0.6" })).to.throw("at most 1");
    expect(() => parseSimOptions({ "sim-installer": "memory", "sim-hosts-per-connection": "0" })).to.throw(">= 1");
  });

  it("the agent takes the flags with --simulate only; the rpm mode has no simulator", () => {
    const base = ["--controller", "127.0.0.1:1", "--hostname", "s", "--personality", "worker", "--root", "/tmp/x"];
    expect(parseAgentArgs([...base, "--simulate", "3", "--sim-installer", "memory", "--sim-fail-rate", "0.2"], {}).sim).to.deep.include({ failRate: 0.2 });
    expect(parseAgentArgs([...base, "--simulate", "3"], {}).sim).to.equal(undefined);
    expect(() => parseAgentArgs([...base, "--sim-installer", "memory"], {})).to.throw("--sim-installer needs --simulate N");
  });

  it("draws the same fate for the same seed, host and install, and other fates for others", () => {
    const o: SimOptions = { ...SIM_DEFAULTS, failRate: 0.2, hangRate: 0.1, disconnectRate: 0.1, unhealthyRate: 0.3, installMeanMs: 100, installSdMs: 20, seed: "7" };
    const draws = (seed: string) => Array.from({ length: 2000 }, (_, i) => drawInstall({ ...o, seed }, `host-${i}`, 0));
    const a = draws("7");
    expect(draws("7")).to.deep.equal(a);
    expect(draws("8")).to.not.deep.equal(a);
    expect(drawInstall(o, "host-1", 1)).to.not.deep.equal(drawInstall(o, "host-1", 0));
    const share = (f: string) => a.filter((d) => d.fault === f).length / a.length;
    // 2000 draws: each share within 0.05 of its rate.
    expect(share("fail")).to.be.closeTo(0.2, 0.05);
    expect(share("hang")).to.be.closeTo(0.1, 0.05);
    expect(share("disconnect")).to.be.closeTo(0.1, 0.05);
    expect(a.filter((d) => d.unhealthy).length / a.length).to.be.closeTo(0.3, 0.05);
    const mean = a.reduce((s, d) => s + d.durationMs, 0) / a.length;
    expect(mean).to.be.closeTo(100, 3);
    expect(a.every((d) => d.durationMs >= 0 && d.dropAtMs >= 0 && d.dropAtMs <= d.durationMs)).to.equal(true);
    const r = seededRandom("k");
    const xs = Array.from({ length: 1000 }, r);
    expect(xs.every((x) => x >= 0 && x < 1)).to.equal(true);
    expect(new Set(xs).size).to.be.greaterThan(990);
  });
});

describe("fleet simulator: a simulated host", function () {
  this.timeout(10_000);
  const quick: SimOptions = { ...SIM_DEFAULTS, installMeanMs: 5, rebootMs: 1 };

  it("installs: fetches what changes, checks it, reports the new packages and health before the result", async () => {
    const p = new Probe();
    const h = simHost("h-ok", quick, p);
    expect((await h.buildHello()).packages.map((x) => `${x.name}-${x.release}`)).to.deep.equal(["pkg-a-1", "sysinv-1"]);
    await h.handleInstall(install("op-1"));
    await p.until(() => p.of("installResult").length > 0);
    expect(p.fetched).to.deep.equal([SHA]);
    expect(p.of("installResult")[0]!.value).to.deep.equal({ operationId: "op-1", success: true, rejected: false, reason: "" });
    const reports = p.of("report");
    expect(reports[0]!.value.state).to.equal(AgentState.AGENT_STATE_INSTALLING);
    const last = reports.at(-1)!.value;
    expect(last.state).to.equal(AgentState.AGENT_STATE_IDLE);
    expect(last.packages.map((x) => `${x.name}-${x.release}`)).to.deep.equal(["pkg-a-1", "sysinv-2"]);
    expect(last.health).to.deep.include({ healthy: true, configured: true });
    // The report comes before the result; the last progress is the terminal DONE.
    const kinds = p.sent.map((m) => m.message?.$case);
    expect(kinds.lastIndexOf("report")).to.be.lessThan(kinds.indexOf("installResult"));
    const progress = p.of("progress").map((m) => m.value);
    expect(progress.at(-1)).to.deep.include({ phase: InstallPhase.INSTALL_PHASE_DONE, terminal: true });
    expect(h.status.state).to.equal("idle");
  });

  it("a package whose bytes do not match its sha256 fails the install and changes nothing", async () => {
    const p = new Probe();
    const h = simHost("h-bad", quick, p);
    await h.handleInstall(install("op-2", { desired: [{ ...SYSINV2, sha256: "a".repeat(64) }] }));
    await p.until(() => p.of("installResult").length > 0);
    expect(p.of("installResult")[0]!.value.reason).to.match(/^sha256 mismatch for sysinv-1.0-2.x86_64.rpm/);
    expect(h.installed().map((x) => x.release)).to.deep.equal(["1", "1"]);
    expect(h.status.state).to.equal("install-failed");
  });

  it("fail: reports failure with the simulated reason, the packages unchanged", async () => {
    const sim = { ...quick, failRate: 0.5, seed: "fail" };
    const p = new Probe();
    const h = simHost(
      hostWith(sim, (d) => d.fault === "fail"),
      sim,
      p,
    );
    await h.handleInstall(install("op-3"));
    await p.until(() => p.of("installResult").length > 0);
    expect(p.of("installResult")[0]!.value).to.deep.include({ success: false, reason: SIM_FAILURE_REASON });
    expect(p.of("report").at(-1)!.value).to.deep.include({ state: AgentState.AGENT_STATE_INSTALL_FAILED, installReason: SIM_FAILURE_REASON });
    expect(h.installed().find((x) => x.name === "sysinv")!.release).to.equal("1");
  });

  it("hang: never reports a result, refuses a second install, and ends as aborted when the agent stops", async () => {
    const sim = { ...quick, hangRate: 0.5, seed: "hang" };
    const p = new Probe();
    const h = simHost(
      hostWith(sim, (d) => d.fault === "hang"),
      sim,
      p,
    );
    await h.handleInstall(install("op-4"));
    // The download happens, then nothing: a second install is refused as in progress.
    await p.until(() => p.of("progress").some((m) => m.value.message === "downloaded"));
    await h.handleInstall(install("op-5"));
    expect(p.of("installResult").map((m) => m.value)).to.deep.equal([{ operationId: "op-5", success: false, rejected: true, reason: "Install already in progress" }]);
    expect(h.status.state).to.equal("installing");
    expect(h.canReboot()).to.equal(false);
    await h.close();
    expect(p.of("installResult").map((m) => m.value.operationId)).to.deep.equal(["op-5", "op-4"]);
    expect(p.of("installResult").at(-1)!.value.reason).to.equal("install aborted");
  });

  it("disconnect: drops the stream mid-install; the install goes on and its result waits for the next hello ack", async () => {
    const sim = { ...quick, disconnectRate: 0.5, seed: "drop" };
    const p = new Probe();
    const h = simHost(
      hostWith(sim, (d) => d.fault === "disconnect"),
      sim,
      p,
    );
    await h.handleInstall(install("op-6"));
    await p.until(() => p.drops > 0);
    // Detached: the result is queued; a new stream (attach + hello ack) gets it.
    await h.settled();
    expect(h.status.state).to.equal("idle");
    expect(p.of("installResult")).to.have.length(0);
    const hello = await h.buildHello();
    expect(hello.packages.find((x) => x.name === "sysinv")!.release).to.equal("2");
    h.attach(p.sink);
    await h.onHelloAck({ controllerRelease: "19.09", locked: false });
    expect(p.of("installResult").map((m) => m.value)).to.deep.equal([{ operationId: "op-6", success: true, rejected: false, reason: "" }]);
  });

  it("unhealthy: the install succeeds and the report says the health check fails", async () => {
    const sim = { ...quick, unhealthyRate: 0.5, seed: "sick" };
    const p = new Probe();
    const h = simHost(
      hostWith(sim, (d) => d.fault === "none" && d.unhealthy),
      sim,
      p,
    );
    await h.handleInstall(install("op-7"));
    await p.until(() => p.of("installResult").length > 0);
    expect(p.of("installResult")[0]!.value.success).to.equal(true);
    expect(p.of("report").at(-1)!.value.health).to.deep.include({ healthy: false, configured: true, detail: "simulated health check failed" });
  });

  it("refuses an unforced install while unlocked (install-rejected until it is locked), and reboots", async () => {
    const p = new Probe();
    const h = simHost("h-lock", quick, p);
    await h.handleInstall(install("op-8", { force: false }));
    expect(p.of("installResult")[0]!.value).to.deep.equal({ operationId: "op-8", success: false, rejected: true, reason: NODE_MUST_BE_LOCKED });
    expect(h.status).to.deep.include({ state: "install-rejected", installReason: NODE_MUST_BE_LOCKED });
    await h.setLocked(true);
    expect(h.status).to.deep.include({ state: "idle", locked: true });
    await h.handleInstall(install("op-9", { force: false, rebootRequired: true }));
    await p.until(() => p.of("installResult").length > 1);
    expect(h.status.requiresReboot).to.equal(true);
    await h.reboot("rb-1");
    expect(h.status).to.deep.include({ requiresReboot: false, locked: true });
    h.attach(p.sink);
    await h.onHelloAck({ controllerRelease: "19.09", locked: true });
    expect(p.of("rebootResult").map((m) => m.value)).to.deep.equal([{ requestId: "rb-1", success: true, reason: "" }]);
  });
});
