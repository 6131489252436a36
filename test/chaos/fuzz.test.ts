import { expect } from "chai";
import { runFuzz } from "../lib/chaos-fuzz-run.js";
import { seedFromEnv } from "../lib/chaos-prng.js";
import { tally } from "../lib/chaos-fuzz.js";
import { API_METHOD_COUNT } from "../lib/api-methods.js";

/**
 * The 10,000-case fuzz run (npm run test:chaos): 10,000 seeded mutations of a valid patch
 * uploaded to a real controller (raw byte mutations, and validly signed patches with mutated
 * metadata.xml, RPMs and outer structure), then 10,000 seeded fuzz messages spread over every
 * request type of every service (structured random values, random bytes, random bytes decoded and
 * re-encoded, truncated and corrupted encodings) sent as raw bytes through a grpc-js client.
 * Pass: the controller never dies and stays healthy, never answers UNKNOWN or a handler INTERNAL,
 * logs no unexpected error, and its store is consistent afterwards.
 */
describe("fuzzing the controller (10,000 cases)", function () {
  this.timeout(1_200_000);

  it("10,000 mutated patches and 10,000 fuzz requests: clean statuses, no crash, consistent store", async () => {
    const seed = seedFromEnv(0xc4a05);
    const r = await runFuzz({
      seed,
      patchCases: Number(process.env.FUZZ_PATCH_CASES ?? 10_000),
      requestCases: Number(process.env.FUZZ_REQUEST_CASES ?? 10_000),
      progressEvery: 2500,
    });
    const lines = [
      `fuzz (seed ${seed}): ${r.patchCases} mutated patches [${tally(r.uploadStatus)}]`,
      `  by kind: ${tally(r.uploadKinds)}`,
      `  ${r.requestCases} requests over ${r.methods.size} methods [${tally(r.requestStatus)}], ${r.libraryDecodeErrors} undecodable (grpc-js INTERNAL "Error deserializing request")`,
      `  by generator: ${tally(r.requestKinds)}`,
      `  ${r.failures.length} failures, ${r.logProblems.length} unexpected log lines, ${r.storeProblems.length} store problems, ${(r.ms / 1000).toFixed(1)} s`,
    ];
    console.log(lines.map((l) => `      ${l}`).join("\n"));
    expect(r.failures.slice(0, 30), lines[0]).to.deep.equal([]);
    expect(r.logProblems.slice(0, 30), "controller log").to.deep.equal([]);
    // Undecodable requests are INVALID_ARGUMENT from the controller, never grpc-js's INTERNAL.
    expect(r.libraryDecodeErrors).to.equal(0);
    expect(r.storeProblems).to.deep.equal([]);
    expect(r.methods.size).to.equal(API_METHOD_COUNT); // every RPC of the five services
  });
});
