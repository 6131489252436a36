/**
 * Bench suite "http" (issue 17): the controller's HTTP listeners under load, from a separate client
 * process over keep-alive connections (Node's http.Agent): GET /patch/query (four patches in the
 * repository) at concurrency 1 and 32, a static console file (index.html and a 230 KB asset), the
 * VIM GET strategy, and POST /patch/upload (multipart, a ~1 MiB and a ~30 MiB patch: time per upload
 * and the controller's RSS growth: its highest VmRSS sampled every 20 ms during the uploads less
 * its VmRSS before them). Each load runs BENCH_HTTP_SECONDS (default 5) after a 1 s
 * warm-up; figures: requests/s, p50/p99 latency and the controller's CPU per request (less
 * sensitive to a busy machine than requests/s). With BENCH_BASELINE_DIST=DIR (or `--baseline-dist
 * DIR` on the bench command line), DIR being another checkout's built dist/ (e.g. the hand-written
 * HTTP stack of d45bd8e), the same load runs against that build too and before/now/ratio lines are
 * printed. BENCH_HTTP_ROUNDS (default 2) rounds, alternating which build goes first; the
 * comparison takes each figure's best round (the machine is shared: load only makes figures worse).
 * Where two CPUs can be pinned the controller runs on CPU 0 and the client on CPU 1.
 */
import { spawn } from "node:child_process";
import { createReadStream, readFileSync, promises as fsp } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { buildBigRpm } from "./verify.js";
import { canPin, fmtMB, percentile, startBenchController, type BenchController } from "./controller-proc.js";
import type { BenchSuite } from "./main.js";

const ROOT = path.resolve(__dirname, "../../..");

interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  conc: number;
  seconds: number;
}

interface LoadResult {
  n: number;
  /** Requests answered from the start, warm-up and the last in flight included (for CPU per request). */
  total: number;
  rps: number;
  p50: number;
  p99: number;
  /** Status code -> count. */
  statuses: Record<string, number>;
  errors: number;
}

interface UploadSpec {
  api: string;
  file: string;
  id: string;
  n: number;
}

interface UploadResult {
  ms: number[];
  statuses: Record<string, number>;
  info: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function request(agent: http.Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.on("data", () => undefined);
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/**
 * Child process (`--child-http-load SPEC_JSON`): `conc` loops over keep-alive connections, each
 * sending its next request when the previous answer has been read; 1 s warm-up, then
 * `seconds` measured. Prints a LoadResult as JSON.
 */
export async function childHttpLoad(argv: string[]): Promise<number> {
  const spec = JSON.parse(argv[0]!) as LoadSpec;
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.conc });
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let total = 0;
  let measuring = false;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const t = performance.now();
      try {
        const s = await request(agent, spec.url, spec.headers);
        total++;
        if (measuring) {
          lat.push(performance.now() - t);
          statuses[s] = (statuses[s] ?? 0) + 1;
        }
      } catch {
        if (measuring) errors++;
      }
    }
  };
  const loops = Array.from({ length: spec.conc }, loop);
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, spec.seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  lat.sort((a, b) => a - b);
  const out: LoadResult = { n: lat.length, total, rps: lat.length / elapsed, p50: percentile(lat, 50), p99: percentile(lat, 99), statuses, errors };
  process.stdout.write(JSON.stringify(out) + "\n");
  return 0;
}

