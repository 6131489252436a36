import { createHash, type Hash } from "node:crypto";
import type { Hasher } from "./hash-lanes.js";

/** A Hasher on this thread (node:crypto), for small members. */
export class LocalHasher implements Hasher {
  private readonly h: Hash;
  constructor(algo: "md5" | "sha256") {
    this.h = createHash(algo);
  }
  update(b: Uint8Array): void {
    this.h.update(b);
  }
  async digest(): Promise<Buffer> {
    return this.h.digest();
  }
}
