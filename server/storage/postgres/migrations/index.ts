import type { PgMigration } from "../pg-migrate.js";
import { m0001 } from "./0001-initial.js";
import { m0010 } from "./0010-trust-roots.js";
import { m0011 } from "./0011-security-floor.js";
import { m0012 } from "./0012-audit-chain.js";

/** Every migration, in order. Append new ones; never edit a shipped one. */
export const pgMigrations: readonly PgMigration[] = [m0001, m0010, m0011, m0012];
