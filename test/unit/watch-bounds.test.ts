/**
 * Watch streams bounded (issue 16 point 4), in-process: the event log's and the strategy
 * journal's per-watcher buffers, a cancelled watcher's store reads, the SDK's resume of all
 * three watch helpers, the typed errors and the `--event-retention` syntax.
 */
import { expect } from "chai";
import { ClientError, Status } from "nice-grpc";
import { EventLog, type DomainEvent } from "../../server/domain/events/event-log.js";
import type { StoreReader } from "../../server/domain/store.js";
import { StrategyJournal } from "../../server/domain/orchestration/strategy-journal.js";
import type { Strategy } from "../../server/domain/orchestration/model.js";
import { newStrategy } from "../../server/domain/orchestration/phases.js";
import { normalizeOptions } from "../../server/domain/orchestration/strategy-options.js";
import { parseEventRetention } from "../../server/config/controller-config.js";
import {
  EventsPrunedError,
  UnavailableError,
  WatchFellBehindError,
  WatchStreamLimitError,
  toSwPatchError,
  watchEvents,
  watchOperation,
  watchStrategy,
  type Event,
  type InstallProgress,
  type Strategy as ProtoStrategy,
} from "../../clients/sdk/src/index.js";

function ev(seq: number, kind = "k"): DomainEvent {
  return { seq, time: new Date(0), kind, patchId: "", hostname: "", oldState: "", newState: "", message: "", operationId: "" };
}

