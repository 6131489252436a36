/**
 * Strict, bounded parser for the RPM lead, signature header and main header (rpm v3 lead, v4
 * header structures). Reads only the bytes it needs; never trusts a count or size before checking
 * it against the bytes available and the configured limits.
 */
import { promises as fsp } from "node:fs";
import { invalidArgument } from "../errors.js";

/** The fields of an RPM header the patch tooling uses. */
export interface RpmHeader {
  name: string;
  /** null when the package has no Epoch tag. */
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
  summary: string | null;
  /** True for a source package (lead type 1, or no SOURCERPM tag). */
  isSource: boolean;
  /** Bytes from the start of the file to the end of the main header (the payload starts here). */
  headerEnd: number;
}

/** Limits for {@link parseRpmHeader}; every field optional. */
export interface RpmHeaderLimits {
  /** Maximum index entries per header. Default 65535 (rpm's HEADER_TAGS_MAX). */
  maxIndexEntries?: number;
  /** Maximum data-store bytes per header. Default 64 MiB. */
  maxDataBytes?: number;
}

const LEAD_SIZE = 96;
const LEAD_MAGIC = 0xedabeedb;
const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
const INTRO_SIZE = 16;
const ENTRY_SIZE = 16;

const TAG_NAME = 1000;
const TAG_VERSION = 1001;
const TAG_RELEASE = 1002;
const TAG_EPOCH = 1003;
const TAG_SUMMARY = 1004;
const TAG_ARCH = 1022;
const TAG_SOURCERPM = 1044;

const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;
const TYPE_MAX = 9;

/** Reads `length` bytes at `offset`; returns fewer only at end of input. */
export type ByteReader = (offset: number, length: number) => Promise<Buffer>;

function bad(what: string, source: string): Error {
  return invalidArgument(`Invalid RPM ${source}: ${what}`, { reason: "RPM_HEADER_INVALID" });
}

interface Entry {
  tag: number;
  type: number;
  offset: number;
  count: number;
}

async function readExact(read: ByteReader, offset: number, length: number, what: string, source: string): Promise<Buffer> {
  const b = await read(offset, length);
  if (b.length < length) throw bad(`truncated ${what}`, source);
  return b;
}

async function readHeaderStructure(
  read: ByteReader,
  start: number,
  which: string,
  source: string,
  limits: Required<RpmHeaderLimits>,
): Promise<{ entries: Entry[]; data: Buffer; end: number }> {
  const intro = await readExact(read, start, INTRO_SIZE, `${which} header`, source);
  if (!intro.subarray(0, 4).equals(HEADER_MAGIC)) throw bad(`bad ${which} header magic`, source);
  const nindex = intro.readUInt32BE(8);
  const hsize = intro.readUInt32BE(12);
  if (nindex < 1 || nindex > limits.maxIndexEntries) throw bad(`${which} header has an absurd entry count (${nindex})`, source);
  if (hsize > limits.maxDataBytes) throw bad(`${which} header data size ${hsize} exceeds the limit ${limits.maxDataBytes}`, source);
  const body = await readExact(read, start + INTRO_SIZE, nindex * ENTRY_SIZE + hsize, `${which} header`, source);
  const data = body.subarray(nindex * ENTRY_SIZE);
  const entries: Entry[] = [];
  for (let k = 0; k < nindex; k++) {
    const p = k * ENTRY_SIZE;
    const e = { tag: body.readUInt32BE(p), type: body.readUInt32BE(p + 4), offset: body.readUInt32BE(p + 8), count: body.readUInt32BE(p + 12) };
    if (e.type > TYPE_MAX) throw bad(`${which} header tag ${e.tag} has unknown type ${e.type}`, source);
    if (e.offset > hsize) throw bad(`${which} header tag ${e.tag} points outside the data store`, source);
    if (e.count < 1 || e.count > hsize + 1) throw bad(`${which} header tag ${e.tag} has an absurd count (${e.count})`, source);
    entries.push(e);
  }
  return { entries, data, end: start + INTRO_SIZE + nindex * ENTRY_SIZE + hsize };
}

function readString(entries: Entry[], data: Buffer, tag: number, source: string): string | null {
  const e = entries.find((x) => x.tag === tag);
  if (!e) return null;
  if (e.type !== TYPE_STRING && e.type !== TYPE_I18NSTRING && e.type !== TYPE_STRING_ARRAY) {
    throw bad(`tag ${tag} is not a string`, source);
  }
  const end = data.indexOf(0, e.offset);
  if (end < 0) throw bad(`tag ${tag} string is not terminated inside the data store`, source);
  return data.toString("utf8", e.offset, end);
}

