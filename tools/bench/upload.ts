/**
 * Bench suite "upload": a large patch (BENCH_UPLOAD_MB MiB of RPM payload, default 1024) uploaded
 * through the gRPC stream to the real controller, verified and stored. Two ratios from the same
 * run: against the work it cannot avoid done by tools one after another (gzip -dc, openssl dgst
 * -sha256, openssl dgst -md5, cp; target <= 2.0), and against a bare grpc-js client-streaming
 * upload of the same file to a server that only writes it (target <= 1.3): that server runs in a
 * process of its own, as the controller does, with grpc-js's defaults (HTTP/2's 64 KiB windows).
 * Every timed upload comes from a fresh client process; each starts after a `sync`. Controller
 * peak RSS target: <= 150 MB. BENCH_UPLOAD_CACHE=DIR keeps the built patch between runs;
 * BENCH_UPLOAD_PERF=1 runs `perf stat` on the controller during its upload.
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
import { createChannel, createClient, Metadata } from "nice-grpc";
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

interface UploadRun {
  ms: number;
  serverCpu: number;
  clientCpu: number;
  /** Server peak RSS (controller only; 0 for the bare server). */
  rss: number;
  info: string;
}

function fmtRun(r: UploadRun): string {
  return `${r.ms.toFixed(0)} ms (server CPU ${r.serverCpu.toFixed(2)} s, client ${r.clientCpu.toFixed(2)} s)`;
}

/**
 * One upload from a fresh client process (`--child-upload-client`), timed there from the first
 * message to the answer; the server's CPU over the same span is read here.
 */
async function timedUpload(endpoint: string, file: string, token: string | undefined, serverCpu: () => number, peakRss: () => number): Promise<UploadRun> {
  const proc = spawn(process.execPath, [path.join(__dirname, "main.js"), "--child-upload-client", endpoint, file, ...(token ? [token] : [])], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready\n")) resolve();
    });
    proc.once("exit", (code) => reject(new Error(`upload client exited ${code} before it was ready: ${out.trim()}`)));
  });
  const cpu0 = serverCpu();
  proc.stdin!.end("go\n");
  const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve));
  const cpu = serverCpu() - cpu0;
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || !line) throw new Error(`upload client exited ${code}: ${out.trim()}`);
  const r = JSON.parse(line) as { ms: number; cpu: number; info: string };
  return { ms: r.ms, serverCpu: cpu, clientCpu: r.cpu, rss: peakRss(), info: r.info };
}

/**
 * Child-process client: connects, prints "ready", waits for a line on stdin (so the parent can read
 * the server's CPU first), uploads `file`, prints {ms, cpu, info} as JSON.
 */
