/**
 * The streaming half of `readPatch`: the outer tar's entry handler. Each member is checked (name,
 * set, size) as its header arrives, spooled to the private temp dir while its md5 and sha256 are
 * computed, and software.tar is unpacked into RPM files on the fly. It also decides where each byte
 * is hashed: on this thread, or on the hash lanes for a big software.tar; and whether the signed
 * members' concatenation can be hashed as it streams (members in the signed order).
 */
import * as path from "node:path";
import { hashLanes, type Hasher, type LaneHasher } from "../../lib/io/hash-lanes.js";
import { LocalHasher } from "../../lib/io/local-hasher.js";
import { SpoolSink } from "../../lib/io/spool-sink.js";
import { type DomainError, invalidArgument } from "../errors.js";
import { SAFE_RPM_NAME_RE, type PatchReadLimits } from "./limits.js";
import { TarStreamParser, type ParsedTarEntry } from "./tar-format.js";

/** Outer members, in the canonical (builder's) order. */
export const PATCH_MEMBERS = ["metadata.tar", "software.tar", "semantics.tar", "signature", "signature.v2", "signature.dsse"] as const;
export type PatchMemberName = (typeof PATCH_MEMBERS)[number];
/** The members `signature` and `signature.v2` cover, in the order they are concatenated. */
export const SIGNED_ORDER = ["metadata.tar", "software.tar", "semantics.tar"];

/** An invalid-argument DomainError with a PATCH_* reason. */
export function bad(message: string, reason = "PATCH_INVALID"): DomainError {
  return invalidArgument(message, { reason });
}

/** Rejects a tar member name that is absolute, climbs, names a directory or has control characters. */
export function checkMemberName(name: string, where: string): void {
  if (name.startsWith("/")) throw bad(`${where}: member '${name}' has an absolute path`, "PATCH_MEMBER_UNSAFE");
  if (name.split("/").includes("..")) throw bad(`${where}: member '${name}' contains '..'`, "PATCH_MEMBER_UNSAFE");
  if (name.includes("/")) throw bad(`${where}: member '${name}' contains a directory`, "PATCH_MEMBER_UNSAFE");
  if (name === "" || name === "." || /[\0-\x1f\x7f\\]/.test(name))
    throw bad(`${where}: member name '${name.replace(/[^\x20-\x7e]/g, "?")}' is not allowed`, "PATCH_MEMBER_UNSAFE");
}

/**
 * `md5`, also feeding `concat` the same bytes in the same copy (digest: md5's). The copy is shared
 * until `afterTees`: the RPMs unpacked from those bytes are hashed from it, not copied again.
 */
function withConcat(md5: LaneHasher, concat: LaneHasher | null): Hasher {
  const lanes = hashLanes();
  return {
    update: (b) => lanes.updateAll(concat ? [md5, concat] : [md5], b, true),
    digest: () => md5.digest(),
    afterTees: () => lanes.endShare(),
  };
}

function spool(
  file: string,
  limit: number,
  what: string,
  md5: Hasher | null,
  sha256: Hasher | null,
  charge: (bytes: number) => void,
  tees?: ((b: Buffer) => void | Promise<void>)[],
  onEnd?: () => Promise<void>,
): SpoolSink {
  return new SpoolSink(file, limit, () => bad(`${what} is too large (limit ${limit} bytes)`, "PATCH_TOO_LARGE"), md5, sha256, tees, onEnd, charge);
}

/**
 * Spools the members of one patch as the outer tar parser (`outer`) reports them.
 *
 * INVARIANTS: entries arrive one at a time (the parser awaits each sink), so the concatenation
 * state below changes only between members; every sink is in `sinks` and every lane context in
 * `remotes` from the moment it exists, so a failed read can close and drop them all (`abort`).
 */
