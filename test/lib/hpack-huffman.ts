/**
 * HPACK (RFC 7541) Huffman codes of printable ASCII, to find a secret in captured HTTP/2 bytes.
 *
 * HTTP/2 sends header values (`authorization: Bearer ...`) HPACK-encoded, and Node's nghttp2
 * Huffman-codes a value whenever that is shorter: a token sent in clear text in a gRPC header is
 * NOT in the captured bytes as its ASCII text, so a plain grep would miss it. {@link secretPatterns}
 * gives the byte patterns under which a secret appears in clear: its raw bytes (message bodies,
 * HTTP/1 headers) and its Huffman bit string at each of the 8 bit offsets it can start at inside a
 * coded header value (the secret's own bytes sit after "Bearer " or any other prefix).
 */

/** RFC 7541 Appendix B: the code of each byte from 0x20 (space) to 0x7e ("~"), most significant bit first. */
const CODES_0X20_0X7E = [
  "010100",
  "1111111000",
  "1111111001",
  "111111111010",
  "1111111111001",
  "010101",
  "11111000",
  "11111111010",
  "1111111010",
  "1111111011",
  "11111001",
  "11111111011",
  "11111010",
  "010110",
  "010111",
  "011000",
  "00000",
  "00001",
  "00010",
  "011001",
  "011010",
  "011011",
  "011100",
  "011101",
  "011110",
  "011111",
  "1011100",
  "11111011",
  "111111111111100",
  "100000",
  "111111111011",
  "1111111100",
  "1111111111010",
  "100001",
  "1011101",
  "1011110",
  "1011111",
  "1100000",
  "1100001",
  "1100010",
  "1100011",
  "1100100",
  "1100101",
  "1100110",
  "1100111",
  "1101000",
  "1101001",
  "1101010",
  "1101011",
  "1101100",
  "1101101",
  "1101110",
  "1101111",
  "1110000",
  "1110001",
  "1110010",
  "11111100",
  "1110011",
  "11111101",
  "1111111111011",
  "1111111111111110000",
  "1111111111100",
  "11111111111100",
  "100010",
  "111111111111101",
  "00011",
  "100011",
  "00100",
  "100100",
  "00101",
  "100101",
  "100110",
  "100111",
  "00110",
  "1110100",
  "1110101",
  "101000",
  "101001",
  "101010",
  "00111",
  "101011",
  "1110110",
  "101100",
  "01000",
  "01001",
  "101101",
  "1110111",
  "1111000",
  "1111001",
  "1111010",
  "1111011",
  "111111111111110",
  "11111111100",
  "11111111111101",
  "1111111111101",
];

/** The Huffman bit string ("0"/"1" characters) of `text`. @throws Error for a character outside 0x20..0x7e. */
export function huffmanBits(text: string): string {
  let bits = "";
  for (const ch of text) {
    const code = CODES_0X20_0X7E[ch.charCodeAt(0) - 0x20];
    if (ch.length !== 1 || code === undefined) throw new Error(`huffmanBits: ${JSON.stringify(ch)} is not printable ASCII`);
    bits += code;
  }
  return bits;
}

function bitsToBytes(bits: string): Buffer {
  const out = Buffer.alloc(bits.length >> 3);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return out;
}

/** The HPACK Huffman string literal of `text` as a sender writes it (padded with 1 bits to a byte). */
export function huffmanEncode(text: string): Buffer {
  const bits = huffmanBits(text);
  return bitsToBytes(bits + "1".repeat((8 - (bits.length % 8)) % 8));
}

/** One way a secret can appear in captured bytes. */
export interface SecretPattern {
  /** "raw", or "huffman+N" (the secret's code starts N bits into a byte). */
  form: string;
  bytes: Buffer;
}

/**
 * The patterns to search captured bytes for: the raw text, and for each bit offset 0..7 the whole
 * bytes the secret's Huffman code fills there. Each Huffman pattern leaves out at most 7 bits at
 * either end, so the secret must be long enough for the patterns to stay specific.
 * @throws Error when a Huffman pattern would be shorter than 8 bytes.
 */
export function secretPatterns(secret: string): SecretPattern[] {
  const bits = huffmanBits(secret);
  const out: SecretPattern[] = [{ form: "raw", bytes: Buffer.from(secret, "latin1") }];
  for (let offset = 0; offset < 8; offset++) {
    const skip = (8 - offset) % 8;
    const usable = bits.slice(skip);
    const bytes = bitsToBytes(usable.slice(0, usable.length - (usable.length % 8)));
    if (bytes.length < 8) throw new Error(`secretPatterns: ${secret.length} characters are too few to search for`);
    out.push({ form: `huffman+${offset}`, bytes });
  }
  return out;
}
