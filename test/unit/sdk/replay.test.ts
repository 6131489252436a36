import { expect } from "chai";
import { Metadata, Status, type CallOptions } from "nice-grpc";
import { ActiveRouter, followingClient } from "../../../clients/sdk/src/follow.js";
import { UnavailableError } from "../../../clients/sdk/src/errors.js";
import { ReplayableStream } from "../../../clients/sdk/src/replay.js";

/** A source that counts how often it is pulled. */
function counted(items: string[]) {
  const c = { pulls: 0 };
  async function* gen() {
    for (const i of items) {
      c.pulls++;
      yield i;
    }
  }
  return { c, source: gen() };
}

async function take<T>(it: AsyncIterable<T>, n = Infinity): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
    if (out.length >= n) break;
  }
  return out;
}

describe("SDK: a client-streaming call's request stream, replayable for a re-send", () => {
  it("a second iteration gives the messages already pulled again, then the rest; the source is read once", async () => {
    const { c, source } = counted(["h", "c1", "c2", "c3"]);
    const r = new ReplayableStream(source);
    expect(await take(r.iterate(), 2)).to.deep.equal(["h", "c1"]);
    expect(await take(r.iterate())).to.deep.equal(["h", "c1", "c2", "c3"]);
    expect(c.pulls).to.equal(4);
    expect(r.replayable).to.equal(true);
  });

  it("past the bound nothing is kept: the running iteration goes on, a new one is refused", async () => {
    const chunk = (n: number) => new Uint8Array(n);
    const r = new ReplayableStream([chunk(10), chunk(10), chunk(10)], 15);
    const it = r.iterate();
    const got: number[] = [];
    for await (const m of it) got.push(m.byteLength);
    expect(got).to.deep.equal([10, 10, 10]);
    expect(r.replayable).to.equal(false);
    const again = await take(r.iterate()).catch((e: unknown) => e);
    expect(String(again)).to.include("cannot send it again");
  });

  it("followingClient re-sends an upload the standby refused after reading part of its stream: the active gets every message once, in order", async () => {
    const received: Record<string, string[]> = { "a:1": [], "b:1": [] };
    const target = (endpoint: string) => ({
      endpoint,
      clients: {
        svc: {
          upload: async (req: AsyncIterable<string>, o: CallOptions) => {
            for await (const m of req) {
              received[endpoint]!.push(m);
              if (endpoint === "a:1" && received[endpoint]!.length === 2) {
                o.onTrailer?.(Metadata({ "swpatch-active": "controller-1@b:1" }));
                throw new UnavailableError("standby: the active controller is controller-1 at b:1", { code: Status.UNAVAILABLE, reason: "STANDBY" });
              }
            }
            return `${endpoint}:${received[endpoint]!.length}`;
          },
        },
      },
    });
    const router = new ActiveRouter(["a:1", "b:1"].map(target), () => undefined);
    const client = followingClient({ methods: { upload: { requestStream: true, responseStream: false } } }, router, (c) => c.svc) as unknown as {
      upload(req: AsyncIterable<string>): Promise<string>;
    };
    const { c, source } = counted(["header", "c1", "c2", "c3"]);
    expect(await client.upload(source)).to.equal("b:1:4");
    expect(received["b:1"]).to.deep.equal(["header", "c1", "c2", "c3"]);
    expect(c.pulls).to.equal(4);
  });
});