export class PatchSpooler {
  /** Outer members by name, as spooled. */
  readonly outerSinks = new Map<string, SpoolSink>();
  /** software.tar's RPMs by file name. */
  readonly rpmSinks = new Map<string, SpoolSink>();
  /** Signed members in the order they arrived. */
  readonly arrival: string[] = [];
  /** The parser to feed the gunzipped patch to. */
  readonly outer: TarStreamParser;
  private readonly sinks: SpoolSink[] = [];
  /** Contexts on the hash lanes, dropped there if the read fails. */
  private readonly remotes: { drop(): void }[] = [];
  // sha256 of the signed members' concatenation, while they stream in the signed order. Until
  // software.tar shows whether it is big enough for the hash lanes, the bytes before it
  // (metadata.tar, at most 1 MiB) are also kept to replay there.
  private concatHash: Hasher | null = new LocalHasher("sha256");
  private concatPrefix: Buffer[] | null = [];
  private concatLane: LaneHasher | null = null;
  private softwareTar: TarStreamParser | null = null;
  /**
   * sha256 of a software.tar that streams through without a copy (its sink has no own sha256):
   * the DSSE payload (`signature.dsse`) names it.
   */
  softwareSha256: Hasher | null = null;

  constructor(
    private readonly membersDir: string,
    private readonly rpmDir: string,
    private readonly limits: PatchReadLimits,
    /** software.tar of at least this many bytes is hashed on the hash lanes. */
    private readonly lanesFrom: number,
    /** Told every chunk written to a temp file before it is written; throws to stop the read. */
    private readonly charge: (bytes: number) => void = () => undefined,
    /** Also hash a streamed-through software.tar on its own (`softwareSha256`; issue 21, signature.dsse). */
    private readonly hashSoftware = false,
  ) {
    this.outer = new TarStreamParser("patch", (e) => this.onMember(e), 16);
  }

  /**
   * The sha256 of the signed members' concatenation if it was computed as they streamed (they
   * arrived in the signed order and `signedNames` are all of them), else null.
   */
  streamedDigest(signedNames: string[]): Promise<Buffer> | null {
    const { concatHash, arrival } = this;
    if (concatHash && arrival.length === signedNames.length && arrival.every((n, i) => n === signedNames[i])) return concatHash.digest();
    return null;
  }

  /** After a failure: drops the lane contexts and closes every sink (errors ignored). */
  async abort(): Promise<void> {
    for (const r of this.remotes) r.drop();
    await Promise.allSettled(this.sinks.map((s) => s.close()));
  }

  private onLane(lane: number, algo: "md5" | "sha256"): LaneHasher {
    const h = hashLanes().hasher(lane, algo);
    this.remotes.push(h);
    return h;
  }

  private limitFor(name: string): number {
    const { limits } = this;
    switch (name) {
      case "metadata.tar":
        return limits.maxMetadataTarBytes;
      case "software.tar":
        return limits.maxSoftwareTarBytes;
      case "semantics.tar":
        return limits.maxSemanticsTarBytes;
      case "signature":
        return limits.maxSignatureBytes;
      case "signature.dsse":
        return limits.maxSignatureDsseBytes;
      default:
        return limits.maxSignatureV2Bytes;
    }
  }

