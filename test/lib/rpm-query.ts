import { execFileSync } from "node:child_process";

/**
 * `rpm -q --root ROOT NAME` as an operator would run it: the package's NEVRA, or rpm's "package
 * NAME is not installed". Debian's rpm keeps its database under $HOME, hence HOME=/root.
 */
export function rpmQ(root: string, name: string): string {
  try {
    return execFileSync("rpm", ["-q", "--root", root, name], { encoding: "utf8", env: { ...process.env, HOME: "/root" } }).trim();
  } catch (e) {
    return ((e as { stdout?: string }).stdout ?? "").trim();
  }
}
