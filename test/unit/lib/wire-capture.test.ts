/**
 * The capture search of the multi-host test (test/lib/pcap.ts, hpack-huffman.ts, netns.ts
 * findSecrets): a secret must be found however it crossed in clear — split over TCP segments,
 * retransmitted, or Huffman-coded in an HTTP/2 header as Node's own http2 client sends it.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as http2 from "node:http2";
import * as net from "node:net";
import { huffmanEncode, secretPatterns } from "../../lib/hpack-huffman.js";
import { readTcpStreams } from "../../lib/pcap.js";
import { findSecrets } from "../../lib/netns.js";

/** A classic little-endian pcap (Ethernet) with one IPv4/TCP frame per segment. */
function pcapOf(segments: { seq: number; data: Buffer; syn?: boolean; sport?: number }[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(1, 20);
  const records = segments.map((s) => {
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(s.sport ?? 40000, 0);
    tcp.writeUInt16BE(5490, 2);
    tcp.writeUInt32BE(s.seq >>> 0, 4);
    tcp[12] = 5 << 4;
    tcp[13] = s.syn ? 0x02 : 0x18;
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 20 + s.data.length, 2);
    ip[9] = 6;
    Buffer.from([10, 231, 7, 2]).copy(ip, 12);
    Buffer.from([10, 231, 7, 1]).copy(ip, 16);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    // Ethernet pads short frames to 60 bytes: the reader must cut at the IP total length.
    const frame = Buffer.concat([eth, ip, tcp, s.data, Buffer.alloc(Math.max(0, 60 - 54 - s.data.length))]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([head, ...records]);
}

describe("wire capture search", () => {
  it("Huffman-codes as RFC 7541 appendix C shows", () => {
    expect(huffmanEncode("www.example.com").toString("hex")).to.equal("f1e3c2e5f23a6ba0ab90f4ff");
    expect(huffmanEncode("custom-value").toString("hex")).to.equal("25a849e95bb8e8b4bf");
    expect(huffmanEncode("Mon, 21 Oct 2013 20:13:21 GMT").toString("hex")).to.equal("d07abe941054d444a8200595040b8166e082a62d1bff");
    expect(huffmanEncode("https://www.example.com").toString("hex")).to.equal("9d29ad171863c78f0b97c8e9ae82ae43d3");
  });

  it("refuses secrets too short to search for and characters HPACK codes beyond ASCII", () => {
    expect(() => secretPatterns("abc")).to.throw(/too few/);
    expect(() => secretPatterns("0123456789abcdef\u00e9")).to.throw(/not printable ASCII/);
  });

  it("reassembles a stream split over segments, out of order and retransmitted, and finds the secret in it", () => {
    const secret = "0123456789abcdef".repeat(4);
    const bytes = Buffer.from(`POST /x HTTP/1.1\r\nx-auth-token: ${secret}\r\n\r\n`);
    const isn = 0xfffffff0; // the sequence numbers wrap around inside the stream
    const file = pcapOf([
      { seq: isn, data: Buffer.alloc(0), syn: true },
      { seq: isn + 1 + 30, data: bytes.subarray(30) },
      { seq: isn + 1, data: bytes.subarray(0, 30) },
      { seq: isn + 1 + 20, data: bytes.subarray(20, 40) },
    ]);
    const streams = readTcpStreams(file);
    expect(streams).to.have.length(1);
    expect(streams[0]).to.deep.include({ src: "10.231.7.2:40000", dst: "10.231.7.1:5490", segments: 3 });
    expect(streams[0]!.payload.equals(bytes)).to.equal(true);
    expect(findSecrets(streams, { token: secret, other: "fedcba9876543210".repeat(4) })).to.deep.equal([
      { label: "token", form: "raw", stream: "10.231.7.2:40000 > 10.231.7.1:5490" },
    ]);
  });

  it("rejects a file that is not a classic pcap", () => {
    expect(() => readTcpStreams(Buffer.alloc(40))).to.throw(/bad magic/);
  });

  it("finds a bearer token that Node's http2 client sent Huffman-coded, which a plain search misses", async () => {
    const token = `swp_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("hex")}`;
    const received: Buffer[] = [];
    let gotAll!: () => void;
    const done = new Promise<void>((r) => (gotAll = r));
    // A plain TCP listener that records what the client sends (the client's preface, SETTINGS and HEADERS).
    const server = net.createServer((s) => {
      s.on("data", (d: Buffer) => {
        received.push(d);
        if (Buffer.concat(received).length > 100) gotAll();
      });
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    client.on("error", () => undefined);
    try {
      const req = client.request({ ":path": "/swpatch.v1.PatchService/ListPatches", authorization: `Bearer ${token}` });
      req.on("error", () => undefined);
      await done;
      const bytes = Buffer.concat(received);
      expect(bytes.includes(Buffer.from(token)), "the header is sent Huffman-coded, not as text").to.equal(false);
      const hits = findSecrets([{ src: "client", dst: "server", payload: bytes, segments: 1 }], { token });
      expect(hits).to.have.length(1);
      expect(hits[0]!.form).to.match(/^huffman\+\d$/);
    } finally {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
