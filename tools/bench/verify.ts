/**
 * Bench suite "verify": build a large signed patch (BENCH_VERIFY_MB MiB of incompressible RPM
 * payload, default 512) and verify it with readPatch in a child process, reporting wall time and
 * peak RSS; compare against the same work done by standard tools in the same run: `gzip -dc` of
 * the patch, then `openssl dgst -sha256 -sigopt rsa_padding_mode:pss -verify` and
 * `openssl dgst -md5` over the extracted signed members. Targets: ratio <= 1.0, peak RSS <= 150 MB.
 */
import { execFile, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createWriteStream, promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomFillSync } from "node:crypto";
import { buildPatch, loadTrustStore, readPatch } from "../../server/domain/patchfile/index.js";
import type { BenchSuite } from "./main.js";

export function sh(cmd: string, args: string[], opts: { cwd?: string; stdoutFile?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { cwd: opts.cwd, stdio: ["ignore", opts.stdoutFile ? "pipe" : "ignore", "pipe"] });
    let err = "";
    p.stderr?.on("data", (d) => (err += d));
    if (opts.stdoutFile && p.stdout) p.stdout.pipe(createWriteStream(opts.stdoutFile));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} failed (${code}): ${err}`));
      else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  });
}

export async function writeRandom(file: string, bytes: number): Promise<void> {
  const fh = await fsp.open(file, "w");
  const buf = Buffer.alloc(4 * 1024 * 1024);
  try {
    for (let done = 0; done < bytes; done += buf.length) {
      randomFillSync(buf);
      await fh.write(buf, 0, Math.min(buf.length, bytes - done));
    }
  } finally {
    await fh.close();
  }
}

/** An RPM `name`-1.0-1.x86_64 (default bench-blob) holding `mb` MiB of random bytes in /opt/bench/`name`.bin. */
export async function buildBigRpm(dir: string, mb: number, name = "bench-blob"): Promise<string> {
  const top = path.join(dir, "rpmbuild");
  for (const d of ["BUILD", "RPMS", "SPECS", "SOURCES", "tmp", "stage/opt/bench"]) await fsp.mkdir(path.join(top, d), { recursive: true });
  await writeRandom(path.join(top, `stage/opt/bench/${name}.bin`), mb * 1024 * 1024);
  const spec = [
    `Name: ${name}`,
    "Version: 1.0",
    "Release: 1",
    "Summary: bench payload",
    "License: Apache-2.0",
    "AutoReqProv: no",
    "",
    "%description",
    "bench payload",
    "",
    "%install",
    "mkdir -p %{buildroot}",
    `cp -a ${top}/stage/. %{buildroot}/`,
    "",
    "%files",
    `/opt/bench/${name}.bin`,
    "",
  ].join("\n");
  await fsp.writeFile(path.join(top, "SPECS/bench.spec"), spec);
  const defs = [
    ["_topdir", top],
    ["_tmppath", path.join(top, "tmp")],
    ["_binary_payload", "w0.gzdio"],
    ["__os_install_post", "%{nil}"],
    ["__spec_install_post", "%{nil}"],
    ["debug_package", "%{nil}"],
    ["_build_id_links", "none"],
  ];
  const args = ["-bb", "--nodeps", "--quiet", "--target", "x86_64", ...defs.flatMap(([k, v]) => ["--define", `${k} ${v}`]), path.join(top, "SPECS/bench.spec")];
  await new Promise<void>((res, rej) =>
    execFile("rpmbuild", args, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: top, LANG: "C" }, maxBuffer: 1 << 24 }, (e, _o, se) =>
      e ? rej(new Error(`${e.message}\n${se}`)) : res(),
    ),
  );
  await fsp.rm(path.join(top, "stage"), { recursive: true, force: true });
  return path.join(top, `RPMS/x86_64/${name}-1.0-1.x86_64.rpm`);
}

/** Child-process half: verify one patch, print {ms, maxRssKb} as JSON. */
export async function childVerify(argv: string[]): Promise<number> {
  const [file, pub, workDir] = argv;
  const trust = await loadTrustStore([`${pub}:bench`]);
  const t0 = process.hrtime.bigint();
  const r = await readPatch(file, { trust, workDir });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await r.cleanup();
  process.stdout.write(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, signer: r.signer }) + "\n");
  return 0;
}

export const verifySuite: BenchSuite = {
  name: "verify",
  description: "readPatch on a large patch vs gzip -dc + openssl dgst (sha256 PSS verify, md5)",
  async run({ log }) {
    const mb = Number(process.env.BENCH_VERIFY_MB ?? 512);
    const dir = await fsp.mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "bench-verify-"));
    try {
      let t = Date.now();
      const rpm = await buildBigRpm(dir, mb);
      log(`built ${mb} MiB rpm in ${Date.now() - t} ms`);
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const pub = path.join(dir, "pub.pem");
      await fsp.writeFile(pub, publicKey.export({ type: "spki", format: "pem" }));
      t = Date.now();
      // Level 1: the payload is incompressible, so deflate stores it either way; level 9 only slows the build.
      const built = await buildPatch({ id: "BENCH_0001", swVersion: "19.12", rpms: [rpm], signingKey: privateKey, outputDir: dir, compressionLevel: 1 });
      const size = (await fsp.stat(built.path)).size;
      log(`built patch ${(size / 1048576).toFixed(1)} MiB in ${Date.now() - t} ms`);
      await fsp.rm(rpm);

      // Ours, in a child process (so RSS is the verifier's own).
      const mainJs = path.join(__dirname, "main.js");
      const runs: { ms: number; maxRssKb: number }[] = [];
      for (let i = 0; i < 2; i++) {
        const out = await new Promise<string>((res, rej) =>
          execFile(process.execPath, [mainJs, "--child-verify", built.path, pub, path.join(dir, "work")], { maxBuffer: 1 << 20 }, (e, o, se) =>
            e ? rej(new Error(`${e.message}\n${se}`)) : res(o),
          ),
        );
        runs.push(JSON.parse(out));
      }
      const ours = Math.min(...runs.map((r) => r.ms));
      const rssMb = Math.max(...runs.map((r) => r.maxRssKb)) / 1024;

      // Tools: gzip -dc, then openssl over the extracted members.
      const x = path.join(dir, "x");
      await fsp.mkdir(x);
      await sh("tar", ["xzf", built.path, "-C", x]);
      const concat = path.join(x, "concat.bin");
      await sh("sh", ["-c", "cat metadata.tar software.tar > concat.bin"], { cwd: x });
      const toolRuns: number[] = [];
      for (let i = 0; i < 2; i++) {
        const g = await sh("sh", ["-c", `gzip -dc '${built.path}' > /dev/null`]);
        const s = await sh("openssl", [
          "dgst",
          "-sha256",
          "-sigopt",
          "rsa_padding_mode:pss",
          "-sigopt",
          "rsa_pss_saltlen:32",
          "-verify",
          pub,
          "-signature",
          path.join(x, "signature.v2"),
          concat,
        ]);
        const m = await sh("openssl", ["dgst", "-md5", path.join(x, "metadata.tar"), path.join(x, "software.tar")]);
        toolRuns.push(g + s + m);
        if (i === 0) log(`tools: gzip -dc ${g.toFixed(0)} ms, openssl sha256/PSS ${s.toFixed(0)} ms, openssl md5 ${m.toFixed(0)} ms`);
      }
      const tools = Math.min(...toolRuns);
      const ratio = ours / tools;
      log(`readPatch: ${ours.toFixed(0)} ms (runs: ${runs.map((r) => r.ms.toFixed(0)).join(", ")}), tools: ${tools.toFixed(0)} ms`);
      log(`ratio ours/tools = ${ratio.toFixed(2)} (target <= 1.00): ${ratio <= 1 ? "PASS" : "MISS"}`);
      log(`peak RSS = ${rssMb.toFixed(1)} MB (target <= 150 MB): ${rssMb <= 150 ? "PASS" : "MISS"}`);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  },
};
