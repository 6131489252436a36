import type { Migration } from "../db.js";
import { m0001 } from "./0001-initial.js";
import { m0002 } from "./0002-auth.js";
import { m0003 } from "./0003-strategy.js";
import { m0004 } from "./0004-event-indexes.js";
import { m0005 } from "./0005-progress-records.js";
import { m0006 } from "./0006-base-provenance.js";
import { m0007 } from "./0007-host-enrollments.js";
import { m0010 } from "./0010-trust-roots.js";
import { m0011 } from "./0011-security-floor.js";
import { m0012 } from "./0012-audit-chain.js";

/** Every migration, in order. Append new ones; never edit a shipped one. */
export const migrations: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005, m0006, m0007, m0010, m0011, m0012];
