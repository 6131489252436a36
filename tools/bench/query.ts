import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { createChannel, createClient } from "nice-grpc";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { insertPatch, insertRelease } from "../../server/storage/sqlite/patch-store.js";
import type { PatchRecord } from "../../server/domain/patches/model.js";
import { PatchServiceDefinition, QueryFilter, QueryPatchesRequest, QueryPatchesResponse } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { startBenchController, fmtMs, percentile, verdict } from "./controller-proc.js";
import { Patch } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

const N = Number(process.env.BENCH_PATCHES ?? 10_000);
const CHAIN = Math.min(5000, Math.floor(N / 2));

/**
 * Seeds a data dir with N patches through the store layer (the measured path, answering
 * queries, does not depend on how the rows got there): a chain of CHAIN patches where each
 * requires the previous one, and the rest each requiring up to three random earlier patches.
 */
async function seed(dataDir: string): Promise<void> {
  const db = await Db.open(path.join(dataDir, "sw-patch.sqlite"), migrations);
  let rnd = 42;
  const rand = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  await db.tx(async (tx) => {
    await insertRelease(tx, "19.09");
    for (let i = 0; i < N; i++) {
      const id = `BENCH_19.09_PATCH_${String(i).padStart(5, "0")}`;
      const requires: string[] = [];
      if (i > 0 && i < CHAIN) requires.push(`BENCH_19.09_PATCH_${String(i - 1).padStart(5, "0")}`);
      else if (i >= CHAIN) for (let k = 0; k < Math.floor(rand() * 4); k++) requires.push(`BENCH_19.09_PATCH_${String(Math.floor(rand() * i)).padStart(5, "0")}`);
      const rec: PatchRecord = {
        meta: {
          id,
          swVersion: "19.09",
          summary: `Benchmark patch ${i}`,
          description: "Seeded for the query benchmark",
          installInstructions: "",
          warnings: "",
          status: "REL",
          unremovable: false,
          rebootRequired: i % 3 === 0,
          applyActiveReleaseOnly: false,
          personalities: {},
          contents: [`bench-${i}-1.0-1.x86_64.rpm`],
          requires: [...new Set(requires)],
          semantics: [],
        },
        repoState: i % 2 ? "Applied" : "Available",
        patchState: "n/a",
        metadataXml: "<patch/>",
        signer: "dev",
        fileSha256: "0".repeat(64),
        uploadedAt: new Date(),
        packages: [],
        semantics: [],
      };
      await insertPatch(tx, rec);
    }
  });
  await db.close();
}

async function load(call: () => Promise<unknown>, inFlight: number, seconds: number): Promise<{ rps: number; lat: number[] }> {
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await call();
        lat.push(performance.now() - t);
        done++;
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { rps: done / seconds, lat };
}

