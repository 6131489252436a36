/** Size and count limits applied when reading a patch. */
export interface PatchReadLimits {
  /** Compressed patch file size. Default 4 GiB. */
  maxPatchBytes: number;
  /** Decompressed outer tar size. Default 4 GiB. */
  maxTotalBytes: number;
  /**
   * Bytes one patch may unpack: its decompressed stream and, separately, the bytes it writes to
   * temp files (members and RPMs) are each refused past this (`--max-unpacked-bytes`). Default
   * 8 GiB (twice the default patch size: RPM payloads are already compressed, and an out-of-order
   * software.tar is kept beside the RPMs unpacked from it).
   */
  maxUnpackedBytes: number;
  /**
   * The decompressed stream may not outgrow this many times the compressed bytes received so far
   * plus INFLATE_SLACK_BYTES (`--max-inflate-ratio`; 0 = no ratio check). Default 32: a real
   * patch's RPMs are compressed (ratio about 1), so only a bomb gets near it, and it is refused
   * after a few hundred MB instead of at the size limit.
   */
  maxInflateRatio: number;
  /** metadata.tar size. Default 1 MiB. */
  maxMetadataTarBytes: number;
  /** semantics.tar size. Default 1 MiB. */
  maxSemanticsTarBytes: number;
  /** software.tar size. Default 4 GiB. */
  maxSoftwareTarBytes: number;
  /** `signature` size. Default 1 KiB. */
  maxSignatureBytes: number;
  /** `signature.v2` size. Default 4 KiB (a 16384-bit RSA signature is 2 KiB). */
  maxSignatureV2Bytes: number;
  /** `signature.dsse` size (a DSSE envelope, issue 21). Default 64 KiB. */
  maxSignatureDsseBytes: number;
  /** Number of RPMs in software.tar. Default 1000. */
  maxRpms: number;
  /** Size of one RPM. Default 2 GiB. */
  maxRpmBytes: number;
  /** Length of the patch id. Default 100. */
  maxIdLength: number;
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

/** The defaults listed on {@link PatchReadLimits}. */
export const DEFAULT_PATCH_READ_LIMITS: Readonly<PatchReadLimits> = Object.freeze({
  maxPatchBytes: 4 * GiB,
  maxTotalBytes: 4 * GiB,
  maxUnpackedBytes: 8 * GiB,
  maxInflateRatio: 32,
  maxMetadataTarBytes: 1 * MiB,
  maxSemanticsTarBytes: 1 * MiB,
  maxSoftwareTarBytes: 4 * GiB,
  maxSignatureBytes: 1024,
  maxSignatureV2Bytes: 4096,
  maxSignatureDsseBytes: 64 * 1024,
  maxRpms: 1000,
  maxRpmBytes: 2 * GiB,
  maxIdLength: 100,
});

/** Decompressed bytes always allowed beyond the inflate ratio (metadata and semantics compress well). */
export const INFLATE_SLACK_BYTES = 64 * MiB;

/** Merge partial limits over the defaults. */
export function resolvePatchReadLimits(l: Partial<PatchReadLimits> = {}): PatchReadLimits {
  const out = { ...DEFAULT_PATCH_READ_LIMITS };
  for (const [k, v] of Object.entries(l) as [keyof PatchReadLimits, number | undefined][]) {
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`invalid patch read limit ${k}: ${v}`);
    out[k] = v;
  }
  return out;
}

/** A patch id must be one safe path component and one URL path segment. */
export const SAFE_ID_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** sw_version is used in directory names. */
export const SAFE_RELEASE_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
/** RPM file names inside software.tar. */
export const SAFE_RPM_NAME_RE = /^[A-Za-z0-9_+][A-Za-z0-9._+~^-]{0,250}\.rpm$/;