export async function childUploadClient(argv: string[]): Promise<number> {
  const [endpoint, file, token] = argv as [string, string, string | undefined];
  const ch = createChannel(endpoint);
  const client = createClient(PatchServiceDefinition, ch, token ? { "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } } : {});
  const go = new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
  process.stdout.write("ready\n");
  await go;
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const r = await client.uploadPatch(fileRequests(file));
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ ms, cpu: (cpu.user + cpu.system) / 1e6, info: r.messages?.info.trim() ?? "" }) + "\n");
  ch.close();
  process.stdin.destroy();
  return 0;
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
      const t = performance.now();
      // BENCH_UPLOAD_CACHE=DIR keeps the built patch and its key there between runs (edit loop).
      const cache = process.env.BENCH_UPLOAD_CACHE;
      const pub = path.join(cache ?? dir, "pub.pem");
      const patchPath = path.join(cache ?? dir, "BENCH_UPLOAD_0001.patch");
      const cached =
        cache !== undefined &&
        (await fsp.stat(patchPath).then(
          (st) => st.size > mb * 1048576,
          () => false,
        )) &&
        (await fsp.stat(pub).then(
          () => true,
          () => false,
        ));
      if (!cached) {
        if (cache) await fsp.mkdir(cache, { recursive: true });
        const rpm = await buildBigRpm(dir, mb);
        const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        await fsp.writeFile(pub, publicKey.export({ type: "spki", format: "pem" }));
        const built = await buildPatch({
          id: "BENCH_UPLOAD_0001",
          swVersion: "19.09",
          rpms: [rpm],
          signingKey: privateKey,
          outputDir: cache ?? dir,
          compressionLevel: 1,
        });
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

      // Rounds, BENCH_UPLOAD_ROUNDS of them (default 5): the bare server (its own process), the
      // controller as configured by default, and the controller with a 1 MiB HTTP/2 window
      // (--http2-window, for reference), each a fresh process with an empty data dir, each upload
      // from a fresh client process (a long-lived client slows down run after run, which would
      // flatter whichever side runs later). The ratio is of the medians.
      const rounds = Math.max(1, Number(process.env.BENCH_UPLOAD_ROUNDS ?? 5));
      const bareOut = path.join(dir, "bare.out");
      const runs = { bare: [] as UploadRun[], controller: [] as UploadRun[], window: [] as UploadRun[] };
      let info = "";
      for (let round = 1; round <= rounds; round++) {
        const bp = await startBareProcess(bareOut);
        await sh("sync", []);
        const b = await timedUpload(bp.endpoint, built.path, undefined, bp.cpuSeconds, () => 0);
        await bp.stop();
        await fsp.rm(bareOut, { force: true });
        runs.bare.push(b);

        const line: string[] = [`round ${round}: bare ${fmtRun(b)}`];
        for (const [key, extra] of [
          ["controller", []],
          ["window", ["--http2-window", String(1 << 20)]],
        ] as const) {
          const dataDir = path.join(dir, `data-${round}-${key}`);
          const ctl = await startBenchController(dataDir, ["--trust", `${pub}:bench`, ...extra]);
          await sh("sync", []);
          const th0 = ctl.cpuByThread();
          const perf =
            key === "controller" && process.env.BENCH_UPLOAD_PERF
              ? spawn("perf", ["stat", "-e", "context-switches,cpu-migrations,task-clock,page-faults", "-p", String(ctl.proc.pid)], { stdio: "inherit" })
              : undefined;
          const o = await timedUpload(ctl.endpoint, built.path, ctl.token, ctl.cpuSeconds, ctl.peakRss);
          perf?.kill("SIGINT");
          const th1 = ctl.cpuByThread();
          info = o.info;
          await ctl.stop();
          await fsp.rm(dataDir, { recursive: true, force: true });
          runs[key].push(o);
          if (key === "controller") {
            const main = (th1.get(String(ctl.proc.pid)) ?? 0) - (th0.get(String(ctl.proc.pid)) ?? 0);
            const others = [...th1]
              .filter(([id]) => id !== String(ctl.proc.pid))
              .map(([id, c]) => (c - (th0.get(id) ?? 0)).toFixed(2))
              .filter((x) => x !== "0.00");
            line.push(`controller ${fmtRun(o)}, threads: main ${main.toFixed(2)}, others ${others.join(" ")}; = ${(o.ms / b.ms).toFixed(2)}`);
          } else {
            line.push(`with --http2-window 1 MiB ${fmtRun(o)} = ${(o.ms / b.ms).toFixed(2)}`);
          }
        }
        log(line.join("; "));
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      const bareMs = median(runs.bare.map((x) => x.ms));
      const oursMs = median(runs.controller.map((x) => x.ms));
      const winMs = median(runs.window.map((x) => x.ms));
      const rss = Math.max(...runs.controller.map((x) => x.rss));
      const winRss = Math.max(...runs.window.map((x) => x.rss));
      const cores = os.cpus().length;
      const busy = (rs: UploadRun[]) => median(rs.map((x) => (x.serverCpu + x.clientCpu) / (x.ms / 1000)));
      const bareBusy = busy(runs.bare);
      log(
        `bare grpc-js upload (grpc-js defaults), server in its own process (median of ${rounds}): ${bareMs.toFixed(0)} ms (${(size / 1048576 / (bareMs / 1000)).toFixed(0)} MB/s), ${bareBusy.toFixed(2)} of ${cores} cores busy`,
      );
      log(
        `controller upload (median of ${rounds}): ${oursMs.toFixed(0)} ms (${(size / 1048576 / (oursMs / 1000)).toFixed(0)} MB/s), ${busy(runs.controller).toFixed(2)} of ${cores} cores busy, ${info}`,
      );
      const r1 = oursMs / tools;
      const r2 = oursMs / bareMs;
      // What no implementation can go below on this machine: the bare run's CPU (client and
      // server) plus the work a verified upload cannot skip: gunzip (node:zlib, timed above), md5
      // of software.tar for "signature", sha256 of the signed members for signature.v2, sha256
      // of each RPM for the blob store (timed above with openssl), spread over every core with
      // none ever idle.
      const bareCpu = median(runs.bare.map((x) => x.serverCpu + x.clientCpu));
      const floorMs = (bareCpu * 1000 + m + 2 * s + inflateCpuMs) / cores;
      // The same work at the utilisation the bare upload itself reaches.
      const floorAtBareBusyMs = (floorMs * cores) / bareBusy;
      log(`ratio controller/tools = ${r1.toFixed(2)} (target <= 2.0): ${verdict(r1 <= 2.0)}`);
      log(`ratio controller/bare grpc-js upload (server in its own process) = ${r2.toFixed(2)} (target <= 1.3): ${verdict(r2 <= 1.3)}`);
      log(
        `  floor on ${cores} cores (bare CPU ${bareCpu.toFixed(2)} s + gunzip ${inflateCpuMs.toFixed(0)} ms + md5 + 2 x sha256, every core busy all the time) ${floorMs.toFixed(0)} ms = ratio ${(floorMs / bareMs).toFixed(2)}; ` +
          `at the bare run's ${bareBusy.toFixed(2)} busy cores ${floorAtBareBusyMs.toFixed(0)} ms = ratio ${(floorAtBareBusyMs / bareMs).toFixed(2)}`,
      );
      log(`  with --http2-window 1 MiB: ${winMs.toFixed(0)} ms = ratio ${(winMs / bareMs).toFixed(2)}, peak RSS ${fmtMB(winRss)}`);
      log(`controller peak RSS = ${fmtMB(rss)} (target <= 150 MB): ${verdict(rss <= 150 * 1048576)}`);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  },
};