/** A bare grpc-js unary server answering QueryPatches with one prebuilt response, encoded per call. */
async function bareServer(response: QueryPatchesResponse): Promise<{ endpoint: string; stop(): void }> {
  const server = new grpc.Server();
  const def = PatchServiceDefinition.methods.queryPatches;
  server.addService(
    {
      QueryPatches: {
        path: "/swpatch.v1.PatchService/QueryPatches",
        requestStream: false,
        responseStream: false,
        requestSerialize: (m: QueryPatchesRequest) => Buffer.from(def.requestType.encode(m).finish()),
        requestDeserialize: (b: Buffer) => def.requestType.decode(b),
        responseSerialize: (m: QueryPatchesResponse) => Buffer.from(def.responseType.encode(m).finish()),
        responseDeserialize: (b: Buffer) => def.responseType.decode(b),
      },
    } as grpc.ServiceDefinition,
    { QueryPatches: (_call: unknown, cb: grpc.sendUnaryData<QueryPatchesResponse>) => cb(null, response) } as grpc.UntypedServiceImplementation,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { endpoint: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

export async function runQueryBench(log: (line: string) => void = console.log): Promise<void> {
  const console = { log };
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-bench-query-"));
  try {
    const t0 = performance.now();
    await seed(dataDir);
    console.log(`query: seeded ${N} patches in ${fmtMs(performance.now() - t0)}`);
    const ctl = await startBenchController(dataDir);
    const ch = createChannel(ctl.endpoint, undefined, { "grpc.max_receive_message_length": 256 << 20 });
    const client = createClient(PatchServiceDefinition, ch, ctl.auth);
    const req = { filter: QueryFilter.QUERY_FILTER_ALL, release: "" };
    const first = await client.queryPatches(req);
    console.log(`query: one answer holds ${first.patches.length} patches, ${QueryPatchesResponse.encode(first).finish().length} bytes`);
    // The same answer, built once, for the baseline server.
    const bare = await bareServer(QueryPatchesResponse.fromPartial({ patches: first.patches.map((p) => Patch.fromPartial(p)) }));
    const ch2 = createChannel(bare.endpoint, undefined, { "grpc.max_receive_message_length": 256 << 20 });
    const bareClient = createClient(PatchServiceDefinition, ch2);
    await load(() => client.queryPatches(req), 64, 1);
    await load(() => bareClient.queryPatches(req), 64, 1);
    const ours = await load(() => client.queryPatches(req), 64, seconds);
    const base = await load(() => bareClient.queryPatches(req), 64, seconds);
    const ratio = ours.rps / base.rps;
    console.log(
      `query (${N} patches, 64 in flight, ${seconds} s): controller ${ours.rps.toFixed(1)} req/s (p50 ${fmtMs(percentile(ours.lat, 50))}, p99 ${fmtMs(percentile(ours.lat, 99))})`,
    );
    console.log(
      `query baseline (bare grpc-js, same response): ${base.rps.toFixed(1)} req/s (p50 ${fmtMs(percentile(base.lat, 50))}, p99 ${fmtMs(percentile(base.lat, 99))})`,
    );
    console.log(`query ratio controller/baseline: ${ratio.toFixed(2)} (target >= 0.5) ${verdict(ratio >= 0.5)}`);

    // Dependency queries: per-call latency, and cost against answer size.
    const ids = first.patches.map((p) => p.id);
    const lat: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = ids[(i * 7919) % ids.length]!;
      const t = performance.now();
      await client.whatRequires({ patchIds: [id] });
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    console.log(`what-requires (${N} patches): median ${fmtMs(percentile(lat, 50))}, p99 ${fmtMs(percentile(lat, 99))} over 2000 calls`);
    const rlat: number[] = [];
    for (let i = 0; i < 500; i++) {
      const id = ids[CHAIN + ((i * 7919) % (ids.length - CHAIN))]!;
      const t = performance.now();
      await client.queryDependencies({ patchIds: [id], recursive: true });
      rlat.push(performance.now() - t);
    }
    rlat.sort((a, b) => a - b);
    console.log(`query-dependencies --recursive (random graph part): median ${fmtMs(percentile(rlat, 50))}, p99 ${fmtMs(percentile(rlat, 99))} over 500 calls`);
    console.log("query-dependencies --recursive along the chain: cost against answer size");
    const rows: { size: number; perId: number }[] = [];
    for (const k of [10, 100, 1000, CHAIN - 1]) {
      const id = `BENCH_19.09_PATCH_${String(k).padStart(5, "0")}`;
      const times: number[] = [];
      let size = 0;
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        const r = await client.queryDependencies({ patchIds: [id], recursive: true });
        times.push(performance.now() - t);
        size = r.patchIds.length;
      }
      times.sort((a, b) => a - b);
      // Subtract the fixed cost of a call (measured on the smallest answer) to see the growth.
      rows.push({ size, perId: percentile(times, 50) });
    }
    const fixed = rows[0]!.perId;
    for (const r of rows) {
      console.log(
        `  answer ${String(r.size).padStart(5)} ids: median ${fmtMs(r.perId)}  (${(((r.perId - fixed) * 1000) / Math.max(1, r.size - rows[0]!.size)).toFixed(2)} µs per extra id)`,
      );
    }
    const big = rows[rows.length - 1]!;
    const mid = rows[rows.length - 2]!;
    const slopeBig = (big.perId - fixed) / (big.size - rows[0]!.size);
    const slopeMid = (mid.perId - fixed) / (mid.size - rows[0]!.size);
    const linear = slopeBig <= slopeMid * 2.5;
    console.log(
      `  per-id cost ${(slopeMid * 1000).toFixed(2)} µs at ${mid.size} ids vs ${(slopeBig * 1000).toFixed(2)} µs at ${big.size} ids: ${linear ? "linear" : "NOT linear"} ${verdict(linear)}`,
    );
    console.log(`controller peak RSS: ${(ctl.peakRss() / 1048576).toFixed(1)} MB`);
    ch.close();
    ch2.close();
    bare.stop();
    await ctl.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const querySuite: import("./main.js").BenchSuite = {
  name: "query",
  description: `query with ${N} patches (64 in flight) against a bare grpc-js server; what-requires and query-dependencies latency and growth`,
  run: ({ log }) => runQueryBench(log),
};
