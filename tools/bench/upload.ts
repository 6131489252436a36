/**
 * Bench suite "upload": a large patch (BENCH_UPLOAD_MB MiB of RPM payload, default 1024) uploaded
 * through the gRPC stream to the real controller, verified and stored. Two ratios from the same
 * run: against the work it cannot avoid done by tools one after another (gzip -dc, openssl dgst
 * -sha256, openssl dgst -md5, cp; target <= 2.0), and against a bare grpc-js client-streaming
 * upload of the same file to a server that only writes it (target <= 1.3): that server runs in a
 * process of its own, as the controller does (one in the client's process is also timed and
 * shown: it skips the cross-process handoffs every real upload pays). Each timed run starts after
 * a `sync`. Controller peak RSS target: <= 150 MB. BENCH_UPLOAD_CACHE=DIR keeps the built patch
 * between runs; BENCH_UPLOAD_PERF=1 runs `perf stat` on the controller during its upload.
 */
import { generateKeyPairSync } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync, promises as fsp } from "node:fs";
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { createChannel, createClient } from "nice-grpc";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { PatchServiceDefinition, type UploadPatchRequest } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { buildBigRpm, sh } from "./verify.js";
import { startBenchController, fmtMB, verdict } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";

const CHUNK = 1 << 20;

async function* fileRequests(file: string): AsyncGenerator<UploadPatchRequest> {
  yield { payload: { $case: "header", value: { fileName: path.basename(file), sizeBytes: (await fsp.stat(file)).size } } };
  for await (const c of createReadStream(file, { highWaterMark: CHUNK })) yield { payload: { $case: "chunk", value: c as Buffer } };
}

