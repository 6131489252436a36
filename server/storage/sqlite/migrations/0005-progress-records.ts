import type { Migration } from "../db.js";

/** Proto enum number -> phase name, as SQL (see progress-record.ts LEGACY_PHASES). */
const phaseName = (col: string) =>
  `CASE json_extract(${col}, '$.phase') WHEN 1 THEN 'queued' WHEN 2 THEN 'downloading' WHEN 3 THEN 'installing' ` +
  `WHEN 4 THEN 'running-scripts' WHEN 5 THEN 'done' WHEN 6 THEN 'failed' WHEN 7 THEN 'rejected' ELSE 'unspecified' END`;

/** The JSON of `col` as a version-1 progress record, when it is a proto-JSON row (numeric phase, no "v"). */
const convert = (table: string, col: string) => `
UPDATE ${table} SET ${col} = json_set(${col}, '$.v', 1, '$.phase', ${phaseName(col)})
WHERE ${col} IS NOT NULL AND json_valid(${col}) AND json_extract(${col}, '$.v') IS NULL;`;

/**
 * 0005: install progress is stored as a versioned domain record (`{"v":1,"phase":"done",...}`)
 * instead of the JSON of the protobuf message (numeric phase enum). Forward-only.
 */
export const m0005: Migration = {
  version: 5,
  name: "progress-records",
  sql: convert("operations", "last_progress_json") + convert("events", "progress_json"),
};
