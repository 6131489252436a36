import { expect } from "chai";
import { runFuzz } from "../lib/chaos-fuzz-run.js";
import { seedFromEnv } from "../lib/chaos-prng.js";
import { tally } from "../lib/chaos-fuzz.js";
import { API_METHOD_COUNT } from "../lib/api-methods.js";

/**
 * The fast part of the fuzz run (the 10,000-case run is test/chaos/fuzz.test.ts): seeded
 * mutations of a valid patch uploaded to a real controller, and seeded fuzz messages of every
 * request type of every service sent as raw bytes. The controller stays alive and healthy, logs no
 * handler failure, answers every case with a clean status (never UNKNOWN or a handler INTERNAL),
 * and its store is consistent afterwards. Override the seed with CHAOS_SEED.
 */
describe("fuzzing the controller (fast part)", function () {
  this.timeout(120_000);

  it("survives seeded mutated patches and request messages with clean statuses only", async () => {
    const seed = seedFromEnv(0xf022);
    const r = await runFuzz({
      seed,
      patchCases: Number(process.env.FUZZ_PATCH_CASES ?? 800),
      requestCases: Number(process.env.FUZZ_REQUEST_CASES ?? 2400),
    });
    const summary =
      `fuzz (seed ${seed}): ${r.patchCases} patches [${tally(r.uploadStatus)}], ${r.requestCases} requests over ${r.methods.size} methods ` +
      `[${tally(r.requestStatus)}; ${r.libraryDecodeErrors} undecodable], ${r.ms} ms`;
    console.log(`      ${summary}`);
    expect(r.failures.slice(0, 20), summary).to.deep.equal([]);
    expect(r.logProblems.slice(0, 20), "controller log").to.deep.equal([]);
    // Undecodable requests are INVALID_ARGUMENT from the controller, never grpc-js's INTERNAL.
    expect(r.libraryDecodeErrors, summary).to.equal(0);
    expect(r.storeProblems).to.deep.equal([]);
    expect(r.methods.size).to.equal(API_METHOD_COUNT); // every RPC of the five services
  });
});
