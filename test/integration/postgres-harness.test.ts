import { expect } from "chai";
import { Client } from "pg";
import { type PostgresServer, startPostgresOrSkip } from "../lib/postgres.js";

/** The test PostgreSQL server itself: starts, isolates databases, survives a crash restart, stops. */
describe("test harness: a real PostgreSQL on loopback", function () {
  this.timeout(90_000);
  let pg: PostgresServer | undefined;
  before(async function () {
    pg = await startPostgresOrSkip(this);
  });
  after(() => pg?.stop());

  it("gives each test its own database, keeps committed rows over a kill -9 restart", async () => {
    const url = await pg!.createDatabase();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query("CREATE TABLE t (v int)");
    await c.query("INSERT INTO t VALUES (41), (1)");
    await c.end();
    await pg!.restart({ crash: true });
    const d = new Client({ connectionString: url });
    await d.connect();
    const r = await d.query<{ s: string }>("SELECT sum(v)::text AS s FROM t");
    await d.end();
    expect(r.rows[0]!.s).to.equal("42");
    expect(await pg!.createDatabase()).to.not.equal(url);
  });
});
