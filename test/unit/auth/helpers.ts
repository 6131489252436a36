import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Db } from "../../../server/storage/sqlite/db.js";
import { migrations } from "../../../server/storage/sqlite/migrations/index.js";
import { AuthStore } from "../../../server/storage/sqlite/auth-store.js";

/** A real sqlite Db with every migration in a temp dir; `close()` removes it. */
export async function openAuthDb(dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-auth-"))): Promise<{
  dir: string;
  db: Db;
  store: AuthStore;
  close(opts?: { keep?: boolean }): Promise<void>;
}> {
  const db = await Db.open(path.join(dir, "sw-patch.sqlite"), migrations);
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
