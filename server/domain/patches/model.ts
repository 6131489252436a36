import type { PatchMetadata } from "../patchfile/index.js";

/** Repository state: where the patch's metadata lives (spec 4). */
export type RepoState = "Available" | "Applied" | "Committed";
/** System-wide patch state, from the repository and the hosts' reports (spec 4). */
export type PatchStateName = "Available" | "Partial-Apply" | "Applied" | "Partial-Remove" | "Committed" | "n/a";

/** What metadata.xml says about a patch, as the controller keeps it (the reader's type). */
export type PatchMeta = PatchMetadata;

/** One RPM: from a patch or from a release's base feed. */
export interface PackageRecord {
  fileName: string;
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
  sha256: string;
  size: number;
  /** Base-feed packages only: who vouched for it (absent for rows stored before it was recorded). */
  provenance?: BaseProvenance;
}

/** Where a base-feed package came from (docs/security.md, "Trust and base packages"). */
export interface BaseProvenance {
  /** Label of the trusted key that signed the package's base statement; "" when unsigned. */
  signer: string;
  /** Who imported it: a token id, "local" (authentication off) or "--base-feed" (the controller's start-up directory). */
  importedBy: string;
  /** When, ISO-8601. */
  importedAt: string;
}

export interface PatchRecord {
  meta: PatchMeta;
  repoState: RepoState;
  /** Computed; never stored. */
  patchState: PatchStateName;
  metadataXml: string;
  signer: string;
  fileSha256: string;
  uploadedAt: Date;
  packages: PackageRecord[];
  semantics: { action: string; sha256: string }[];
}

/** What the controller knows of a host for state computation (filled by agents' reports). */
export interface HostPackageView {
  hostname: string;
  release: string;
  /** Host subfunctions joined by "-", e.g. "controller" or "controller-worker". */
  personalityKey: string;
  /** Installed packages: name -> "[epoch:]version-release" per arch (first one wins). */
  installed: Map<string, { epoch: string; version: string; release: string; arch: string }>;
}
