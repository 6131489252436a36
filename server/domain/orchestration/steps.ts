import { isAbortError } from "abort-controller-x";
import { APP_APPLY_ALARM_GRACE_S, blockingAlarms, describeAlarms, pyList, type AlarmContext } from "./alarms.js";
import type { AlarmRestrictionName, StrategyResult, StrategyStep } from "./model.js";
import type { ClusterPort, ClusterSnapshot, HostSnapshot } from "./ports.js";

/** What a step ended with. */
export interface StepOutcome {
  result: StrategyResult;
  reason: string;
}

/** Everything a step needs to run. */
export interface StepContext {
  port: ClusterPort;
  signal: AbortSignal;
  /** Reference seconds → real milliseconds. */
  ms(seconds: number): number;
  restriction: AlarmRestrictionName;
  extraIgnoredAlarms: readonly string[];
  /** Reference seconds between polls while waiting (host audit period). */
  auditIntervalS: number;
  now(): Date;
  /** Says what a running step waits for (shown as its reason until the step ends). */
  note?(reason: string): void;
  /**
   * ROLLOUT (issue 20): a host's install failed or timed out, or it did not come back after its
   * reboot; true when the error budget absorbs it (the step goes on with the other hosts).
   */
  hostFailed?(host: string, reason: string): boolean;
  /** ROLLOUT: with hostFailed, each host's install / unlock runs under its own timer of this many ms. */
  hostTimeoutMs?: number;
  /** ROLLOUT: runs the steps the safer rollout adds (soak, remove-sw-patches). */
  rolloutStep?(step: StrategyStep): Promise<StepOutcome>;
}

/** Settle seconds after a swact request / reboot request, and AIO-SX lock wait (§9). */
export const SWACT_SETTLE_S = 120;
export const REBOOT_SETTLE_S = 60;
export const AIO_SX_LOCK_WAIT_S = 15;
/** First alarm query delay of wait-alarms-clear / wait-data-sync (§9). */
export const WAIT_ALARMS_FIRST_S = 60;
export const WAIT_DATA_SYNC_FIRST_S = 120;

const ok = (reason = ""): StepOutcome => ({ result: "success", reason });
const failed = (reason: string): StepOutcome => ({ result: "failed", reason });

/** Yields to the macrotask queue so timers can fire even if a fake `sleep` resolves at once. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function sleep(ctx: StepContext, seconds: number): Promise<void> {
  await ctx.port.sleep(ctx.ms(seconds), ctx.signal);
  await tick();
}

function rethrowAbort(e: unknown): void {
  if (isAbortError(e)) throw e;
}

/** Each snapshot's hosts by name (and its instances by uuid), built once per snapshot: a lookup per host of a step was a scan of every host (scale). */
const indexes = new WeakMap<ClusterSnapshot, { hosts: Map<string, HostSnapshot>; instances?: Map<string, HostSnapshot["instances"][number]> }>();

function indexOf(snap: ClusterSnapshot): { hosts: Map<string, HostSnapshot>; instances?: Map<string, HostSnapshot["instances"][number]> } {
  let ix = indexes.get(snap);
  if (!ix) {
    const hosts = new Map<string, HostSnapshot>();
    // The first host of a name wins, as a find() over the list did.
    for (const h of snap.hosts) if (!hosts.has(h.hostname)) hosts.set(h.hostname, h);
    ix = { hosts };
    indexes.set(snap, ix);
  }
  return ix;
}

/** The first instance with this uuid across the snapshot's hosts (in host order). */
function instanceOf(snap: ClusterSnapshot, uuid: string): HostSnapshot["instances"][number] | undefined {
  const ix = indexOf(snap);
  if (!ix.instances) {
    ix.instances = new Map();
    for (const h of snap.hosts) for (const i of h.instances) if (!ix.instances.has(i.uuid)) ix.instances.set(i.uuid, i);
  }
  return ix.instances.get(uuid);
}

function missingHost(snap: ClusterSnapshot, hosts: readonly string[]): boolean {
  return hosts.some((h) => !indexOf(snap).hosts.has(h));
}

function hostOf(snap: ClusterSnapshot, name: string): HostSnapshot | undefined {
  return indexOf(snap).hosts.get(name);
}

