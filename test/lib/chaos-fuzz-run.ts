/**
 * The fuzz run shared by test/integration/fuzz-requests.test.ts (fast, in `npm test`) and
 * test/chaos/fuzz.test.ts (10,000 cases): a real controller process, seeded mutations of a valid
 * patch uploaded to it, and seeded fuzz messages for every request type of every service.
 */
import { promises as fsp, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClientError, Status } from "nice-grpc";
import { startController, type ControllerHandle } from "./controller-harness.js";
import { rawClients } from "./grpc-clients.js";
import { buildTestPatch, craftPatch, rawTar, simpleMetadataXml, type RawEntry } from "./patch-fixtures.js";
import { checkStore } from "./store-check.js";
import { prng, type Rng } from "./chaos-prng.js";
import { CLEAN_STATUSES, RawClient, bump, fuzzMessage, fuzzMethods, isLibraryDecodeError, unexpectedLogLines, type FuzzMethod } from "./chaos-fuzz.js";
import { QueryFilter } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import * as grpc from "@grpc/grpc-js";

export interface FuzzRunOptions {
  seed: number;
  patchCases: number;
  requestCases: number;
  /** Print progress every N cases (0 = never). */
  progressEvery?: number;
}

export interface FuzzRunResult {
  patchCases: number;
  requestCases: number;
  /** Upload outcomes: "OK", "INVALID_ARGUMENT", … */
  uploadStatus: Map<string, number>;
  /** Upload outcomes per mutation kind. */
  uploadKinds: Map<string, number>;
  /** Request outcomes by status name. */
  requestStatus: Map<string, number>;
  /** Request outcomes by generator kind. */
  requestKinds: Map<string, number>;
  /** Methods exercised, with case counts. */
  methods: Map<string, number>;
  /** INTERNAL "Error deserializing request" from grpc-js (not a handler). */
  libraryDecodeErrors: number;
  /** Everything that is a bug: unclean statuses, a dead controller, log lines. */
  failures: string[];
  /** Unexpected controller log lines (handler stacks). */
  logProblems: string[];
  storeProblems: string[];
  ms: number;
}

const statusName = (c: number) => grpc.status[c] ?? String(c);

interface PatchSeed {
  id: string;
  original: Buffer;
  rpms: { name: string; data: Buffer }[];
}

async function buildSeedPatch(dir: string): Promise<PatchSeed> {
  const p = await buildTestPatch({
    dir,
    id: "FUZZ_0001",
    swVersion: "19.09",
    status: "REL",
    rpms: [
      { name: "fuzz-one", version: "1.0", release: "1", files: [{ path: "/etc/fuzz1", content: "one\n".repeat(100) }], personalities: ["worker"] },
      { name: "fuzz-two", version: "2.0", release: "1", arch: "noarch" },
    ],
  } as never);
  return {
    id: "FUZZ_0001",
    original: readFileSync(p.path),
    rpms: p.rpmPaths.map((f) => ({ name: path.basename(f), data: readFileSync(f) })),
  };
}

const XML_VALUES = [
  "",
  "FUZZ_0002",
  "../x",
  "A".repeat(300),
  "19.09",
  "19.12",
  "Y",
  "N",
  "REL",
  "DEV",
  "<",
  "&amp;",
  "&#0;",
  "&xxe;",
  "]]>",
  "\u0000",
  "é",
  "FUZZ_0001",
  "fuzz-one-1.0-1.x86_64.rpm",
  "fuzz-two-2.0-1.noarch.rpm",
  "/etc/passwd",
  "-1",
];

