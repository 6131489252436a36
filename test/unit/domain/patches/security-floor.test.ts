import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { parseMetadataXml, writeMetadataXml, type PatchMetadata } from "../../../../server/domain/patchfile/index.js";
import { DomainError } from "../../../../server/domain/errors.js";
import type { PatchRecord, RepoState } from "../../../../server/domain/patches/model.js";
import { checkApplyFloor, checkRemoveFloor, floorsAfter, setCounterOf, type SecurityFloorRecord } from "../../../../server/domain/patches/security-floor.js";
import {
  IN_TOTO_STATEMENT_TYPE,
  INSTALL_RECEIPT_PREDICATE_TYPE,
  dssePae,
  signInstallReceipt,
  verifyInstallReceipt,
  type InstallReceiptStatement,
} from "../../../../server/lib/install-receipt.js";
import { InstallReceipts, type InstallReceiptRecord, type InstallReceiptStore, type ReceiptKeyRecord } from "../../../../server/domain/hosts/install-receipts.js";
import { verifyInstallReceipt as sdkVerify } from "../../../../clients/sdk/src/install-receipt.js";
import { floorRefusal, ReceiptOutbox } from "../../../../server/agent/security-floor.js";

const META: PatchMetadata = {
  id: "P1",
  swVersion: "19.09",
  summary: "s",
  description: "",
  installInstructions: "",
  warnings: "",
  status: "REL",
  unremovable: false,
  rebootRequired: false,
  applyActiveReleaseOnly: false,
  personalities: {},
  contents: ["a-1-1.noarch.rpm"],
  requires: [],
  semantics: [],
};

function rec(id: string, counter: number, repoState: RepoState, release = "19.09"): PatchRecord {
  return {
    meta: { ...META, id, swVersion: release, ...(counter ? { securityCounter: counter } : {}) },
    repoState,
    patchState: "n/a",
    metadataXml: "",
    signer: "dev",
    fileSha256: "",
    uploadedAt: new Date(0),
    packages: [],
    semantics: [],
  };
}

const floorMap = (...f: [string, number, string][]) => new Map(f.map(([release, floor, patchId]) => [release, { release, floor, patchId, updatedAt: "t" }]));
const reasonOf = (fn: () => void): string => {
  try {
    fn();
  } catch (e) {
    return `${(e as DomainError).reason}: ${(e as Error).message}`;
  }
  return "ok";
};

describe("FLOOR: security counter in metadata.xml", () => {
  it("is written last and only when set, so a patch without it keeps its bytes; it reads back", () => {
    const plain = writeMetadataXml(META);
    expect(plain).to.not.include("security_counter");
    const withCounter = writeMetadataXml({ ...META, securityCounter: 7 });
    expect(withCounter).to.equal(plain.replace("</patch>\n", "  <security_counter>7</security_counter>\n</patch>\n"));
    expect(parseMetadataXml(withCounter).securityCounter).to.equal(7);
    expect(parseMetadataXml(plain).securityCounter).to.equal(undefined);
  });

  it("refuses a counter that is not a whole number in range", () => {
    for (const bad of ["-1", "1e3", "abc", " 3", "99999999999999999"]) {
      const xml = writeMetadataXml(META).replace("</patch>", `  <security_counter>${bad}</security_counter>\n</patch>`);
      expect(() => parseMetadataXml(xml), bad).to.throw(DomainError, /security_counter must be a whole number/);
    }
  });

  it("the reference's way of reading (ElementTree findtext by name) ignores the element and reads every other field", function () {
    if (spawnSync("python3", ["--version"]).status !== 0) this.skip();
    const xml = writeMetadataXml({ ...META, securityCounter: 3 });
    const py = spawnSync(
      "python3",
      [
        "-c",
        "import sys, xml.etree.ElementTree as ET\n" +
          "root = ET.fromstring(sys.stdin.buffer.read())\n" +
          "print('|'.join([root.findtext('id'), root.findtext('sw_version'), root.findtext('status'), root.findtext('reboot_required'), ','.join(r.text for r in root.find('contents'))]))",
      ],
      { input: xml },
    );
    expect(py.stderr.toString()).to.equal("");
    expect(py.stdout.toString().trim()).to.equal("P1|19.09|REL|N|a-1-1.noarch.rpm");
  });
});

