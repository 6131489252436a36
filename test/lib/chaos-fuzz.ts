/**
 * Request fuzzing for the chaos tests: every request message type of every service, generated
 * from the controller's own descriptor set (field numbers and types), as
 *   - structured random messages (random but well-typed field values, unknown enums, unknown
 *     fields, wrong wire types, invalid UTF-8 in strings),
 *   - random bytes, and random bytes that the generated (ts-proto) type decodes, re-encoded,
 *   - truncated / corrupted encodings of structured messages,
 * sent as raw bytes through a grpc-js client with identity (de)serializers, so the controller's
 * decoder sees exactly these bytes.
 */
import { createFileRegistry, fromBinary, ScalarType, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import { descriptorSetBase64 } from "../../server/transport/generated/descriptor-set.js";
import * as adminGen from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import * as agentGen from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import * as hostGen from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import * as orchGen from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import * as patchGen from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import type { Rng } from "./chaos-prng.js";

export const SERVICES = ["PatchService", "HostService", "OrchestrationService", "AdminService", "AgentService"] as const;

interface TsProtoType {
  decode(input: Uint8Array, length?: number): unknown;
  encode(message: unknown): { finish(): Uint8Array };
}

export interface FuzzMethod {
  service: string;
  name: string;
  /** "/swpatch.v1.PatchService/UploadPatch" */
  path: string;
  kind: DescMethod["methodKind"];
  input: DescMessage;
  /** The generated ts-proto type of the request. */
  tsType: TsProtoType;
}

/** Every method of the controller's services, with its request descriptor and generated type. */
export function fuzzMethods(): FuzzMethod[] {
  const set = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, "base64"));
  const reg = createFileRegistry(set);
  const gen: Record<string, unknown> = { ...adminGen, ...agentGen, ...hostGen, ...orchGen, ...patchGen };
  const out: FuzzMethod[] = [];
  for (const s of SERVICES) {
    const svc = reg.getService(`swpatch.v1.${s}`);
    if (!svc) throw new Error(`service ${s} not in the descriptor set`);
    for (const m of svc.methods) {
      const tsType = gen[m.input.name] as TsProtoType | undefined;
      if (!tsType?.decode) throw new Error(`no generated type for ${m.input.typeName}`);
      out.push({ service: s, name: m.name, path: `/swpatch.v1.${s}/${m.name}`, kind: m.methodKind, input: m.input, tsType });
    }
  }
  return out;
}

const STRINGS = [
  "",
  " ",
  "controller-0",
  "controller-1",
  "compute-0",
  "storage-0",
  "localhost",
  "127.0.0.1",
  "::1",
  "[::1]",
  "TEST_PATCH_0001",
  "FUZZ_0001",
  "CRASH_A",
  "19.09",
  "19.12",
  "99.99",
  "admin",
  "operator",
  "reader",
  "dev",
  "formal",
  "../../../etc/passwd",
  "/etc/passwd",
  "a/b",
  "..",
  ".",
  "*",
  "%s%n%x",
  "' OR 1=1 --",
  '"',
  "<xml>",
  "\u0000",
  "\u0000abc",
  "\ud800",
  "é漢字🙂",
  "\r\n",
  "x".repeat(254),
  "y".repeat(4096),
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "0".repeat(64),
  "f".repeat(64),
  "100.101",
  "host=compute-0",
  "critical",
  "minor",
  "serial",
  "parallel",
  "ignore",
  "stop-start",
  "migrate",
  "strict",
  "relaxed",
  "host-install",
  "patch.applied",
  "TEST.patch",
  "x.rpm",
  "pkg-a-1.0-1.noarch.rpm",
  "-1",
  "NaN",
  "1e309",
];

function randString(r: Rng): string {
  const k = r.int(10);
  if (k < 6) return r.pick(STRINGS);
  if (k < 8) {
    const n = r.int(40);
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(r.range(32, 126));
    return s;
  }
  if (k < 9) {
    const n = r.int(20);
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCodePoint(r.chance(0.5) ? r.range(0, 0x7ff) : r.chance(0.8) ? r.range(0x800, 0xd7ff) : r.range(0x10000, 0x10ffff));
    return s;
  }
  return r.pick(STRINGS) + r.pick(STRINGS);
}

