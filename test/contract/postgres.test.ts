/** The PostgreSQL store's place in the contract suite: run when the machine has PostgreSQL, else skipped with the reason. */
import { expect } from "chai";
import { factories } from "./store-factory.js";
import { postgresSkipReason } from "./postgres-factory.js";

describe("store contract (postgres): availability", () => {
  if (postgresSkipReason) {
    it.skip(`PostgreSQL store contract skipped: ${postgresSkipReason}`);
    return;
  }
  it("the postgres factory is among the stores the contract suite runs", () => {
    expect(factories.map((f) => f.name)).to.include("postgres");
  });
});
