import type { Migration } from "../db.js";

/** 0004: indexes for filtered event watchers (one operation's progress, one patch, one host). */
export const m0004: Migration = {
  version: 4,
  name: "event-indexes",
  sql: `
CREATE INDEX events_operation ON events(operation_id, seq) WHERE operation_id <> '';
CREATE INDEX events_patch ON events(patch_id, seq) WHERE patch_id <> '';
CREATE INDEX events_host ON events(hostname, seq) WHERE hostname <> '';
`,
};