const INT32S = [0, 1, -1, 2, 7, 100, 2147483647, -2147483648, 65536];
const INT64S = ["0", "1", "-1", "9223372036854775807", "-9223372036854775808", "4294967296", "9007199254740993"];
const UINT64S = ["0", "1", "18446744073709551615", "4294967296", "9007199254740993", "1073741824"];

function scalarValue(w: BinaryWriter, r: Rng, t: ScalarType): void {
  switch (t) {
    case ScalarType.STRING:
      if (r.chance(0.03))
        w.bytes(r.bytes(r.int(16))); // possibly invalid UTF-8
      else w.string(randString(r));
      return;
    case ScalarType.BYTES:
      w.bytes(r.chance(0.05) ? r.bytes(r.range(1000, 70_000)) : r.bytes(r.int(80)));
      return;
    case ScalarType.BOOL:
      // Non-canonical bools (2, 255) as varints too.
      if (r.chance(0.1)) w.uint32(r.range(2, 300));
      else w.bool(r.chance(0.5));
      return;
    case ScalarType.INT32:
      w.int32(r.chance(0.7) ? r.pick(INT32S) : r.int(2 ** 32) | 0);
      return;
    case ScalarType.SINT32:
      w.sint32(r.pick(INT32S));
      return;
    case ScalarType.UINT32:
      w.uint32(r.chance(0.7) ? r.pick(INT32S) >>> 0 : r.int(2 ** 32));
      return;
    case ScalarType.FIXED32:
      w.fixed32(r.int(2 ** 32));
      return;
    case ScalarType.SFIXED32:
      w.sfixed32(r.pick(INT32S));
      return;
    case ScalarType.INT64:
      w.int64(r.pick(INT64S));
      return;
    case ScalarType.SINT64:
      w.sint64(r.pick(INT64S));
      return;
    case ScalarType.SFIXED64:
      w.sfixed64(r.pick(INT64S));
      return;
    case ScalarType.UINT64:
      w.uint64(r.pick(UINT64S));
      return;
    case ScalarType.FIXED64:
      w.fixed64(r.pick(UINT64S));
      return;
    case ScalarType.DOUBLE:
      w.double(r.pick([0, -1, 1.5, NaN, Infinity, -Infinity, 1e308, -0]));
      return;
    case ScalarType.FLOAT:
      w.float(r.pick([0, -1, 1.5, NaN, Infinity]));
      return;
  }
}

