/**
 * Minimal, strict tar support for the patch format: a writer for regular-file members (ustar, with
 * a PAX header for long names, as Python's tarfile PAX_FORMAT writes), and a push-based streaming
 * parser that accepts only regular files (ustar/GNU/PAX headers), never buffers member data, and
 * rejects links, devices, directories, bad checksums, truncation and non-zero data after the
 * end-of-archive marker.
 */
import { invalidArgument } from "../errors.js";

export const BLOCK = 512;
/** Python's tarfile and GNU tar pad archives to 20 blocks. */
export const RECORD = 20 * BLOCK;

/** Header fields for one regular-file member. */
export interface TarEntryHeader {
  name: string;
  size: number;
  mode?: number;
  mtime?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
}

function octal(buf: Buffer, off: number, len: number, value: number): void {
  const s = value.toString(8).padStart(len - 1, "0");
  if (s.length > len - 1) throw new Error(`tar field overflow (${value})`);
  buf.write(s, off, len - 1, "ascii");
  buf[off + len - 1] = 0;
}

function rawHeader(name: string, size: number, type: string, h: TarEntryHeader): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, "utf8");
  octal(b, 100, 8, h.mode ?? 0o644);
  octal(b, 108, 8, h.uid ?? 0);
  octal(b, 116, 8, h.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, Math.floor(h.mtime ?? Date.now() / 1000));
  b.write("        ", 148, 8, "ascii");
  b.write(type, 156, 1, "ascii");
  b.write("ustar\u000000", 257, 8, "ascii");
  b.write((h.uname ?? "root").slice(0, 31), 265, 32, "utf8");
  b.write((h.gname ?? "root").slice(0, 31), 297, 32, "utf8");
  octal(b, 329, 8, 0);
  octal(b, 337, 8, 0);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return b;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Padding after `size` data bytes to the next block boundary. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) for a regular file; a PAX `path` record is added when the name needs it. */
export function tarFileHeader(h: TarEntryHeader): Buffer {
  const nameBytes = Buffer.byteLength(h.name);
  if (nameBytes <= 100 && /^[\x20-\x7e]*$/.test(h.name)) return rawHeader(h.name, h.size, "0", h);
  const pax = Buffer.from(paxRecord("path", h.name), "utf8");
  return Buffer.concat([
    rawHeader("././@PaxHeader", pax.length, "x", { ...h, mode: 0o644 }),
    pax,
    padding(pax.length),
    rawHeader(h.name.slice(-100).replace(/[^\x20-\x7e]/g, "_"), h.size, "0", h),
  ]);
}

/** End-of-archive marker plus padding to a full record, given the archive's length so far. */
export function tarTrailer(lengthSoFar: number): Buffer {
  const end = lengthSoFar + 2 * BLOCK;
  return Buffer.alloc(2 * BLOCK + ((RECORD - (end % RECORD)) % RECORD));
}

