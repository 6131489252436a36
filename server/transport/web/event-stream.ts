/**
 * The console's live updates, `GET /api/events`: server-sent events with the event log (`id:` =
 * event sequence, so a reconnect resumes from Last-Event-ID) and id-less `strategy` snapshots, with
 * backpressure (one write at a time, waiting for drain) and a heartbeat that re-checks the token.
 */
import type { Caller } from "../../domain/auth/roles.js";
import type { EventLog } from "../../domain/events/event-log.js";
import type { Orchestrator } from "../../domain/orchestration/orchestrator.js";
import type { Logger } from "../../lib/log.js";
import { discardBody } from "../http/body.js";
import type { Routes } from "../http/target.js";
import { type Ctx, MAX_JSON, type Meta, rpcRequirement } from "./console-common.js";
import { eventView, strategyView } from "./views.js";

/** What {@link registerEventStream} needs. */
export interface EventStreamOptions {
  events: EventLog;
  orchestrator: Orchestrator;
  /** True while the stream's credential still stands (re-checked on every heartbeat). */
  stillSignedIn(ctx: Ctx): Promise<boolean>;
  log: Logger;
  /** Between heartbeats (and token re-checks), ms. */
  heartbeatMs: number;
  /** Every open stream's controller, so close() can end them. */
  streams: Set<AbortController>;
}

/** Registers `GET /api/events`. */
export function registerEventStream(router: Routes<Caller, Meta>, o: EventStreamOptions): void {
  const { events, orchestrator, log, streams } = o;
  router.add(["GET"], "/api/events", { action: "WatchEvents", requirement: rpcRequirement("/swpatch.v1.PatchService/WatchEvents") }, async (ctx) => {
    await discardBody(ctx.req, MAX_JSON);
    const raw = ctx.req.headers["last-event-id"] ?? ctx.query.get("after") ?? undefined;
    const asked = typeof raw === "string" && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
    // History pruned by --event-retention cannot be resumed: start afresh (the console reloads on a non-resumed ready).
    const resumeFrom = asked !== undefined && asked + 1 >= events.oldestSequence ? asked : undefined;
    const after = resumeFrom !== undefined ? Math.min(resumeFrom, events.lastSequence) : events.lastSequence;
    const res = ctx.res;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    const ac = new AbortController();
    streams.add(ac);
    const onAbort = () => ac.abort();
    ctx.signal.addEventListener("abort", onAbort);
    let chain = Promise.resolve();
    const write = (text: string) => {
      chain = chain.then(async () => {
        if (ac.signal.aborted || res.destroyed) return;
        if (!res.write(text)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off("drain", done);
              res.off("close", done);
              resolve();
            };
            res.on("drain", done);
            res.on("close", done);
          });
        }
      });
      return chain;
    };
    const heartbeat = setInterval(() => {
      void (async () => {
        if (!(await o.stillSignedIn(ctx))) {
          await write(`event: signed-out\ndata: {}\n\n`);
          ac.abort();
          return;
        }
        await write(`: keep-alive\n\n`);
      })();
    }, o.heartbeatMs);
    try {
      await write(`retry: 1000\nid: ${after}\nevent: ready\ndata: ${JSON.stringify({ seq: after, resumed: resumeFrom !== undefined })}\n\n`);
      const domainEvents = (async () => {
        for await (const e of events.watch(after, {}, ac.signal)) {
          await write(`id: ${e.seq}\nevent: domain\ndata: ${JSON.stringify(eventView(e))}\n\n`);
        }
      })();
      const strategies = (async () => {
        for await (const s of orchestrator.watch(ac.signal)) {
          await write(`event: strategy\ndata: ${JSON.stringify({ strategy: strategyView(s) })}\n\n`);
        }
      })();
      await Promise.all([domainEvents, strategies]).catch((e: unknown) => {
        if (!ac.signal.aborted) log.warn("console event stream failed", { error: (e as Error)?.message });
      });
    } finally {
      ac.abort();
      clearInterval(heartbeat);
      streams.delete(ac);
      ctx.signal.removeEventListener("abort", onAbort);
      if (!res.destroyed) res.end();
    }
  });
}