function mutateXml(r: Rng, xml: string): string {
  let s = xml;
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) {
    const op = r.int(6);
    if (op === 0) {
      // Replace an element's text.
      const tags = [...s.matchAll(/<(\w+)>([^<]*)<\/\1>/g)];
      if (tags.length) {
        const t = r.pick(tags);
        s = s.replace(t[0], `<${t[1]}>${r.pick(XML_VALUES)}</${t[1]}>`);
      }
    } else if (op === 1) {
      // Delete a line.
      const lines = s.split("\n");
      lines.splice(r.int(lines.length), 1);
      s = lines.join("\n");
    } else if (op === 2) {
      // Duplicate a line.
      const lines = s.split("\n");
      const k = r.int(lines.length);
      lines.splice(k, 0, lines[k]!);
      s = lines.join("\n");
    } else if (op === 3) {
      const pos = r.int(s.length + 1);
      s = s.slice(0, pos) + r.pick(["<", ">", "&", '"', "<x>", "</patch>", '<!DOCTYPE x [<!ENTITY e "e">]>', "\u0000", "é"]) + s.slice(pos);
    } else if (op === 4) {
      const pos = r.int(s.length);
      s = s.slice(0, pos) + s.slice(pos + 1 + r.int(10));
    } else {
      s = s.replace(
        "</patch>",
        r.pick([
          "<requires><req_patch_id>NOPE</req_patch_id></requires>",
          "<pre_apply>x</pre_apply>",
          "<apply_active_release_only>Y</apply_active_release_only>",
          "<unremovable>Y</unremovable>",
          "<restart_script>r.sh</restart_script>",
          "",
        ]) + "</patch>",
      );
    }
  }
  return s;
}

/** One mutated patch upload: file name and bytes. */
function mutatePatch(r: Rng, seed: PatchSeed): { kind: string; fileName: string; bytes: Buffer } {
  const k = r.int(10);
  const idName = `${seed.id}.patch`;
  if (k < 4) {
    // Raw byte mutations of the signed file (flips, truncation, insertion, deletion).
    const b = Buffer.from(seed.original);
    const op = r.int(4);
    if (op === 0) {
      for (let i = 0, n = 1 + r.int(3); i < n; i++) b[r.int(b.length)] ^= 1 + r.int(255);
      return { kind: "byte-flip", fileName: idName, bytes: b };
    }
    if (op === 1) return { kind: "truncate", fileName: idName, bytes: b.subarray(0, r.int(b.length)) };
    if (op === 2) {
      const pos = r.int(b.length);
      return { kind: "insert", fileName: idName, bytes: Buffer.concat([b.subarray(0, pos), r.bytes(1 + r.int(64)), b.subarray(pos)]) };
    }
    const pos = r.int(b.length);
    return { kind: "delete", fileName: idName, bytes: Buffer.concat([b.subarray(0, pos), b.subarray(pos + 1 + r.int(64))]) };
  }
  const contents = seed.rpms.map((x) => x.name);
  const baseXml = simpleMetadataXml({ id: seed.id, swVersion: "19.09", contents, personalities: r.chance(0.3) ? { worker: [contents[0]!] } : {} }).replace(
    "<status>DEV</status>",
    "<status>REL</status>",
  );
  if (k < 7) {
    // Validly signed patch whose metadata.xml is mutated: reaches the metadata parser and the store.
    const xml = mutateXml(r, baseXml);
    const id = /<id>([^<]*)<\/id>/.exec(xml)?.[1] ?? seed.id;
    return { kind: "signed-metadata", fileName: r.chance(0.9) ? `${id}.patch` : idName, bytes: craftPatch({ metadataXml: xml, rpms: seed.rpms }) };
  }
  if (k < 9) {
    // Validly signed patch with corrupted / renamed / missing / extra RPMs.
    const rpms: { name: string; data: Buffer }[] = seed.rpms.map((x) => ({ ...x, data: Buffer.from(x.data) }));
    const op = r.int(5);
    if (op === 0) {
      const t = r.pick(rpms);
      for (let i = 0, n = 1 + r.int(4); i < n; i++) t.data[r.int(Math.min(t.data.length, r.chance(0.7) ? 2000 : t.data.length))] ^= 1 + r.int(255);
    } else if (op === 1) rpms.pop();
    else if (op === 2) rpms.push({ name: r.pick(["extra-1.0-1.noarch.rpm", "../evil.rpm", "x"]), data: r.bytes(r.int(500)) });
    else if (op === 3) r.pick(rpms).data = r.pick(rpms).data.subarray(0, r.int(r.pick(rpms).data.length));
    else r.pick(rpms).name = r.pick(["a/b.rpm", "fuzz-one-1.0-1.x86_64.rpm", "", "fuzz-two-2.0-1.noarch.rpm"]);
    return { kind: "signed-rpms", fileName: idName, bytes: craftPatch({ metadataXml: baseXml, rpms }) };
  }
  // Validly signed outer structure changes: member order, duplicates, links, odd names.
  const op = r.int(6);
  const outer = (m: RawEntry[]): RawEntry[] => {
    const x = [...m];
    if (op === 0) x.reverse();
    else if (op === 1) x.push({ ...r.pick(x) });
    else if (op === 2) x.splice(r.int(x.length), 1);
    else if (op === 3) x.push({ name: r.pick(["../../x", "/abs", "extra"]), data: r.bytes(10) });
    else if (op === 4) x[r.int(x.length)] = { name: r.pick(x).name, type: r.pick(["1", "2", "5"]), linkname: "/etc/passwd" };
    else x[r.int(x.length)]!.size = r.int(100000);
    return x;
  };
  const meta = rawTar([{ name: "metadata.xml", data: Buffer.from(baseXml) }]);
  return { kind: "signed-outer", fileName: idName, bytes: craftPatch({ metadataTar: meta, rpms: seed.rpms, outer }) };
}

