import { expect } from "chai";
import * as path from "node:path";
import { ESLint } from "eslint";

/**
 * The import-boundary rules of eslint.config.mjs, driven through ESLint's API with the relative specifiers the
 * code really writes. Each case lints one import line as if it were a file at `file` and checks whether the
 * boundary rule fires.
 */
const RULE = "@typescript-eslint/no-restricted-imports";

interface Case {
  file: string;
  code: string;
  blocked: boolean;
  /** A word the rule's message must contain (names the reason). */
  reason?: string;
}

const CASES: Case[] = [
  // domain: no storage (not even types), transport, controller, config, clients (generated included), sqlite, gRPC
  { file: "server/domain/hosts/host-manager.ts", code: `import * as hs from "../../storage/host-store.js";`, blocked: true, reason: "port" },
  { file: "server/domain/hosts/host-manager.ts", code: `import type { Db } from "../../storage/db.js";`, blocked: true, reason: "storage" },
  { file: "server/domain/events/event-log.ts", code: `export { writeEvent } from "../../storage/event-store.js";`, blocked: true, reason: "storage" },
  { file: "server/domain/errors-user.ts", code: `import { Db } from "../storage/db.js";`, blocked: true, reason: "storage" },
  { file: "server/domain/patches/x.ts", code: `import { toStatus } from "../../transport/errors.js";`, blocked: true, reason: "transport" },
  { file: "server/domain/patches/x.ts", code: `import { Controller } from "../../controller/controller.js";`, blocked: true, reason: "controller" },
  { file: "server/domain/patches/x.ts", code: `import { loadConfig } from "../../config/controller-config.js";`, blocked: true, reason: "config" },
  {
    file: "server/domain/orchestration/cluster-adapter.ts",
    code: `import { InstallPhase } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";`,
    blocked: true,
    reason: "generated",
  },
  { file: "server/domain/x.ts", code: `import sqlite3 from "sqlite3";`, blocked: true, reason: "sqlite" },
  { file: "server/domain/x.ts", code: `import { ServerError } from "nice-grpc";`, blocked: true, reason: "gRPC" },
  { file: "server/domain/x.ts", code: `import { Status } from "nice-grpc-common";`, blocked: true, reason: "gRPC" },
  { file: "server/domain/x.ts", code: `import * as grpc from "@grpc/grpc-js";`, blocked: true, reason: "gRPC" },
  { file: "server/domain/hosts/x.ts", code: `import { Db } from "../../../server/storage/db.js";`, blocked: true, reason: "storage" },
  { file: "server/domain/a/b/c/x.ts", code: `import { Db } from "../../../../storage/db.js";`, blocked: true, reason: "storage" },
  // a domain folder that merely has a layer's name is not that layer
  { file: "server/domain/patches/x.ts", code: `import type { PatchStore } from "../storage/ports.js";`, blocked: false },
  { file: "server/domain/patches/x.ts", code: `import { defaults } from "./config/defaults.js";`, blocked: false },
  { file: "server/domain/patches/x.ts", code: `import { DomainError } from "../errors.js";`, blocked: false },
  { file: "server/domain/patches/x.ts", code: `import { Mutex } from "../../lib/mutex.js";`, blocked: false },
  { file: "server/domain/patches/x.ts", code: `import { readPatch } from "../patchfile/index.js";`, blocked: false },
  { file: "server/domain/x.ts", code: `import { isAbortError } from "abort-controller-x";`, blocked: false },
  // storage: domain as types only (plus the DomainError leaf), server/lib; nothing above it
  { file: "server/storage/patch-store.ts", code: `import type { PatchRecord } from "../domain/patches/model.js";`, blocked: false },
  { file: "server/storage/sqlite/patch-store.ts", code: `import type { PatchRecord } from "../../domain/patches/model.js";`, blocked: false },
  { file: "server/storage/sqlite/patch-store.ts", code: `import { type PatchRecord } from "../../domain/patches/model.js";`, blocked: false },
  { file: "server/storage/sqlite/patch-store.ts", code: `import { PatchState } from "../../domain/patches/model.js";`, blocked: true, reason: "types only" },
  { file: "server/storage/sqlite/x.ts", code: `import { DomainError } from "../../domain/errors.js";`, blocked: false },
  { file: "server/storage/sqlite/x.ts", code: `import { DomainError } from "../../domain/errors-extra.js";`, blocked: true, reason: "types only" },
  { file: "server/storage/blob-store.ts", code: `import { fsyncDir } from "../lib/fs-atomic.js";`, blocked: false },
  { file: "server/storage/db.ts", code: `import sqlite3 from "sqlite3";`, blocked: false },
  { file: "server/storage/x.ts", code: `import { toStatus } from "../transport/errors.js";`, blocked: true, reason: "transport" },
  { file: "server/storage/migrations/x.ts", code: `import { Controller } from "../../controller/controller.js";`, blocked: true, reason: "controller" },
  { file: "server/storage/x.ts", code: `import { HostAgent } from "../agent/host-agent.js";`, blocked: true, reason: "server/lib" },
  { file: "server/storage/x.ts", code: `import type { Patch } from "../../clients/sdk/src/gen/swpatch/v1/types.js";`, blocked: true, reason: "clients" },
  // server edges: only clients/sdk/src/gen
  { file: "server/transport/mappers/patch.ts", code: `import { Patch } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";`, blocked: false },
  {
    file: "server/agent/connection.ts",
    code: `import { AgentServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";`,
    blocked: false,
  },
  { file: "server/controller/controller.ts", code: `import { Patch } from "../../clients/sdk/src/gen/swpatch/v1/types.js";`, blocked: false },
  { file: "server/transport/x.ts", code: `import { SwPatchClient } from "../../clients/sdk/src/client.js";`, blocked: true, reason: "generated code" },
  { file: "server/transport/rest/x.ts", code: `import { Patch } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";`, blocked: false },
  { file: "server/transport/rest/x.ts", code: `import { SwPatchClient } from "../../../clients/sdk/src/index.js";`, blocked: true, reason: "generated code" },
  { file: "server/agent/x.ts", code: `import { render } from "../../clients/cli/render/table.js";`, blocked: true, reason: "generated code" },
  { file: "server/transport/x.ts", code: `import { PatchManager } from "../domain/patches/patch-manager.js";`, blocked: false },
  {
    file: "server/config/controller-config.ts",
    code: `import { Patch } from "../../clients/sdk/src/gen/swpatch/v1/types.js";`,
    blocked: true,
    reason: "clients",
  },
  // server/lib: a leaf
  { file: "server/lib/mutex.ts", code: `import { DomainError } from "../domain/errors.js";`, blocked: true, reason: "leaf" },
  { file: "server/lib/log.ts", code: `import { x } from "../../clients/sdk/src/gen/swpatch/v1/types.js";`, blocked: true, reason: "leaf" },
  { file: "server/lib/fs-atomic.ts", code: `import { failpoint } from "./failpoint.js";`, blocked: false },
  { file: "server/lib/fs/atomic.ts", code: `import { failpoint } from "../failpoint.js";`, blocked: false },
  { file: "server/lib/fs/atomic.ts", code: `import { Db } from "../../storage/db.js";`, blocked: true, reason: "leaf" },
  // clients: no server, tools or test
  { file: "clients/cli/sw-patch/commands/x.ts", code: `import { DomainError } from "../../../../server/domain/errors.js";`, blocked: true, reason: "server" },
  { file: "clients/sdk/src/x.ts", code: `import type { PatchRecord } from "../../../server/domain/patches/model.js";`, blocked: true, reason: "server" },
  { file: "clients/cli/lib/x.ts", code: `import { parse } from "../../../tools/lib/gnu-getopt.js";`, blocked: true, reason: "tools" },
  { file: "clients/cli/lib/x.ts", code: `import { run } from "../../../test/lib/cli.js";`, blocked: true, reason: "test" },
  { file: "clients/web/src/x.tsx", code: `import { Log } from "../../../server/lib/log.js";`, blocked: true, reason: "server" },
  { file: "clients/cli/sw-patch/commands/x.ts", code: `import { SwPatchClient } from "../../../sdk/src/index.js";`, blocked: false },
  // tests and tools may reach everything
  { file: "test/unit/x.test.ts", code: `import { Db } from "../../server/storage/db.js";`, blocked: false },
  { file: "tools/bench/x.ts", code: `import { Db } from "../../server/storage/db.js";`, blocked: false },
];

