/**
 * The fleet simulator's options and its seeded fault generator (`sw-patch-agent --simulate N
 * --sim-installer memory`, docs/agent.md). Each install of each simulated host draws its fate from
 * a generator seeded with `(seed, hostname, n)` where n counts that host's installs: the same seed
 * gives the same faulty hosts in every run, whatever the order the controller reaches them in.
 */
import { createHash } from "node:crypto";

/** What happens to one simulated install. */
export type SimFault = "none" | "fail" | "hang" | "disconnect";

/** The simulator's flags, resolved. */
export interface SimOptions {
  /** Mean simulated install time (after the download), ms. */
  installMeanMs: number;
  /** Its standard deviation (normal distribution, clamped at 0), ms. */
  installSdMs: number;
  /** How long a simulated reboot takes, ms. */
  rebootMs: number;
  /** Probability that an install reports failure. */
  failRate: number;
  /** Probability that an install never reports (stays "installing"). */
  hangRate: number;
  /** Probability that the host drops its stream in the middle of an install (and reconnects). */
  disconnectRate: number;
  /** Probability that the host's health check fails after an install (AgentReport.health). */
  unhealthyRate: number;
  /** Seed of the fault generator. */
  seed: string;
  /** Simulated hosts per gRPC connection (1: each host dials its own, as real hosts do). */
  hostsPerConnection: number;
}

/** The defaults: installs take 50 ms, reboots 200 ms, no faults, seed "1", one connection per host. */
export const SIM_DEFAULTS: Readonly<SimOptions> = Object.freeze({
  installMeanMs: 50,
  installSdMs: 0,
  rebootMs: 200,
  failRate: 0,
  hangRate: 0,
  disconnectRate: 0,
  unhealthyRate: 0,
  seed: "1",
  hostsPerConnection: 1,
});

/** The simulator's flags (parseArgs entries). */
export const SIM_ARGS = {
  "sim-installer": { type: "string" },
  "sim-install-ms": { type: "string" },
  "sim-reboot-ms": { type: "string" },
  "sim-fail-rate": { type: "string" },
  "sim-hang-rate": { type: "string" },
  "sim-disconnect-rate": { type: "string" },
  "sim-unhealthy-rate": { type: "string" },
  "sim-seed": { type: "string" },
  "sim-hosts-per-connection": { type: "string" },
} as const;

/** The help text of these flags. */
export const SIM_USAGE = `  --sim-installer memory   with --simulate: the hosts keep their packages in memory (no rpm, no root
                           files); they still speak the real protocol and fetch every package
  --sim-install-ms M[:SD]  simulated install time after the download (normal, default 50 ms)
  --sim-reboot-ms MS       simulated reboot time (default 200)
  --sim-fail-rate P        probability (0..1) that an install reports failure
  --sim-hang-rate P        probability that an install never reports
  --sim-disconnect-rate P  probability that a host drops its stream mid-install and reconnects
  --sim-unhealthy-rate P   probability that a host's health check fails after an install
  --sim-seed S             seed of the fault generator (default 1): the same seed, the same faults
  --sim-hosts-per-connection K  simulated hosts per gRPC connection (memory installer; default 1)
`;

type SimValues = { [K in keyof typeof SIM_ARGS]?: string | undefined };

function rate(values: SimValues, flag: keyof typeof SIM_ARGS): number | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--${flag} must be a probability from 0 to 1`);
  return n;
}

function ms(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number of milliseconds`);
  return n;
}

/**
 * The simulator's options from parsed flags; undefined without `--sim-installer`.
 * @throws Error with a one-line message on a bad value, or a --sim-* flag without --sim-installer memory.
 */
export function parseSimOptions(values: SimValues): SimOptions | undefined {
  const given = (Object.keys(SIM_ARGS) as (keyof typeof SIM_ARGS)[]).filter((k) => values[k] !== undefined);
  if (values["sim-installer"] === undefined) {
    if (given.length) throw new Error(`--${given[0]} needs --sim-installer memory`);
    return undefined;
  }
  if (values["sim-installer"] !== "memory") throw new Error("--sim-installer must be memory");
  const o: SimOptions = { ...SIM_DEFAULTS };
  const inst = values["sim-install-ms"];
  if (inst !== undefined) {
    const [mean, sd, extra] = inst.split(":");
    if (extra !== undefined) throw new Error("--sim-install-ms must be MEAN or MEAN:SD");
    o.installMeanMs = ms(mean!, "sim-install-ms");
    if (sd !== undefined) o.installSdMs = ms(sd, "sim-install-ms");
  }
  if (values["sim-reboot-ms"] !== undefined) o.rebootMs = ms(values["sim-reboot-ms"], "sim-reboot-ms");
  o.failRate = rate(values, "sim-fail-rate") ?? 0;
  o.hangRate = rate(values, "sim-hang-rate") ?? 0;
  o.disconnectRate = rate(values, "sim-disconnect-rate") ?? 0;
  o.unhealthyRate = rate(values, "sim-unhealthy-rate") ?? 0;
  if (o.failRate + o.hangRate + o.disconnectRate > 1) throw new Error("--sim-fail-rate, --sim-hang-rate and --sim-disconnect-rate must add up to at most 1");
  if (values["sim-seed"] !== undefined) o.seed = values["sim-seed"];
  const k = values["sim-hosts-per-connection"];
  if (k !== undefined) {
    const n = Number(k);
    if (!Number.isInteger(n) || n < 1) throw new Error("--sim-hosts-per-connection must be a whole number >= 1");
    o.hostsPerConnection = n;
  }
  return o;
}

/** A deterministic generator of numbers in [0, 1) (mulberry32) seeded from `key`. */
export function seededRandom(key: string): () => number {
  let a = createHash("sha256").update(key).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The fate of one simulated install. */
export interface SimDraw {
  fault: SimFault;
  /** The health check fails after this install. */
  unhealthy: boolean;
  /** How long the install takes after its downloads, ms. */
  durationMs: number;
  /** For a disconnect: when the stream drops, ms after the downloads (within the install). */
  dropAtMs: number;
}

/** Draws the fate of install number `n` (0-based) of `hostname` under `o` (same inputs, same draw). */
export function drawInstall(o: SimOptions, hostname: string, n: number): SimDraw {
  const rnd = seededRandom(`${o.seed}/${hostname}/${n}`);
  const u = rnd();
  const fault: SimFault = u < o.failRate ? "fail" : u < o.failRate + o.hangRate ? "hang" : u < o.failRate + o.hangRate + o.disconnectRate ? "disconnect" : "none";
  const unhealthy = rnd() < o.unhealthyRate;
  // Box-Muller: a normal draw from two uniform ones.
  const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const durationMs = Math.max(0, o.installMeanMs + o.installSdMs * z);
  return { fault, unhealthy, durationMs, dropAtMs: durationMs * rnd() };
}
