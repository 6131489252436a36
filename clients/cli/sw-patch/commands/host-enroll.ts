import { EnrollHostResponse, ListEnrollmentsResponse, RevokeHostResponse, type Enrollment } from "../../../sdk/src/index.js";
import { renderTable, utcSeconds } from "../../render/starlingx-table.js";
import { safeText } from "../../render/safe-text.js";
import type { Command } from "../command.js";
import { emit } from "./shared.js";

const PERSONALITIES = ["controller", "worker", "storage"];
/** The longest an enrolment token may live (the controller enforces it too). */
const MAX_SECONDS = 7 * 24 * 3600;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * `--expires` as seconds: `90s`, `30m`, `2h`, `7d` or plain seconds; 1 s to 7 days.
 * @returns the seconds, or an error message.
 */
export function parseExpires(text: string): number | string {
  const m = /^(\d{1,7})([smhd]?)$/.exec(text.trim());
  if (!m) return `--expires: expected a duration such as 30m, 2h or 7d; got "${text}"`;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || "s"]!;
  if (seconds < 1 || seconds > MAX_SECONDS) return `--expires: from 1s to 7d; got "${text}"`;
  return seconds;
}

/** "1h", "7d", "90m", "45s": the shortest exact form. */
function duration(seconds: number): string {
  for (const [u, n] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (seconds % n === 0) return `${seconds / n}${u}`;
  }
  return `${seconds}s`;
}

/**
 * The host-enroll output: what was created, what it replaced, the agent's command line, then the
 * one-time token alone on the last line (`... | tail -n 1 > file` captures it).
 */
export function renderHostEnrolled(r: EnrollHostResponse, endpoint: string): string {
  const e = r.enrollment;
  const host = safeText(e?.hostname ?? "");
  const personality = safeText(e?.personality ?? "");
  const seconds = e?.createdAt && e.expiresAt ? Math.round((e.expiresAt.getTime() - e.createdAt.getTime()) / 1000) : 0;
  let out = `Enrolment ${safeText(e?.id ?? "")} for host ${host} (${personality})\n`;
  out += `Expires: ${utcSeconds(e?.expiresAt)}${seconds > 0 ? ` (in ${duration(seconds)})` : ""}\n`;
  if (r.replacedEnrollmentIds.length) {
    out += `Replaced the pending enrolment ${r.replacedEnrollmentIds.map(safeText).join(", ")} of ${host}: its token no longer works.\n`;
  }
  out += "On the host, put the token in a file (mode 0600) and start the agent with it; it exchanges the\n";
  out += "token once for the host's own credential (stored in its state directory) and uses that from then on:\n";
  out += `  sw-patch-agent --controller ${safeText(endpoint)} --hostname ${host} --personality ${personality} --root / --enroll-token-file /etc/sw-patch/enroll.token\n`;
  out += "If the host already has a credential, it is revoked when this token is exchanged.\n";
  out += "The token works once and is shown only once; store it now:\n";
  return out + r.enrollToken + "\n";
}

/** host-enrollments: ID, Host, Personality, State, Created, Expires, Credential (oldest first). */
export function renderEnrollments(list: readonly Enrollment[]): string {
  return renderTable(
    ["ID", "Host", "Personality", "State", "Created", "Expires", "Credential"],
    list.map((e) => [e.id, e.hostname, e.personality, e.state, utcSeconds(e.createdAt), utcSeconds(e.expiresAt), e.credentialId]),
  );
}

/** The host-revoke output. */
export function renderHostRevoked(host: string, r: RevokeHostResponse): string {
  const n = r.revokedTokenIds.length;
  const m = r.revokedEnrollmentIds.length;
  let out = `Revoked host ${safeText(host)}: ${n} credential${n === 1 ? "" : "s"}${n ? ` (${r.revokedTokenIds.map(safeText).join(", ")})` : ""}, `;
  out += `${m} pending enrolment${m === 1 ? "" : "s"}${m ? ` (${r.revokedEnrollmentIds.map(safeText).join(", ")})` : ""}.\n`;
  out += "Its agent stream has ended; it cannot reconnect or fetch packages until it is enrolled again.\n";
  return out;
}

export const hostEnroll: Command = {
  name: "host-enroll",
  summary: "Create a one-time enrolment token for a host (operator)",
  usage: "host-enroll <hostname> --personality controller|worker|storage [--expires DURATION]",
  help:
    "  --personality P        the host's personality: controller, worker or storage\n" +
    "  --expires DURATION     how long the token can be exchanged: 30m, 2h, 7d (default 1h, at most 7d)\n" +
    "\nA pending enrolment of the same host is replaced. The token is printed alone on the last line.\n",
  options: { personality: { type: "string" }, expires: { type: "string" } },
  async run(ctx, { values, positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const personality = values.personality as string | undefined;
    if (personality === undefined) {
      ctx.err("Error: missing required option: --personality\n");
      return 1;
    }
    if (!PERSONALITIES.includes(personality)) {
      ctx.err(`Error: --personality: expected ${PERSONALITIES.join(", ")}; got "${personality}"\n`);
      return 1;
    }
    let expiresSeconds = 0;
    if (values.expires !== undefined) {
      const s = parseExpires(String(values.expires));
      if (typeof s === "string") {
        ctx.err(`Error: ${s}\n`);
        return 1;
      }
      expiresSeconds = s;
    }
    const response = await ctx.client().hosts.enrollHost({ hostname: positionals[0]!, personality, expiresSeconds });
    emit(ctx, EnrollHostResponse, response, () => renderHostEnrolled(response, ctx.endpoint));
    return 0;
  },
};

export const hostRevoke: Command = {
  name: "host-revoke",
  summary: "Revoke a host's credentials and pending enrolments; its agent is cut off (operator)",
  usage: "host-revoke <hostname>",
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const host = positionals[0]!;
    const response = await ctx.client().hosts.revokeHost({ hostname: host });
    emit(ctx, RevokeHostResponse, response, () => renderHostRevoked(host, response));
    return 0;
  },
};

export const hostEnrollments: Command = {
  name: "host-enrollments",
  summary: "List host enrolments and their state",
  usage: "host-enrollments",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const response = await ctx.client().hosts.listEnrollments({});
    emit(
      ctx,
      ListEnrollmentsResponse,
      response,
      () => renderEnrollments(response.enrollments),
      () => ({ enrollments: response.enrollments.map((e) => ({ ...e, createdAt: e.createdAt?.toISOString(), expiresAt: e.expiresAt?.toISOString() })) }),
    );
    return 0;
  },
};