describe("eslint import boundaries", function () {
  // Loading ESLint and typescript-eslint takes a few seconds on a busy 2-core machine.
  this.timeout(60_000);
  const root = path.resolve(__dirname, "../../..");
  let eslint: ESLint;
  before(() => {
    eslint = new ESLint({ cwd: root });
  });

  for (const c of CASES) {
    it(`${c.blocked ? "blocks" : "allows"} ${c.code} in ${c.file}`, async () => {
      const [result] = await eslint.lintText(`${c.code}\nexport {};\n`, { filePath: path.join(root, c.file) });
      const hits = result.messages.filter((m) => m.ruleId === RULE);
      const fatal = result.messages.filter((m) => m.fatal);
      expect(fatal, "parse errors").to.deep.equal([]);
      expect(hits.length, hits.map((m) => m.message).join("; ")).to.equal(c.blocked ? 1 : 0);
      if (c.reason) expect(hits[0].message).to.contain(c.reason);
    });
  }

  it("applies the server-wide rule to a new server folder", async () => {
    // A new server/<folder> inherits the server-wide rule: no clients/ at all.
    const [result] = await eslint.lintText(`import { x } from "../../clients/sdk/src/gen/swpatch/v1/types.js";\nexport { x };\n`, {
      filePath: path.join(root, "server/newfolder/x.ts"),
    });
    expect(result.messages.map((m) => m.ruleId)).to.deep.equal([RULE]);
  });
});