/** A reader over an in-memory list, counting eventsAfter calls. */
function memoryReader(events: DomainEvent[]): Pick<StoreReader, "lastEventSeq" | "eventsAfter"> & { reads: number } {
  const r = {
    reads: 0,
    lastEventSeq: async () => events.at(-1)?.seq ?? 0,
    eventsAfter: async (after: number, limit: number) => {
      r.reads++;
      return events.filter((e) => e.seq > after).slice(0, limit);
    },
  };
  return r;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("watch bounds: event log", () => {
  it("a watcher that does not take its events is ended WATCH_FELL_BEHIND past maxBuffered matching events, and stops listening at once", async () => {
    const log = new EventLog(memoryReader([]), { maxBuffered: 4 });
    await log.init();
    const ac = new AbortController();
    const it = log.watch(0, { kinds: ["match"] }, ac.signal);
    const first = it.next();
    log.publish([ev(1, "match")]);
    expect((await first).value.seq).to.equal(1);
    // Stalled: 4 matching events wait (the bound), non-matching ones cost nothing.
    log.publish([ev(2, "match"), ev(3, "other"), ev(4, "match"), ev(5, "match"), ev(6, "match"), ev(7, "other")]);
    expect((log as unknown as { listeners: Set<unknown> }).listeners.size).to.equal(1);
    log.publish([ev(8, "match")]);
    expect((log as unknown as { listeners: Set<unknown> }).listeners.size, "dropped on overflow").to.equal(0);
    const e = (await caught(it.next())) as Error & { kind: string; reason: string };
    expect([e.kind, e.reason]).to.deep.equal(["resource-exhausted", "WATCH_FELL_BEHIND"]);
    expect(e.message).to.equal("watch stream fell behind: more than 4 events were waiting to be sent (--watch-buffer); watch again from the last one received");
  });

  it("a watcher whose signal aborts while it reads history makes no further store read", async () => {
    const events = Array.from({ length: 5000 }, (_, i) => ev(i + 1));
    const reader = memoryReader(events);
    const log = new EventLog(reader);
    await log.init();
    const ac = new AbortController();
    let n = 0;
    for await (const _ of log.watch(0, {}, ac.signal)) {
      if (++n === 10) ac.abort();
    }
    expect(n).to.equal(10);
    expect(reader.reads).to.equal(1);
  });
});

describe("watch bounds: strategy journal", () => {
  const strategy = (n: number): Strategy => newStrategy(`u${n}`, normalizeOptions({}));
  const persistence = { load: async () => undefined, save: async () => undefined };

  it("every watcher gets the same frozen snapshot of a save (one copy per save, not per watcher)", async () => {
    const j = new StrategyJournal(persistence);
    const acs = [new AbortController(), new AbortController()];
    const its = acs.map((ac) => j.watch(() => undefined, ac.signal));
    for (const it of its) await it.next(); // current()
    const next = its.map((it) => it.next());
    await j.save(strategy(1), []);
    const [a, b] = await Promise.all(next);
    expect(a!.value).to.equal(b!.value);
    expect(Object.isFrozen(a!.value)).to.equal(true);
    expect((a!.value as Strategy).uuid).to.equal("u1");
    for (const ac of acs) ac.abort();
  });

  it("a stalled watcher is ended WATCH_FELL_BEHIND past maxBuffered snapshots", async () => {
    const j = new StrategyJournal(persistence, undefined, 3);
    const ac = new AbortController();
    const it = j.watch(() => undefined, ac.signal);
    await it.next();
    for (let i = 0; i < 4; i++) await j.save(strategy(i), []);
    const e = (await caught(it.next())) as Error & { reason: string };
    expect(e.reason).to.equal("WATCH_FELL_BEHIND");
    expect(e.message).to.contain("more than 3 strategy snapshots");
  });
});

const fellBehind = () => new WatchFellBehindError("watch stream fell behind: ...", { code: Status.RESOURCE_EXHAUSTED, reason: "WATCH_FELL_BEHIND" });
const unavailable = () => new UnavailableError("controller is shutting down", { code: Status.UNAVAILABLE, reason: "SHUTTING_DOWN" });

/** A fake streaming method: call i yields `script[i].items` then throws `script[i].error` (if any); records the requests. */
function fakeStream<Req, Res>(script: { items: Res[]; error?: () => Error }[]): { fn: (req: Req) => AsyncIterable<Res>; requests: Req[] } {
  const requests: Req[] = [];
  return {
    requests,
    fn: (req: Req) => {
      const step = script[requests.length];
      requests.push(req);
      return (async function* () {
        if (!step) throw new Error("no more calls expected");
        yield* step.items;
        if (step.error) throw step.error();
      })();
    },
  };
}

describe("watch bounds: the SDK resumes", () => {
  it("watchEvents after WATCH_FELL_BEHIND: from its last sequence, nothing lost or repeated", async () => {
    const e = (sequence: number) => ({ event: { sequence } as Event });
    const f = fakeStream<{ afterSequence: number }, { event?: Event }>([{ items: [e(1), e(2)], error: fellBehind }, { items: [e(3)] }]);
    const reconnects: unknown[] = [];
    const got: number[] = [];
    const ac = new AbortController();
    for await (const x of watchEvents({ watchEvents: f.fn } as never, { signal: ac.signal, initialBackoffMs: 1, onReconnect: (r) => reconnects.push(r.error) })) {
      got.push(x.sequence);
      if (got.length === 3) break;
    }
    expect(got).to.deep.equal([1, 2, 3]);
    expect(f.requests.map((r) => r.afterSequence)).to.deep.equal([0, 2]);
    expect(reconnects[0]).to.be.instanceOf(WatchFellBehindError);
  });

  it("watchOperation after UNAVAILABLE or WATCH_FELL_BEHIND: the replay's delivered messages are skipped, to the terminal one", async () => {
    const p = (message: string, terminal = false) => ({ progress: { message, terminal } as InstallProgress });
    const f = fakeStream<unknown, { progress?: InstallProgress }>([
      { items: [p("a"), p("b")], error: unavailable },
      { items: [p("a"), p("b"), p("c")], error: fellBehind },
      { items: [p("a"), p("b"), p("c"), p("d", true)] },
    ]);
    const got: string[] = [];
    for await (const x of watchOperation({ watchOperation: f.fn } as never, "op", { initialBackoffMs: 1 })) got.push(x.message);
    expect(got).to.deep.equal(["a", "b", "c", "d"]);
    expect(f.requests).to.have.length(3);
  });

  it("watchOperation with resume: false throws the UnavailableError to its caller (the CLI retries itself)", async () => {
    const f = fakeStream<unknown, { progress?: InstallProgress }>([{ items: [{ progress: { message: "a", terminal: false } as InstallProgress }], error: unavailable }]);
    const got: string[] = [];
    const e = await caught(
      (async () => {
        for await (const x of watchOperation({ watchOperation: f.fn } as never, "op", { resume: false })) got.push(x.message);
      })(),
    );
    expect(e).to.be.instanceOf(UnavailableError);
    expect(got).to.deep.equal(["a"]);
    expect(f.requests).to.have.length(1);
  });

  it("watchStrategy after WATCH_FELL_BEHIND or UNAVAILABLE: starts again from the current strategy, not repeating an equal one", async () => {
    const s = (uuid: string, state = "ready") => ({ strategy: { uuid, state } as ProtoStrategy });
    const f = fakeStream<unknown, { strategy?: ProtoStrategy }>([
      { items: [s("1")], error: fellBehind },
      { items: [s("1"), s("1", "applying")], error: unavailable },
      { items: [s("2")] },
    ]);
    const got: string[] = [];
    for await (const x of watchStrategy({ watchStrategy: f.fn } as never, { initialBackoffMs: 1 })) got.push(`${x.uuid}:${x.state}`);
    expect(got).to.deep.equal(["1:ready", "1:applying", "2:ready"]);
  });

  it("a watch refused by a cap is not retried: WatchStreamLimitError reaches the caller", async () => {
    const limit = () => new WatchStreamLimitError("too many watch streams", { code: Status.RESOURCE_EXHAUSTED, reason: "WATCH_STREAM_LIMIT" });
    const f = fakeStream<unknown, { strategy?: ProtoStrategy }>([{ items: [], error: limit }]);
    const e = await caught(
      (async () => {
        for await (const _ of watchStrategy({ watchStrategy: f.fn } as never, { initialBackoffMs: 1 }));
      })(),
    );
    expect(e).to.be.instanceOf(WatchStreamLimitError);
  });

  it("typed errors from the reason: WATCH_STREAM_LIMIT, WATCH_FELL_BEHIND, EVENTS_PRUNED (with the oldest sequence held)", () => {
    const ce = (code: Status, details: string) => new ClientError("/swpatch.v1.PatchService/WatchEvents", code, details);
    expect(toSwPatchError(ce(Status.RESOURCE_EXHAUSTED, "x"), undefined, "WATCH_STREAM_LIMIT")).to.be.instanceOf(WatchStreamLimitError);
    expect(toSwPatchError(ce(Status.RESOURCE_EXHAUSTED, "x"), undefined, "WATCH_FELL_BEHIND")).to.be.instanceOf(WatchFellBehindError);
    const pruned = toSwPatchError(
      ce(Status.OUT_OF_RANGE, "events after sequence 0 are no longer held (--event-retention): the oldest event held is 42; watch from after_sequence 41 or later"),
      undefined,
      "EVENTS_PRUNED",
    );
    expect(pruned).to.be.instanceOf(EventsPrunedError);
    expect((pruned as EventsPrunedError).oldestSequence).to.equal(42);
  });
});

describe("watch bounds: --event-retention", () => {
  it("takes a count, an age, both, or unlimited; refuses anything else naming the flag", () => {
    expect(parseEventRetention("100000")).to.deep.equal({ maxCount: 100000 });
    expect(parseEventRetention("7d")).to.deep.equal({ maxAgeMs: 7 * 86_400_000 });
    expect(parseEventRetention("5000,12h")).to.deep.equal({ maxCount: 5000, maxAgeMs: 12 * 3_600_000 });
    expect(parseEventRetention("unlimited")).to.deep.equal({});
    for (const bad of ["0", "-1", "7w", "1,2", "1d,2h", "", "many"]) expect(() => parseEventRetention(bad), bad).to.throw(/--event-retention/);
  });
});
