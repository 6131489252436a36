import { expect } from "chai";
import { generateKeyPairSync, sign, constants } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, copyFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDomainError, type DomainError } from "../../../../server/domain/errors.js";
import { baseStatement, decideBaseImport, type BaseImporter } from "../../../../server/domain/patches/base-policy.js";
import type { HostPackageView } from "../../../../server/domain/patches/model.js";
import type { TrustStore } from "../../../../server/domain/patchfile/index.js";
import { buildPayloadRpm, type FeedPackage } from "../../../lib/base-feed.js";
import { patchManager, record } from "./fixtures.js";

const ADMIN: BaseImporter = { tokenId: "adm1", role: "admin" };
const OPERATOR: BaseImporter = { tokenId: "op1", role: "operator" };

function keyPair() {
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}
const trusted = keyPair();
const stranger = keyPair();
const TRUST: TrustStore = { keys: [{ label: "site", key: trusted.publicKey }] };

/** A base statement signature, PSS (salt 32) or PKCS#1 v1.5, as openssl makes them. */
function signBase(k: ReturnType<typeof keyPair>, release: string, p: FeedPackage, scheme: "pss" | "pkcs1" = "pss"): Buffer {
  const key = scheme === "pss" ? { key: k.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : k.privateKey;
  return sign("sha256", Buffer.from(baseStatement(release, p.fileName, p.sha256)), key);
}

async function rejection(p: Promise<unknown>): Promise<DomainError> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isDomainError(r), `expected a DomainError, got ${String(r)}`).to.equal(true);
  return r as DomainError;
}

