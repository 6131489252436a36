import { expect } from "chai";
import { ClientError, Metadata, Status, createChannel, createClient, createServer, type Channel, type Server } from "nice-grpc";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { errorMiddleware } from "../../../server/transport/errors.js";
import { StreamTracker } from "../../../server/transport/stream-tracker.js";
import { createLogger } from "../../../server/lib/log.js";

/** Ends of a stream: its status (or "OK") and the reason trailer. */
async function ending(
  stream: (onTrailer: (t: Metadata) => void) => AsyncIterable<unknown>,
  onFirst: () => void,
): Promise<{ code: Status | "OK"; details: string; reason: string | undefined }> {
  let reason: string | undefined;
  let seen = false;
  try {
    for await (const _ of stream((t) => (reason = t.get("swpatch-error-reason") as string | undefined))) {
      if (!seen) {
        seen = true;
        onFirst();
      }
    }
    return { code: "OK", details: "", reason };
  } catch (e) {
    if (!seen) onFirst();
    if (e instanceof ClientError) return { code: e.code, details: e.details, reason };
    throw e;
  }
}

describe("StreamTracker (shutdown of open streams)", () => {
  let server: Server;
  let channel: Channel;
  let tracker: StreamTracker;
  let client: ReturnType<typeof createClient<typeof HealthDefinition>>;

  beforeEach(async () => {
    tracker = new StreamTracker();
    server = createServer()
      .use(errorMiddleware(createLogger({ level: "silent" })))
      .use(tracker.middleware());
    server.add(HealthDefinition, HealthServiceImpl(HealthState()));
    const port = await server.listen("127.0.0.1:0");
    channel = createChannel(`127.0.0.1:${port}`);
    client = createClient(HealthDefinition, channel);
  });

  afterEach(async () => {
    channel.close();
    server.forceShutdown();
  });

  it("abortAll ends every open stream with UNAVAILABLE 'controller is shutting down', reason SHUTTING_DOWN", async () => {
    const opened: Promise<void>[] = [];
    const ends = [0, 1, 2].map(() => {
      let mark!: () => void;
      opened.push(new Promise<void>((r) => (mark = r)));
      return ending((onTrailer) => client.watch({ service: "" }, { onTrailer }), mark);
    });
    await Promise.all(opened);
    expect(tracker.size).to.equal(3);
    expect(tracker.abortAll()).to.equal(3);
    for (const e of await Promise.all(ends)) expect(e).to.deep.equal({ code: Status.UNAVAILABLE, details: "controller is shutting down", reason: "SHUTTING_DOWN" });
    expect(tracker.size).to.equal(0);
  });

  it("refuses streams that start after abortAll, and leaves unary calls alone", async () => {
    tracker.abortAll();
    const e = await ending(
      (onTrailer) => client.watch({ service: "" }, { onTrailer }),
      () => undefined,
    );
    expect(e).to.deep.equal({ code: Status.UNAVAILABLE, details: "controller is shutting down", reason: "SHUTTING_DOWN" });
    expect((await client.check({ service: "" })).status).to.be.a("number");
  });

  it("forgets a stream its client cancelled (no UNAVAILABLE, nothing left to abort)", async () => {
    const ac = new AbortController();
    let mark!: () => void;
    const opened = new Promise<void>((r) => (mark = r));
    const ended = ending(() => client.watch({ service: "" }, { signal: ac.signal }), mark).catch((e: unknown) => e);
    await opened;
    expect(tracker.size).to.equal(1);
    ac.abort();
    expect(((await ended) as Error).name).to.equal("AbortError");
    // The server side notices the cancellation asynchronously; wait for it on a fresh call's round trip.
    while (tracker.size > 0) await client.check({ service: "" });
    expect(tracker.abortAll()).to.equal(0);
  });
});