/** POST `file` as the one multipart `file` field of /patch/upload; resolves status and body. */
function uploadOnce(agent: http.Agent, api: string, file: string, size: number): Promise<{ status: number; body: string }> {
  const boundary = "----swpatchbench" + Math.random().toString(16).slice(2);
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file)}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${api}/patch/upload`,
      { method: "POST", agent, headers: { "Content-Type": `multipart/form-data; boundary=${boundary}`, "Content-Length": String(head.length + size + tail.length) } },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.write(head);
    const rs = createReadStream(file, { highWaterMark: 256 * 1024 });
    rs.on("error", reject);
    rs.pipe(req, { end: false });
    rs.on("end", () => req.end(tail));
  });
}

function post(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { "Content-Length": "0" } }, (res) => {
      res.on("data", () => undefined);
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * Child process (`--child-http-upload SPEC_JSON`): uploads the patch `n` times over one keep-alive
 * connection, deleting it (POST /patch/delete/ID, not timed) after each; prints an UploadResult.
 */
export async function childHttpUpload(argv: string[]): Promise<number> {
  const spec = JSON.parse(argv[0]!) as UploadSpec;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const size = (await fsp.stat(spec.file)).size;
  const out: UploadResult = { ms: [], statuses: {}, info: "" };
  for (let i = 0; i < spec.n; i++) {
    const t = performance.now();
    const r = await uploadOnce(agent, spec.api, spec.file, size);
    out.ms.push(performance.now() - t);
    out.statuses[r.status] = (out.statuses[r.status] ?? 0) + 1;
    if (i === 0) out.info = r.body.replace(/\s+/g, " ").slice(0, 160);
    await post(agent, `${spec.api}/patch/delete/${spec.id}`);
  }
  agent.destroy();
  process.stdout.write(JSON.stringify(out) + "\n");
  return 0;
}

async function runChild<T>(mode: string, spec: object): Promise<T> {
  const pin = canPin();
  const args = [path.join(__dirname, "main.js"), mode, JSON.stringify(spec)];
  const proc = spawn(pin ? "taskset" : process.execPath, pin ? ["-c", "1", process.execPath, ...args] : args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve));
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || !line) throw new Error(`${mode} exited ${code}: ${out.trim()}`);
  return JSON.parse(line) as T;
}

/** Figures of one build, by measurement name. */
type Figures = Map<string, { value: number; unit: string; higherIsBetter: boolean; text: string }>;

interface Fixture {
  dir: string;
  staticDir: string;
  queryPatches: string[];
  uploads: { label: string; file: string; id: string; n: number }[];
}

async function prepare(dir: string): Promise<Fixture> {
  const key = readFileSync(path.join(ROOT, "test/fixtures/starlingx/dev-private-key.pem"));
  const build = async (id: string, mb: number) => {
    const sub = path.join(dir, `rpm-${id}`);
    await fsp.mkdir(sub);
    const rpm = await buildBigRpm(sub, mb, `bench-http-${id.slice("BENCH_HTTP_".length).toLowerCase()}`);
    const b = await buildPatch({ id, swVersion: "19.09", rpms: [rpm], signingKey: key, outputDir: dir, compressionLevel: 1 });
    await fsp.rm(sub, { recursive: true, force: true });
    return b.path;
  };
  const queryPatches: string[] = [];
  for (let i = 1; i <= 4; i++) queryPatches.push(await build(`BENCH_HTTP_Q${i}`, 0));
  const uploads = [
    { label: "1 MiB", file: await build("BENCH_HTTP_UP1M", 1), id: "BENCH_HTTP_UP1M", n: Number(process.env.BENCH_HTTP_UPLOADS_1M ?? 20) },
    { label: "30 MiB", file: await build("BENCH_HTTP_UP30M", 30), id: "BENCH_HTTP_UP30M", n: Number(process.env.BENCH_HTTP_UPLOADS_30M ?? 4) },
  ];
  // A console stand-in (both builds serve the same files): an index page and one larger asset.
  const staticDir = path.join(dir, "web");
  await fsp.mkdir(path.join(staticDir, "assets"), { recursive: true });
  await fsp.writeFile(
    path.join(staticDir, "index.html"),
    `<!doctype html><html><head><meta charset="utf-8"><title>sw-patch</title><script type="module" src="/assets/app-bench.js"></script></head><body><div id="app"></div>${"<!-- pad -->".repeat(80)}</body></html>\n`,
  );
  await fsp.writeFile(
    path.join(staticDir, "assets/app-bench.js"),
    Array.from({ length: 4000 }, (_, i) => `export const v${i} = ${JSON.stringify("x".repeat(30) + i)};`).join("\n"),
  );
  return { dir, staticDir, queryPatches, uploads };
}

function vmRss(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
}

function fmtStatuses(s: Record<string, number>, errors = 0): string {
  return Object.entries(s)
    .map(([k, v]) => `${k}x${v}`)
    .concat(errors ? [`errors x${errors}`] : [])
    .join(" ");
}

/** Runs every load against one build (`root`: that checkout; undefined: this one). */
async function measure(fx: Fixture, label: string, root: string | undefined, log: (l: string) => void): Promise<Figures> {
  const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
  const dataDir = await fsp.mkdtemp(path.join(fx.dir, `data-${label}-`));
  const [apiPort, webPort, vimPort] = [await freePort(), await freePort(), await freePort()];
  const flags = [
    "--patch-api-listen",
    `127.0.0.1:${apiPort}`,
    "--patch-api-local-trust",
    "--web-listen",
    `127.0.0.1:${webPort}`,
    "--web-static-dir",
    fx.staticDir,
    "--vim-listen",
    `127.0.0.1:${vimPort}`,
  ];
  const ctl: BenchController = await startBenchController(dataDir, flags, {}, { cpus: "0", ...(root ? { root } : {}) });
  const fig: Figures = new Map();
  const api = `http://127.0.0.1:${apiPort}`;
  try {
    const agent = new http.Agent({ keepAlive: true });
    for (const f of fx.queryPatches) {
      const r = await uploadOnce(agent, api, f, (await fsp.stat(f)).size);
      if (r.status !== 200 || !/now available/.test(r.body)) log(`${label}: seeding ${path.basename(f)}: ${r.status} ${r.body.slice(0, 200)}`);
    }
    agent.destroy();
    const loads: [string, LoadSpec][] = [
      ["GET /patch/query c=1", { url: `${api}/patch/query`, headers: {}, conc: 1, seconds }],
      ["GET /patch/query c=32", { url: `${api}/patch/query`, headers: {}, conc: 32, seconds }],
      ["GET /index.html c=32", { url: `http://127.0.0.1:${webPort}/index.html`, headers: {}, conc: 32, seconds }],
      ["GET /assets/app-bench.js c=32", { url: `http://127.0.0.1:${webPort}/assets/app-bench.js`, headers: {}, conc: 32, seconds }],
      [
        "VIM GET strategy c=32",
        { url: `http://127.0.0.1:${vimPort}/api/orchestration/sw-patch/strategy`, headers: { "X-Auth-Token": ctl.token, Accept: "application/json" }, conc: 32, seconds },
      ],
    ];
    for (const [name, spec] of loads) {
      const cpu0 = ctl.cpuSeconds();
      const r = await runChild<LoadResult>("--child-http-load", spec);
      const cpuPerReq = r.total ? ((ctl.cpuSeconds() - cpu0) / r.total) * 1e6 : NaN;
      log(
        `${label}: ${name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, controller CPU ${cpuPerReq.toFixed(0)} µs/req [${fmtStatuses(r.statuses, r.errors)}]`,
      );
      fig.set(`${name} req/s`, { value: r.rps, unit: "req/s", higherIsBetter: true, text: r.rps.toFixed(0) });
      fig.set(`${name} p50`, { value: r.p50, unit: "ms", higherIsBetter: false, text: r.p50.toFixed(2) });
      fig.set(`${name} p99`, { value: r.p99, unit: "ms", higherIsBetter: false, text: r.p99.toFixed(2) });
      fig.set(`${name} CPU/req`, { value: cpuPerReq, unit: "µs", higherIsBetter: false, text: cpuPerReq.toFixed(0) });
    }
    for (const u of fx.uploads) {
      const size = (await fsp.stat(u.file)).size;
      const rss0 = vmRss(ctl.proc.pid!);
      const cpu0 = ctl.cpuSeconds();
      // The controller's resident set sampled while the uploads run: growth = highest sample - before.
      let rssMax = rss0;
      const sampler = setInterval(() => (rssMax = Math.max(rssMax, vmRss(ctl.proc.pid!))), 20);
      const r = await runChild<UploadResult>("--child-http-upload", { api, file: u.file, id: u.id, n: u.n } satisfies UploadSpec).finally(() => clearInterval(sampler));
      const cpu = (ctl.cpuSeconds() - cpu0) / u.n;
      const sorted = [...r.ms].sort((a, b) => a - b);
      const med = percentile(sorted, 50);
      const mbps = size / 1048576 / (med / 1000);
      const rss1 = vmRss(ctl.proc.pid!);
      const peak = ctl.peakRss();
      log(
        `${label}: POST /patch/upload ${u.label} (${fmtMB(size)}) x${u.n}: median ${med.toFixed(0)} ms (${mbps.toFixed(1)} MB/s), max ${sorted[sorted.length - 1]!.toFixed(0)} ms, ` +
          `controller CPU ${cpu.toFixed(3)} s/upload (incl. verify + delete), RSS ${fmtMB(rss0)} before, ${fmtMB(rssMax)} at most during, ${fmtMB(rss1)} after ` +
          `(process peak ${fmtMB(peak)}) [${fmtStatuses(r.statuses)}] ${r.info.slice(0, 80)}`,
      );
      fig.set(`upload ${u.label} median`, { value: med, unit: "ms", higherIsBetter: false, text: med.toFixed(0) });
      fig.set(`upload ${u.label} CPU/upload`, { value: cpu * 1000, unit: "ms", higherIsBetter: false, text: (cpu * 1000).toFixed(0) });
      fig.set(`upload ${u.label} RSS growth`, { value: (rssMax - rss0) / 1048576, unit: "MB", higherIsBetter: false, text: ((rssMax - rss0) / 1048576).toFixed(1) });
      fig.set(`upload ${u.label} peak RSS`, { value: peak / 1048576, unit: "MB", higherIsBetter: false, text: (peak / 1048576).toFixed(1) });
    }
  } finally {
    await ctl.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
  return fig;
}

