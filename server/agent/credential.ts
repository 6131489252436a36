/**
 * The host's own credential, from enrolment (`sw-patch host-enroll` then `sw-patch-agent
 * --enroll-token-file`): `<root>/var/lib/sw-patch-agent/credential.json`, mode 0600, written by
 * temp-file-then-rename inside the root (root-fs.ts), never through a symlink.
 *
 * At start, per host: a stored credential is used; without one, the enrolment token is exchanged
 * once (AgentService.Enroll) for the host's credential, which is stored before it is used. The
 * enrolment token file is not needed after that. Secrets are never logged: only token ids.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { ClientError, Status } from "nice-grpc";
import { hostPaths } from "./host-paths.js";
import { readFileInRoot, writeFileInRootAtomic } from "./root-fs.js";
import { backoffDelayMs, type AgentServiceClient, type ControllerChoice } from "./connection.js";
import type { Logger } from "../lib/log.js";
import { createReceiptKey } from "./security-floor.js";

/**
 * Exit status of the agent when the controller refuses its credential for good (revoked, or an
 * enrolment token spent, expired or for another host). The systemd unit lists it in
 * RestartPreventExitStatus=, so a cut-off host is not restarted in a loop (EX_CONFIG).
 */
export const EXIT_CREDENTIAL_REFUSED = 78;

/** What credential.json holds. */
export interface StoredCredential {
  tokenId: string;
  hostname: string;
  personality: string;
  /** The bearer token `swp_<id>_<secret>`. */
  token: string;
  /** ISO-8601. */
  enrolledAt: string;
}

/** A refusal that restarting will not cure: main exits with {@link EXIT_CREDENTIAL_REFUSED}. */
export class CredentialRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialRefusedError";
  }
}

/** Where a host root keeps its credential. */
export function credentialFile(root: string): string {
  return path.join(hostPaths(root).agentDir, "credential.json");
}

/**
 * The stored credential of the host root, undefined when there is none.
 * @throws Error when the file exists but is not a credential (the agent refuses to start rather
 *   than enrol again over it) or is a symlink.
 */