describe("FLOOR: the controller's floor", () => {
  it("apply: a patch below its release's floor is refused unless allowDowngrade; other releases and applied patches are not checked", () => {
    const floors = floorMap(["19.09", 5, "P5"]);
    expect(reasonOf(() => checkApplyFloor(floors, [rec("P3", 3, "Available")], false))).to.equal(
      "SECURITY_FLOOR: P3 has security counter 3, below the security floor 5 of release 19.09 (set by P5)\nAn admin may apply it with --allow-downgrade",
    );
    expect(reasonOf(() => checkApplyFloor(floors, [rec("P0", 0, "Available")], false))).to.match(/^SECURITY_FLOOR: P0 has security counter 0/);
    expect(reasonOf(() => checkApplyFloor(floors, [rec("P3", 3, "Available")], true))).to.equal("ok");
    expect(reasonOf(() => checkApplyFloor(floors, [rec("P5b", 5, "Available"), rec("Q", 1, "Available", "20.06")], false))).to.equal("ok");
    expect(reasonOf(() => checkApplyFloor(floors, [rec("P3", 3, "Applied")], false))).to.equal("ok");
  });

  it("remove: the patch that sets the floor is refused unless another keeps it or allowDowngrade", () => {
    const floors = floorMap(["19.09", 5, "P5"]);
    const p5 = rec("P5", 5, "Applied");
    const p3 = rec("P3", 3, "Applied");
    expect(reasonOf(() => checkRemoveFloor(floors, [p5, p3], [p5], false))).to.equal(
      "SECURITY_FLOOR: P5 sets the security floor 5 of release 19.09: removing it would roll the release back\nAn admin may remove it with --allow-downgrade",
    );
    expect(reasonOf(() => checkRemoveFloor(floors, [p5, p3], [p3], false))).to.equal("ok");
    expect(reasonOf(() => checkRemoveFloor(floors, [p5, p3, rec("P5c", 5, "Committed")], [p5], false))).to.equal("ok");
    expect(reasonOf(() => checkRemoveFloor(floors, [p5, p3], [p5], true))).to.equal("ok");
  });

  it("floorsAfter: an apply raises it, a forced removal lowers it to what is left, anything else leaves it", () => {
    const at = new Date("2026-12-03T19:00:00Z");
    const none = new Map<string, SecurityFloorRecord>();
    expect(floorsAfter(none, [rec("P3", 3, "Available")], [rec("P3", 3, "Applied")], at)).to.deep.equal([
      { release: "19.09", floor: 3, patchId: "P3", updatedAt: at.toISOString() },
    ]);
    const floors = floorMap(["19.09", 5, "P5"]);
    const all = [rec("P5", 5, "Applied"), rec("P3", 3, "Applied")];
    expect(floorsAfter(floors, all, [rec("P3", 3, "Available")], at)).to.deep.equal([]);
    expect(floorsAfter(floors, all, [rec("P5", 5, "Available")], at)).to.deep.equal([{ release: "19.09", floor: 3, patchId: "P3", updatedAt: at.toISOString() }]);
    // A forced apply of an older patch leaves the floor where it is.
    expect(floorsAfter(floors, [...all, rec("P1", 1, "Available")], [rec("P1", 1, "Applied")], at)).to.deep.equal([]);
    expect(setCounterOf([...all, rec("P9", 9, "Available")], "19.09")).to.equal(5);
  });
});

describe("FLOOR: the agent's floor", () => {
  it("refuses a set below its floor, with the reason the host reports", () => {
    expect(floorRefusal(2, 2)).to.equal(undefined);
    expect(floorRefusal(3, 2)).to.equal(undefined);
    expect(floorRefusal(1, 2)).to.equal("security floor: the package set has security counter 1, below this host's floor 2; refusing to roll the host back");
  });

  it("ReceiptOutbox: a receipt the connection could not send waits; one the controller refuses is dropped", async () => {
    const sent: string[] = [];
    let down = true;
    const box = new ReceiptOutbox({ warn: () => undefined }, (e) => (e as { code?: number }).code === 14);
    box.submit = async (env) => {
      if (down) throw Object.assign(new Error("unavailable"), { code: 14 });
      if (env === "bad") throw Object.assign(new Error("refused"), { code: 6 });
      sent.push(env);
    };
    await box.push("r1");
    await box.push("bad");
    expect([sent, box.pending]).to.deep.equal([[], 2]);
    down = false;
    await box.push("r2");
    expect([sent, box.pending, box.refused]).to.deep.equal([["r1", "r2"], 0, 1]);
  });
});

