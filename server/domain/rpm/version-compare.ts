/**
 * rpm version ordering: `rpmvercmp` (one version or release string) and `rpmVersionCompare`
 * (epoch, version, release), following rpm 4.18's rpmvercmp.c / rpmverCmp semantics.
 */

/** An epoch/version/release triple; a missing epoch counts as "0", a missing release is not compared. */
export interface Evr {
  epoch?: string | number | null;
  version: string;
  release?: string | null;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
const TILDE = 126;
const CARET = 94;

/**
 * Compare two version (or release) strings the way rpm's `rpmvercmp` does: alternating numeric and
 * alphabetic segments, separators ignored, numeric newer than alphabetic, leading zeros ignored,
 * `~` sorts before everything (even the end of the string), `^` sorts after the end of the string but
 * before any other segment. Only ASCII letters and digits form segments.
 * @returns -1, 0 or 1.
 */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const at = (s: string, k: number): number => (k < s.length ? s.charCodeAt(k) : 0);
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(at(a, i)) && at(a, i) !== TILDE && at(a, i) !== CARET) i++;
    while (j < b.length && !isAlnum(at(b, j)) && at(b, j) !== TILDE && at(b, j) !== CARET) j++;
    const ca = at(a, i);
    const cb = at(b, j);
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    let ei = i;
    let ej = j;
    let isNum: boolean;
    if (isDigit(ca)) {
      while (ei < a.length && isDigit(at(a, ei))) ei++;
      while (ej < b.length && isDigit(at(b, ej))) ej++;
      isNum = true;
    } else {
      while (ei < a.length && isAlpha(at(a, ei))) ei++;
      while (ej < b.length && isAlpha(at(b, ej))) ej++;
      isNum = false;
    }
    if (ei === i) return -1; // cannot happen: segment of a is non-empty
    if (ej === j) return isNum ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (isNum) {
      sa = sa.replace(/^0+/, "");
      sb = sb.replace(/^0+/, "");
      if (sa.length > sb.length) return 1;
      if (sb.length > sa.length) return -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  const endA = i >= a.length;
  const endB = j >= b.length;
  if (endA && endB) return 0;
  return endA ? -1 : 1;
}

/**
 * Compare two EVRs like rpm's `labelCompare`/`rpmverCmp`: epoch (missing = "0") by rpmvercmp, then
 * version, then release only when both sides have one.
 * @returns -1, 0 or 1.
 */
export function rpmVersionCompare(a: Evr, b: Evr): -1 | 0 | 1 {
  const ea = a.epoch === undefined || a.epoch === null || a.epoch === "" ? "0" : String(a.epoch);
  const eb = b.epoch === undefined || b.epoch === null || b.epoch === "" ? "0" : String(b.epoch);
  let rc = rpmvercmp(ea, eb);
  if (rc !== 0) return rc;
  rc = rpmvercmp(a.version, b.version);
  if (rc !== 0) return rc;
  if (a.release !== undefined && a.release !== null && b.release !== undefined && b.release !== null) {
    return rpmvercmp(a.release, b.release);
  }
  return 0;
}
