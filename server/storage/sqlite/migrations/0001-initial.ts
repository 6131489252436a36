import type { Migration } from "../db.js";

/** 0001: patches, packages, releases, events, hosts, operations, alarms, app dependencies. */
export const m0001: Migration = {
  version: 1,
  name: "initial",
  sql: `
CREATE TABLE releases (
  release TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
-- Content-addressed files in <data-dir>/blobs; a row exists only once the file is in place.
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE base_packages (
  release TEXT NOT NULL REFERENCES releases(release) ON DELETE CASCADE,
  file_name TEXT NOT NULL,
  name TEXT NOT NULL,
  epoch TEXT NOT NULL,
  version TEXT NOT NULL,
  rel TEXT NOT NULL,
  arch TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES blobs(sha256),
  size INTEGER NOT NULL,
  PRIMARY KEY (release, file_name)
);
CREATE TABLE patches (
  id TEXT PRIMARY KEY,
  sw_version TEXT NOT NULL,
  repo_state TEXT NOT NULL CHECK (repo_state IN ('Available','Applied','Committed')),
  metadata_json TEXT NOT NULL,
  metadata_xml TEXT NOT NULL,
  signer TEXT NOT NULL,
  file_sha256 TEXT NOT NULL,
  uploaded_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX patches_release ON patches(sw_version);
CREATE TABLE patch_packages (
  patch_id TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  file_name TEXT NOT NULL,
  name TEXT NOT NULL,
  epoch TEXT NOT NULL,
  version TEXT NOT NULL,
  rel TEXT NOT NULL,
  arch TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES blobs(sha256),
  size INTEGER NOT NULL,
  -- Dropped by commit when a higher version in the committed set supersedes it.
  reclaimed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (patch_id, file_name)
);
CREATE TABLE patch_semantics (
  patch_id TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  action TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES blobs(sha256),
  PRIMARY KEY (patch_id, action)
);
CREATE TABLE app_dependencies (
  app TEXT NOT NULL,
  patch_id TEXT NOT NULL,
  PRIMARY KEY (app, patch_id)
);
-- Patches waiting for fresh host reports after apply/remove (spec 4, interim_state).
CREATE TABLE interim (
  patch_id TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  hostname TEXT NOT NULL,
  PRIMARY KEY (patch_id, hostname)
);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  kind TEXT NOT NULL,
  patch_id TEXT NOT NULL DEFAULT '',
  hostname TEXT NOT NULL DEFAULT '',
  old_state TEXT NOT NULL DEFAULT '',
  new_state TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  operation_id TEXT NOT NULL DEFAULT '',
  progress_json TEXT
);
CREATE TABLE hosts (
  hostname TEXT PRIMARY KEY,
  ip TEXT NOT NULL DEFAULT '',
  personality TEXT NOT NULL,
  subfunctions TEXT NOT NULL,
  release TEXT NOT NULL,
  admin_state TEXT NOT NULL DEFAULT 'unlocked',
  agent_state TEXT NOT NULL DEFAULT 'unknown',
  install_reason TEXT NOT NULL DEFAULT '',
  requires_reboot INTEGER NOT NULL DEFAULT 0,
  patch_failed INTEGER NOT NULL DEFAULT 0,
  installed_json TEXT NOT NULL DEFAULT '[]',
  instances_json TEXT NOT NULL DEFAULT '[]',
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL
);
CREATE TABLE operations (
  id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  force INTEGER NOT NULL DEFAULT 0,
  -- Events of this operation have sequence numbers above start_seq.
  start_seq INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_progress_json TEXT
);
CREATE TABLE alarms (
  uuid TEXT PRIMARY KEY,
  alarm_id TEXT NOT NULL,
  entity_instance_id TEXT NOT NULL,
  severity TEXT NOT NULL,
  reason_text TEXT NOT NULL,
  mgmt_affecting INTEGER NOT NULL DEFAULT 0,
  proposed_repair_action TEXT NOT NULL DEFAULT '',
  time TEXT NOT NULL
);
CREATE TABLE controller_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
};
