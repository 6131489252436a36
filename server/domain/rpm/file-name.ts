/** Parsing of RPM file names, `[E:]name-version-release.arch.rpm`, as the reference does it. */
import { invalidArgument } from "../errors.js";

/** The parts of an RPM file name. `epoch` is null unless the name had an `E:` prefix. */
export interface RpmFileName {
  name: string;
  epoch: string | null;
  version: string;
  release: string;
  arch: string;
}

// Mirrors the reference's pattern: optional single-character epoch, then name, the last two "-"
// split version and release, the last "." splits off the arch.
const RPM_NAME = /^(?:([^:]):)?(.*)-([^-]+)-(.*)\.([^.]*)$/;

/**
 * Parse `[E:]name-version-release.arch.rpm` (a directory part is ignored). The `.rpm` extension is
 * required here (the reference drops any extension); name, version, release and arch must be
 * non-empty.
 * @throws DomainError invalid-argument "Filename does not match expected RPM format: X".
 */
export function parseRpmFileName(fileName: string): RpmFileName {
  const base = fileName.slice(fileName.lastIndexOf("/") + 1);
  const fail = () => invalidArgument(`Filename does not match expected RPM format: ${base}`, { reason: "RPM_FILENAME" });
  if (!base.endsWith(".rpm") || /[\n\r\0]/.test(base)) throw fail();
  const m = RPM_NAME.exec(base.slice(0, -4));
  if (!m) throw fail();
  const [, epoch, name, version, release, arch] = m;
  if (!name || !version || !release || !arch) throw fail();
  return { name, epoch: epoch ?? null, version, release, arch };
}

/** The canonical file name rpmbuild gives a binary package: `name-version-release.arch.rpm`. */
export function rpmFileNameOf(h: { name: string; version: string; release: string; arch: string }): string {
  return `${h.name}-${h.version}-${h.release}.${h.arch}.rpm`;
}
