import { DeadlineExceededError, SwPatchError, UnauthenticatedError, UnavailableError } from "../../sdk/src/index.js";
import { safeBlock } from "../render/safe-text.js";
import { describeTlsFailure } from "../lib/transport.js";

const ERRNO_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "name resolution failed",
};

/** Why the controller could not be reached, from grpc-js's status text (one short phrase). */
export function unreachableReason(details: string): string {
  const errno = /\b(E[A-Z_]{3,})\b/.exec(details);
  if (errno && ERRNO_WORDS[errno[1]!]) return ERRNO_WORDS[errno[1]!]!;
  if (/Name resolution failed/i.test(details)) return "name resolution failed";
  const m = /Last error: (?:Error: )?(.*?)(?:\. Resolution note:.*)?$/s.exec(details);
  return (m ? m[1]! : details).trim() || "unavailable";
}

/**
 * The one stderr line (no stack) for an error that ended a command, terminal-safe: the server's
 * text keeps its lines but shows control characters and bidi controls (render/safe-text.ts).
 */
export function errorLine(error: unknown, endpoint: string): string {
  return safeBlock(rawErrorLine(error, endpoint));
}

function rawErrorLine(error: unknown, endpoint: string): string {
  if (error instanceof UnavailableError) {
    const tls = describeTlsFailure(error.message);
    if (tls) return `Error: TLS with the patch controller at ${endpoint} failed: ${tls}`;
    return `Error: cannot reach the patch controller at ${endpoint}: ${unreachableReason(error.message)}`;
  }
  if (error instanceof DeadlineExceededError) {
    return `Error: the patch controller at ${endpoint} did not answer in time`;
  }
  if (error instanceof UnauthenticatedError) {
    return `Error: ${error.message.replace(/\n+$/, "")} (use --token, --token-file or SWPATCH_TOKEN)`;
  }
  if (error instanceof SwPatchError) return `Error: ${error.message.replace(/\n+$/, "")}`;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && (error as NodeJS.ErrnoException).path) {
      return `Error: File does not exist: ${(error as NodeJS.ErrnoException).path}`;
    }
    return `Error: ${error.message}`;
  }
  return `Error: ${String(error)}`;
}
