/**
 * Controller flags of the controller pair (issue 19; one block of the controller's options, spread in by
 * controller-config.ts): `--controller-id`, `--advertise`, `--lease`, `--lease-ttl`.
 *
 * With the sqlite store, `--lease postgres://...` names the database holding the leadership lease on its own (each
 * controller keeps its sqlite store); with the PostgreSQL store, `--store postgres://...` holds the lease too
 * (`leaseInStore`): no `--lease`, and every write of the store is fenced by the lease's epoch.
 */
import { invalidArgument } from "../domain/errors.js";

/** Options (ControllerOptions fields). */
export interface PairOptions {
  /** `controller-0` or `controller-1`: this controller's id in the pair. Off (a single controller) unless given. */
  controllerId?: string;
  /** `HOST:PORT` other controllers and clients use to reach this controller's gRPC port. Default: the bound listen address. */
  advertise?: string;
  /** PostgreSQL URL of the leadership lease (`postgres://USER@HOST:PORT/DB`). Required with `controllerId`. */
  lease?: string;
  /**
   * Lease duration, ms (1000..60000). Default 3000: renew every ttl/4, stop acting ttl/4 before expiry. (A standby takes
   * over at most ttl + ttl/8 after a kill -9 plus its domain load: 3000 leaves the 5 s target room for that load on a
   * busy machine, which 4000 (4.5 s + load) did not.)
   */
  leaseTtlMs?: number;
}

/** Resolved (ControllerConfig.pair); undefined for a single controller. */
export interface PairConfig {
  readonly controllerId: string;
  readonly advertise: string | undefined;
  /** The lease database; with `leaseInStore`, the store's URL (connect with the store's password and TLS). */
  readonly leaseUrl: string;
  /** The lease lives in the PostgreSQL store's database (`--store postgres://...`), which it fences. */
  readonly leaseInStore: boolean;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly safetyMarginMs: number;
  readonly standbyPollMs: number;
  readonly swactHoldOffMs: number;
}

/** The parseArgs entries of these flags. */
export const PAIR_ARGS = {
  "controller-id": { type: "string" as const },
  advertise: { type: "string" as const },
  lease: { type: "string" as const },
  "lease-ttl": { type: "string" as const },
};

/** The options these flags give (`values`: parseArgs' values). */
export function pairOptions(values: Record<string, unknown>): PairOptions {
  const out: PairOptions = {};
  if (typeof values["controller-id"] === "string") out.controllerId = values["controller-id"];
  if (typeof values.advertise === "string") out.advertise = values.advertise;
  if (typeof values.lease === "string") out.lease = values.lease;
  if (typeof values["lease-ttl"] === "string") out.leaseTtlMs = Number(values["lease-ttl"]);
  return out;
}

/**
 * Checks the options; undefined for a single controller (none of the flags given).
 * @param storeUrl the `--store` PostgreSQL URL when the store is PostgreSQL: then it holds the lease.
 */
export function resolvePair(o: PairOptions, storeUrl?: string): PairConfig | undefined {
  if (o.controllerId === undefined) {
    if (o.advertise !== undefined || o.lease !== undefined || o.leaseTtlMs !== undefined) {
      throw invalidArgument("--advertise, --lease and --lease-ttl need --controller-id");
    }
    return undefined;
  }
  if (!/^controller-[01]$/.test(o.controllerId)) throw invalidArgument(`--controller-id: expected controller-0 or controller-1, got "${o.controllerId}"`);
  if (storeUrl !== undefined && o.lease !== undefined && o.lease !== storeUrl) {
    throw invalidArgument("--lease: with --store postgres://... the lease lives in the store's database (it fences the store's writes): leave --lease out");
  }
  const lease = o.lease ?? storeUrl;
  if (lease === undefined) throw invalidArgument("--controller-id needs the PostgreSQL database the pair shares (--lease postgres://USER@HOST:PORT/DB)");
  if (!/^postgres(ql)?:\/\//.test(lease)) throw invalidArgument(`--lease: expected a postgres:// URL, got "${lease}"`);
  if (o.advertise !== undefined && !/^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(o.advertise)) throw invalidArgument(`--advertise: expected HOST:PORT, got "${o.advertise}"`);
  const ttlMs = o.leaseTtlMs ?? 3000;
  if (!Number.isInteger(ttlMs) || ttlMs < 1000 || ttlMs > 60_000) throw invalidArgument(`--lease-ttl: expected a whole number of ms in 1000..60000, got ${o.leaseTtlMs}`);
  return Object.freeze({
    controllerId: o.controllerId,
    advertise: o.advertise,
    leaseUrl: lease,
    leaseInStore: storeUrl !== undefined,
    ttlMs,
    renewIntervalMs: Math.round(ttlMs / 4),
    safetyMarginMs: Math.round(ttlMs / 4),
    standbyPollMs: Math.round(ttlMs / 8),
    swactHoldOffMs: Math.round(ttlMs / 2),
  });
}

export const PAIR_USAGE = `  --controller-id ID      controller-0|controller-1: run as one of an active/standby pair (needs --lease, or --store postgres://)
  --advertise HOST:PORT   address peers and clients use for this controller (default: the --listen address)
  --lease URL             postgres://USER@HOST:PORT/DB holding the pair's leadership lease (README "Two controllers";
                          with --store postgres:// the store's database holds it)
  --lease-ttl MS          lease duration (default 3000; renewed every MS/4, the active stops MS/4 before expiry)
`;
