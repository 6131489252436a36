import { badRequest } from "./errors.js";

/**
 * The name an upload is stored under: the base name of what the client sent, as the reference
 * controller takes it (its client sends the path as typed: `sw-patch upload /home/sysadmin/001.patch`
 * names the part `/home/sysadmin/001.patch`). What is left must still be a plain, safe name: not
 * empty, not hidden, no `..`, no backslash, `%` or control character. Shared by the patching API and
 * the web console. Throws HttpError 400.
 */
export function checkUploadFileName(sent: string): string {
  const name = sent.slice(sent.lastIndexOf("/") + 1);
  if (!name) throw badRequest(sent ? `upload: refused file name "${sent.slice(0, 64)}"` : "upload: empty file name");
  if (name.length > 255) throw badRequest("upload: file name too long");
  if (/[\u0000-\u001f\u007f/\\%]/.test(name) || name.startsWith(".") || name.includes("..")) {
    throw badRequest(`upload: refused file name "${name.slice(0, 64)}"`);
  }
  return name;
}
