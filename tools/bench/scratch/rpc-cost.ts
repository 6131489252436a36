// Scratch: controller CPU per RPC kind (not part of the bench suites).
import { spawn } from "node:child_process";
import { promises as fsp, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Metadata, createChannel, createClient } from "nice-grpc";
import { buildDemoBaseFeed } from "../../demo/rpm.js";
import { HostServiceDefinition } from "../../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { PatchServiceDefinition } from "../../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { startBenchController } from "../controller-proc.js";

const ROOT = path.resolve(__dirname, "../../../..");
async function main() {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), "rpc-cost-"));
  const feed = path.join(work, "feed");
  await buildDemoBaseFeed(feed, path.join(work, "scratch"));
  const dataDir = path.join(work, "data");
  const ctl = await startBenchController(dataDir, ["--base-feed", feed]);
  const token = readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
  const ch = createChannel(ctl.endpoint);
  const opts = { "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } };
  const hosts = createClient(HostServiceDefinition, ch, opts);
  const patches = createClient(PatchServiceDefinition, ch, opts);
  const n = 20;
  const agent = spawn(process.execPath, [path.join(ROOT, "bin/sw-patch-agent"), "--controller", ctl.endpoint, "--hostname", "h", "--personality", "worker", "--root", path.join(work, "roots"), "--simulate", String(n), "--base-feed", feed, "--token", token, "--log-level", "error"], { stdio: "ignore" });
  for (;;) {
    const hs = (await hosts.listHosts({})).hosts;
    if (hs.length === n && hs.every((h) => h.connected && h.patchCurrent === 1)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const names = (await hosts.listHosts({})).hosts.map((h) => h.hostname);
  const ops: string[] = [];
  for (const h of names) {
    const { operationId } = await hosts.installHostAsync({ host: h, force: true });
    for await (const _ of hosts.watchOperation({ operationId })) void _;
    ops.push(operationId);
  }
  const measure = async (label: string, k: number, fn: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < 200; i++) await fn(i); // warm
    const c0 = ctl.cpuSplit();
    await Promise.all(Array.from({ length: 10 }, async (_, w) => { for (let i = w; i < k; i += 10) await fn(i); }));
    const c1 = ctl.cpuSplit();
    console.log(`${label}: ${(((c1.user - c0.user + c1.sys - c0.sys) / k) * 1e6).toFixed(0)} us/call (user ${(((c1.user - c0.user) / k) * 1e6).toFixed(0)}, sys ${(((c1.sys - c0.sys) / k) * 1e6).toFixed(0)})`);
  };
  if (process.env.ONLY_GETHOST) {
    await measure("getHost (unary)", 20000, (i) => hosts.getHost({ host: names[i % n]! }));
    await measure("queryPatches (unary)", 20000, () => patches.queryPatches({ filter: 0, release: "" }));
    ch.close();
    agent.kill();
    await ctl.stop();
    return;
  }
  if (process.env.ONLY_INSTALL) {
    console.log(`controller pid ${ctl.proc.pid}`);
    await new Promise((r) => setTimeout(r, Number(process.env.PAUSE_MS ?? 0)));
    for (let round = 0; round < Number(process.env.ROUNDS ?? 1); round++)
      await measure(`installHostAsync+watch (no change) round ${round}`, 600, async (i) => {
        const { operationId } = await hosts.installHostAsync({ host: names[i % n]!, force: true });
        for await (const _ of hosts.watchOperation({ operationId })) void _;
      });
    ch.close();
    agent.kill();
    await ctl.stop();
    return;
  }
  await measure("getHost (unary)", 3000, (i) => hosts.getHost({ host: names[i % n]! }));
  await measure("queryPatches (unary)", 3000, () => patches.queryPatches({ filter: 0, release: "" }));
  await measure("watchOperation finished op (stream, ~7 msgs)", 2000, async (i) => { for await (const _ of hosts.watchOperation({ operationId: ops[i % n]! })) void _; });
  await measure("installHostAsync+watch (no change)", 600, async (i) => {
    const { operationId } = await hosts.installHostAsync({ host: names[i % n]!, force: true });
    for await (const _ of hosts.watchOperation({ operationId })) void _;
  });
  await measure("raiseAlarm+clearAlarm (2 audited tx calls)", 1000, async () => {
    const r = await hosts.raiseAlarm({ alarmId: "900.001", entityInstanceId: "host=x", severity: "minor", reasonText: "x", mgmtAffecting: false, proposedRepairAction: "" });
    await hosts.clearAlarm({ uuid: r.alarm!.uuid });
  });
  await measure("installHostAsync refused (already running)", 1000, async (i) => {
    await hosts.installHostAsync({ host: "nonexistent-host", force: true }).catch(() => undefined);
  });
  await measure("getOperation", 3000, (i) => hosts.getOperation({ operationId: ops[i % n]! }));
  ch.close();
  agent.kill();
  await ctl.stop();
  await fsp.rm(work, { recursive: true, force: true });
}
void main();