describe("FLOOR: signed install receipts", () => {
  const hostKey = generateKeyPairSync("ed25519");
  const otherKey = generateKeyPairSync("ed25519");
  const pem = (k: typeof hostKey) => k.publicKey.export({ type: "spki", format: "pem" }).toString();
  const statement = (host: string, counter: number): InstallReceiptStatement => ({
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: "pkg-a-1.0-2.noarch.rpm", digest: { sha256: "a".repeat(64) } }],
    predicateType: INSTALL_RECEIPT_PREDICATE_TYPE,
    predicate: {
      host,
      patches: ["P1"],
      operation: "install",
      operationId: "op",
      result: "success",
      reason: "",
      rpmDatabaseDigest: { sha256: "b".repeat(64) },
      securityFloor: 1,
      setSecurityCounter: 1,
      counter,
      time: "2026-12-03T19:00:00.000Z",
    },
  });

  it("DSSE pre-authentication encoding as the DSSE specification's example", () => {
    expect(dssePae("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).to.equal("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  });

  it("signs and verifies with the host's key; another key or a changed payload is refused, by the server and the SDK verifier alike", () => {
    const env = signInstallReceipt(statement("compute-0", 1), hostKey.privateKey);
    expect(verifyInstallReceipt(env, hostKey.publicKey).predicate.counter).to.equal(1);
    expect(() => verifyInstallReceipt(env, otherKey.publicKey)).to.throw(/not signed by key/);
    const parsed = JSON.parse(env) as { payload: string };
    const changed = JSON.stringify({
      ...parsed,
      payload: Buffer.from(Buffer.from(parsed.payload, "base64").toString().replace('"result":"success"', '"result":"failed"')).toString("base64"),
    });
    expect(() => verifyInstallReceipt(changed, hostKey.publicKey)).to.throw(/signature does not verify/);
    const keys = [
      { keyId: (JSON.parse(env) as { signatures: { keyid: string }[] }).signatures[0]!.keyid, publicKey: pem(hostKey), credentialId: "c", registeredAt: "t" },
    ];
    const row = { counter: 1, keyId: keys[0]!.keyId, operationId: "op", operation: "install", result: "success", receivedAt: "t", envelope: env };
    expect(sdkVerify("compute-0", row, keys)).to.deep.include({ ok: true, problem: "" });
    expect(sdkVerify("compute-0", { ...row, envelope: changed }, keys)).to.deep.include({ ok: false, problem: "signature does not verify" });
    expect(sdkVerify("compute-0", { ...row, counter: 2 }, keys)).to.deep.include({ ok: false, problem: "statement counter 1 differs from the row's 2" });
    expect(sdkVerify("compute-1", row, keys)).to.deep.include({ ok: false, problem: "statement names host compute-0" });
  });

  it("the controller: key of THAT host only, counters only go up, no key means not enrolled", async () => {
    const keys: ReceiptKeyRecord[] = [];
    const rows: InstallReceiptRecord[] = [];
    const store: InstallReceiptStore = {
      insertReceiptKey: async (k) => void keys.push(k),
      receiptKeys: async (h) => keys.filter((k) => k.hostname === h),
      insertReceipt: async (r) => {
        if (rows.some((x) => x.hostname === r.hostname && x.counter >= r.counter)) return false;
        rows.push(r);
        return true;
      },
      listReceipts: async (h) => rows.filter((r) => r.hostname === h),
    };
    const receipts = new InstallReceipts({ store });
    const refusal = async (p: Promise<unknown>) => p.then(() => "ok").catch((e: DomainError) => `${e.kind} ${e.reason}`);
    expect(await refusal(receipts.submit("compute-0", signInstallReceipt(statement("compute-0", 1), hostKey.privateKey)))).to.equal(
      "failed-precondition RECEIPT_KEY_MISSING",
    );
    expect(() => receipts.checkKey(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString())).to.throw(
      /an Ed25519 key is required, got rsa/,
    );
    await receipts.registerKey("compute-0", "tok0", pem(hostKey));
    await receipts.registerKey("compute-1", "tok1", pem(otherKey));
    expect(await refusal(receipts.submit("compute-0", signInstallReceipt(statement("compute-0", 2), hostKey.privateKey)))).to.equal("ok");
    expect(await refusal(receipts.submit("compute-0", signInstallReceipt(statement("compute-0", 2), hostKey.privateKey)))).to.equal("already-exists RECEIPT_REPLAYED");
    expect(await refusal(receipts.submit("compute-0", signInstallReceipt(statement("compute-0", 1), hostKey.privateKey)))).to.equal("already-exists RECEIPT_REPLAYED");
    expect(await refusal(receipts.submit("compute-0", signInstallReceipt(statement("compute-0", 3), otherKey.privateKey)))).to.equal(
      "permission-denied RECEIPT_SIGNATURE_INVALID",
    );
    expect(await refusal(receipts.submit("compute-1", signInstallReceipt(statement("compute-0", 3), otherKey.privateKey)))).to.equal(
      "permission-denied RECEIPT_SIGNATURE_INVALID",
    );
    expect(await refusal(receipts.submit("compute-0", "{not json"))).to.equal("invalid-argument RECEIPT_INVALID");
    expect((await receipts.list("compute-0")).receipts.map((r) => r.counter)).to.deep.equal([2]);
  });
});
