/**
 * Crash-injection points for the durability tests: when SWPATCH_FAILPOINT names a point, the
 * process kills itself with SIGKILL the first time it reaches it (as a power cut would). Costs one
 * string comparison when unset. Never set it in production.
 */
const armed = process.env.SWPATCH_FAILPOINT ?? "";

/** Kills the process at `name` (after letting pending writes reach the OS), when armed. */
export async function failpointAsync(name: string): Promise<void> {
  if (armed && armed === name) {
    await new Promise((r) => setImmediate(r));
    process.kill(process.pid, "SIGKILL");
    await new Promise(() => undefined);
  }
}