/** Base-feed import (fake store, real rpm files, real RSA signatures). */
describe("base package import (fake store, real rpm)", function () {
  this.timeout(60_000);
  let dir: string;
  let a: FeedPackage;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-base-"));
    a = await buildPayloadRpm({ name: "pkg-a", version: "1.1", release: "1", outDir: path.join(dir, "a") });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("two concurrent imports of one file: one adds it, the other finds it; memory and store agree", async () => {
    const { pm, store } = await patchManager([]);
    const rpm = await buildPayloadRpm({ name: "race", version: "1.0", release: "1", outDir: path.join(dir, "race") });
    const results = await Promise.all([
      pm.importBasePackage("19.09", rpm.file, rpm.fileName, { importer: ADMIN }),
      pm.importBasePackage("19.09", rpm.file, rpm.fileName, { importer: ADMIN }),
    ]);
    expect(results.map((r) => r.added).sort()).to.deep.equal([false, true]);
    expect(pm.basePackages("19.09").map((p) => p.fileName)).to.deep.equal([rpm.fileName]);
    expect(store.t.base.get("19.09")!.map((p) => p.fileName)).to.deep.equal([rpm.fileName]);
    expect(store.eventsOf("base.package-imported").length).to.equal(1);
  });

  it("a different file under a known name is refused (FAILED_PRECONDITION), concurrently or not", async () => {
    const { pm } = await patchManager([]);
    const x = await buildPayloadRpm({ name: "twin", version: "1.0", release: "1", outDir: path.join(dir, "b1") });
    const y = await buildPayloadRpm({
      name: "twin",
      version: "1.0",
      release: "1",
      files: [{ path: "/usr/share/twin/EXTRA", content: "x\n" }],
      outDir: path.join(dir, "b2"),
    });
    expect(x.sha256).to.not.equal(y.sha256);
    const results = await Promise.allSettled([
      pm.importBasePackage("19.09", x.file, x.fileName, { importer: ADMIN }),
      pm.importBasePackage("19.09", y.file, y.fileName, { importer: ADMIN }),
    ]);
    // Either may win the race; exactly one does, and the feed holds the winner's file.
    expect(results.map((r) => r.status).sort()).to.deep.equal(["fulfilled", "rejected"]);
    const winner = results[0]!.status === "fulfilled" ? x : y;
    const e = (results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason as Error;
    expect(isDomainError(e)).to.equal(true);
    expect(e.message).to.equal(`Base feed of 19.09 already has a different ${x.fileName}`);
    expect(pm.basePackages("19.09").map((p) => p.sha256)).to.deep.equal([winner.sha256]);
  });

  it("an unknown release is refused (NOT_FOUND naming it) and is not created", async () => {
    const { pm, store } = await patchManager([], { trust: TRUST });
    for (const importer of [ADMIN, OPERATOR]) {
      const e = await rejection(pm.importBasePackage("20.06", a.file, a.fileName, { importer, signature: signBase(trusted, "20.06", a) }));
      expect(e.kind).to.equal("not-found");
      expect(e.reason).to.equal("RELEASE_NOT_FOUND");
      expect(e.message).to.equal("Release 20.06 is not known; an admin creates it with InitRelease (sw-patch init-release 20.06)");
    }
    expect(pm.releasesKnown()).to.deep.equal(["19.09"]);
    expect(store.t.releases.has("20.06")).to.equal(false);
    expect(store.eventsOf("base.package-imported")).to.deep.equal([]);
  });

  it("operator + unsigned RPM: PERMISSION_DENIED saying why; nothing reaches the feed or a host's desired set", async () => {
    const { pm, store } = await patchManager([], { trust: TRUST });
    const e = await rejection(pm.importBasePackage("19.09", a.file, a.fileName, { importer: OPERATOR }));
    expect(e.kind).to.equal("permission-denied");
    expect(e.reason).to.equal("BASE_PACKAGE_UNSIGNED");
    expect(e.message).to.contain(`Base package ${a.fileName} is not signed by a trusted key`);
    expect(e.message).to.contain("an admin may import it unsigned");
    expect(pm.basePackages("19.09")).to.deep.equal([]);
    expect(store.t.base.get("19.09") ?? []).to.deep.equal([]);
    const host: HostPackageView = { hostname: "h1", release: "19.09", personalityKey: "controller", installed: new Map() };
    expect([...pm.desiredFor(host).packages.keys()]).to.deep.equal([]);
  });

  it("operator: a signature by an untrusted key, or for another release, is refused (BASE_SIGNATURE_INVALID); so for an admin", async () => {
    const { pm } = await patchManager([], { trust: TRUST });
    await pm.initRelease("20.06");
    const cases: [BaseImporter, Buffer][] = [
      [OPERATOR, signBase(stranger, "19.09", a)],
      [OPERATOR, signBase(trusted, "20.06", a)],
      [ADMIN, signBase(stranger, "19.09", a)],
      [OPERATOR, Buffer.alloc(256, 1)],
    ];
    for (const [importer, signature] of cases) {
      const e = await rejection(pm.importBasePackage("19.09", a.file, a.fileName, { importer, signature }));
      expect(e.kind).to.equal("permission-denied");
      expect(e.reason).to.equal("BASE_SIGNATURE_INVALID");
      expect(e.message).to.equal(`Signature of base package ${a.fileName} for release 19.09 does not verify against any trusted key`);
    }
    expect(pm.basePackages("19.09")).to.deep.equal([]);
  });

  it("operator + signature by a trusted key (PSS or PKCS#1 v1.5): accepted, recorded with the signer and the importer", async () => {
    const { pm, store } = await patchManager([], { trust: TRUST });
    const b = await buildPayloadRpm({ name: "pkg-b", version: "1.0", release: "1", outDir: path.join(dir, "sb") });
    const ra = await pm.importBasePackage("19.09", a.file, a.fileName, { importer: OPERATOR, signature: signBase(trusted, "19.09", a) });
    const rb = await pm.importBasePackage("19.09", b.file, b.fileName, { importer: OPERATOR, signature: signBase(trusted, "19.09", b, "pkcs1") });
    expect([ra.added, rb.added]).to.deep.equal([true, true]);
    const stored = store.t.base.get("19.09")!;
    expect(stored.map((p) => [p.fileName, p.provenance?.signer, p.provenance?.importedBy])).to.deep.equal([
      [a.fileName, "site", "op1"],
      [b.fileName, "site", "op1"],
    ]);
    expect(store.eventsOf("base.package-imported").map((e) => e.message)).to.deep.equal([
      `19.09/${a.fileName} (signed by site, imported by op1)`,
      `19.09/${b.fileName} (signed by site, imported by op1)`,
    ]);
  });

  it("admin + unsigned: accepted and recorded as unsigned, imported by the admin token, with the time", async () => {
    const { pm } = await patchManager([], { trust: TRUST });
    const before = Date.now();
    await pm.importBasePackage("19.09", a.file, a.fileName, { importer: ADMIN });
    const p = pm.basePackages("19.09")[0]!.provenance!;
    expect(p.signer).to.equal("");
    expect(p.importedBy).to.equal("adm1");
    expect(Date.parse(p.importedAt)).to.be.within(before, Date.now());
  });

  it("an import that changes what a host needs recomputes the patch states once and emits patch.state events", async () => {
    // P1 (Available) ships pkg-a 1.1, which host h1 still has: Partial-Remove while nothing else
    // provides pkg-a; once the base feed has pkg-a 1.1 the host keeps it legitimately: Available.
    const p1 = record(
      "P1",
      "Available",
      {},
      { packages: [{ fileName: a.fileName, name: "pkg-a", epoch: "", version: "1.1", release: "1", arch: "noarch", sha256: a.sha256, size: a.sizeBytes }] },
    );
    const { pm, store } = await patchManager([p1], { trust: TRUST });
    const h1: HostPackageView = {
      hostname: "h1",
      release: "19.09",
      personalityKey: "controller",
      installed: new Map([["pkg-a", { epoch: "", version: "1.1", release: "1", arch: "noarch" }]]),
    };
    let reportsAsked = 0;
    pm.setHostsProvider({ views: () => new Map([["h1", h1]]), anyInstalling: () => false, requestReports: () => void reportsAsked++ });
    expect(pm.get("P1")!.patchState).to.equal("Partial-Remove");
    const feed = path.join(dir, "feed");
    mkdirSync(feed, { recursive: true });
    const c = await buildPayloadRpm({ name: "pkg-c", version: "2.0", release: "1", outDir: path.join(dir, "c") });
    copyFileSync(a.file, path.join(feed, a.fileName));
    copyFileSync(c.file, path.join(feed, c.fileName));
    const commitsBefore = store.commits;
    const versionBefore = pm.version;
    expect(await pm.importBaseFeed("19.09", feed)).to.deep.equal({ added: 2, total: 2 });
    expect(store.commits - commitsBefore).to.equal(1);
    expect(pm.get("P1")!.patchState).to.equal("Available");
    expect(pm.version).to.be.greaterThan(versionBefore);
    const states = store.eventsOf("patch.state").map((e) => [e.patchId, e.oldState, e.newState]);
    expect(states).to.deep.equal([["P1", "Partial-Remove", "Available"]]);
    expect(reportsAsked).to.equal(1);
    expect([...pm.desiredFor(h1).packages.keys()].sort()).to.deep.equal(["pkg-a", "pkg-c"]);
    expect(pm.basePackages("19.09").map((p) => p.provenance?.importedBy)).to.deep.equal(["--base-feed", "--base-feed"]);
  });
});

describe("base policy (decideBaseImport)", () => {
  const args = { release: "19.09", fileName: "x-1-1.noarch.rpm", sha256: "ab".repeat(32), trust: TRUST, now: new Date(0) };
  const sig = sign("sha256", Buffer.from(baseStatement("19.09", "x-1-1.noarch.rpm", "ab".repeat(32))), trusted.privateKey);

  it("reader and agent may never import, signed or not", () => {
    for (const role of ["reader", "agent"] as const) {
      for (const signature of [undefined, sig]) {
        try {
          decideBaseImport({ ...args, importer: { tokenId: "t", role }, signature });
          expect.fail("should refuse");
        } catch (e) {
          expect((e as DomainError).reason).to.equal("ROLE_NOT_PERMITTED");
        }
      }
    }
  });

  it("--base-feed (host root) and admin may import unsigned; a signature binds file name and sha256", () => {
    expect(decideBaseImport({ ...args, importer: "base-feed" })).to.deep.equal({ signer: "", importedBy: "--base-feed", importedAt: "1970-01-01T00:00:00.000Z" });
    expect(decideBaseImport({ ...args, importer: ADMIN }).signer).to.equal("");
    expect(decideBaseImport({ ...args, importer: OPERATOR, signature: sig }).signer).to.equal("site");
    expect(() => decideBaseImport({ ...args, fileName: "y-1-1.noarch.rpm", importer: OPERATOR, signature: sig })).to.throw(/does not verify/);
    expect(() => decideBaseImport({ ...args, sha256: "cd".repeat(32), importer: OPERATOR, signature: sig })).to.throw(/does not verify/);
    expect(baseStatement("19.09", "x.rpm", "00")).to.equal("sw-patch-base-package-v1\nrelease 19.09\nfile x.rpm\nsha256 00\n");
  });
});
