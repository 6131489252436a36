/**
 * Bench suite "upload": a large patch (BENCH_UPLOAD_MB MiB of RPM payload, default 1024) uploaded
 * through the gRPC stream to the real controller, verified and stored. Two ratios from the same
 * run: against the work it cannot avoid done by tools one after another (gzip -dc, openssl dgst
 * -sha256, openssl dgst -md5, cp; target <= 2.0), and against a bare grpc-js client-streaming
 * upload of the same file to a server that only writes it (target <= 1.3). Controller peak RSS
 * target: <= 150 MB.
 */
import { generateKeyPairSync } from "node:crypto";
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
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

export const uploadSuite: BenchSuite = {
  name: "upload",
  description: "a large patch through the gRPC upload stream, verified and stored, vs tools and vs a bare grpc-js upload",
  async run({ log }) {
    const mb = Number(process.env.BENCH_UPLOAD_MB ?? 1024);
    const dir = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-upload-"));
    try {
      let t = performance.now();
      const rpm = await buildBigRpm(dir, mb);
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const pub = path.join(dir, "pub.pem");
      await fsp.writeFile(pub, publicKey.export({ type: "spki", format: "pem" }));
      const built = await buildPatch({ id: "BENCH_UPLOAD_0001", swVersion: "19.09", rpms: [rpm], signingKey: privateKey, outputDir: dir, compressionLevel: 1 });
      await fsp.rm(rpm);
      const size = (await fsp.stat(built.path)).size;
      log(`built a ${fmtMB(size)} patch in ${((performance.now() - t) / 1000).toFixed(1)} s`);

      // Tools, one after another: the work an upload cannot avoid.
      const copy = path.join(dir, "copy.patch");
      const x = path.join(dir, "x");
      await fsp.mkdir(x);
      await sh("tar", ["xzf", built.path, "-C", x]);
      const g = await sh("sh", ["-c", `gzip -dc '${built.path}' > /dev/null`]);
      const s = await sh("openssl", ["dgst", "-sha256", path.join(x, "metadata.tar"), path.join(x, "software.tar")]);
      const m = await sh("openssl", ["dgst", "-md5", path.join(x, "metadata.tar"), path.join(x, "software.tar")]);
      const c = await sh("cp", [built.path, copy]);
      await fsp.rm(x, { recursive: true, force: true });
      await fsp.rm(copy, { force: true });
      const tools = g + s + m + c;
      log(`tools: gzip -dc ${g.toFixed(0)} ms + openssl sha256 ${s.toFixed(0)} ms + openssl md5 ${m.toFixed(0)} ms + cp ${c.toFixed(0)} ms = ${tools.toFixed(0)} ms`);

      // Bare grpc-js upload of the same file.
      const bareOut = path.join(dir, "bare.out");
      const bare = await bareUploadServer(bareOut);
      const bch = createChannel(bare.endpoint);
      const bclient = createClient(PatchServiceDefinition, bch);
      t = performance.now();
      await bclient.uploadPatch(fileRequests(built.path));
      const bareMs = performance.now() - t;
      bch.close();
      bare.stop();
      await fsp.rm(bareOut, { force: true });
      log(`bare grpc-js upload (writes the file only): ${bareMs.toFixed(0)} ms (${((size / 1048576) / (bareMs / 1000)).toFixed(0)} MB/s)`);

      // The controller: verify while streaming, store.
      const dataDir = path.join(dir, "data");
      const ctl = await startBenchController(dataDir, ["--trust", `${pub}:bench`]);
      const ch = createChannel(ctl.endpoint);
      const client = createClient(PatchServiceDefinition, ch, ctl.auth);
      const th0 = ctl.cpuByThread();
      const self0 = process.cpuUsage();
      const cpu0 = ctl.cpuSeconds();
      t = performance.now();
      const r = await client.uploadPatch(fileRequests(built.path));
      const oursMs = performance.now() - t;
      const cpu = ctl.cpuSeconds() - cpu0;
      const selfCpu = process.cpuUsage(self0);
      const th1 = ctl.cpuByThread();
      const main = (th1.get(String(ctl.proc.pid)) ?? 0) - (th0.get(String(ctl.proc.pid)) ?? 0);
      log(
        `controller CPU by thread: main ${main.toFixed(2)} s, others ${[...th1].filter(([t]) => t !== String(ctl.proc.pid)).map(([t, c]) => (c - (th0.get(t) ?? 0)).toFixed(2)).filter((x) => x !== "0.00").join(" ")} s; ` +
          `client (this process) ${((selfCpu.user + selfCpu.system) / 1e6).toFixed(2)} s`,
      );
      const rss = ctl.peakRss();
      ch.close();
      await ctl.stop();
      log(`controller upload: ${oursMs.toFixed(0)} ms (${((size / 1048576) / (oursMs / 1000)).toFixed(0)} MB/s), ${r.messages?.info.trim()}, controller CPU ${cpu.toFixed(1)} s`);
      const r1 = oursMs / tools;
      const r2 = oursMs / bareMs;
      log(`ratio controller/tools = ${r1.toFixed(2)} (target <= 2.0): ${verdict(r1 <= 2.0)}`);
      log(`ratio controller/bare grpc-js upload = ${r2.toFixed(2)} (target <= 1.3): ${verdict(r2 <= 1.3)}`);
      log(`controller peak RSS = ${fmtMB(rss)} (target <= 150 MB): ${verdict(rss <= 150 * 1048576)}`);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  },
};