async function* oneShot(fileName: string, bytes: Buffer) {
  yield { payload: { $case: "header" as const, value: { fileName, sizeBytes: 0 } } };
  for (let o = 0; o < bytes.length; o += 64 * 1024) yield { payload: { $case: "chunk" as const, value: bytes.subarray(o, o + 64 * 1024) } };
}

/** Requests sent for a method: one message, or 1..4 for client/bidi streams. */
function requestsFor(r: Rng, m: FuzzMethod): { kinds: string[]; msgs: Buffer[] } {
  const n = m.kind === "client_streaming" || m.kind === "bidi_streaming" ? r.int(5) : 1;
  const kinds: string[] = [];
  const msgs: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const f = fuzzMessage(r, m);
    kinds.push(f.kind);
    msgs.push(f.bytes);
  }
  return { kinds, msgs };
}

async function alive(ctl: ControllerHandle, c: ReturnType<typeof rawClients>): Promise<string | undefined> {
  if (ctl.proc.exitCode !== null || ctl.proc.signalCode !== null) return `controller exited (${ctl.proc.exitCode ?? ctl.proc.signalCode})`;
  try {
    await c.patches.getControllerInfo({}, { signal: AbortSignal.timeout(10_000) });
    return undefined;
  } catch (e) {
    return `controller not healthy: ${(e as Error).message}`;
  }
}

