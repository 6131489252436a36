import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Db } from "../../../server/storage/sqlite/db.js";
import { m0001 } from "../../../server/storage/sqlite/migrations/0001-initial.js";
import { m0002 } from "../../../server/storage/sqlite/migrations/0002-auth.js";
import { AuthStore } from "../../../server/storage/sqlite/auth-store.js";

/** A real sqlite Db with migrations 0001 + 0002 in a temp dir; `close()` removes it. */
export async function openAuthDb(dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-auth-"))): Promise<{
  dir: string;
  db: Db;
  store: AuthStore;
  close(opts?: { keep?: boolean }): Promise<void>;
}> {
  const db = await Db.open(path.join(dir, "sw-patch.sqlite"), [m0001, m0002]);
  return {
    dir,
    db,
    store: new AuthStore(db),
    async close(opts = {}) {
      await db.close();
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
