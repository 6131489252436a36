import { badRequest } from "./http.js";

/**
 * Refuses upload file names that try to name a path (`../x.patch`, `a/b`, `%2e%2e`, hidden).
 * Shared by the patching API and the web console. Returns `name`; throws HttpError 400.
 */
export function checkUploadFileName(name: string): string {
  if (!name) throw badRequest("upload: empty file name");
  if (name.length > 255) throw badRequest("upload: file name too long");
  if (/[\u0000-\u001f\u007f/\\%]/.test(name) || name.startsWith(".") || name.includes("..")) {
    throw badRequest(`upload: refused file name "${name.slice(0, 64)}"`);
  }
  return name;
}
