import { expect } from "chai";
import { Metadata, Status } from "nice-grpc";
import { ActiveRouter, notExecuted } from "../../../clients/sdk/src/follow.js";
import { SwPatchError, UnavailableError } from "../../../clients/sdk/src/errors.js";

/** The SDK's router over fake per-endpoint clients: what it re-sends, where it goes. */
describe("SDK: following the active controller of a pair", () => {
  const standby = (active?: string) => ({ error: new UnavailableError("standby: ...", { code: Status.UNAVAILABLE, reason: "STANDBY" }), active });
  const refused = () => ({ error: new UnavailableError("No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1", { code: Status.UNAVAILABLE }) });

  /** Endpoints whose calls answer from a script: an error (+ the swpatch-active trailer) or a value. */
  function setup(script: Record<string, Array<{ error: SwPatchError; active?: string } | string>>) {
    const calls: string[] = [];
    const target = (endpoint: string) => ({
      endpoint,
      clients: {
        call: async (o: { onTrailer?: (t: Metadata) => void }) => {
          calls.push(endpoint);
          const next = script[endpoint]!.shift() ?? "ok";
          if (typeof next === "string") return `${endpoint}:${next}`;
          if (next.active) o.onTrailer?.(Metadata({ "swpatch-active": next.active }));
          throw next.error;
        },
      },
    });
    const added: string[] = [];
    const router = new ActiveRouter(["a:1", "b:1"].map(target), (e) => (added.push(e), target(e)));
    return { router, calls, added };
  }

  it("re-sends a call the standby refused to the controller it names, and stays there", async () => {
    const { router, calls } = setup({ "a:1": [standby("controller-1@b:1")], "b:1": [] });
    expect(await router.unary((c, o) => c.call(o), {}, true)).to.equal("b:1:ok");
    expect(await router.unary((c, o) => c.call(o), {}, true)).to.equal("b:1:ok");
    expect(calls).to.deep.equal(["a:1", "b:1", "b:1"]);
    expect(router.endpoint).to.equal("b:1");
  });

  it("tries the next endpoint when one refuses the connection; follows an address not in the list", async () => {
    const { router, calls, added } = setup({ "a:1": [refused()], "b:1": [standby("controller-0@c:1")], "c:1": [] });
    expect(await router.unary((c, o) => c.call(o), {}, true)).to.equal("c:1:ok");
    expect(calls).to.deep.equal(["a:1", "b:1", "c:1"]);
    expect(added).to.deep.equal(["c:1"]);
  });

  it("never re-sends a call that may have run, nor a client-streaming one", async () => {
    const midCall = new UnavailableError("Connection dropped", { code: Status.UNAVAILABLE });
    const { router, calls } = setup({ "a:1": [{ error: midCall }, standby("controller-1@b:1")], "b:1": [] });
    expect(await router.unary((c, o) => c.call(o), {}, true).catch((e: unknown) => e)).to.equal(midCall);
    expect(await router.unary((c, o) => c.call(o), {}, false).catch((e: unknown) => e)).to.have.property("reason", "STANDBY");
    expect(calls).to.deep.equal(["a:1", "a:1"]);
    expect(router.endpoint, "the next call goes to the named active one").to.equal("b:1");
  });

  it("a stream is re-sent only before its first message", async () => {
    const { router } = setup({ "a:1": [], "b:1": [] });
    let opened = 0;
    const stream = (fail: boolean) =>
      async function* () {
        opened++;
        yield 1;
        if (fail) throw standby("controller-1@b:1").error;
      };
    const got: number[] = [];
    const err = await (async () => {
      for await (const m of router.stream(() => stream(true)(), {})) got.push(m);
    })().catch((e: unknown) => e);
    expect(err).to.have.property("reason", "STANDBY");
    expect([opened, got]).to.deep.equal([1, [1]]);
    // Refused before any message: opened again on the named controller.
    let n = 0;
    const out: number[] = [];
    const refusedFirst = async function* () {
      if (n++ === 0) throw standby("controller-0@a:1").error;
      yield 7;
    };
    for await (const m of router.stream(() => refusedFirst(), {})) out.push(m);
    expect([n, out, router.endpoint]).to.deep.equal([2, [7], "a:1"]);
  });

  it("an upload refused by the standby is sent again with a fresh request stream, to the active one", async () => {
    const { router, calls } = setup({ "a:1": [standby("controller-1@b:1")], "b:1": [] });
    let streams = 0;
    const upload = () => router.unary((c, o) => (streams++, c.call(o)), {}, false);
    expect(await router.resend(upload, undefined)).to.equal("b:1:ok");
    expect([streams, calls]).to.deep.equal([2, ["a:1", "b:1"]]);
  });

  it("tells which errors prove the call did not run", () => {
    expect(notExecuted(standby().error)).to.equal(true);
    expect(notExecuted(refused().error)).to.equal(true);
    expect(notExecuted(new UnavailableError("controller is shutting down", { code: Status.UNAVAILABLE, reason: "SHUTTING_DOWN" }))).to.equal(false);
    expect(notExecuted(new SwPatchError("nope", { code: Status.NOT_FOUND }))).to.equal(false);
  });
});
