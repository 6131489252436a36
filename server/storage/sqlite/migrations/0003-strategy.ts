import type { Migration } from "../db.js";

/** 0003: the (single) orchestration strategy, stored as the engine's JSON document. */
export const m0003: Migration = {
  version: 3,
  name: "strategy",
  sql: `
CREATE TABLE strategy (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  uuid TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  json TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`,
};
