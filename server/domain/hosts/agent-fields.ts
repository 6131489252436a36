import { isIP } from "node:net";
import { invalidArgument } from "../errors.js";
import { SAFE_RELEASE_RE } from "../patchfile/limits.js";
import type { AgentHelloInput, AgentReportInput, InstalledPackage, Instance, InstallProgress } from "./agent-types.js";

/**
 * What an agent may report, checked before anything of it is stored: identifiers (address, release,
 * subfunctions, packages, instances) are refused INVALID_ARGUMENT naming the field and its limit; free
 * text an agent writes (an install's reason, progress messages: rpm output, possibly long) is cut to
 * AGENT_LIMITS.textChars characters, so that a failing install still reports. A refusal quotes the
 * value as a JSON string (control characters escaped).
 */
export const AGENT_LIMITS = {
  subfunctions: 8,
  subfunctionChars: 32,
  packages: 20_000,
  packageFieldChars: 255,
  instances: 1_000,
  instanceFieldChars: 255,
  textChars: 4_096,
} as const;

/** A subfunction: lower-case words joined by hyphens (controller, worker, lowlatency, storage…). */
export const SUBFUNCTION_RE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** A management address as the agent claims it: an IPv4 or IPv6 address (no zone, no port). */
export function isMgmtIp(s: string): boolean {
  return isIP(s) !== 0;
}

/** `s` cut to `max` characters, marked when cut. */
export function clipText(s: string, max: number = AGENT_LIMITS.textChars): string {
  const mark = "… (truncated)";
  return s.length <= max ? s : s.slice(0, max - mark.length) + mark;
}

function checkPackages(field: string, pkgs: readonly InstalledPackage[]): void {
  if (pkgs.length > AGENT_LIMITS.packages) throw invalidArgument(`${field}: at most ${AGENT_LIMITS.packages} packages, got ${pkgs.length}`);
  for (const p of pkgs) {
    for (const k of ["name", "epoch", "version", "release", "arch"] as const) {
      if (p[k].length > AGENT_LIMITS.packageFieldChars) throw invalidArgument(`${field}.${k}: at most ${AGENT_LIMITS.packageFieldChars} characters`);
    }
    if (!p.name) throw invalidArgument(`${field}.name: required`);
  }
}

function checkInstances(field: string, list: readonly Instance[]): void {
  if (list.length > AGENT_LIMITS.instances) throw invalidArgument(`${field}: at most ${AGENT_LIMITS.instances} instances, got ${list.length}`);
  for (const i of list) {
    for (const k of ["uuid", "name", "state"] as const) {
      if (i[k].length > AGENT_LIMITS.instanceFieldChars) throw invalidArgument(`${field}.${k}: at most ${AGENT_LIMITS.instanceFieldChars} characters`);
    }
  }
}

/**
 * Checks a hello's reported fields (hostname and personality are checked by the inventory) and
 * returns it with its free text clipped. mgmt_ip, when given, must be an IP address; release must
 * match the release pattern; subfunctions theirs.
 */
export function checkHello(h: AgentHelloInput): AgentHelloInput {
  if (h.mgmtIp && !isMgmtIp(h.mgmtIp)) throw invalidArgument(`hello.mgmt_ip: not an IP address: ${JSON.stringify(h.mgmtIp.slice(0, 64))}`);
  if (h.release && !SAFE_RELEASE_RE.test(h.release))
    throw invalidArgument(`hello.release: invalid release ${JSON.stringify(h.release.slice(0, 64))} (at most 64 of A-Z a-z 0-9 . _ -)`);
  if (h.subfunctions.length > AGENT_LIMITS.subfunctions) throw invalidArgument(`hello.subfunctions: at most ${AGENT_LIMITS.subfunctions}, got ${h.subfunctions.length}`);
  for (const s of h.subfunctions) {
    if (s.length > AGENT_LIMITS.subfunctionChars || !SUBFUNCTION_RE.test(s)) {
      throw invalidArgument(
        `hello.subfunctions: invalid subfunction ${JSON.stringify(s.slice(0, 64))} (lower-case words joined by "-", at most ${AGENT_LIMITS.subfunctionChars} characters)`,
      );
    }
  }
  checkPackages("hello.packages", h.packages);
  checkInstances("hello.instances", h.instances);
  return { ...h, installReason: clipText(h.installReason) };
}

/** Checks a report's fields; returns it with its free text clipped. */
export function checkReport(r: AgentReportInput): AgentReportInput {
  checkPackages("report.packages", r.packages);
  checkInstances("report.instances", r.instances);
  return { ...r, installReason: clipText(r.installReason) };
}

/** A progress message with its free text clipped. */
export function clipProgress(p: InstallProgress): InstallProgress {
  return { ...p, message: clipText(p.message), item: clipText(p.item, AGENT_LIMITS.packageFieldChars) };
}
