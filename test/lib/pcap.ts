/**
 * A small reader for the classic pcap files `tcpdump -w` writes (Ethernet or Linux "cooked"
 * captures, IPv4 and IPv6, TCP): each direction of each TCP connection reassembled into the byte
 * stream the application wrote, so that a search cannot be defeated by a secret split across two
 * segments. Retransmitted bytes are written once (at their sequence number).
 */

/** One direction of one TCP connection. */
export interface TcpStream {
  /** "ip:port" of the sender. */
  src: string;
  /** "ip:port" of the receiver. */
  dst: string;
  /** The payload bytes in sequence order (gaps, if segments were not captured, are left out). */
  payload: Buffer;
  /** TCP segments that carried payload. */
  segments: number;
}

interface Segment {
  seq: number;
  data: Buffer;
}

interface Flow {
  src: string;
  dst: string;
  /** Sequence number of the first payload byte (SYN + 1 when the SYN was captured). */
  base: number | undefined;
  segments: Segment[];
}

function ipv4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function ipv6(b: Buffer, o: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(o + i).toString(16));
  return `[${parts.join(":")}]`;
}

/** The IP packet inside a link-layer frame, or undefined for frames that carry none (ARP...). */
function ipPacket(linkType: number, frame: Buffer): { version: 4 | 6; packet: Buffer } | undefined {
  let etherType: number;
  let offset: number;
  if (linkType === 1) {
    // Ethernet II, possibly with one 802.1Q tag.
    etherType = frame.readUInt16BE(12);
    offset = 14;
    if (etherType === 0x8100) {
      etherType = frame.readUInt16BE(16);
      offset = 18;
    }
  } else if (linkType === 113) {
    // Linux cooked capture v1 (tcpdump -i any).
    etherType = frame.readUInt16BE(14);
    offset = 16;
  } else if (linkType === 101) {
    // Raw IP.
    const v = frame[0]! >> 4;
    return v === 4 || v === 6 ? { version: v, packet: frame } : undefined;
  } else {
    throw new Error(`pcap: link type ${linkType} is not supported`);
  }
  if (etherType === 0x0800) return { version: 4, packet: frame.subarray(offset) };
  if (etherType === 0x86dd) return { version: 6, packet: frame.subarray(offset) };
  return undefined;
}

/**
 * Reassembles the TCP streams of a pcap file.
 * @throws Error when the bytes are not a classic pcap file (pcapng is not read).
 */
export function readTcpStreams(file: Buffer): TcpStream[] {
  if (file.length < 24) throw new Error("pcap: file shorter than its header");
  const magic = file.readUInt32LE(0);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`pcap: bad magic 0x${magic.toString(16)} (not a classic pcap file)`);
  const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  const flows = new Map<string, Flow>();
  let o = 24;
  while (o + 16 <= file.length) {
    const capLen = u32(o + 8);
    const origLen = u32(o + 12);
    const frame = file.subarray(o + 16, o + 16 + capLen);
    o += 16 + capLen;
    if (frame.length < capLen) break; // the last record was cut off (capture stopped mid-write)
    if (capLen < origLen) throw new Error(`pcap: a frame was truncated to ${capLen} of ${origLen} bytes (capture with -s 0)`);
    const ip = ipPacket(linkType, frame);
    if (!ip) continue;
    let src: string;
    let dst: string;
    let tcp: Buffer;
    const p = ip.packet;
    if (ip.version === 4) {
      if (p[9] !== 6) continue;
      const ihl = (p[0]! & 0x0f) * 4;
      const total = p.readUInt16BE(2);
      src = ipv4(p, 12);
      dst = ipv4(p, 16);
      tcp = p.subarray(ihl, total);
    } else {
      if (p[6] !== 6) continue; // extension headers are not followed: our captures have none
      src = ipv6(p, 8);
      dst = ipv6(p, 24);
      tcp = p.subarray(40, 40 + p.readUInt16BE(4));
    }
    const sport = tcp.readUInt16BE(0);
    const dport = tcp.readUInt16BE(2);
    const seq = tcp.readUInt32BE(4);
    const dataOffset = (tcp[12]! >> 4) * 4;
    const syn = (tcp[13]! & 0x02) !== 0;
    const key = `${src}:${sport}>${dst}:${dport}`;
    let flow = flows.get(key);
    if (!flow) {
      flow = { src: `${src}:${sport}`, dst: `${dst}:${dport}`, base: undefined, segments: [] };
      flows.set(key, flow);
    }
    if (syn) flow.base = (seq + 1) >>> 0;
    const data = tcp.subarray(dataOffset);
    if (data.length > 0) flow.segments.push({ seq, data: Buffer.from(data) });
  }
  const streams: TcpStream[] = [];
  for (const f of flows.values()) {
    if (f.segments.length === 0) continue;
    const base = f.base ?? f.segments[0]!.seq;
    // Relative offsets modulo 2^32 (a stream longer than 4 GiB is not expected here).
    const placed = f.segments.map((s) => ({ at: (s.seq - base) >>> 0, data: s.data })).sort((a, b) => a.at - b.at);
    const parts: Buffer[] = [];
    let end = placed[0]!.at;
    for (const s of placed) {
      if (s.at + s.data.length <= end) continue; // a retransmission of bytes we have
      parts.push(s.at >= end ? s.data : s.data.subarray(end - s.at));
      end = s.at + s.data.length;
    }
    streams.push({ src: f.src, dst: f.dst, payload: Buffer.concat(parts), segments: f.segments.length });
  }
  return streams;
}
