/** The PostgreSQL dialect bridge: placeholders, sqlite-only forms, inlined literals, which errors mean "unavailable". */
import { expect } from "chai";
import { inlinePg, isConnectionError, mapPgError, pgLiteral, toPg } from "../../../server/storage/postgres/pg-sql.js";
import { DomainError } from "../../../server/domain/errors.js";

describe("PostgreSQL dialect bridge (pg-sql.ts)", () => {
  it("numbers placeholders, rewrites INSERT OR IGNORE and quotes camelCase aliases", () => {
    expect(toPg("SELECT * FROM t WHERE a = ? AND b = ?")).to.equal("SELECT * FROM t WHERE a = $1 AND b = $2");
    expect(toPg("INSERT OR IGNORE INTO blobs (sha256, size) VALUES (?,?)")).to.equal("INSERT INTO blobs (sha256, size) VALUES ($1,$2) ON CONFLICT DO NOTHING");
    expect(toPg("SELECT created_at AS createdAt, x AS y FROM k")).to.equal('SELECT created_at AS "createdAt", x AS y FROM k');
  });

  it("inlines literals safely: quotes and backslashes escaped, NULL, numbers, booleans as 0/1; refuses NUL and other types", () => {
    expect(inlinePg("UPDATE t SET a = ?, b = ?, c = ?, d = ? WHERE id = ?", ["it's", null, 4.5, true, "x\\'; DROP TABLE t; --"])).to.equal(
      "UPDATE t SET a = 'it''s', b = NULL, c = 4.5, d = 1 WHERE id =  E'x\\\\''; DROP TABLE t; --'",
    );
    expect(() => pgLiteral("a\0b")).to.throw(/0x00/);
    expect(() => pgLiteral(Number.NaN)).to.throw();
    expect(() => pgLiteral({})).to.throw();
    expect(() => inlinePg("SELECT ?", [])).to.throw(/too few/);
    expect(() => inlinePg("SELECT ?", [1, 2])).to.throw(/2 parameters for 1/);
  });

  it("connection failures become DomainError unavailable; a refused statement stays as it is", () => {
    for (const e of [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
      Object.assign(new Error("connection failure"), { code: "08006" }),
      new Error("Connection terminated unexpectedly"),
    ]) {
      expect(isConnectionError(e), e.message).to.equal(true);
      const m = mapPgError(e) as DomainError;
      expect(m).to.be.instanceOf(DomainError);
      expect(m.kind).to.equal("unavailable");
      expect(m.reason).to.equal("STORE_UNAVAILABLE");
    }
    const unique = Object.assign(new Error('duplicate key value violates unique constraint "patches_pkey"'), { code: "23505" });
    expect(isConnectionError(unique)).to.equal(false);
    expect(mapPgError(unique)).to.equal(unique);
    const busy = mapPgError(Object.assign(new Error("canceling statement due to lock timeout"), { code: "55P03" })) as DomainError;
    expect(busy.kind).to.equal("unavailable");
  });
});