/** A bare grpc-js server whose UploadPatch only writes the chunks to a file. */
async function bareUploadServer(outFile: string): Promise<{ endpoint: string; stop(): void }> {
  const def = PatchServiceDefinition.methods.uploadPatch;
  const server = new grpc.Server({ "grpc.max_receive_message_length": 8 << 20 });
  server.addService(
    {
      UploadPatch: {
        path: "/swpatch.v1.PatchService/UploadPatch",
        requestStream: true,
        responseStream: false,
        requestSerialize: (m: never) => Buffer.from(def.requestType.encode(m).finish()),
        requestDeserialize: (b: Buffer) => def.requestType.decode(b),
        responseSerialize: (m: never) => Buffer.from(def.responseType.encode(m).finish()),
        responseDeserialize: (b: Buffer) => def.responseType.decode(b),
      },
    } as unknown as grpc.ServiceDefinition,
    {
      UploadPatch: (call: grpc.ServerReadableStream<UploadPatchRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const out = createWriteStream(outFile);
        call.on("data", (m: UploadPatchRequest) => {
          if (m.payload?.$case === "chunk" && !out.write(m.payload.value)) {
            call.pause();
            out.once("drain", () => call.resume());
          }
        });
        call.on("end", () => out.end(() => cb(null, def.responseType.fromPartial({ patchId: "bare" }))));
      },
    } as grpc.UntypedServiceImplementation,
  );
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { endpoint: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

/**
 * Child-process half of the bare baseline: a bare upload server in a process of its own (as the
 * controller is), writing to `outFile`; prints "listening on HOST:PORT" and serves until killed.
 */
export async function childBareUpload(argv: string[]): Promise<number> {
  const s = await bareUploadServer(argv[0]!);
  process.stdout.write(`listening on ${s.endpoint}\n`);
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  s.stop();
  return 0;
}

/** Starts the bare server as its own process; its CPU is read from /proc. */
async function startBareProcess(outFile: string): Promise<{ endpoint: string; cpuSeconds(): number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [path.join(__dirname, "main.js"), "--child-bare-upload", outFile], { stdio: ["ignore", "pipe", "inherit"] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once("exit", (c) => reject(new Error(`bare upload server exited ${c}`)));
  });
  return {
    endpoint,
    cpuSeconds: () => {
      const f = readFileSync(`/proc/${proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return (Number(f[11]) + Number(f[12])) / 100;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

export const uploadSuite: BenchSuite = {
  name: "upload",
  description: "a large patch through the gRPC upload stream, verified and stored, vs tools and vs a bare grpc-js upload",
  async run({ log }) {
    const mb = Number(process.env.BENCH_UPLOAD_MB ?? 1024);
    const dir = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-upload-"));
    try {
      let t = performance.now();
      // BENCH_UPLOAD_CACHE=DIR keeps the built patch and its key there between runs (edit loop).
      const cache = process.env.BENCH_UPLOAD_CACHE;
      const pub = path.join(cache ?? dir, "pub.pem");
      const patchPath = path.join(cache ?? dir, "BENCH_UPLOAD_0001.patch");
      const cached = cache !== undefined && (await fsp.stat(patchPath).then((st) => st.size > mb * 1048576, () => false)) && (await fsp.stat(pub).then(() => true, () => false));
      if (!cached) {
        if (cache) await fsp.mkdir(cache, { recursive: true });
        const rpm = await buildBigRpm(dir, mb);
        const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        await fsp.writeFile(pub, publicKey.export({ type: "spki", format: "pem" }));
        const built = await buildPatch({ id: "BENCH_UPLOAD_0001", swVersion: "19.09", rpms: [rpm], signingKey: privateKey, outputDir: cache ?? dir, compressionLevel: 1 });
        if (built.path !== patchPath) throw new Error(`patch built at ${built.path}, expected ${patchPath}`);
        await fsp.rm(rpm);
      }
      const built = { path: patchPath };
      const size = (await fsp.stat(built.path)).size;
      log(`${cached ? "reused" : "built"} a ${fmtMB(size)} patch in ${((performance.now() - t) / 1000).toFixed(1)} s`);

      // Tools, one after another: the work an upload cannot avoid.
      const copy = path.join(dir, "copy.patch");
      const x = path.join(dir, "x");
      await fsp.mkdir(x);
      await sh("tar", ["xzf", built.path, "-C", x]);
      const g = await sh("sh", ["-c", `gzip -dc '${built.path}' > /dev/null`]);
      const s = await sh("openssl", ["dgst", "-sha256", path.join(x, "metadata.tar"), path.join(x, "software.tar")]);
      const m = await sh("openssl", ["dgst", "-md5", path.join(x, "metadata.tar"), path.join(x, "software.tar")]);
      await sh("sync", []);
      const c = await sh("cp", [built.path, copy]);
      await fsp.rm(x, { recursive: true, force: true });
      await fsp.rm(copy, { force: true });
      const tools = g + s + m + c;
      // node:zlib's gunzip of the patch (this process's CPU, all threads): the inflate every
      // upload needs, for the floor below (GNU gzip above is far slower than zlib).
      await sh("sync", []);
      const z0 = process.cpuUsage();
      await pipeline(createReadStream(built.path, { highWaterMark: CHUNK }), zlib.createGunzip({ chunkSize: CHUNK }), new Writable({ write: (_c, _e, cb) => cb() }));
      const zu = process.cpuUsage(z0);
      const inflateCpuMs = (zu.user + zu.system) / 1000;
      log(`tools: gzip -dc ${g.toFixed(0)} ms + openssl sha256 ${s.toFixed(0)} ms + openssl md5 ${m.toFixed(0)} ms + cp ${c.toFixed(0)} ms = ${tools.toFixed(0)} ms`);

      // Bare grpc-js upload of the same file: to a server in this process, and to one in a process
      // of its own (the controller's topology: the client and the server on separate event loops).
      const bareOut = path.join(dir, "bare.out");
      const bare = await bareUploadServer(bareOut);
      const bch = createChannel(bare.endpoint);
      const bclient = createClient(PatchServiceDefinition, bch);
      // Each timed run starts with no dirty pages left by the one before (writeback would compete).
      await sh("sync", []);
      const bareSelf0 = process.cpuUsage();
      t = performance.now();
      await bclient.uploadPatch(fileRequests(built.path));
      const bareInMs = performance.now() - t;
      const bareSelf = process.cpuUsage(bareSelf0);
      bch.close();
      bare.stop();
      await fsp.rm(bareOut, { force: true });
      log(`bare grpc-js upload, server in this process: ${bareInMs.toFixed(0)} ms (${((size / 1048576) / (bareInMs / 1000)).toFixed(0)} MB/s), CPU ${((bareSelf.user + bareSelf.system) / 1e6).toFixed(2)} s`);

      // Rounds: bare (server in its own process) then the controller (a fresh one, empty data
      // dir), BENCH_UPLOAD_ROUNDS times (default 3); the ratio is of the medians, so a disturbance
      // of this shared machine during one run moves neither side much.
      const rounds = Math.max(1, Number(process.env.BENCH_UPLOAD_ROUNDS ?? 3));
      const bareRuns: { ms: number; serverCpu: number; clientCpu: number }[] = [];
      const ourRuns: { ms: number; cpu: number; clientCpu: number; rss: number }[] = [];
      let info = "";
      for (let round = 1; round <= rounds; round++) {
        const bp = await startBareProcess(bareOut);
        const pch = createChannel(bp.endpoint);
        const pclient = createClient(PatchServiceDefinition, pch);
        // Each timed run starts with no dirty pages left by the one before (writeback would compete).
        await sh("sync", []);
        const pSelf0 = process.cpuUsage();
        const pCpu0 = bp.cpuSeconds();
        t = performance.now();
        await pclient.uploadPatch(fileRequests(built.path));
        const bareMs = performance.now() - t;
        const pSelf = process.cpuUsage(pSelf0);
        bareRuns.push({ ms: bareMs, serverCpu: bp.cpuSeconds() - pCpu0, clientCpu: (pSelf.user + pSelf.system) / 1e6 });
        pch.close();
        await bp.stop();
        await fsp.rm(bareOut, { force: true });

        // The controller: verify while streaming, store.
        const dataDir = path.join(dir, `data-${round}`);
        const ctl = await startBenchController(dataDir, ["--trust", `${pub}:bench`]);
        const ch = createChannel(ctl.endpoint);
        const client = createClient(PatchServiceDefinition, ch, ctl.auth);
        await sh("sync", []);
        const th0 = ctl.cpuByThread();
        const self0 = process.cpuUsage();
        const cpu0 = ctl.cpuSeconds();
        t = performance.now();
        const perf = process.env.BENCH_UPLOAD_PERF ? spawn("perf", ["stat", "-e", "context-switches,cpu-migrations,task-clock,page-faults", "-p", String(ctl.proc.pid)], { stdio: "inherit" }) : undefined;
        const r = await client.uploadPatch(fileRequests(built.path));
        perf?.kill("SIGINT");
        const oursMs = performance.now() - t;
        const cpu = ctl.cpuSeconds() - cpu0;
        const selfCpu = process.cpuUsage(self0);
        const th1 = ctl.cpuByThread();
        const main = (th1.get(String(ctl.proc.pid)) ?? 0) - (th0.get(String(ctl.proc.pid)) ?? 0);
        const others = [...th1].filter(([id]) => id !== String(ctl.proc.pid)).map(([id, c]) => (c - (th0.get(id) ?? 0)).toFixed(2)).filter((x) => x !== "0.00");
        ourRuns.push({ ms: oursMs, cpu, clientCpu: (selfCpu.user + selfCpu.system) / 1e6, rss: ctl.peakRss() });
        info = r.messages?.info.trim() ?? "";
        ch.close();
        await ctl.stop();
        await fsp.rm(dataDir, { recursive: true, force: true });
        const b = bareRuns[bareRuns.length - 1]!;
        const o = ourRuns[ourRuns.length - 1]!;
        log(
          `round ${round}: bare ${b.ms.toFixed(0)} ms (server CPU ${b.serverCpu.toFixed(2)} s, client ${b.clientCpu.toFixed(2)} s); ` +
            `controller ${o.ms.toFixed(0)} ms (CPU ${cpu.toFixed(2)} s: main ${main.toFixed(2)}, others ${others.join(" ")}; client ${o.clientCpu.toFixed(2)} s) = ${(o.ms / b.ms).toFixed(2)}`,
        );
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      const bareMs = median(bareRuns.map((x) => x.ms));
      const oursMs = median(ourRuns.map((x) => x.ms));
      const rss = Math.max(...ourRuns.map((x) => x.rss));
      log(`bare grpc-js upload, server in its own process (median of ${rounds}): ${bareMs.toFixed(0)} ms (${((size / 1048576) / (bareMs / 1000)).toFixed(0)} MB/s)`);
      log(`controller upload (median of ${rounds}): ${oursMs.toFixed(0)} ms (${((size / 1048576) / (oursMs / 1000)).toFixed(0)} MB/s), ${info}`);
      const r1 = oursMs / tools;
      const r2 = oursMs / bareMs;
      // What no implementation can go below on this machine: the bare run's CPU (client and
      // server) plus the work a verified upload cannot skip: gunzip (node:zlib, timed above), md5
      // of software.tar for "signature", sha256 of the signed members for signature.v2, sha256
      // of each RPM for the blob store (timed above with openssl), spread over every core with
      // none ever idle.
      const bareCpu = median(bareRuns.map((x) => x.serverCpu + x.clientCpu));
      const floorMs = (bareCpu * 1000 + m + 2 * s + inflateCpuMs) / os.cpus().length;
      log(`ratio controller/tools = ${r1.toFixed(2)} (target <= 2.0): ${verdict(r1 <= 2.0)}`);
      log(`ratio controller/bare grpc-js upload (server in its own process) = ${r2.toFixed(2)} (target <= 1.3): ${verdict(r2 <= 1.3)}`);
      log(`  for reference: vs the bare server in the client's process ${(oursMs / bareInMs).toFixed(2)}; floor on ${os.cpus().length} cores (bare CPU + gunzip ${inflateCpuMs.toFixed(0)} ms + md5 + 2 x sha256, all cores busy) ${floorMs.toFixed(0)} ms = ratio ${(floorMs / bareMs).toFixed(2)}`);
      log(`controller peak RSS = ${fmtMB(rss)} (target <= 150 MB): ${verdict(rss <= 150 * 1048576)}`);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  },
};
