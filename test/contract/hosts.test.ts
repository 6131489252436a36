/** Store contract: hosts, install operations (with their progress) and alarms. */
import { expect } from "chai";
import { factories, storePerTest } from "./store-factory.js";
import { alarmRecord, event, hostRecord, operationRecord, progress } from "./fixtures.js";

for (const f of factories) {
  describe(`store contract (${f.name}): hosts, operations, alarms`, () => {
    const { s, reopen } = storePerTest(f);

    it("upsertHost/loadHosts round trip every field (installed packages, instances, dates); a loaded host is offline", async () => {
      const h1 = hostRecord("controller-0");
      const h2 = hostRecord("worker-1", {
        personality: "worker",
        subfunctions: [],
        adminState: "unlocked",
        agentState: "idle",
        installReason: "",
        requiresReboot: false,
        patchFailed: false,
        installed: [],
        instances: [],
        ip: "",
        availability: "available",
      });
      await s().store.transact(async (tx) => {
        await tx.hosts.upsertHost(h2);
        await tx.hosts.upsertHost(h1);
      });
      const sorted = async (r = s().store.read) => (await r.loadHosts()).sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
      const expected = [h1, { ...h2, availability: "offline" }];
      const got = await sorted();
      expect(got).to.deep.equal(expected);
      expect(got[0]!.lastSeen).to.be.instanceOf(Date);
      const again = await reopen();
      expect(await sorted(again.store.read)).to.deep.equal(expected);
    });

    it("upsertHost of a known host replaces its fields; deleteHost removes it", async () => {
      const h = hostRecord("h1");
      await s().store.transact((tx) => tx.hosts.upsertHost(h));
      const changed = hostRecord("h1", {
        ip: "10.0.0.9",
        subfunctions: ["worker"],
        agentState: "idle",
        patchFailed: false,
        installed: [{ name: "bash", epoch: "", version: "5.0", release: "1", arch: "x86_64" }],
        instances: [],
        lastSeen: new Date("2026-12-03T00:00:00.000Z"),
      });
      await s().store.transact((tx) => tx.hosts.upsertHost(changed));
      expect(await s().store.read.loadHosts()).to.deep.equal([changed]);
      await s().store.transact(async (tx) => {
        await tx.hosts.upsertHost(hostRecord("h2"));
        await tx.hosts.deleteHost("h1");
        await tx.hosts.deleteHost("never-there");
      });
      expect((await s().store.read.loadHosts()).map((x) => x.hostname)).to.deep.equal(["h2"]);
    });

    it("operations: insert, get (progress time as a Date), update, running ones only", async () => {
      const o1 = operationRecord("op1", "h1");
      const o2 = operationRecord("op2", "h2", { force: false, startSeq: 0 });
      await s().store.transact(async (tx) => {
        await tx.hosts.insertOperation(o1);
        await tx.hosts.insertOperation(o2);
      });
      expect(await s().store.read.getOperation("op1")).to.deep.equal(o1);
      expect((await s().store.read.getOperation("op1"))!.last!.time).to.be.instanceOf(Date);
      expect(await s().store.read.getOperation("nope")).to.equal(undefined);
      expect((await s().store.read.runningOperations()).map((o) => o.id).sort()).to.deep.equal(["op1", "op2"]);
      const end = progress("op1", "h1", { phase: "failed", terminal: true, message: "rpm failed", time: new Date("2026-12-02T08:01:00.999Z") });
      await s().store.transact((tx) => tx.hosts.updateOperation("op1", "failed", end));
      expect(await s().store.read.getOperation("op1")).to.deep.equal({ ...o1, state: "failed", last: end });
      expect((await s().store.read.runningOperations()).map((o) => o.id)).to.deep.equal(["op2"]);
      const again = await reopen();
      expect(await again.store.read.getOperation("op1")).to.deep.equal({ ...o1, state: "failed", last: end });
      expect(await again.store.read.runningOperations()).to.deep.equal([o2]);
    });

    it("latestProgress is the newest install.progress event of the operation (other kinds and operations ignored)", async () => {
      const p = (n: number, op = "op1") => progress(op, "h1", { current: n, time: new Date(Date.UTC(2026, 11, 3, 0, 0, n)) });
      expect(await s().store.read.latestProgress("op1")).to.equal(undefined);
      await s().store.transact(async (tx) => {
        await tx.hosts.insertOperation(operationRecord("op1", "h1"));
        tx.appendEvent(event(1, { kind: "install.progress", operationId: "op1", progress: p(1) }));
        tx.appendEvent(event(2, { kind: "install.progress", operationId: "op1", progress: p(2) }));
        tx.appendEvent(event(3, { kind: "install.progress", operationId: "op2", progress: p(3, "op2") }));
        tx.appendEvent(event(4, { kind: "host.state", operationId: "op1", hostname: "h1" }));
      });
      const latest = await s().store.read.latestProgress("op1");
      expect(latest).to.deep.equal(p(2));
      expect(latest!.time).to.be.instanceOf(Date);
      expect(await s().store.read.latestProgress("op2")).to.deep.equal(p(3, "op2"));
    });

    it("alarms: insert, load (every field, time as a Date), delete returns how many went", async () => {
      const a1 = alarmRecord("u1");
      const a2 = alarmRecord("u2", { mgmtAffecting: false, proposedRepairAction: "", severity: "minor", time: new Date("2026-12-02T09:31:00.000Z") });
      await s().store.transact(async (tx) => {
        await tx.hosts.insertAlarm(a2);
        await tx.hosts.insertAlarm(a1);
      });
      const sorted = async (r = s().store.read) => (await r.loadAlarms()).sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
      expect(await sorted()).to.deep.equal([a1, a2]);
      expect((await sorted())[0]!.time).to.be.instanceOf(Date);
      const counts = await s().store.transact(async (tx) => [await tx.hosts.deleteAlarm("u1"), await tx.hosts.deleteAlarm("u1"), await tx.hosts.deleteAlarm("zz")]);
      expect(counts).to.deep.equal([1, 0, 0]);
      const again = await reopen();
      expect(await again.store.read.loadAlarms()).to.deep.equal([a2]);
    });
  });
}
