/**
 * RPM helpers for the patch tooling: header parsing, version ordering and file-name parsing.
 * No external tools are used.
 */
export { parseRpmHeader, parseRpmHeaderFrom, readRpmHeader } from "./header.js";
export type { RpmHeader, RpmHeaderLimits, ByteReader } from "./header.js";
export { rpmvercmp, rpmVersionCompare } from "./version-compare.js";
export type { Evr } from "./version-compare.js";
export { parseRpmFileName, rpmFileNameOf } from "./file-name.js";
export type { RpmFileName } from "./file-name.js";
