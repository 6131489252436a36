import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Db } from "../../../server/storage/sqlite/db.js";
import { migrations } from "../../../server/storage/sqlite/migrations/index.js";
import { decodeProgress, encodeProgress } from "../../../server/storage/sqlite/progress-record.js";
import { progressMessage } from "../../../server/domain/hosts/agent-types.js";

/** Install progress stored as versioned domain records; migration 0005 converts proto-JSON rows. */
describe("progress records", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-progress-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips a progress message with its time as a Date", () => {
    const p = { ...progressMessage("op-1", "h1", "running-scripts", "script 2"), current: 2, total: 3, bytesDone: 7, bytesTotal: 9, item: "x.sh" };
    const json = encodeProgress(p);
    expect(JSON.parse(json)).to.include({ v: 1, phase: "running-scripts", time: p.time.toISOString() });
    expect(decodeProgress(json)).to.deep.equal(p);
  });

  it("refuses a record of an unknown version", () => {
    expect(() => decodeProgress('{"v":2,"phase":"done"}')).to.throw(/unsupported progress record version 2/);
  });

  it("migration 0005 converts proto-JSON rows (numeric phase) of operations and events", async () => {
    const file = path.join(dir, "s.sqlite");
    const old = await Db.open(
      file,
      migrations.filter((m) => m.version < 5),
    );
    const proto = {
      operationId: "op-1",
      hostname: "h1",
      phase: 5,
      current: 0,
      total: 0,
      bytesDone: 0,
      bytesTotal: 0,
      item: "",
      message: "Installation was successful.",
      terminal: true,
      time: "2026-12-01T10:00:00.000Z",
    };
    await old.tx(async (tx) => {
      await tx.run(
        "INSERT INTO operations (id, hostname, kind, state, force, start_seq, created_at, updated_at, last_progress_json) VALUES ('op-1','h1','install','done',0,0,'t','t',?)",
        [JSON.stringify(proto)],
      );
      await tx.run(
        "INSERT INTO events (seq, time, kind, patch_id, hostname, old_state, new_state, message, operation_id, progress_json) VALUES (1,'t','install.progress','','h1','','','',?,?)",
        ["op-1", JSON.stringify({ ...proto, phase: 3, terminal: false })],
      );
      await tx.run(
        "INSERT INTO events (seq, time, kind, patch_id, hostname, old_state, new_state, message, operation_id, progress_json) VALUES (2,'t','patch.state','P','','','','','',NULL)",
      );
    });
    await old.close();
    const db = await Db.open(file, migrations);
    try {
      const op = await db.read.get<{ last_progress_json: string }>("SELECT last_progress_json FROM operations WHERE id = 'op-1'");
      const d = decodeProgress(op!.last_progress_json);
      expect(JSON.parse(op!.last_progress_json)).to.include({ v: 1, phase: "done" });
      expect(d).to.deep.equal({ ...proto, phase: "done", time: new Date(proto.time) });
      const evs = await db.read.all<{ progress_json: string | null }>("SELECT progress_json FROM events ORDER BY seq");
      expect(JSON.parse(evs[0]!.progress_json!)).to.include({ v: 1, phase: "installing", terminal: false });
      expect(evs[1]!.progress_json).to.equal(null);
    } finally {
      await db.close();
    }
  });
});