  private async onMember(e: ParsedTarEntry): Promise<SpoolSink> {
    checkMemberName(e.name, "patch");
    if (!(PATCH_MEMBERS as readonly string[]).includes(e.name)) throw bad(`patch: unknown member '${e.name}'`, "PATCH_MEMBER_UNKNOWN");
    if (this.outerSinks.has(e.name)) throw bad(`patch: duplicate member '${e.name}'`, "PATCH_MEMBER_DUPLICATE");
    const limit = this.limitFor(e.name);
    if (e.size > limit) throw bad(`patch: member '${e.name}' is too large (${e.size} bytes, limit ${limit})`, "PATCH_TOO_LARGE");
    const tees: ((b: Buffer) => void | Promise<void>)[] = [];
    const streamedInOrder = SIGNED_ORDER.includes(e.name) && (await this.teeSigned(e, tees));
    if (e.name === "software.tar") {
      const sw = this.softwareTarParser();
      this.softwareTar = sw;
      tees.push((b) => sw.write(b));
    }
    // software.tar in the signed order (metadata.tar before it; semantics.tar can only
    // follow) never needs re-reading: hash and unpack it as it streams, keep no copy.
    const keep = !(e.name === "software.tar" && streamedInOrder);
    const big = e.name === "software.tar" && e.size >= this.lanesFrom;
    if (!keep && this.hashSoftware) {
      const h = big ? this.onLane(0, "sha256") : new LocalHasher("sha256");
      this.softwareSha256 = h;
      tees.push((b) => h.update(b));
    }
    const s = spool(
      path.join(this.membersDir, e.name),
      limit,
      `patch member '${e.name}'`,
      big ? withConcat(this.onLane(0, "md5"), e.name === "software.tar" ? this.concatLane : null) : new LocalHasher("md5"),
      keep ? (big ? this.onLane(0, "sha256") : new LocalHasher("sha256")) : null,
      this.charge,
      tees,
      e.name === "software.tar" ? () => this.softwareTar!.finish() : undefined,
    );
    this.sinks.push(s);
    this.outerSinks.set(e.name, s);
    return s.open();
  }

  /**
   * A signed member: hash the concatenation in stream while members arrive in the signed order
   * (adding the tee that does it to `tees`); true if they still do.
   */
  private async teeSigned(e: ParsedTarEntry, tees: ((b: Buffer) => void | Promise<void>)[]): Promise<boolean> {
    this.arrival.push(e.name);
    if (!(this.concatHash && this.arrival.every((n, i) => n === SIGNED_ORDER[i]))) {
      this.concatHash = null;
      this.concatPrefix = null;
      return false;
    }
    if (e.name === "software.tar" && e.size >= this.lanesFrom && this.concatPrefix) {
      const remote = this.onLane(1, "sha256");
      for (const b of this.concatPrefix) await remote.update(b);
      this.concatHash = remote;
      this.concatLane = remote;
    }
    this.concatPrefix = e.name === "metadata.tar" ? this.concatPrefix : null;
    // On the lanes, software.tar's bytes go to its md5 and to the concatenation in one
    // copy (see the sink in onMember); otherwise through this tee.
    if (!(e.name === "software.tar" && this.concatLane)) {
      tees.push((b) => {
        if (this.concatPrefix) this.concatPrefix.push(Buffer.from(b));
        return this.concatHash?.update(b);
      });
    }
    return true;
  }

  /** The parser software.tar's bytes are teed to: each RPM is spooled to its own file. */
  private softwareTarParser(): TarStreamParser {
    const { limits } = this;
    return new TarStreamParser(
      "software.tar",
      async (r) => {
        checkMemberName(r.name, "software.tar");
        if (!SAFE_RPM_NAME_RE.test(r.name)) throw bad(`software.tar: member '${r.name}' is not a safe RPM file name`, "PATCH_MEMBER_UNSAFE");
        if (this.rpmSinks.has(r.name)) throw bad(`software.tar: duplicate member '${r.name}'`, "PATCH_MEMBER_DUPLICATE");
        if (r.size > limits.maxRpmBytes) throw bad(`software.tar: member '${r.name}' is too large (${r.size} bytes, limit ${limits.maxRpmBytes})`, "PATCH_TOO_LARGE");
        const s = spool(
          path.join(this.rpmDir, r.name),
          limits.maxRpmBytes,
          `software.tar member '${r.name}'`,
          null,
          this.concatLane ? this.onLane(1, "sha256") : new LocalHasher("sha256"),
          this.charge,
        );
        this.sinks.push(s);
        this.rpmSinks.set(r.name, s);
        return s.open();
      },
      limits.maxRpms,
    );
  }
}
