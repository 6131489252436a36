/**
 * File access inside a host root that never leaves it (issue 16, point 11). The root's content is
 * written by packages and their scriptlets, so any of its paths may be a symlink planted to make
 * the agent (running as root) read or write a file of the machine outside the root.
 *
 * Rules (docs/agent.md "Staying inside the root"):
 * - Directory components are resolved the way the root itself sees them, like a chroot or
 *   openat2(RESOLVE_IN_ROOT): a symlink is followed, but an absolute target starts again at the
 *   root and `..` stops at the root. `var/run -> /run` (the usual layout) works; `var/log -> /tmp`
 *   means `<root>/tmp`, never the machine's /tmp.
 * - The last component is never followed: files are opened with O_NOFOLLOW; the caller decides
 *   what a symlink there means (replace it, treat it as absent, or refuse). Atomic writes rename a
 *   regular file over whatever the name was, so a symlink there is replaced.
 * - Only regular files are opened: O_NONBLOCK keeps a FIFO from blocking the open, and anything
 *   that is not a regular file once open (FIFO, socket, device node) is refused.
 * - After every open the descriptor's real path (/proc/self/fd) must be inside the root; a
 *   directory swapped for a symlink between the check and the open is caught there and refused.
 *   (mkdir/rename/rm have no such after-check: a process inside the root racing the agent on a
 *   directory it just checked is not covered.)
 *
 * INVARIANTS
 * - Every path these functions touch is `realRoot` + components that were each lstat-ed as a
 *   non-symlink (or created by the agent) during this call.
 * - No function follows a symlink in the last component.
 */
import { constants, promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { DomainError } from "../domain/errors.js";

/**
 * Refused: a path would lead out of the root, its last component is a symlink the caller refuses,
 * or it is not a regular file (a FIFO would block the agent, a device node would be the machine's
 * device).
 */
export class UnsafeRootPathError extends DomainError {
  readonly path: string;
  constructor(message: string, file: string) {
    super("failed-precondition", message, { reason: "UNSAFE_ROOT_PATH" });
    this.name = "UnsafeRootPathError";
    this.path = file;
  }
}

/** How many symlinks one resolution follows before giving up (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The root's own real path (it is given by the operator and trusted); the resolved path if it does not exist yet. */
export async function realRoot(root: string): Promise<string> {
  const abs = path.resolve(root);
  return fsp.realpath(abs).catch(() => abs);
}

/** `target` (absolute under `root`, or relative to it) as components relative to the root. */
function componentsOf(root: string, target: string): string[] {
  const abs = path.resolve(root, target);
  const rel = path.relative(path.resolve(root), abs);
  if (rel === ".." || rel.startsWith(".." + path.sep) || path.isAbsolute(rel)) throw new UnsafeRootPathError(`${target} is not inside the root ${root}`, target);
  return rel.split(path.sep).filter((c) => c !== "" && c !== ".");
}

/**
 * The real path of `target` inside `root`, resolving symlinks with chroot semantics (module doc).
 * The last component is followed only with `followLast` (as the root's own shell would when it
 * executes or stats a file). Components that do not exist are appended as they are.
 * @throws UnsafeRootPathError after more than 40 symlinks.
 */
export async function resolveInRoot(root: string, target: string, opts: { followLast?: boolean } = {}): Promise<string> {
  const top = await realRoot(root);
  const todo = componentsOf(root, target).reverse(); // a stack: the next component is last
  const cur: string[] = [];
  let links = 0;
  let missing = false;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === "." || name === "") continue;
    if (name === "..") {
      cur.pop(); // stops at the root
      continue;
    }
    const candidate = path.join(top, ...cur, name);
    const last = todo.length === 0;
    if (missing) {
      cur.push(name);
      continue;
    }
    const st = await fsp.lstat(candidate).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT" || e.code === "ENOTDIR") return undefined;
      throw e;
    });
    if (!st) {
      missing = true;
      cur.push(name);
      continue;
    }
    if (st.isSymbolicLink() && (!last || opts.followLast)) {
      if (++links > MAX_LINKS) throw new UnsafeRootPathError(`Too many levels of symbolic links resolving ${target} in ${root}`, target);
      const link = await fsp.readlink(candidate);
      if (path.isAbsolute(link)) cur.length = 0;
      for (const c of link.split("/").reverse()) if (c !== "") todo.push(c);
      continue;
    }
    cur.push(name);
  }
  return path.join(top, ...cur);
}

