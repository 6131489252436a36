import type { Migration } from "../db.js";

/**
 * 0011 (FLOOR, issue 21; docs/security.md, "Anti-rollback floor and install receipts"): each
 * release's anti-rollback floor; the receipt keys enrolled hosts registered (public halves only)
 * and the signed install receipts their agents sent (one counter per host, never reused).
 */
export const m0011: Migration = {
  version: 11,
  name: "security-floor",
  sql: securityFloorSchema(""),
};

/**
 * The schema of 0011; `c` is the collation clause text columns compared or ordered on take
 * (PostgreSQL: ` COLLATE "C"`, so that ordering is bytewise as sqlite's).
 */
export function securityFloorSchema(c: string): string {
  return `
CREATE TABLE security_floors (
  release TEXT${c} PRIMARY KEY,
  floor BIGINT NOT NULL CHECK (floor >= 0),
  patch_id TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE host_receipt_keys (
  key_id TEXT${c} PRIMARY KEY,
  hostname TEXT${c} NOT NULL,
  public_key TEXT NOT NULL,
  credential_id TEXT NOT NULL,
  registered_at TEXT${c} NOT NULL
);
CREATE INDEX host_receipt_keys_host ON host_receipt_keys(hostname);
CREATE TABLE install_receipts (
  hostname TEXT${c} NOT NULL,
  counter BIGINT NOT NULL CHECK (counter > 0),
  key_id TEXT NOT NULL,
  operation_id TEXT NOT NULL,
  operation TEXT NOT NULL,
  result TEXT NOT NULL,
  received_at TEXT NOT NULL,
  envelope TEXT NOT NULL,
  PRIMARY KEY (hostname, counter)
);
`;
}
