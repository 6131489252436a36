import type { Command } from "../command.js";
import { command as upload } from "./upload.js";
import { command as uploadDir } from "./upload-dir.js";
import { command as apply } from "./apply.js";
import { command as remove } from "./remove.js";
import { command as del } from "./delete.js";
import { command as query } from "./query.js";
import { command as show } from "./show.js";
import { command as whatRequires } from "./what-requires.js";
import { command as queryDependencies } from "./query-dependencies.js";
import { command as isApplied, isAvailable } from "./is-applied.js";
import { command as commit } from "./commit.js";
import { queryAppDependencies, reportAppDependencies } from "./app-dependencies.js";
import { command as queryHosts } from "./query-hosts.js";
import { command as hostInstall } from "./host-install.js";
import { dropHost, hostInstallAsync } from "./hosts.js";
import { installLocal } from "./install-local.js";
import { delRelease, initRelease } from "./releases.js";
import { command as completion } from "./completion.js";
import { command as tokenCreate } from "./token-create.js";
import { command as tokenList } from "./token-list.js";
import { command as tokenRevoke } from "./token-revoke.js";
import { command as auditLog } from "./audit-log.js";
import { command as auditVerify } from "./audit-verify.js";
import { command as trustList } from "./trust-list.js";
import { command as trustAdd } from "./trust-add.js";
import { command as trustRemove } from "./trust-remove.js";
import { command as trustRoot } from "./trust-root.js";
import { importBase, queryBase } from "./base-packages.js";
import { hostEnroll, hostEnrollments, hostRevoke } from "./host-enroll.js";
import { hostReceipts, securityFloor } from "./security-floor.js";

/** Every sw-patch subcommand, in help order (the reference's order). */
export const COMMANDS: readonly Command[] = [
  upload,
  uploadDir,
  apply,
  remove,
  del,
  query,
  show,
  whatRequires,
  queryHosts,
  hostInstall,
  hostInstallAsync,
  installLocal,
  dropHost,
  queryDependencies,
  isApplied,
  isAvailable,
  reportAppDependencies,
  queryAppDependencies,
  commit,
  tokenCreate,
  tokenList,
  tokenRevoke,
  hostEnroll,
  hostRevoke,
  hostEnrollments,
  // FLOOR (issue 21)
  hostReceipts,
  securityFloor,
  auditLog,
  auditVerify,
  trustList,
  trustAdd,
  trustRemove,
  trustRoot,
  importBase,
  queryBase,
  initRelease,
  delRelease,
  completion,
];

/** The command called `name`, if any. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
