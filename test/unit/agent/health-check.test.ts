import { expect } from "chai";
import { parseAgentArgs } from "../../../server/agent/main.js";
import { HEALTH_DETAIL_CHARS, HealthChecker, runHealthCheck } from "../../../server/agent/health-check.js";
import { AgentHealthBook } from "../../../server/domain/hosts/agent-health.js";
import type { HostRecord } from "../../../server/domain/hosts/model.js";

const BASE = ["--controller", "127.0.0.1:5490", "--hostname", "compute-0", "--personality", "worker", "--root", "/tmp/x", "--insecure"];

describe("agent health check (issue 20)", () => {
  it("exit 0 is healthy; another exit is unhealthy with its code and the end of its output", async () => {
    const ok = await runHealthCheck('echo "all good on $SWPATCH_HOSTNAME"', { SWPATCH_HOSTNAME: "compute-0" });
    expect(ok).to.deep.include({ configured: true, healthy: true, detail: "all good on compute-0" });
    expect(ok.checkedAt).to.be.instanceOf(Date);
    const bad = await runHealthCheck("echo db down >&2; exit 3", {});
    expect(bad).to.deep.include({ configured: true, healthy: false, detail: "exit 3: db down" });
    const long = await runHealthCheck("head -c 5000 /dev/zero | tr '\\0' x; exit 1", {});
    expect(long.healthy).to.equal(false);
    expect(long.detail.length).to.be.at.most(HEALTH_DETAIL_CHARS + "exit 1: ".length);
  });

  it("a checker reports each result and joins a check that is running", async () => {
    const results: boolean[] = [];
    const hc = new HealthChecker("exit 1", 3_600_000, {}, (r) => results.push(r.healthy));
    const [a, b] = await Promise.all([hc.check(), hc.check()]);
    expect(a).to.equal(b);
    expect(results).to.deep.equal([false]);
    expect(hc.last.healthy).to.equal(false);
    hc.stop();
  });

  it("--health-check and --health-interval are checked", () => {
    expect(parseAgentArgs([...BASE, "--health-check", "true", "--health-interval", "0.5"]).healthCheck).to.deep.equal({ command: "true", intervalMs: 500 });
    expect(parseAgentArgs([...BASE, "--health-check", "true"]).healthCheck).to.deep.equal({ command: "true", intervalMs: 30_000 });
    expect(parseAgentArgs(BASE).healthCheck).to.equal(undefined);
    expect(() => parseAgentArgs([...BASE, "--health-interval", "5"])).to.throw("--health-interval needs --health-check");
    expect(() => parseAgentArgs([...BASE, "--health-check", "true", "--health-interval", "0"])).to.throw(/--health-interval must be/);
  });

  it("the controller keeps the health a report carries and skips the write only when nothing else changed", () => {
    const book = new AgentHealthBook();
    const h = { hostname: "compute-0", agentState: "idle", installReason: "", requiresReboot: false, installed: [], instances: [] } as unknown as HostRecord;
    const report = {
      packages: [],
      requiresReboot: false,
      state: "idle" as const,
      installReason: "",
      instances: [],
      health: { configured: true, healthy: false, detail: "x".repeat(2000) },
    };
    expect(book.record(h, report, false)).to.equal(true);
    expect(book.get("compute-0")!.detail.length).to.equal(512);
    expect(book.record(h, report, true)).to.equal(false);
    expect(book.record(h, { ...report, requiresReboot: true }, false)).to.equal(false);
    expect(book.record(h, { ...report, health: undefined }, false)).to.equal(false);
    expect(book.record(h, { ...report, health: { configured: false, healthy: true, detail: "" } }, false)).to.equal(false);
  });
});