export async function runFuzz(o: FuzzRunOptions): Promise<FuzzRunResult> {
  const started = Date.now();
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), "swpatch-fuzz-"));
  const res: FuzzRunResult = {
    patchCases: 0,
    requestCases: 0,
    uploadStatus: new Map(),
    uploadKinds: new Map(),
    requestStatus: new Map(),
    requestKinds: new Map(),
    methods: new Map(),
    libraryDecodeErrors: 0,
    failures: [],
    logProblems: [],
    storeProblems: [],
    ms: 0,
  };
  const dataDir = path.join(work, "data");
  let ctl: ControllerHandle | undefined;
  let c: ReturnType<typeof rawClients> | undefined;
  let raw: RawClient | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    const seed = await buildSeedPatch(path.join(work, "patch"));
    ctl = await startController({ dataDir, keepDataDir: true });
    c = rawClients(ctl);
    raw = new RawClient(ctl.endpoint, ctl.adminToken);

    // 1. Mutated patches.
    const r = prng(o.seed);
    for (let i = 0; i < o.patchCases; i++) {
      const m = mutatePatch(r, seed);
      let code = Status.OK;
      let details = "";
      let id = "";
      try {
        const up = await c.patches.uploadPatch(oneShot(m.fileName, m.bytes));
        id = up.patchId;
      } catch (e) {
        if (!(e instanceof ClientError)) throw e;
        code = e.code;
        details = e.details;
      }
      res.patchCases++;
      bump(res.uploadStatus, Status[code]);
      bump(res.uploadKinds, `${m.kind}:${Status[code]}`);
      if (!CLEAN_STATUSES.has(code as number) || code === Status.CANCELLED) res.failures.push(`patch case ${i} (${m.kind}, ${m.fileName}): ${Status[code]} ${details}`);
      if (id) {
        // Accepted: exercise the state machine a little, then delete it again.
        try {
          if (r.chance(0.3)) {
            await c.patches.applyPatches({ patchIds: [id], all: false, skipSemantic: false });
            await c.patches.removePatches({ patchIds: [id], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
          }
          await c.patches.deletePatches({ patchIds: [id] });
        } catch (e) {
          const code2 = (e as ClientError).code;
          if (!CLEAN_STATUSES.has(code2 as number)) res.failures.push(`patch case ${i}: apply/remove/delete of accepted ${id}: ${(e as Error).message}`);
        }
      }
      if (o.progressEvery && (i + 1) % o.progressEvery === 0) process.stdout.write(`    patch fuzz ${i + 1}/${o.patchCases}\n`);
      if ((i + 1) % 500 === 0) {
        const dead = await alive(ctl, c);
        if (dead) {
          res.failures.push(`after patch case ${i}: ${dead}`);
          return res;
        }
      }
    }

    // 2. Request messages of every method.
    const methods = fuzzMethods();
    const rr = prng(o.seed ^ 0x9e3779b9);
    // A pool of concurrent callers; streams that would run on end at a short deadline.
    const concurrency = 16;
    let nextCase = 0;
    let stop = false;
    const worker = async () => {
      while (!stop && nextCase < o.requestCases) {
        const j = nextCase++;
        const m = methods[j % methods.length]!;
        const { kinds, msgs } = requestsFor(rr, m);
        const streaming = m.kind !== "unary" && m.kind !== "client_streaming";
        const out = await raw!.call(m, msgs, streaming ? 250 : 10_000);
        res.requestCases++;
        bump(res.methods, `${m.service}.${m.name}`);
        const sname = statusName(out.code);
        bump(res.requestStatus, sname);
        for (const k of kinds.length ? kinds : ["empty-stream"]) bump(res.requestKinds, `${k}:${sname}`);
        if (isLibraryDecodeError(out)) res.libraryDecodeErrors++;
        else {
          const ok = CLEAN_STATUSES.has(out.code) || (streaming && out.code === grpc.status.DEADLINE_EXCEEDED);
          if (!ok)
            res.failures.push(
              `request case ${j} ${m.path} (${kinds.join(",")}; ${msgs.map((b) => b.toString("hex").slice(0, 120)).join(" | ")}): ${sname} ${out.details}`,
            );
        }
        if (o.progressEvery && res.requestCases % o.progressEvery === 0) process.stdout.write(`    request fuzz ${res.requestCases}/${o.requestCases}\n`);
        if (res.requestCases % 1000 === 0) {
          const dead = await alive(ctl!, c!);
          if (dead) {
            res.failures.push(`after request case ${j}: ${dead}`);
            stop = true;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    if (stop) return res;
    const dead = await alive(ctl, c);
    if (dead) res.failures.push(`at the end: ${dead}`);
    // The controller answered every health probe; now check it logged no handler failure.
    await c.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL, release: "" });
    res.logProblems = unexpectedLogLines(ctl.stderr());
    raw.close();
    raw = undefined;
    c.close();
    c = undefined;
    const code = await ctl.stop();
    if (code !== 0) res.failures.push(`controller exit code ${code} on SIGTERM`);
    res.logProblems.push(...unexpectedLogLines(ctl.stderr()).filter((l) => !res.logProblems.includes(l)));
    ctl = undefined;
    res.storeProblems = checkStore(dataDir);
    await new Promise((rs) => setImmediate(rs));
    for (const e of unhandled) res.failures.push(`unhandled rejection in the test process: ${String(e)}`);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    raw?.close();
    c?.close();
    if (ctl) {
      res.logProblems.push(...unexpectedLogLines(ctl.stderr()));
      await ctl.kill9();
    }
    await fsp.rm(work, { recursive: true, force: true });
    res.ms = Date.now() - started;
  }
  return res;
}
