/** Store contract: TrustRootStore (issue 21): newest version, inserts only on top of the expected version, durable. */
import { expect } from "chai";
import { factories, storePerTest } from "./store-factory.js";
import { DomainError } from "../../server/domain/errors.js";
import type { StoredTrustRoot } from "../../server/domain/auth/trust-root-manager.js";

const root = (version: number): StoredTrustRoot => ({
  version,
  document: `{"payload":"v${version}"}\n`,
  sha256: String(version).repeat(64).slice(0, 64),
  installedAt: `2026-12-03T19:0${version}:00.000Z`,
  installedBy: `tok${version}`,
});

for (const f of factories) {
  describe(`store contract [${f.name}]: trust roots`, function () {
    this.timeout(60_000);
    const { s, reopen } = storePerTest(f);

    it("starts empty; inserts version 1, then 2 on top of 1; the newest survives a reopen", async () => {
      expect(await s().trustRoots.latestTrustRoot()).to.equal(undefined);
      await s().trustRoots.insertTrustRoot(root(1), null);
      expect(await s().trustRoots.latestTrustRoot()).to.deep.equal(root(1));
      await s().trustRoots.insertTrustRoot(root(2), 1);
      const again = await reopen();
      expect(await again.trustRoots.latestTrustRoot()).to.deep.equal(root(2));
    });

    it("refuses an insert that does not sit on the expected version, writing nothing", async () => {
      await s().trustRoots.insertTrustRoot(root(1), null);
      for (const [r, prev] of [
        [root(2), null],
        [root(3), 2],
      ] as const) {
        let err: unknown;
        try {
          await s().trustRoots.insertTrustRoot(r, prev);
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(DomainError);
        expect((err as DomainError).reason).to.equal("TRUST_ROOT_VERSION");
      }
      expect((await s().trustRoots.latestTrustRoot())?.version).to.equal(1);
    });
  });
}