/** Throws unless the open descriptor's real path is inside `top` (Linux /proc; skipped elsewhere). */
async function checkDescriptor(fh: FileHandle, top: string, shown: string): Promise<void> {
  let real: string;
  try {
    real = await fsp.readlink(`/proc/self/fd/${fh.fd}`);
  } catch {
    return;
  }
  if (!isInside(top, real)) {
    await fh.close().catch(() => {});
    throw new UnsafeRootPathError(`Refusing ${shown}: it leads out of the root (to ${real})`, shown);
  }
}

/**
 * Creates directory `dir` inside `root` (and its missing parents, each with `mkdir`, never through
 * a symlink out of the root). @returns its real path.
 */
export async function mkdirInRoot(root: string, dir: string, mode = 0o755): Promise<string> {
  const top = await realRoot(root);
  await fsp.mkdir(top, { recursive: true });
  const real = await resolveInRoot(root, dir, { followLast: true });
  const parts = path.relative(top, real).split(path.sep).filter(Boolean);
  let cur = top;
  for (const part of parts) {
    cur = path.join(cur, part);
    try {
      await fsp.mkdir(cur, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const st = await fsp.lstat(cur);
      if (st.isSymbolicLink()) throw new UnsafeRootPathError(`Refusing ${dir}: ${cur} turned into a symlink while it was being created`, dir);
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${cur}'`), { code: "ENOTDIR", path: cur });
    }
  }
  return real;
}

/** Where `file` is, its parent resolved in the root (the parent must exist), last component as is. */
async function placeOf(root: string, file: string, createParent: boolean): Promise<{ top: string; dir: string; real: string }> {
  const top = await realRoot(root);
  const parts = componentsOf(root, file);
  if (parts.length === 0) throw new UnsafeRootPathError(`${file} is the root itself, not a file in it`, file);
  const parentRel = parts.slice(0, -1).join(path.sep);
  const dir = createParent ? await mkdirInRoot(root, parentRel) : await resolveInRoot(root, parentRel, { followLast: true });
  return { top, dir, real: path.join(dir, parts[parts.length - 1]!) };
}

/**
 * Opens the regular file `file` inside `root` with `flags` (a number; O_NOFOLLOW and O_NONBLOCK
 * are added) after resolving its parent in the root; with O_CREAT the parent directories are
 * created. A symlink as the last component fails with ELOOP (or EEXIST with O_EXCL).
 * @throws UnsafeRootPathError if the opened file is not inside the root after all, or is not a
 *   regular file.
 */
export async function openInRoot(root: string, file: string, flags: number, mode = 0o644): Promise<FileHandle> {
  const { top, real } = await placeOf(root, file, (flags & constants.O_CREAT) !== 0);
  const fh = await fsp.open(real, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  await checkDescriptor(fh, top, file);
  const st = await fh.stat().catch(() => undefined);
  if (!st?.isFile()) {
    await fh.close().catch(() => {});
    throw new UnsafeRootPathError(`Refusing ${file}: it is not a regular file`, file);
  }
  return fh;
}

/**
 * Reads `file` inside `root` without following a symlink in its last component.
 * @throws UnsafeRootPathError when the last component is a symlink (ELOOP); ENOENT when absent.
 */
export async function readFileInRoot(root: string, file: string): Promise<string> {
  let fh: FileHandle;
  try {
    fh = await openInRoot(root, file, constants.O_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP") throw new UnsafeRootPathError(`Refusing to read ${file}: it is a symlink`, file);
    throw e;
  }
  try {
    return await fh.readFile("utf8");
  } finally {
    await fh.close();
  }
}

async function fsyncDirectory(dir: string, top: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    await checkDescriptor(fh, top, dir);
    await fh.sync();
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * Writes `file` inside `root` atomically (temp file created O_EXCL|O_NOFOLLOW beside it, fsync,
 * rename, fsync of the directory); parent directories are created. Whatever `file` was before (a
 * symlink included) is replaced by a regular file; nothing outside the root is written.
 */
export async function writeFileInRootAtomic(root: string, file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const { top, dir, real } = await placeOf(root, file, true);
  const tmp = path.join(dir, `.tmp-${path.basename(real)}.${randomBytes(6).toString("hex")}`);
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await checkDescriptor(fh, top, file);
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, real);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDirectory(dir, top);
}

/**
 * Removes `target` inside `root` (`recursive` for directories) without following a symlink: a
 * symlink as the last component is removed itself, and a recursive removal never descends
 * through one. Absent targets are fine.
 */
export async function rmInRoot(root: string, target: string, opts: { recursive?: boolean } = {}): Promise<void> {
  const { real } = await placeOf(root, target, false);
  await fsp.rm(real, { force: true, recursive: opts.recursive === true });
}

/** Whether `target` exists inside `root` (a symlink as the last component counts, unfollowed). */
export async function existsInRoot(root: string, target: string): Promise<boolean> {
  const { real } = await placeOf(root, target, false);
  return fsp.lstat(real).then(
    () => true,
    () => false,
  );
}

/**
 * Opens a log the agent owns inside `root` for appending. A symlink, FIFO, socket or device node
 * in its place is removed and a regular file created (`onReplaced` hears about it); a directory
 * there is refused.
 */
export async function openLogInRoot(root: string, file: string, onReplaced?: (what: string) => void): Promise<FileHandle> {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
  for (let attempt = 0; ; attempt++) {
    const { real } = await placeOf(root, file, true);
    const st = await fsp.lstat(real).catch(() => undefined);
    if (st?.isDirectory()) throw new UnsafeRootPathError(`Refusing ${file}: it is a directory`, file);
    if (st && !st.isFile()) {
      if (attempt >= 3) throw new UnsafeRootPathError(`Refusing ${file}: it keeps turning into a ${st.isSymbolicLink() ? "symlink" : "non-file"}`, file);
      const what = st.isSymbolicLink() ? `a symlink to ${await fsp.readlink(real).catch(() => "?")}` : "not a regular file";
      await fsp.rm(real, { force: true });
      onReplaced?.(what);
      continue;
    }
    try {
      return await openInRoot(root, file, flags);
    } catch (e) {
      // Turned into a symlink (ELOOP) or a FIFO (ENXIO) between the lstat and the open: again.
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === "ELOOP" || code === "ENXIO") && attempt < 3) continue;
      throw e;
    }
  }
}

/**
 * Lists the executable regular files of `dir` inside `root` as the root would see them (a symlink
 * entry is resolved inside the root, the way the chrooted shell that runs it resolves it), sorted.
 */
export async function listExecutablesInRoot(root: string, dir: string): Promise<string[]> {
  const real = await resolveInRoot(root, dir, { followLast: true });
  let names: string[];
  try {
    names = (await fsp.readdir(real)).sort();
  } catch {
    return [];
  }
  const rel = path.relative(await realRoot(root), real);
  const out: string[] = [];
  for (const n of names) {
    const target = await resolveInRoot(root, path.join(rel, n), { followLast: true }).catch(() => undefined);
    const st = target ? await fsp.lstat(target).catch(() => null) : null;
    if (st && st.isFile() && (st.mode & 0o111) !== 0) out.push(n);
  }
  return out;
}