export async function loadCredential(root: string): Promise<StoredCredential | undefined> {
  const file = credentialFile(root);
  let text: string;
  try {
    text = await readFileInRoot(root, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read the stored credential ${file}: ${(e as Error).message}`);
  }
  let c: Partial<StoredCredential>;
  try {
    c = JSON.parse(text) as Partial<StoredCredential>;
  } catch {
    throw new Error(`${file} is not a stored credential (not JSON); remove it to enrol again`);
  }
  for (const k of ["tokenId", "hostname", "personality", "token", "enrolledAt"] as const) {
    if (typeof c[k] !== "string" || !c[k]) throw new Error(`${file} is not a stored credential (no ${k}); remove it to enrol again`);
  }
  return c as StoredCredential;
}

/** Stores the credential (0600, atomically). */
export async function saveCredential(root: string, c: StoredCredential): Promise<void> {
  const file = credentialFile(root);
  await writeFileInRootAtomic(root, file, JSON.stringify(c, null, 2) + "\n", 0o600);
  await fsp.chmod(file, 0o600); // never wider, whatever the umask did
}

/** Reads an enrolment token file: one token per line (line i for simulated host i). */
export async function readEnrollTokenFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (e) {
    throw new Error(`--enroll-token-file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) throw new Error(`--enroll-token-file: ${file} is empty`);
  return lines;
}

/** One host as the credential step sees it. */
export interface CredentialHost {
  root: string;
  hostname: string;
  personality: string;
}

/** Options of {@link resolveCredentials}. */
export interface ResolveCredentialsOptions {
  hosts: readonly CredentialHost[];
  client: AgentServiceClient;
  /** With a controller pair (`--controller a,b`): the enrolment goes to the active one, as the connection does. */
  choice?: ControllerChoice;
  logger: Logger;
  /** A token given explicitly (--token, --token-file): used for every host, as before enrolment. */
  explicitToken?: string;
  /** --enroll-token-file. */
  enrollTokenFile?: string;
  /** Aborting it stops waiting for an unreachable controller. */
  signal?: AbortSignal;
}

/**
 * The bearer token of each host (undefined: none), enrolling the hosts that have no stored
 * credential when an enrolment token file is given. Logs which credential each host uses.
 * @throws CredentialRefusedError when the controller refuses an enrolment token (spent, expired,
 *   revoked, for another host) or a stored credential names another host or personality;
 *   Error for a missing/unreadable file or an unreachable controller.
 */
export async function resolveCredentials(o: ResolveCredentialsOptions): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  let enrollTokens: string[] | undefined;
  for (const [i, h] of o.hosts.entries()) {
    const log = o.logger.child({ hostname: h.hostname });
    const stored = await loadCredential(h.root);
    if (o.explicitToken !== undefined) {
      if (stored) log.warn("a stored credential exists but the token given on the command line is used", { storedTokenId: stored.tokenId });
      log.info("using the token given by --token/--token-file");
      out.push(o.explicitToken);
      continue;
    }
    if (stored) {
      if (stored.hostname !== h.hostname || stored.personality !== h.personality) {
        throw new CredentialRefusedError(
          `the stored credential ${credentialFile(h.root)} is for ${stored.hostname} (${stored.personality}), not ${h.hostname} (${h.personality}); remove it to enrol again`,
        );
      }
      log.info("using the stored credential", { tokenId: stored.tokenId, file: credentialFile(h.root), enrolledAt: stored.enrolledAt });
      out.push(stored.token);
      continue;
    }
    if (!o.enrollTokenFile) {
      log.info("no credential: no stored credential, --token, --token-file or --enroll-token-file");
      out.push(undefined);
      continue;
    }
    enrollTokens ??= await readEnrollTokenFile(o.enrollTokenFile);
    const enrollToken = enrollTokens[o.hosts.length === 1 ? 0 : i];
    if (!enrollToken) throw new Error(`--enroll-token-file: ${o.enrollTokenFile} has no line ${i + 1} for ${h.hostname}`);
    const c = await exchange(o.choice ?? { current: () => o.client, failed: () => undefined }, enrollToken, h, log, o.signal);
    await saveCredential(h.root, c);
    log.info("enrolled: credential stored", { tokenId: c.tokenId, file: credentialFile(h.root) });
    out.push(c.token);
  }
  return out;
}

async function exchange(choice: ControllerChoice, enrollToken: string, h: CredentialHost, log: Logger, signal?: AbortSignal): Promise<StoredCredential> {
  // FLOOR (issue 21): the host's own receipt key, made now; its public half is registered with the credential.
  const receiptPublicKey = await createReceiptKey(h.root);
  for (let attempt = 0; ; attempt++) {
    const client = choice.current();
    // A standby refuses before running the call, naming the active controller: the next attempt goes there.
    let active: string | undefined;
    try {
      const r = await client.enroll(
        { enrollToken, hostname: h.hostname, personality: h.personality, receiptPublicKey },
        { ...(signal ? { signal } : {}), onTrailer: (t) => (active = t.get("swpatch-active") || undefined) },
      );
      return { tokenId: r.tokenId, hostname: r.hostname, personality: r.personality, token: r.token, enrolledAt: new Date().toISOString() };
    } catch (e) {
      if (e instanceof ClientError && (e.code === Status.UNAUTHENTICATED || e.code === Status.PERMISSION_DENIED)) {
        throw new CredentialRefusedError(`enrolment of ${h.hostname} refused: ${e.details}`);
      }
      // The controller not up yet: wait for it as the connection does (it retries for ever too).
      if (e instanceof ClientError && e.code === Status.UNAVAILABLE && !signal?.aborted) {
        choice.failed(client, active);
        if (active && attempt === 0) continue;
        const delayMs = backoffDelayMs(attempt);
        log.info("controller unreachable; enrolment retried", { error: e.details, delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
        continue;
      }
      throw new Error(`enrolment of ${h.hostname} failed: ${e instanceof ClientError ? `${Status[e.code]}: ${e.details}` : (e as Error).message}`);
    }
  }
}