function wireTypeOf(t: ScalarType): WireType {
  switch (t) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function enumValue(r: Rng, values: readonly { number: number }[]): number {
  return r.chance(0.8) ? r.pick(values).number : r.pick([-1, 99, 2147483647, values.length]);
}

function writeField(w: BinaryWriter, r: Rng, f: DescField, depth: number): void {
  const n = f.number;
  switch (f.fieldKind) {
    case "scalar":
      w.tag(n, wireTypeOf(f.scalar));
      scalarValue(w, r, f.scalar);
      return;
    case "enum":
      w.tag(n, WireType.Varint).int32(enumValue(r, f.enum.values));
      return;
    case "message":
      w.tag(n, WireType.LengthDelimited).bytes(randomMessageBytes(r, f.message, depth + 1));
      return;
    case "list": {
      const count = r.chance(0.1) ? r.range(10, 200) : r.int(4);
      if (f.listKind === "message") {
        for (let i = 0; i < count; i++) w.tag(n, WireType.LengthDelimited).bytes(randomMessageBytes(r, f.message, depth + 1));
      } else if (f.listKind === "enum") {
        if (r.chance(0.5)) {
          w.tag(n, WireType.LengthDelimited).fork();
          for (let i = 0; i < count; i++) w.int32(enumValue(r, f.enum.values));
          w.join();
        } else for (let i = 0; i < count; i++) w.tag(n, WireType.Varint).int32(enumValue(r, f.enum.values));
      } else {
        const wt = wireTypeOf(f.scalar);
        if (wt !== WireType.LengthDelimited && r.chance(0.5)) {
          w.tag(n, WireType.LengthDelimited).fork();
          for (let i = 0; i < count; i++) scalarValue(w, r, f.scalar);
          w.join();
        } else {
          for (let i = 0; i < count; i++) {
            w.tag(n, wt);
            scalarValue(w, r, f.scalar);
          }
        }
      }
      return;
    }
    case "map": {
      const count = r.int(4);
      for (let i = 0; i < count; i++) {
        w.tag(n, WireType.LengthDelimited).fork();
        w.tag(1, wireTypeOf(f.mapKey));
        scalarValue(w, r, f.mapKey);
        if (f.mapKind === "message") w.tag(2, WireType.LengthDelimited).bytes(randomMessageBytes(r, f.message, depth + 1));
        else if (f.mapKind === "enum") w.tag(2, WireType.Varint).int32(enumValue(r, f.enum.values));
        else {
          w.tag(2, wireTypeOf(f.scalar));
          scalarValue(w, r, f.scalar);
        }
        w.join();
      }
      return;
    }
  }
}

/** A structured random encoding of `desc` (well-typed values, sometimes unknown or mistyped fields). */
export function randomMessageBytes(r: Rng, desc: DescMessage, depth = 0): Uint8Array {
  const w = new BinaryWriter();
  if (depth > 4) return w.finish();
  const oneofDone = new Set<unknown>();
  for (const f of desc.fields) {
    if (f.oneof && oneofDone.has(f.oneof) && !r.chance(0.1)) continue;
    if (!r.chance(depth === 0 ? 0.75 : 0.5)) continue;
    if (f.oneof) oneofDone.add(f.oneof);
    writeField(w, r, f, depth);
    if (r.chance(0.03)) writeField(w, r, f, depth); // repeated occurrence of a singular field (last wins)
  }
  if (r.chance(0.05)) w.tag(r.range(100, 5000), WireType.Varint).uint32(r.int(1000)); // unknown field
  if (r.chance(0.03)) w.tag(r.range(100, 5000), WireType.LengthDelimited).bytes(r.bytes(r.int(30)));
  if (r.chance(0.02) && desc.fields.length) {
    // A known field with the wrong wire type.
    const f = r.pick(desc.fields);
    w.tag(f.number, r.pick([WireType.Varint, WireType.Bit64, WireType.LengthDelimited, WireType.Bit32]));
    w.uint32(r.int(5));
  }
  return w.finish();
}

export type FuzzKind = "structured" | "random-bytes" | "decoded-random" | "truncated" | "corrupted";

/** One fuzz request message for `m`, and how it was made. */
export function fuzzMessage(r: Rng, m: FuzzMethod): { kind: FuzzKind; bytes: Buffer } {
  const k = r.int(20);
  if (k < 9) return { kind: "structured", bytes: Buffer.from(randomMessageBytes(r, m.input)) };
  if (k < 11) return { kind: "random-bytes", bytes: r.bytes(r.int(r.chance(0.9) ? 64 : 4096)) };
  if (k < 14) {
    for (let tries = 0; tries < 20; tries++) {
      const raw = r.bytes(r.int(48));
      try {
        const msg = m.tsType.decode(raw);
        return { kind: "decoded-random", bytes: Buffer.from(m.tsType.encode(msg).finish()) };
      } catch {
        /* try another */
      }
    }
    return { kind: "decoded-random", bytes: Buffer.alloc(0) };
  }
  const base = Buffer.from(randomMessageBytes(r, m.input));
  if (k < 17 || base.length < 2) return { kind: "truncated", bytes: base.subarray(0, r.int(Math.max(base.length, 1))) };
  const b = Buffer.from(base);
  const flips = 1 + r.int(4);
  for (let i = 0; i < flips; i++) {
    const op = r.int(3);
    const pos = r.int(b.length);
    if (op === 0) b[pos] ^= 1 + r.int(255);
    else if (op === 1) b[pos] = r.pick([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x12]);
    else b[pos] = (b[pos]! & 0xf8) | r.int(8); // wire type of a tag byte
  }
  return { kind: "corrupted", bytes: b };
}

export interface RawOutcome {
  code: grpc.status;
  details: string;
  /** Response messages received before the status. */
  messages: number;
}

const identity = (b: Buffer) => b;

/** grpc-js client that sends and receives raw bytes (identity serializers). */
export class RawClient {
  readonly client: grpc.Client;
  constructor(
    endpoint: string,
    private readonly token?: string,
  ) {
    this.client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      "grpc.max_send_message_length": 64 * 1024 * 1024,
    });
  }

  private md(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token) md.set("authorization", `Bearer ${this.token}`);
    return md;
  }

  /**
   * Sends `msgs` (one for unary/server streaming, any number for client/bidi streams) and waits
   * for the status. Streams that would run on (watches, agent links) are ended by `deadlineMs`.
   */
  call(m: Pick<FuzzMethod, "path" | "kind">, msgs: Buffer[], deadlineMs = 2000): Promise<RawOutcome> {
    const deadline = Date.now() + deadlineMs;
    const opts: grpc.CallOptions = { deadline };
    return new Promise<RawOutcome>((resolve) => {
      let messages = 0;
      const done = (code: grpc.status, details: string) => resolve({ code, details, messages });
      const unaryCb = (err: grpc.ServiceError | null) => (err ? done(err.code, err.details) : done(grpc.status.OK, ""));
      switch (m.kind) {
        case "unary":
          this.client.makeUnaryRequest(m.path, identity, identity, msgs[0] ?? Buffer.alloc(0), this.md(), opts, (e) => {
            if (!e) messages++;
            unaryCb(e);
          });
          return;
        case "client_streaming": {
          const call = this.client.makeClientStreamRequest(m.path, identity, identity, this.md(), opts, (e) => {
            if (!e) messages++;
            unaryCb(e);
          });
          call.on("error", () => undefined);
          for (const b of msgs) call.write(b);
          call.end();
          return;
        }
        case "server_streaming": {
          const call = this.client.makeServerStreamRequest(m.path, identity, identity, msgs[0] ?? Buffer.alloc(0), this.md(), opts);
          call.on("data", () => messages++);
          call.on("error", () => undefined);
          call.on("status", (s: grpc.StatusObject) => done(s.code, s.details));
          return;
        }
        case "bidi_streaming": {
          const call = this.client.makeBidiStreamRequest(m.path, identity, identity, this.md(), opts);
          call.on("data", () => messages++);
          call.on("error", () => undefined);
          call.on("status", (s: grpc.StatusObject) => done(s.code, s.details));
          for (const b of msgs) call.write(b);
          call.end();
          return;
        }
      }
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Statuses a rejection may carry. */
export const CLEAN_STATUSES = new Set<grpc.status>([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.ALREADY_EXISTS,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.CANCELLED,
]);

/**
 * grpc-js answers a request it cannot decode with INTERNAL "Error deserializing request" before
 * any handler runs (the gRPC library convention for an unparseable request). The fuzz tests count
 * it separately from a handler's INTERNAL ("internal error (ref …)"), which is always a bug.
 */
export function isLibraryDecodeError(o: RawOutcome): boolean {
  return o.code === grpc.status.INTERNAL && o.details.startsWith("Error deserializing request");
}

/** Log lines of the controller that show a handler failed unexpectedly (or crashed). */
export function unexpectedLogLines(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((l) => /unexpected error|unhandled|uncaught|"level":"(error|fatal)"|^\s+at .+:\d+:\d+\)?$|TypeError|RangeError|ReferenceError/i.test(l));
}

/** Tally helper: "a=3 b=2". */
export function tally(m: Map<string, number>): string {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}
export function bump(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}