/** Runs `fn` for each host at once; the first failure wins. */
async function each(hosts: readonly string[], fn: (h: string) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(hosts.map(fn));
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

/** ROLLOUT: runs `fn` for one host under ctx.hostTimeoutMs; resolves with an error message, or undefined when it went well. */
async function perHost(ctx: StepContext, fn: (signal: AbortSignal) => Promise<string | undefined>, timeoutMessage: string): Promise<string | undefined> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  ctx.signal.addEventListener("abort", onAbort);
  let timedOut = false;
  const timer = setTimeout(() => ((timedOut = true), ac.abort()), Math.max(0, Math.min(ctx.hostTimeoutMs ?? 2_147_000_000, 2_147_000_000)));
  try {
    return await fn(ac.signal);
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    if (timedOut) return timeoutMessage;
    rethrowAbort(e);
    return (e as Error)?.message ?? String(e);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

/** ROLLOUT: sw-patch-hosts / unlock-hosts when the error budget absorbs host failures: every host runs to its end. */
async function budgetedHosts(
  ctx: StepContext,
  hosts: readonly string[],
  fn: (h: string, signal: AbortSignal) => Promise<string | undefined>,
  what: string,
): Promise<StepOutcome> {
  const errors = await Promise.all(hosts.map((h) => perHost(ctx, (sig) => fn(h, sig), `${what} on host ${h} timed out`).then((e) => ({ h, e }))));
  for (const { h, e } of errors) {
    if (e !== undefined && !ctx.hostFailed!(h, e)) return failed(e);
  }
  const bad = errors.filter((x) => x.e !== undefined).map((x) => x.h);
  return ok(bad.length ? `failed on host(s) ${bad.join(", ")} (within the failure budget)` : "");
}

/**
 * Executes one apply/abort step against the cluster (spec orchestration §9). Resolves with the
 * outcome; rejects only with AbortError (engine stopping or step timer fired). A step must be
 * safe to run again from the start (resume after a restart).
 */
export async function runStep(step: StrategyStep, ctx: StepContext): Promise<StepOutcome> {
  const port = ctx.port;
  switch (step.name) {
    case "query-alarms": {
      const snap = await port.snapshot(ctx.signal);
      const blocking = blockingAlarms(snap.alarms, { restriction: ctx.restriction, context: "query-alarms", extraIgnored: ctx.extraIgnoredAlarms });
      if (blocking.length > 0) return failed(`alarms ${pyList(blocking.map((a) => a.alarmId))} from platform are present`);
      return ok();
    }
    case "query-sw-patches":
    case "query-sw-patch-hosts":
      await port.snapshot(ctx.signal);
      return ok();
    case "swact-hosts": {
      const snap = await port.snapshot(ctx.signal);
      if (missingHost(snap, step.hosts)) return failed("host no longer exists");
      const active = step.hosts.filter((h) => h === snap.activeController);
      if (active.length === 0) return ok("Already on correct host");
      try {
        for (const h of active) await port.swact(h, ctx.signal);
      } catch (e) {
        rethrowAbort(e);
        return failed("host swact failed");
      }
      await sleep(ctx, SWACT_SETTLE_S);
      return ok();
    }
    case "lock-hosts": {
      const snap = await port.snapshot(ctx.signal);
      if (missingHost(snap, step.hosts)) return failed("host no longer exists");
      const running = step.hosts.flatMap((h) => hostOf(snap, h)!.instances.filter((i) => i.state !== "stopped"));
      if (running.length > 0) {
        return failed(`Lock of host(s) ${step.hosts.join(", ")} failed because instance(s) ${running.map((i) => i.name).join(", ")} were not migrated or stopped.`);
      }
      try {
        await each(step.hosts, (h) => port.lock(h, ctx.signal));
      } catch (e) {
        rethrowAbort(e);
        return failed("host lock failed");
      }
      if (step.waitDisabled === false) await sleep(ctx, AIO_SX_LOCK_WAIT_S);
      return ok();
    }
    case "sw-patch-hosts": {
      const snap = await port.snapshot(ctx.signal);
      if (missingHost(snap, step.hosts)) return failed("host no longer exists");
      const todo = step.hosts.filter((h) => !hostOf(snap, h)!.patchCurrent);
      if (ctx.hostTimeoutMs !== undefined && ctx.hostFailed) {
        return budgetedHosts(
          ctx,
          todo,
          async (h, sig) => {
            const r = await port.install(h, sig);
            return r.success ? undefined : `software update failed to apply on host ${h}${r.reason ? `: ${r.reason}` : ""}`;
          },
          "software update",
        );
      }
      // host-install-async is requested host by host; the installs then run side by side.
      const runs = todo.map((h) =>
        port.install(h, ctx.signal).then(
          (r) => ({ h, r, e: undefined as unknown }),
          (e: unknown) => ({ h, r: undefined, e }),
        ),
      );
      for (const { h, r, e } of await Promise.all(runs)) {
        if (e !== undefined) {
          rethrowAbort(e);
          return failed(`software update failed to apply on host ${h}: ${(e as Error)?.message ?? String(e)}`);
        }
        if (!r!.success) {
          ctx.hostFailed?.(h, `software update failed to apply on host ${h}`);
          return failed(`software update failed to apply on host ${h}`);
        }
      }
      return ok();
    }
    case "system-stabilize": {
      ctx.note?.(`waiting ${step.timeout} s for the system to stabilize`);
      const before = await port.snapshot(ctx.signal);
      await sleep(ctx, step.timeout);
      const after = await port.snapshot(ctx.signal);
      return stabilityVerdict(before, after);
    }
    case "unlock-hosts": {
      const snap = await port.snapshot(ctx.signal);
      if (missingHost(snap, step.hosts)) return failed("host no longer exists");
      if (ctx.hostTimeoutMs !== undefined && ctx.hostFailed) {
        return budgetedHosts(
          ctx,
          step.hosts,
          async (h, sig) => {
            await port.unlock(h, sig);
            return undefined;
          },
          "unlock (host did not come back)",
        );
      }
      try {
        await each(step.hosts, (h) => port.unlock(h, ctx.signal));
      } catch (e) {
        rethrowAbort(e);
        return failed("host unlock failed");
      }
      return ok();
    }
    case "reboot-hosts": {
      const snap = await port.snapshot(ctx.signal);
      if (missingHost(snap, step.hosts)) return failed("host no longer exists");
      try {
        await each(step.hosts, (h) => port.reboot(h, ctx.signal));
      } catch (e) {
        rethrowAbort(e);
        return failed("host reboot failed");
      }
      await sleep(ctx, REBOOT_SETTLE_S);
      return ok();
    }
    case "wait-alarms-clear":
      return waitAlarms(ctx, "wait-alarms-clear", WAIT_ALARMS_FIRST_S);
    case "wait-data-sync":
      return waitAlarms(ctx, "wait-data-sync", WAIT_DATA_SYNC_FIRST_S);
    case "stop-instances":
    case "start-instances":
    case "migrate-instances-from-host":
      return instanceStep(step, ctx);
    case "disable-host-services":
    case "enable-host-services":
      try {
        await each(step.hosts, (h) => (step.name === "disable-host-services" ? port.disableHostServices(h, ctx.signal) : port.enableHostServices(h, ctx.signal)));
      } catch (e) {
        rethrowAbort(e);
        return failed((e as Error).message ?? "");
      }
      return ok();
    case "soak":
    case "remove-sw-patches":
      if (!ctx.rolloutStep) return failed(`${step.name} is not available`);
      return ctx.rolloutStep(step);
  }
}

function stabilityVerdict(before: ClusterSnapshot, after: ClusterSnapshot): StepOutcome {
  for (const b of before.hosts) {
    const a = hostOf(after, b.hostname);
    if (!a || a.adminState !== b.adminState || a.operationalState !== b.operationalState || a.availability !== b.availability) {
      return failed(`host ${b.hostname} changed state unexpectedly`);
    }
    for (const bi of b.instances) {
      const ai = instanceOf(after, bi.uuid);
      if (!ai || ai.state !== bi.state || ai.host !== bi.host) return failed(`instance ${bi.name} changed state unexpectedly`);
    }
  }
  return ok();
}

async function waitAlarms(ctx: StepContext, context: AlarmContext, firstS: number): Promise<StepOutcome> {
  await sleep(ctx, firstS);
  for (;;) {
    const snap = await ctx.port.snapshot(ctx.signal);
    const blocking = blockingAlarms(snap.alarms, {
      restriction: ctx.restriction,
      context,
      extraIgnored: ctx.extraIgnoredAlarms,
      now: ctx.now(),
      graceMs: ctx.ms(APP_APPLY_ALARM_GRACE_S),
    });
    if (blocking.length === 0) return ok();
    ctx.note?.(`waiting for alarms to clear: ${describeAlarms(blocking)}`);
    await sleep(ctx, ctx.auditIntervalS);
  }
}

async function instanceStep(step: StrategyStep, ctx: StepContext): Promise<StepOutcome> {
  const snap = await ctx.port.snapshot(ctx.signal);
  const where = new Map<string, string>();
  for (const h of snap.hosts) for (const i of h.instances) where.set(i.uuid, i.host || h.hostname);
  const byHost = new Map<string, string[]>();
  for (const inst of step.instances ?? []) {
    const now = where.get(inst.uuid);
    if (now === undefined) return failed("instance no longer exists");
    if (step.name !== "start-instances" && now !== inst.host) {
      return failed(`instance ${inst.name} has moved from ${inst.host} to ${now} after strategy created`);
    }
    byHost.set(now, [...(byHost.get(now) ?? []), inst.uuid]);
  }
  try {
    if (step.name === "migrate-instances-from-host") {
      for (const h of step.hosts) await ctx.port.migrateInstances(h, ctx.signal);
    } else {
      for (const [h, uuids] of byHost) {
        if (step.name === "stop-instances") await ctx.port.stopInstances(h, uuids, ctx.signal);
        else await ctx.port.startInstances(h, uuids, ctx.signal);
      }
    }
  } catch (e) {
    rethrowAbort(e);
    return failed((e as Error)?.message ?? "");
  }
  return ok();
}
