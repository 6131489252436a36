/**
 * Watch streams bounded (issue 16 point 4), against one controller started with small limits:
 * caps per caller and in total (RESOURCE_EXHAUSTED naming the flag), a stalled strategy stream
 * ended WATCH_FELL_BEHIND and resumed by the SDK with the current strategy, and event retention
 * (OUT_OF_RANGE naming the oldest sequence held, EventsPrunedError in the SDK). The event log's
 * own buffer bound and the SDK's resume of watchEvents are unit-tested (test/unit/watch-*.test.ts):
 * filling the transport's windows with small events takes too many calls for an integration test.
 */
import { expect } from "chai";
import { Status } from "nice-grpc";
import { createSwPatchClient, EventsPrunedError, WatchFellBehindError, WatchStreamLimitError, type Strategy, type SwPatchClient } from "../../clients/sdk/src/index.js";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";

const PER_CALLER = 3;
const TOTAL = 6;
const BUFFER = 8;
const RETENTION = 10;

describe("watch streams: caps, fell-behind, event retention", function () {
  this.timeout(120_000);
  let ctl: ControllerHandle;
  let admin: SwPatchClient;
  const clients: SwPatchClient[] = [];
  const aborts: AbortController[] = [];

  /** A client with a new token of `role`. */
  async function newClient(role = "reader"): Promise<SwPatchClient> {
    const token = (await admin.admin.createToken({ role, hostname: "", description: "watch-limits" })).token;
    const c = createSwPatchClient({ endpoint: ctl.endpoint, token });
    clients.push(c);
    return c;
  }

  /** Opens a raw WatchStrategy stream; resolves "open" at its first message, or with the error that refused it. */
  function openStrategyWatch(c: SwPatchClient): { ac: AbortController; first: Promise<"open" | unknown> } {
    const ac = new AbortController();
    aborts.push(ac);
    const it = c.orchestration.watchStrategy({}, { signal: ac.signal })[Symbol.asyncIterator]();
    const first = it.next().then(
      () => "open",
      (e: unknown) => e,
    );
    return { ac, first };
  }

  /** Two events (alarm raised, then cleared). */
  async function twoEvents(): Promise<void> {
    const a = await admin.hosts.raiseAlarm({
      alarmId: "900.001",
      entityInstanceId: "host=watch-limits",
      severity: "minor",
      reasonText: "watch-limits test",
      mgmtAffecting: false,
      proposedRepairAction: "",
    });
    await admin.hosts.clearAlarm({ uuid: a.alarm!.uuid });
  }

  before(async () => {
    ctl = await startController({
      extraArgs: [
        "--max-watch-streams",
        String(TOTAL),
        "--max-watch-streams-per-caller",
        String(PER_CALLER),
        "--watch-buffer",
        String(BUFFER),
        "--event-retention",
        String(RETENTION),
      ],
    });
    admin = createSwPatchClient({ endpoint: ctl.endpoint, token: ctl.adminToken });
  });

  after(async () => {
    for (const ac of aborts) ac.abort();
    for (const c of clients) c.close();
    admin?.close();
    await ctl?.stop();
  });

  it("caps watch streams per caller and in total with RESOURCE_EXHAUSTED naming the flag; a closed stream frees its slot", async () => {
    const a = await newClient();
    const b = await newClient();
    const c = await newClient();
    const fromA = Array.from({ length: PER_CALLER + 1 }, () => openStrategyWatch(a));
    const firstA = await Promise.all(fromA.map((w) => w.first));
    expect(firstA.filter((r) => r === "open")).to.have.length(PER_CALLER);
    const refusedA = firstA.find((r) => r !== "open");
    expect(refusedA).to.be.instanceOf(WatchStreamLimitError);
    expect((refusedA as WatchStreamLimitError).code).to.equal(Status.RESOURCE_EXHAUSTED);
    expect((refusedA as Error).message).to.equal(
      `too many watch streams for this caller: ${PER_CALLER} open, the limit is ${PER_CALLER} (--max-watch-streams-per-caller)`,
    );

    const fromB = Array.from({ length: TOTAL - PER_CALLER }, () => openStrategyWatch(b));
    expect(await Promise.all(fromB.map((w) => w.first))).to.deep.equal(fromB.map(() => "open"));
    const refusedC = await openStrategyWatch(c).first;
    expect(refusedC).to.be.instanceOf(WatchStreamLimitError);
    expect((refusedC as Error).message).to.equal(`too many watch streams: ${TOTAL} open, the limit is ${TOTAL} (--max-watch-streams)`);

    // A's streams end: C gets a slot once the controller has seen the cancellations.
    for (const w of fromA) w.ac.abort();
    let admitted: unknown;
    for (let attempt = 0; attempt < 200 && admitted !== "open"; attempt++) admitted = await openStrategyWatch(c).first;
    expect(admitted).to.equal("open");
    for (const w of fromB) w.ac.abort();
  });

  it("ends a stalled WatchStrategy stream WATCH_FELL_BEHIND; the SDK re-fetches the current strategy", async () => {
    const c = await newClient();
    const ac = new AbortController();
    aborts.push(ac);
    const reconnects: unknown[] = [];
    const it = c.watchStrategy({ signal: ac.signal, initialBackoffMs: 10, onReconnect: (r) => reconnects.push(r.error) })[Symbol.asyncIterator]();
    const first = it.next();
    await admin.orchestration.createStrategy({});
    let s = (await first).value as Strategy;
    for (let i = 0; i < 60; i++) {
      await admin.orchestration.deleteStrategy({ force: true });
      await admin.orchestration.createStrategy({});
    }
    const uuid = (await admin.orchestration.getStrategy({})).strategy!.uuid;
    while (s.uuid !== uuid) s = (await it.next()).value as Strategy;
    ac.abort();
    expect(s.uuid).to.equal(uuid);
    expect(
      reconnects.some((e) => e instanceof WatchFellBehindError),
      "ended as fallen behind at least once",
    ).to.equal(true);
    await admin.orchestration.deleteStrategy({ force: true });
  });

  it(`keeps ${RETENTION} events (--event-retention): older history is OUT_OF_RANGE naming the oldest held; EventsPrunedError in the SDK`, async () => {
    for (let i = 0; i < RETENTION; i++) await twoEvents();
    const c = await newClient();
    let refused: unknown;
    // The prune runs in the background once the count is exceeded by 10 %.
    for (let attempt = 0; attempt < 200 && !refused; attempt++) {
      const ac = new AbortController();
      try {
        for await (const _ of c.watchEvents({ afterSequence: 0, signal: ac.signal })) break;
      } catch (e) {
        refused = e;
      }
    }
    expect(refused).to.be.instanceOf(EventsPrunedError);
    const pruned = refused as EventsPrunedError;
    expect(pruned.code).to.equal(Status.OUT_OF_RANGE);
    expect(pruned.reason).to.equal("EVENTS_PRUNED");
    const last = (await admin.patches.getControllerInfo({})).lastEventSequence;
    expect(pruned.oldestSequence).to.be.greaterThan(1).and.at.most(last);
    expect(pruned.message).to.match(
      new RegExp(`^events after sequence 0 are no longer held \\(--event-retention\\): the oldest event held is ${pruned.oldestSequence};`),
    );
    const ac = new AbortController();
    let firstSeq = 0;
    for await (const e of c.watchEvents({ afterSequence: pruned.oldestSequence - 1, signal: ac.signal })) {
      firstSeq = e.sequence;
      break;
    }
    expect(firstSeq).to.equal(pruned.oldestSequence);
  });
});
