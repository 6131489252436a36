import type { PgMigration } from "../pg-migrate.js";
import { securityFloorSchema } from "../../sqlite/migrations/0011-security-floor.js";

/** 0011 (FLOOR, issue 21): sqlite migration 0011's tables, text compared bytewise (COLLATE "C"). */
export const m0011: PgMigration = {
  version: 11,
  name: "security-floor",
  sql: securityFloorSchema(' COLLATE "C"'),
};