/** Per figure, the better of two rounds (a shared machine only ever makes a figure worse). */
function best(a: Figures | undefined, b: Figures): Figures {
  if (!a) return b;
  const out: Figures = new Map(a);
  for (const [k, v] of b) {
    const o = a.get(k);
    if (!o || (v.higherIsBetter ? v.value > o.value : v.value < o.value)) out.set(k, v);
  }
  return out;
}

export const httpSuite: BenchSuite = {
  name: "http",
  description: "patch REST API, VIM API and console static files under keep-alive load (fastify); before/after with BENCH_BASELINE_DIST",
  async run({ log }) {
    const baselineDist = process.env.BENCH_BASELINE_DIST;
    const dir = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-http-"));
    try {
      const t = performance.now();
      const fx = await prepare(dir);
      log(
        `built 4 small patches, a 1 MiB and a 30 MiB patch in ${((performance.now() - t) / 1000).toFixed(1)} s; pinned: ${canPin() ? "controller CPU 0, client CPU 1" : "no"}`,
      );
      const rounds = Math.max(1, Number(process.env.BENCH_HTTP_ROUNDS ?? 2));
      let before: Figures | undefined;
      let now: Figures | undefined;
      for (let r = 0; r < rounds; r++) {
        // Alternate which build goes first, so that drift in the machine's load hits both alike.
        const runBefore = async () => (before = best(before, await measure(fx, `before#${r + 1}`, path.dirname(path.resolve(baselineDist!)), log)));
        const runNow = async () => (now = best(now, await measure(fx, `now#${r + 1}`, undefined, log)));
        if (!baselineDist) await runNow();
        else if (r % 2) await runNow().then(runBefore);
        else await runBefore().then(runNow);
      }
      if (!before || !now) return;
      log(`now/before, best of ${rounds} round(s) each (for req/s above 1 is better; for ms, µs and MB below 1 is better):`);
      for (const [k, n] of now) {
        const b = before.get(k);
        if (!b) continue;
        if (!(b.value > 0)) {
          log(`  ${k}: before ${b.text} ${b.unit}, now ${n.text} ${n.unit}`);
          continue;
        }
        const ratio = n.value / b.value;
        const worse = n.higherIsBetter ? ratio < 1 : ratio > 1;
        log(
          `  ${k}: before ${b.text} ${b.unit}, now ${n.text} ${n.unit}, ratio ${ratio.toFixed(2)}${Math.abs(ratio - 1) > 0.1 ? (worse ? " (worse)" : " (better)") : ""}`,
        );
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  },
};
