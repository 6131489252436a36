import type { PgMigration } from "../pg-migrate.js";
import { m0001 } from "./0001-initial.js";
import { m0011 } from "./0011-security-floor.js";

/** Every PostgreSQL migration, in order. Append new ones; never edit a shipped one. */
export const pgMigrations: readonly PgMigration[] = [m0001, m0011];