/** Build a small tar in memory (metadata.tar, semantics.tar). */
export function buildTarBuffer(entries: { header: TarEntryHeader; data: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  let len = 0;
  for (const e of entries) {
    const h = tarFileHeader({ ...e.header, size: e.data.length });
    parts.push(h, Buffer.from(e.data), padding(e.data.length));
    len += h.length + e.data.length + padding(e.data.length).length;
  }
  parts.push(tarTrailer(len));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Streaming parser

/** Receives one member's data. Returned promises are awaited (backpressure). */
export interface TarEntrySink {
  write(chunk: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

/** Header as seen by the consumer of the parser. */
export interface ParsedTarEntry {
  name: string;
  size: number;
  mode: number;
}

const TYPE_NAMES: Record<string, string> = {
  "1": "a hard link",
  "2": "a symbolic link",
  "3": "a character device",
  "4": "a block device",
  "5": "a directory",
  "6": "a FIFO",
  "7": "a contiguous file",
  K: "a GNU long link name",
  g: "a global PAX header",
  S: "a GNU sparse file",
  V: "a GNU volume header",
  M: "a GNU multi-volume continuation",
};

/**
 * Push-based tar parser. Feed bytes with `write` (await each), then call `finish`. Every problem
 * throws DomainError invalid-argument "<label>: <problem>".
 */
export class TarStreamParser {
  private head = Buffer.alloc(BLOCK);
  private headFill = 0;
  private state: "header" | "data" | "pad" | "meta" | "end1" | "ended" = "header";
  private remaining = 0;
  private padLeft = 0;
  private sink: TarEntrySink | null = null;
  private entryName = "";
  private meta: Buffer[] = [];
  private metaKind: "x" | "L" = "x";
  private pendingPath: string | null = null;
  private pendingSize: number | null = null;
  private entries = 0;
  private readonly maxMetaBytes = 64 * 1024;

  /**
   * @param label names the archive in messages (e.g. "patch", "software.tar").
   * @param onEntry called for each regular-file member; returns its sink or throws to reject it.
   * @param maxEntries rejects the archive beyond this many members.
   */
  constructor(
    private readonly label: string,
    private readonly onEntry: (e: ParsedTarEntry) => TarEntrySink | Promise<TarEntrySink>,
    private readonly maxEntries = 10_000,
  ) {}

  private fail(msg: string): Error {
    return invalidArgument(`${this.label}: ${msg}`, { reason: "PATCH_TAR_INVALID" });
  }

  /** Feed the next bytes of the archive. */
  async write(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      switch (this.state) {
        case "header":
        case "end1": {
          const n = Math.min(BLOCK - this.headFill, chunk.length - off);
          chunk.copy(this.head, this.headFill, off, off + n);
          this.headFill += n;
          off += n;
          if (this.headFill === BLOCK) {
            this.headFill = 0;
            await this.onHeaderBlock();
          }
          break;
        }
        case "data": {
          const n = Math.min(this.remaining, chunk.length - off);
          if (n > 0 && this.sink) await this.sink.write(chunk.subarray(off, off + n));
          this.remaining -= n;
          off += n;
          if (this.remaining === 0) await this.endData();
          break;
        }
        case "meta": {
          const n = Math.min(this.remaining, chunk.length - off);
          this.meta.push(Buffer.from(chunk.subarray(off, off + n)));
          this.remaining -= n;
          off += n;
          if (this.remaining === 0) this.endMeta();
          break;
        }
        case "pad": {
          // Padding content is not checked: it carries no data (and inner tars are signed).
          const n = Math.min(this.padLeft, chunk.length - off);
          this.padLeft -= n;
          off += n;
          if (this.padLeft === 0) this.state = "header";
          break;
        }
        case "ended": {
          for (let i = off; i < chunk.length; i++) {
            if (chunk[i] !== 0) throw this.fail("unexpected data after the end-of-archive marker");
          }
          off = chunk.length;
          break;
        }
      }
    }
  }

  /** Declare the end of input; throws if the archive is truncated. */
  async finish(): Promise<void> {
    if (this.state === "ended") return;
    if (this.state === "data" || this.state === "pad" || this.state === "meta") throw this.fail(`truncated archive inside member '${this.entryName}'`);
    if (this.state === "end1") throw this.fail("truncated archive (lone zero block, missing second end-of-archive block)");
    throw this.fail(this.headFill > 0 ? "truncated archive (partial header block)" : "truncated archive (missing end-of-archive marker)");
  }

  /** True once the end-of-archive marker has been seen. */
  get ended(): boolean {
    return this.state === "ended";
  }

  private async endData(): Promise<void> {
    const sink = this.sink;
    this.sink = null;
    if (sink) await sink.end();
    this.afterData();
  }

  private afterData(): void {
    if (this.padLeft > 0) this.state = "pad";
    else this.state = "header";
  }

  private endMeta(): void {
    const body = Buffer.concat(this.meta);
    this.meta = [];
    if (this.metaKind === "L") {
      const nul = body.indexOf(0);
      this.pendingPath = body.toString("utf8", 0, nul < 0 ? body.length : nul);
    } else {
      this.parsePax(body);
    }
    this.afterData();
  }

  private parsePax(body: Buffer): void {
    let p = 0;
    while (p < body.length) {
      const sp = body.indexOf(0x20, p);
      if (sp < 0) throw this.fail("malformed PAX header");
      const lenText = body.toString("ascii", p, sp);
      if (!/^[1-9][0-9]{0,5}$/.test(lenText)) throw this.fail("malformed PAX record length");
      const len = Number(lenText);
      if (p + len > body.length || body[p + len - 1] !== 0x0a) throw this.fail("malformed PAX record");
      const rec = body.toString("utf8", sp + 1, p + len - 1);
      const eq = rec.indexOf("=");
      if (eq <= 0) throw this.fail("malformed PAX record");
      const key = rec.slice(0, eq);
      const value = rec.slice(eq + 1);
      if (key === "path") this.pendingPath = value;
      else if (key === "size") {
        if (!/^[0-9]{1,15}$/.test(value)) throw this.fail("malformed PAX size");
        this.pendingSize = Number(value);
      } else if (key === "linkpath" || key.startsWith("GNU.sparse")) throw this.fail(`unsupported PAX record '${key}'`);
      p += len;
    }
  }

  private parseOctal(off: number, len: number, what: string): number {
    const field = this.head.subarray(off, off + len);
    if (field[0] & 0x80) throw this.fail(`${what} field in base-256 encoding is not supported`);
    const text = field
      .toString("latin1")
      .replace(/[\0 ]+$/, "")
      .replace(/^ +/, "");
    if (text === "") return 0;
    if (!/^[0-7]+$/.test(text)) throw this.fail(`malformed ${what} field in header`);
    return parseInt(text, 8);
  }

  private async onHeaderBlock(): Promise<void> {
    const h = this.head;
    let zero = true;
    for (let i = 0; i < BLOCK; i++)
      if (h[i] !== 0) {
        zero = false;
        break;
      }
    if (this.state === "end1") {
      if (!zero) throw this.fail("lone zero block followed by data");
      this.state = "ended";
      return;
    }
    if (zero) {
      if (this.pendingPath !== null || this.pendingSize !== null) throw this.fail("extended header not followed by a member");
      this.state = "end1";
      return;
    }
    let stored: number;
    try {
      stored = this.parseOctal(148, 8, "checksum");
    } catch {
      stored = -1;
    }
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : h[i];
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    if (stored !== unsigned && stored !== signed) throw this.fail("header checksum mismatch (corrupt or not a tar archive)");
    const magic = h.toString("latin1", 257, 265);
    const posix = magic === "ustar\u000000";
    const gnu = magic === "ustar  \u0000";
    if (!posix && !gnu) throw this.fail("not a ustar/GNU/PAX tar header");
    const type = String.fromCharCode(h[156]);
    let size = this.parseOctal(124, 12, "size");
    const mode = this.parseOctal(100, 8, "mode");
    let name = h.toString("utf8", 0, 100);
    const nul = name.indexOf("\0");
    if (nul >= 0) name = name.slice(0, nul);
    if (posix) {
      let prefix = h.toString("utf8", 345, 500);
      const pn = prefix.indexOf("\0");
      if (pn >= 0) prefix = prefix.slice(0, pn);
      if (prefix !== "") name = `${prefix}/${name}`;
    }
    if (type === "x" || type === "L") {
      if (size > this.maxMetaBytes) throw this.fail("extended header too large");
      if (this.pendingPath !== null && type === "L") throw this.fail("repeated long-name header");
      this.metaKind = type;
      this.meta = [];
      this.entryName = name;
      this.remaining = size;
      this.padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
      this.state = size === 0 ? "header" : "meta";
      if (size === 0) this.afterData();
      return;
    }
    if (this.pendingPath !== null) name = this.pendingPath;
    if (this.pendingSize !== null) size = this.pendingSize;
    this.pendingPath = null;
    this.pendingSize = null;
    if (type !== "0" && type !== "\0") {
      throw this.fail(`member '${name}' is ${TYPE_NAMES[type] ?? `of unsupported type '${type.replace(/[^\x20-\x7e]/g, "?")}'`}, only regular files are allowed`);
    }
    if (++this.entries > this.maxEntries) throw this.fail(`too many members (limit ${this.maxEntries})`);
    this.entryName = name;
    this.sink = await this.onEntry({ name, size, mode });
    this.remaining = size;
    this.padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    this.state = "data";
    if (size === 0) await this.endData();
  }
}
