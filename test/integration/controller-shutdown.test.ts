import { expect } from "chai";
import { ClientError, Metadata, Status, createChannel, createClient, type Channel } from "nice-grpc";
import { isAbortError } from "abort-controller-x";
import { AgentServiceDefinition, type ConnectRequest, type ConnectResponse } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { HostServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { OrchestrationServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { createSwPatchClient, UnavailableError, isTransientError, type SwPatchClient } from "../../clients/sdk/src/index.js";
import { AsyncQueue } from "../../server/lib/async-queue.js";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";

/** How a stream ended: its status, text and the reason trailer. */
interface Ending {
  kind: string;
  code: Status | "OK" | "other";
  details: string;
  reason: string | undefined;
}

/** Consumes a stream; resolves `opened` at its first message and returns how it ended. */
function consume<T>(kind: string, open: (onTrailer: (t: Metadata) => void) => AsyncIterable<T>): { opened: Promise<void>; ended: Promise<Ending> } {
  let reason: string | undefined;
  let markOpen!: () => void;
  const opened = new Promise<void>((r) => (markOpen = r));
  const ended = (async (): Promise<Ending> => {
    try {
      for await (const _ of open((t) => (reason = t.get("swpatch-error-reason") as string | undefined))) markOpen();
      return { kind, code: "OK", details: "", reason };
    } catch (e) {
      markOpen();
      if (e instanceof ClientError) return { kind, code: e.code, details: e.details, reason };
      return { kind, code: "other", details: String(e), reason };
    }
  })();
  return { opened, ended };
}

describe("controller shutdown with open streams (SIGTERM)", function () {
  this.timeout(120_000);
  let ctl: ControllerHandle | undefined;
  const channels: Channel[] = [];
  let sdk: SwPatchClient | undefined;
  const agentRequests = new AsyncQueue<ConnectRequest>();

  before(async () => {
    ctl = await startController();
  });

  after(async () => {
    agentRequests.end();
    sdk?.close();
    for (const c of channels) c.close();
    await ctl?.stop().catch(() => undefined);
  });

  it("ends 100 watch streams and an agent link with UNAVAILABLE 'controller is shutting down' and exits 0 by itself", async () => {
    const metadata = Metadata({ authorization: `Bearer ${ctl!.adminToken}` });
    const defaults = { "*": { metadata } };
    for (let i = 0; i < 4; i++) channels.push(createChannel(ctl!.endpoint));
    const on = (i: number) => channels[i % channels.length]!;

    // A fake agent (admin token may act as any host): it says hello and never answers an
    // install, so the operation below stays open and so do its watchers.
    const agent = createClient(AgentServiceDefinition, on(0), defaults);
    agentRequests.push({
      message: {
        $case: "hello",
        value: {
          hostname: "fake-0",
          personality: "worker",
          subfunctions: [],
          release: "19.09",
          mgmtIp: "",
          packages: [],
          requiresReboot: false,
          state: 0,
          installReason: "",
          instances: [],
          interruptedOperationId: "",
          agentVersion: "test",
          provision: false,
          installRequest: false,
        },
      },
    } as ConnectRequest);
    const gotInstall = new AsyncQueue<ConnectResponse>();
    const agentLink = consume("Connect", (onTrailer) =>
      (async function* () {
        for await (const m of agent.connect(agentRequests, { onTrailer })) {
          if (m.message?.$case === "install") gotInstall.push(m);
          yield m;
        }
      })(),
    );
    await agentLink.opened;
    const hosts = createClient(HostServiceDefinition, on(1), defaults);
    const { operationId } = await hosts.installHostAsync({ host: "fake-0", force: true });
    for await (const _ of gotInstall) break; // the agent holds the install: the operation stays open
    expect((await hosts.getOperation({ operationId })).progress?.terminal).to.equal(false);

    const streams: Array<ReturnType<typeof consume>> = [];
    for (let i = 0; i < 100; i++) {
      const ch = on(i);
      if (i % 3 === 0) {
        const c = createClient(PatchServiceDefinition, ch, defaults);
        streams.push(consume("WatchEvents", (onTrailer) => c.watchEvents({ afterSequence: 0, kinds: [], patchId: "", hostname: "", operationId: "" }, { onTrailer })));
      } else if (i % 3 === 1) {
        const c = createClient(HostServiceDefinition, ch, defaults);
        streams.push(consume("WatchOperation", (onTrailer) => c.watchOperation({ operationId }, { onTrailer })));
      } else {
        const c = createClient(OrchestrationServiceDefinition, ch, defaults);
        streams.push(consume("WatchStrategy", (onTrailer) => c.watchStrategy({}, { onTrailer })));
      }
    }
    await Promise.all(streams.map((s) => s.opened));

    // The SDK's resuming watcher sees the shutdown as transient and would reconnect.
    sdk = createSwPatchClient({ endpoint: ctl!.endpoint, token: ctl!.adminToken });
    const stopWatch = new AbortController();
    let reconnectError: unknown;
    let markSdkOpen!: () => void;
    const sdkOpened = new Promise<void>((r) => (markSdkOpen = r));
    const sdkWatch = (async () => {
      try {
        for await (const _ of sdk!.watchEvents({
          signal: stopWatch.signal,
          onReconnect: ({ error }) => {
            reconnectError = error;
            stopWatch.abort();
          },
        })) {
          markSdkOpen();
        }
      } catch (e) {
        if (!isAbortError(e)) throw e;
      }
    })();
    await sdkOpened;

    const started = Date.now();
    const code = await ctl!.stop(); // throws when the controller had to be killed
    const exitMs = Date.now() - started;
    expect(code).to.equal(0);
    // Graceful: no stream was left for the bounded forceShutdown fallback, and nothing failed.
    expect(ctl!.stderr()).to.not.include("graceful gRPC shutdown timed out");
    expect(ctl!.stderr()).to.not.include('"level":"error"');

    const endings = await Promise.all([agentLink.ended, ...streams.map((s) => s.ended)]);
    for (const e of endings) {
      expect(e, e.kind).to.deep.equal({ kind: e.kind, code: Status.UNAVAILABLE, details: "controller is shutting down", reason: "SHUTTING_DOWN" });
    }
    await sdkWatch;
    expect(reconnectError).to.be.instanceOf(UnavailableError);
    expect((reconnectError as UnavailableError).reason).to.equal("SHUTTING_DOWN");
    expect(isTransientError(reconnectError)).to.equal(true);
    // The figure (not asserted: no timing assertions): the issue asks for < 3 s.
    console.log(`      controller exited ${exitMs} ms after SIGTERM with ${streams.length + 2} open streams`);
  });
});
