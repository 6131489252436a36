/**
 * Store contract: the patch repository (patches, packages, semantics, blob rows, releases, base
 * feeds, interim lists, application dependencies) and the controller's key/value state.
 */
import { expect } from "chai";
import { factories, storePerTest } from "./store-factory.js";
import { blobsOf, insertPatchWithBlobs, patchRecord, pkg, shaOf } from "./fixtures.js";
import type { PatchRecord } from "../../server/domain/patches/model.js";
import type { StoreReader } from "../../server/domain/store.js";

const byName = <T extends { fileName: string }>(l: readonly T[]) => [...l].sort((a, b) => (a.fileName < b.fileName ? -1 : 1));
/** A patch as a store gives it back, order-independent in its package and semantic lists. */
const norm = (p: PatchRecord) => ({ ...p, patchState: "n/a", packages: byName(p.packages), semantics: [...p.semantics].sort((a, b) => (a.action < b.action ? -1 : 1)) });
/** The interim lists, hosts sorted, patches without hosts left out. */
const interimOf = async (r: StoreReader) =>
  Object.fromEntries(
    [...(await r.loadInterim())]
      .filter(([, s]) => s.size > 0)
      .map(([k, s]) => [k, [...s].sort()])
      .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)),
  );
const depsOf = async (r: StoreReader) => Object.fromEntries([...(await r.loadAppDependencies())].filter(([, l]) => l.length > 0).map(([k, l]) => [k, [...l].sort()]));

