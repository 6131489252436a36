import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { ServerError, Status, createChannel, createClient, createServer, type CallContext, type Channel, type Server } from "nice-grpc";
import {
  AgentServiceDefinition,
  type AgentServiceImplementation,
  type ConnectRequest,
  type ConnectResponse,
} from "../../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { AgentState, InstallPhase } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";
import { buildBaseFeed, buildPayloadRpm, makeTempRoot, toDesired, type FeedPackage } from "../../lib/base-feed.js";
import { backoffDelayMs, runConnection, type ConnectionEvent } from "../../../server/agent/connection.js";
import { HostAgent, NODE_MUST_BE_LOCKED } from "../../../server/agent/host-agent.js";
import { createLogger } from "../../../server/lib/log.js";
import { hostPaths } from "../../../server/agent/host-paths.js";
import { rpmQ } from "../../lib/rpm-query.js";

class Queue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  push(x: T) {
    this.items.push(x);
    this.wake?.();
  }
  end() {
    this.ended = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      while (this.items.length) yield this.items.shift()!;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

type ReqOf<K> = Extract<NonNullable<ConnectRequest["message"]>, { $case: K }>["value"];

/** One Connect call as the fake controller sees it. */
interface FakeCall {
  received: ConnectRequest[];
  out: Queue<ConnectResponse>;
  ended: boolean;
  authorization: string | undefined;
}

/** A fake AgentService: records calls; the test drives what it sends; serves packages by sha256. */
class FakeController {
  calls: FakeCall[] = [];
  packages = new Map<string, string>();
  /** When set, a Connect call ends with it (once its queue ends) and new ones start with it. */
  refuse: Error | undefined;
  refused = 0;
  private waiters: (() => void)[] = [];
  server!: Server;
  port = 0;

  private changed() {
    for (const w of this.waiters.splice(0)) w();
  }

  async start(port = 0) {
    const self = this;
    const impl: AgentServiceImplementation = {
      async installReceiptSubmit() {
        return { counter: 0 };
      },
      async *connect(requests: AsyncIterable<ConnectRequest>, ctx: CallContext) {
        if (self.refuse) {
          self.refused++;
          self.changed();
          throw self.refuse;
        }
        const call: FakeCall = { received: [], out: new Queue(), ended: false, authorization: ctx.metadata.get("authorization") as string | undefined };
        self.calls.push(call);
        self.changed();
        ctx.signal.addEventListener("abort", () => call.out.end());
        void (async () => {
          try {
            for await (const r of requests) {
              call.received.push(r);
              self.changed();
            }
          } catch {
            /* cancelled */
          }
          call.ended = true;
          call.out.end();
          self.changed();
        })();
        yield* call.out;
        if (self.refuse) throw self.refuse;
      },
      async *fetchPackage(req) {
        const file = self.packages.get(req.sha256);
        if (!file) throw new Error("no such package");
        const data = readFileSync(file);
        for (let i = 0; i < data.length; i += 65536) yield { chunk: data.subarray(i, i + 65536) };
      },
      async enroll() {
        throw new ServerError(Status.UNIMPLEMENTED, "not in this fake");
      },
    };
    this.server = createServer();
    this.server.add(AgentServiceDefinition, impl);
    this.port = await this.server.listen(`127.0.0.1:${port}`);
  }

  async stop() {
    await this.server.forceShutdown();
  }

  serve(p: FeedPackage) {
    this.packages.set(p.sha256, p.file);
  }

  /** Resolve once `pred` holds (re-checked on every recorded change). */
  async until<T>(pred: () => T | undefined | false): Promise<T> {
    for (;;) {
      const v = pred();
      if (v) return v;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** The n-th message of call `c` matching `$case` (waits for it). */
  async msg<K extends NonNullable<ConnectRequest["message"]>["$case"]>(c: number, kind: K, nth = 0): Promise<ReqOf<K>> {
    const m = await this.until(() => {
      const ms = this.calls[c]?.received.filter((r) => r.message?.$case === kind) ?? [];
      return ms[nth]?.message;
    });
    return m.value as unknown as ReqOf<K>;
  }
}

describe("agent connection", function () {
  this.timeout(60000);
  const logger = createLogger({ level: process.env.AGENT_TEST_LOG ? "debug" : "silent" });
  let fake: FakeController;
  let channel: Channel;
  let ac: AbortController;
  let running: Promise<unknown>;
  let host: HostAgent;
  let root: string;
  let events: ConnectionEvent[];
  let feed: FeedPackage[];

  beforeEach(async () => {
    feed = (await buildBaseFeed()).packages;
    fake = new FakeController();
    await fake.start();
    channel = createChannel(`127.0.0.1:${fake.port}`);
    root = makeTempRoot();
    host = new HostAgent({ root, hostname: "compute-0", personality: "worker", logger, rebootDelayMs: 10, rejectRevertMs: 60000 });
    await host.start();
    await host.provisionFromDir((await buildBaseFeed()).dir);
    ac = new AbortController();
    events = [];
    running = runConnection({
      client: createClient(AgentServiceDefinition, channel),
      host,
      logger,
      signal: ac.signal,
      token: "tok",
      backoff: { initialMs: 20, maxMs: 100 },
      onEvent: (e) => events.push(e),
    });
  });

  afterEach(async () => {
    ac.abort();
    await running;
    await host.close();
    channel.close();
    await fake.stop();
  });

  it("says hello with identity, packages and state, authenticated by bearer token", async () => {
    const hello = await fake.msg(0, "hello");
    expect(hello).to.deep.include({
      hostname: "compute-0",
      personality: "worker",
      subfunctions: ["worker"],
      release: "19.09",
      requiresReboot: false,
      provision: false,
      state: AgentState.AGENT_STATE_IDLE,
      installReason: "",
      interruptedOperationId: "",
    });
    expect(hello.packages.map((p) => `${p.name}-${p.version}-${p.release}.${p.arch}`)).to.deep.equal([
      "busybox-base-1.0-1.x86_64",
      "pkg-a-1.0-1.noarch",
      "pkg-b-1.0-1.noarch",
      "sysinv-1.0-1.noarch",
    ]);
    expect(fake.calls[0]!.authorization).to.equal("Bearer tok");
  });

  it("rejects an install on an unlocked host, then returns to idle when locked", async () => {
    await fake.msg(0, "hello");
    fake.calls[0]!.out.push({ message: { $case: "helloAck", value: { controllerRelease: "19.09", locked: false } } });
    fake.calls[0]!.out.push({
      message: {
        $case: "install",
        value: { operationId: "op-1", force: false, desired: [], erase: [], rebootRequired: false, locked: false, securityCounter: 0, patchIds: [] },
      },
    });
    const result = await fake.msg(0, "installResult");
    expect(result).to.deep.equal({ operationId: "op-1", success: false, rejected: true, reason: NODE_MUST_BE_LOCKED });
    const rejected = await fake.msg(0, "progress");
    expect(rejected).to.include({ operationId: "op-1", phase: InstallPhase.INSTALL_PHASE_REJECTED, terminal: true, message: NODE_MUST_BE_LOCKED });
    expect(await fake.msg(0, "report")).to.include({ state: AgentState.AGENT_STATE_INSTALL_REJECTED, installReason: NODE_MUST_BE_LOCKED });
    fake.calls[0]!.out.push({ message: { $case: "lockState", value: { locked: true } } });
    expect(await fake.msg(0, "report", 1)).to.include({ state: AgentState.AGENT_STATE_IDLE, installReason: "" });
    expect(existsSync(hostPaths(root).nodeLocked)).to.equal(true);
    // Unlock, then a second unforced install is rejected again (commands are handled in order).
    fake.calls[0]!.out.push({ message: { $case: "lockState", value: { locked: false } } });
    fake.calls[0]!.out.push({
      message: {
        $case: "install",
        value: { operationId: "op-1b", force: false, desired: [], erase: [], rebootRequired: false, locked: false, securityCounter: 0, patchIds: [] },
      },
    });
    expect(await fake.msg(0, "installResult", 1)).to.include({ operationId: "op-1b", rejected: true });
    expect(existsSync(hostPaths(root).nodeLocked)).to.equal(false);
  });

  it("installs a locked host with packages fetched over FetchPackage, streaming progress then the result and a report", async () => {
    const a2 = await buildPayloadRpm({ name: "pkg-a", version: "2.0" });
    fake.serve(a2);
    await fake.msg(0, "hello");
    fake.calls[0]!.out.push({ message: { $case: "helloAck", value: { controllerRelease: "19.09", locked: true } } });
    const desired = [...feed.filter((p) => p.name !== "pkg-a"), a2].map(toDesired);
    fake.calls[0]!.out.push({
      message: {
        $case: "install",
        value: { operationId: "op-2", force: false, desired, erase: ["pkg-b"], rebootRequired: false, locked: true, securityCounter: 0, patchIds: [] },
      },
    });
    const result = await fake.msg(0, "installResult");
    expect(result).to.deep.equal({ operationId: "op-2", success: true, rejected: false, reason: "" });
    const progress = fake.calls[0]!.received.filter((m) => m.message?.$case === "progress").map(
      (m) => (m.message as { value: { phase: InstallPhase; terminal: boolean } }).value,
    );
    const phases = [...new Set(progress.map((p) => p.phase))];
    expect(phases).to.deep.equal([
      InstallPhase.INSTALL_PHASE_QUEUED,
      InstallPhase.INSTALL_PHASE_DOWNLOADING,
      InstallPhase.INSTALL_PHASE_INSTALLING,
      InstallPhase.INSTALL_PHASE_DONE,
    ]);
    expect(progress[progress.length - 1]!.terminal).to.equal(true);
    // installing, then idle with the new package set
    expect(await fake.msg(0, "report", 0)).to.include({ state: AgentState.AGENT_STATE_INSTALLING });
    const after = await fake.msg(0, "report", 1);
    expect(after.state).to.equal(AgentState.AGENT_STATE_IDLE);
    expect(after.packages.find((p) => p.name === "pkg-a")!.version).to.equal("2.0");
    expect(rpmQ(root, "pkg-a")).to.equal("pkg-a-2.0-1.noarch");
  });

  it("reboots: closes the stream, clears the reboot flags, reconnects with a fresh hello and reports the result", async () => {
    const s2 = await buildPayloadRpm({ name: "sysinv", version: "2.0" });
    fake.serve(s2);
    await fake.msg(0, "hello");
    fake.calls[0]!.out.push({ message: { $case: "helloAck", value: { controllerRelease: "19.09", locked: true } } });
    fake.calls[0]!.out.push({
      message: {
        $case: "install",
        value: { operationId: "op-3", force: false, desired: [toDesired(s2)], erase: [], rebootRequired: true, locked: true, securityCounter: 0, patchIds: [] },
      },
    });
    expect(await fake.msg(0, "installResult")).to.include({ success: true });
    expect(await fake.msg(0, "report", 1)).to.include({ requiresReboot: true, state: AgentState.AGENT_STATE_IDLE });
    fake.calls[0]!.out.push({ message: { $case: "reboot", value: { requestId: "rb-1" } } });
    await fake.until(() => fake.calls[0]!.ended);
    const hello = await fake.msg(1, "hello");
    expect(hello).to.include({ hostname: "compute-0", requiresReboot: false });
    expect(existsSync(hostPaths(root).nodeIsPatchedRr)).to.equal(false);
    fake.calls[1]!.out.push({ message: { $case: "helloAck", value: { controllerRelease: "19.09", locked: true } } });
    expect(await fake.msg(1, "rebootResult")).to.deep.equal({ requestId: "rb-1", success: true, reason: "" });
    expect(events.map((e) => e.type)).to.include.members(["rebooting"]);
  });

  it("reconnects with a fresh hello after the controller restarts", async () => {
    await fake.msg(0, "hello");
    const port = fake.port;
    await fake.stop();
    const calls = fake.calls;
    fake = new FakeController();
    fake.calls = [];
    await fake.start(port);
    const hello = await fake.msg(0, "hello");
    expect(hello.hostname).to.equal("compute-0");
    expect(calls).to.have.length(1);
    expect(events.some((e) => e.type === "backoff")).to.equal(true);
  });

  it("stops reconnecting when the controller says the credential is revoked (the stream ends with it)", async () => {
    await fake.msg(0, "hello");
    fake.refuse = new ServerError(Status.UNAUTHENTICATED, "token revoked");
    fake.calls[0]!.out.end();
    expect(await running).to.deep.equal({ revoked: true });
    expect(fake.calls.length).to.equal(1);
    expect(events.some((e) => e.type === "backoff")).to.equal(false);
  });

  it("keeps reconnecting after other refusals (an invalid token may be fixed on the controller)", async () => {
    await fake.msg(0, "hello");
    fake.refuse = new ServerError(Status.UNAUTHENTICATED, "invalid token");
    fake.calls[0]!.out.end();
    await fake.until(() => fake.refused >= 2);
    fake.refuse = undefined;
    await fake.msg(1, "hello");
  });

  it("computes backoff from 100 ms doubling to a 5 s cap with jitter", () => {
    expect([0, 1, 2, 5, 6, 20].map((n) => backoffDelayMs(n, {}, () => 1))).to.deep.equal([100, 200, 400, 3200, 5000, 5000]);
    expect(backoffDelayMs(0, {}, () => 0)).to.equal(50);
  });
});
