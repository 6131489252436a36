/**
 * The controller-wide bound on patch uploads in flight: how many may be read at once and how many
 * bytes of temporary disk (data/tmp) they may hold together. Every upload path (gRPC UploadPatch,
 * the patching REST API, the web console, upload_dir) reads through `readPatch`, which takes a
 * ticket before it reads the first byte and charges every byte it writes to a temp file.
 */
import { DomainError } from "../errors.js";

/** One upload's share of an {@link UploadBudget}; released once its temp files are gone. */
export interface UploadTicket {
  /** Counts `bytes` more of temporary disk; throws resource-exhausted past the shared limit. */
  charge(bytes: number): void;
  /** Gives the slot and every byte charged back (idempotent). */
  release(): void;
}

/**
 * INVARIANTS: single-threaded accounting (no awaits inside): `inFlight` is the number of tickets
 * not yet released and `tmpBytes` the sum of their charges; a released ticket charges nothing more.
 */
export class UploadBudget {
  private inFlight = 0;
  private tmpBytes = 0;

  constructor(
    /** Uploads read at the same time, at most (`--max-concurrent-uploads`). */
    readonly maxConcurrent: number,
    /** Temporary disk all uploads in flight may hold together, bytes (`--max-upload-tmp-bytes`). */
    readonly maxTmpBytes: number,
  ) {
    if (!(Number.isSafeInteger(maxConcurrent) && maxConcurrent > 0)) throw new RangeError(`invalid maxConcurrent ${maxConcurrent}`);
    if (!(Number.isSafeInteger(maxTmpBytes) && maxTmpBytes > 0)) throw new RangeError(`invalid maxTmpBytes ${maxTmpBytes}`);
  }

  /** Uploads in flight and the temporary bytes they hold (tests, metrics). */
  get usage(): { uploads: number; tmpBytes: number } {
    return { uploads: this.inFlight, tmpBytes: this.tmpBytes };
  }

  /** A ticket for one upload, or DomainError resource-exhausted when `maxConcurrent` are in flight. */
  acquire(): UploadTicket {
    if (this.inFlight >= this.maxConcurrent) {
      throw new DomainError("resource-exhausted", `too many uploads in progress (limit ${this.maxConcurrent}, --max-concurrent-uploads); try again later`, {
        reason: "UPLOADS_BUSY",
      });
    }
    this.inFlight++;
    let mine = 0;
    let released = false;
    return {
      charge: (bytes: number) => {
        if (released) return;
        if (this.tmpBytes + bytes > this.maxTmpBytes) {
          throw new DomainError(
            "resource-exhausted",
            `uploads in progress would hold more than ${this.maxTmpBytes} bytes of temporary disk (limit --max-upload-tmp-bytes); try again later`,
            { reason: "UPLOAD_TMP_FULL" },
          );
        }
        this.tmpBytes += bytes;
        mine += bytes;
      },
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.tmpBytes -= mine;
      },
    };
  }
}