for (const f of factories) {
  describe(`store contract (${f.name}): patches and releases`, () => {
    const { s, reopen } = storePerTest(f);

    it("insertPatch/loadPatches round trip a full record (metadata, packages, semantics, dates), also after reopen", async () => {
      const p1 = patchRecord("PATCH_0001");
      const p2 = patchRecord("PATCH_0002", { repoState: "Committed", signer: "formal", uploadedAt: new Date("2025-01-02T03:04:05.006Z"), semantics: [] });
      p2.meta.semantics = [];
      p2.meta.personalities = {};
      p2.meta.requires = [];
      await s().store.transact(async (tx) => {
        await insertPatchWithBlobs(tx, p1);
        await insertPatchWithBlobs(tx, p2);
      });
      const loaded = (await s().store.read.loadPatches()).sort((a, b) => (a.meta.id < b.meta.id ? -1 : 1));
      expect(loaded.map(norm)).to.deep.equal([norm(p1), norm(p2)]);
      expect(loaded[0]!.uploadedAt).to.be.instanceOf(Date);
      expect(loaded[0]!.meta.description).to.equal(p1.meta.description);
      const again = await reopen();
      const reloaded = (await again.store.read.loadPatches()).sort((a, b) => (a.meta.id < b.meta.id ? -1 : 1));
      expect(reloaded.map(norm)).to.deep.equal([norm(p1), norm(p2)]);
    });

    it("updatePatchMetadata replaces metadata, XML and signer; setRepoState moves the repository state", async () => {
      const p = patchRecord("P1");
      await s().store.transact((tx) => insertPatchWithBlobs(tx, p));
      const meta = { ...p.meta, summary: "new summary", status: "OBS", requires: ["P0"] };
      await s().store.transact(async (tx) => {
        await tx.patches.updatePatchMetadata("P1", meta, "<patch>new</patch>", "formal");
        await tx.patches.setRepoState("P1", "Applied");
      });
      let [got] = await s().store.read.loadPatches();
      expect(norm(got!)).to.deep.equal(norm({ ...p, meta, metadataXml: "<patch>new</patch>", signer: "formal", repoState: "Applied" }));
      await s().store.transact((tx) => tx.patches.setRepoState("P1", "Committed"));
      [got] = await s().store.read.loadPatches();
      expect(got!.repoState).to.equal("Committed");
    });

    it("deletePatch removes the patch with its packages, semantics and interim list; its blobs become orphans", async () => {
      const p = patchRecord("P1");
      const keep = patchRecord("P2");
      await s().store.transact(async (tx) => {
        await insertPatchWithBlobs(tx, p);
        await insertPatchWithBlobs(tx, keep);
        await tx.patches.setInterim("P1", ["h1"]);
        await tx.patches.setInterim("P2", ["h1"]);
      });
      const orphans = await s().store.transact(async (tx) => {
        expect(await tx.patches.orphanBlobs()).to.deep.equal([]);
        await tx.patches.deletePatch("P1");
        return tx.patches.orphanBlobs();
      });
      expect([...orphans].sort()).to.deep.equal([...blobsOf(p)].sort());
      expect((await s().store.read.loadPatches()).map((x) => x.meta.id)).to.deep.equal(["P2"]);
      expect(await interimOf(s().store.read)).to.deep.equal({ P2: ["h1"] });
      // No package row is left behind: the same id inserts again, with other packages.
      const other = patchRecord("P1", { packages: [pkg("other")] });
      other.meta.contents = ["other-1.2-3.tis.x86_64.rpm"];
      await s().store.transact((tx) => insertPatchWithBlobs(tx, other));
      const [again] = (await s().store.read.loadPatches()).filter((x) => x.meta.id === "P1");
      expect(again!.packages).to.deep.equal([pkg("other")]);
    });

    it("orphanBlobs sees the transaction's own rows; deleteBlobRows removes them; a blob a base package uses is no orphan", async () => {
      const base = pkg("base");
      const loose = shaOf("loose");
      await s().store.transact(async (tx) => {
        await tx.patches.insertRelease("19.09");
        await tx.patches.insertBlob(base.sha256, base.size);
        await tx.patches.insertBasePackage("19.09", base);
        await tx.patches.insertBlob(loose, 1);
        await tx.patches.insertBlob(loose, 1); // twice is fine
        expect(await tx.patches.orphanBlobs()).to.deep.equal([loose]);
      });
      expect([...(await s().store.read.knownBlobs())].sort()).to.deep.equal([base.sha256, loose].sort());
      await s().store.transact(async (tx) => {
        await tx.patches.deleteBlobRows(await tx.patches.orphanBlobs());
        expect(await tx.patches.orphanBlobs()).to.deep.equal([]);
      });
      expect([...(await s().store.read.knownBlobs())]).to.deep.equal([base.sha256]);
    });

    it("markReclaimed drops one package of a patch (its blob becomes an orphan), the others stay", async () => {
      const p = patchRecord("P1");
      await s().store.transact((tx) => insertPatchWithBlobs(tx, p));
      const [gone, stays] = p.packages;
      const orphans = await s().store.transact(async (tx) => {
        await tx.patches.markReclaimed("P1", gone!.fileName);
        return tx.patches.orphanBlobs();
      });
      expect(orphans).to.deep.equal([gone!.sha256]);
      const [got] = await s().store.read.loadPatches();
      expect(got!.packages).to.deep.equal([stays]);
      expect(got!.meta.contents).to.deep.equal(p.meta.contents);
    });

    it("releases: insert (twice is fine), list, delete (its base feed goes with it)", async () => {
      const k = pkg("kernel");
      await s().store.transact(async (tx) => {
        await tx.patches.insertRelease("20.06");
        await tx.patches.insertRelease("19.09");
        await tx.patches.insertRelease("19.09");
        await tx.patches.insertBlob(k.sha256, k.size);
        await tx.patches.insertBasePackage("19.09", k);
        await tx.patches.insertBasePackage("20.06", k);
      });
      expect([...(await s().store.read.loadReleases())].sort()).to.deep.equal(["19.09", "20.06"]);
      await s().store.transact((tx) => tx.patches.deleteRelease("19.09"));
      expect(await s().store.read.loadReleases()).to.deep.equal(["20.06"]);
      expect([...(await s().store.read.loadBasePackages()).keys()]).to.deep.equal(["20.06"]);
    });

    it("insertBasePackage: true when new, false for a file name the release already has (first one kept), true in another release", async () => {
      const k = pkg("bash");
      const sameName = { ...k, size: 999, version: "9.9" };
      const results = await s().store.transact(async (tx) => {
        await tx.patches.insertRelease("19.09");
        await tx.patches.insertRelease("20.06");
        await tx.patches.insertBlob(k.sha256, k.size);
        return [
          await tx.patches.insertBasePackage("19.09", k),
          await tx.patches.insertBasePackage("19.09", sameName),
          await tx.patches.insertBasePackage("20.06", sameName),
        ];
      });
      expect(results).to.deep.equal([true, false, true]);
      const base = await s().store.read.loadBasePackages();
      expect(base.get("19.09")).to.deep.equal([k]);
      expect(base.get("20.06")).to.deep.equal([sameName]);
      const again = await reopen();
      expect((await again.store.read.loadBasePackages()).get("19.09")).to.deep.equal([k]);
    });

    it("insertBasePackage keeps a package's provenance (signer, importer, time) across a reopen", async () => {
      const k = pkg("signed", { provenance: { signer: "site", importedBy: "0123456789abcdef", importedAt: "2026-12-03T12:00:00.000Z" } });
      const u = pkg("unsigned", { provenance: { signer: "", importedBy: "--base-feed", importedAt: "2026-12-03T12:00:01.000Z" } });
      await s().store.transact(async (tx) => {
        await tx.patches.insertRelease("19.09");
        for (const x of [k, u]) {
          await tx.patches.insertBlob(x.sha256, x.size);
          await tx.patches.insertBasePackage("19.09", x);
        }
      });
      const again = await reopen();
      expect((await again.store.read.loadBasePackages()).get("19.09")).to.deep.equal([k, u]);
    });

    it("interim lists: set replaces a patch's list, clearInterimForHost removes a host from every list", async () => {
      await s().store.transact(async (tx) => {
        await insertPatchWithBlobs(tx, patchRecord("P1"));
        await insertPatchWithBlobs(tx, patchRecord("P2"));
        await tx.patches.setInterim("P1", ["h1", "h2"]);
        await tx.patches.setInterim("P2", ["h1"]);
      });
      expect(await interimOf(s().store.read)).to.deep.equal({ P1: ["h1", "h2"], P2: ["h1"] });
      await s().store.transact((tx) => tx.patches.clearInterimForHost("h1"));
      expect(await interimOf(s().store.read)).to.deep.equal({ P1: ["h2"] });
      await s().store.transact((tx) => tx.patches.setInterim("P1", ["h3", "h4"]));
      expect(await interimOf(s().store.read)).to.deep.equal({ P1: ["h3", "h4"] });
      await s().store.transact((tx) => tx.patches.setInterim("P1", []));
      expect(await interimOf(s().store.read)).to.deep.equal({});
    });

    it("application dependencies: set, replace, clear", async () => {
      await s().store.transact(async (tx) => {
        await tx.patches.setAppDependencies("app1", ["P1", "P2"]);
        await tx.patches.setAppDependencies("app2", ["P3"]);
      });
      expect(await depsOf(s().store.read)).to.deep.equal({ app1: ["P1", "P2"], app2: ["P3"] });
      await s().store.transact((tx) => tx.patches.setAppDependencies("app1", ["P4"]));
      expect(await depsOf(s().store.read)).to.deep.equal({ app1: ["P4"], app2: ["P3"] });
      await s().store.transact((tx) => tx.patches.setAppDependencies("app2", []));
      expect(await depsOf(s().store.read)).to.deep.equal({ app1: ["P4"] });
      const again = await reopen();
      expect(await depsOf(again.store.read)).to.deep.equal({ app1: ["P4"] });
    });

    it("controller state: unset is undefined, set, overwrite, durable", async () => {
      expect(await s().store.read.getControllerState("k")).to.equal(undefined);
      await s().store.transact((tx) => tx.setControllerState("k", "v1"));
      expect(await s().store.read.getControllerState("k")).to.equal("v1");
      await s().store.transact(async (tx) => {
        await tx.setControllerState("k", "v2");
        await tx.setControllerState("other", "");
      });
      const again = await reopen();
      expect(await again.store.read.getControllerState("k")).to.equal("v2");
      expect(await again.store.read.getControllerState("other")).to.equal("");
    });
  });
}