function readInt32(entries: Entry[], data: Buffer, tag: number, source: string): number | null {
  const e = entries.find((x) => x.tag === tag);
  if (!e) return null;
  if (e.type !== TYPE_INT32) throw bad(`tag ${tag} is not an int32`, source);
  if (e.offset % 4 !== 0 || e.offset + 4 > data.length) throw bad(`tag ${tag} int32 is misaligned or outside the data store`, source);
  return data.readUInt32BE(e.offset);
}

function required(v: string | null, what: string, source: string): string {
  if (v === null || v === "") throw bad(`missing ${what}`, source);
  if (/[\0-\x1f\x7f/]/.test(v)) throw bad(`${what} contains forbidden characters`, source);
  return v;
}

/**
 * Parse an RPM's lead, signature header and main header through `read`.
 * @param source name used in error messages (file name).
 * @throws DomainError invalid-argument "Invalid RPM <source>: <reason>" (bad magic, truncated,
 *   absurd counts or sizes, missing or malformed NAME/VERSION/RELEASE/ARCH).
 */
export async function parseRpmHeaderFrom(read: ByteReader, source: string, limits: RpmHeaderLimits = {}): Promise<RpmHeader> {
  const lim: Required<RpmHeaderLimits> = { maxIndexEntries: limits.maxIndexEntries ?? 65535, maxDataBytes: limits.maxDataBytes ?? 64 * 1024 * 1024 };
  const lead = await readExact(read, 0, LEAD_SIZE, "lead", source);
  if (lead.readUInt32BE(0) !== LEAD_MAGIC) throw bad("bad lead magic (not an RPM file)", source);
  const major = lead[4];
  if (major !== 3 && major !== 4) throw bad(`unsupported lead version ${major}`, source);
  const leadType = lead.readUInt16BE(6);
  if (leadType > 1) throw bad(`unknown lead type ${leadType}`, source);
  const sigType = lead.readUInt16BE(78);
  if (sigType !== 5) throw bad(`unsupported signature type ${sigType}`, source);
  const sig = await readHeaderStructure(read, LEAD_SIZE, "signature", source, lim);
  const mainStart = sig.end + ((8 - (sig.end % 8)) % 8);
  const main = await readHeaderStructure(read, mainStart, "main", source, lim);
  const name = required(readString(main.entries, main.data, TAG_NAME, source), "NAME", source);
  const version = required(readString(main.entries, main.data, TAG_VERSION, source), "VERSION", source);
  const release = required(readString(main.entries, main.data, TAG_RELEASE, source), "RELEASE", source);
  const arch = required(readString(main.entries, main.data, TAG_ARCH, source), "ARCH", source);
  if (/[-\s]/.test(version) || /[-\s]/.test(release)) throw bad("VERSION or RELEASE contains '-' or whitespace", source);
  const epoch = readInt32(main.entries, main.data, TAG_EPOCH, source);
  const summary = readString(main.entries, main.data, TAG_SUMMARY, source);
  const sourceRpm = readString(main.entries, main.data, TAG_SOURCERPM, source);
  return { name, epoch, version, release, arch, summary, isSource: leadType === 1 || sourceRpm === null, headerEnd: main.end };
}

/** Parse the header of an RPM held in memory. See {@link parseRpmHeaderFrom}. */
export function parseRpmHeader(buf: Uint8Array, source = "buffer", limits?: RpmHeaderLimits): Promise<RpmHeader> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return parseRpmHeaderFrom(async (off, len) => b.subarray(off, Math.min(b.length, off + len)), source, limits);
}

/** Parse the header of an RPM file, reading only the header bytes. See {@link parseRpmHeaderFrom}. */
export async function readRpmHeader(filePath: string, source = filePath, limits?: RpmHeaderLimits): Promise<RpmHeader> {
  const fh = await fsp.open(filePath, "r");
  try {
    return await parseRpmHeaderFrom(
      async (off, len) => {
        const buf = Buffer.alloc(len);
        let got = 0;
        while (got < len) {
          const { bytesRead } = await fh.read(buf, got, len - got, off + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buf.subarray(0, got);
      },
      source,
      limits,
    );
  } finally {
    await fh.close();
  }
}
