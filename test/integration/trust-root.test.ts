/**
 * Root of trust and DSSE patch signatures end to end (issue 21) against a real controller with
 * the real CLIs: sw-patch trust-root (init/sign/set/rotate/show), patch_build --sign-key,
 * patch_sign, sw-patch upload; an independent Python reader (the reference's rules) and DSSE
 * verifier. The tests run in order on one controller (a restart at the end for the expired root).
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { promises as fsp, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { DEV_CERT, DEV_KEY, REPO_ROOT, startController, type ControllerHandle } from "../lib/controller-harness.js";
import { runCli, type CliResult } from "../lib/cli.js";
import { buildRpm } from "../lib/rpm-builder.js";
import { makeTrustRoot, signTrustRoot } from "../../clients/sdk/src/trust-root.js";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { SqlTrustRootStore } from "../../server/storage/sqlite/trust-root-store.js";
import { parseTrustRoot } from "../../server/domain/auth/trust-root.js";

const run = promisify(execFile);
const PY = path.join(REPO_ROOT, "test/lib/python");

describe("root of trust and DSSE patch signatures (real controller, CLIs, Python reader)", function () {
  this.timeout(240_000);
  let dir: string;
  let ctl: ControllerHandle;
  /** One RPM per patch (a package is provided by one patch only): trustpkg-1.0-<n>. */
  const rpms: string[] = [];
  const key = (name: string) => path.join(dir, name);
  const sw = (...args: string[]): Promise<CliResult> => runCli("sw-patch", args, { endpoint: ctl.endpoint, token: ctl.adminToken });
  const build = (id: string, ...signKeys: string[]): Promise<CliResult> =>
    runCli("patch_build", [
      "--id",
      id,
      "--release",
      "19.09",
      "--key",
      DEV_KEY,
      "--output-dir",
      dir,
      ...signKeys.flatMap((k) => ["--sign-key", key(`${k}.pem`)]),
      rpms[Number(id.slice(-1)) - 1]!,
    ]);

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "trust-root-"));
    // Root keys k1 k2 k3 (Ed25519, ECDSA P-256, RSA), the next root's n1 n2 n3 (Ed25519).
    const make = (name: string, k: ReturnType<typeof generateKeyPairSync>) => {
      writeFileSync(key(`${name}.pem`), k.privateKey.export({ type: "pkcs8", format: "pem" }));
      writeFileSync(key(`${name}.pub`), k.publicKey.export({ type: "spki", format: "pem" }));
    };
    make("k1", generateKeyPairSync("ed25519"));
    make("k2", generateKeyPairSync("ec", { namedCurve: "prime256v1" }));
    make("k3", generateKeyPairSync("rsa", { modulusLength: 2048 }));
    for (const n of ["n1", "n2", "n3"]) make(n, generateKeyPairSync("ed25519"));
    for (let n = 1; n <= 4; n++) {
      rpms.push(
        await buildRpm({
          name: "trustpkg",
          version: "1.0",
          release: String(n),
          arch: "x86_64",
          files: [{ path: "/etc/trustpkg.conf", content: `a=${n}\n` }],
          outDir: dir,
        }),
      );
    }
    ctl = await startController({ trust: [`${DEV_CERT}:dev`], extraArgs: ["--no-default-trust"], keepDataDir: true });
  });

  after(async () => {
    await ctl?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    if (ctl) await fsp.rm(ctl.dataDir, { recursive: true, force: true });
  });

  it("without a root: show says so and uploads use the trust store as before", async () => {
    const show = await sw("trust-root", "show");
    expect(show).to.deep.include({ rc: 0, stderr: "" });
    expect(show.stdout).to.match(/^No root of trust is installed/);
    expect((await build("TR_0001")).rc).to.equal(0);
    const up = await sw("upload", path.join(dir, "TR_0001.patch"));
    expect(up.stderr).to.equal("");
    expect(up.rc).to.equal(0);
  });

  it("trust-root init writes v1 for offline signing; set refuses 1 of 2 root signatures and installs 2 of 3", async () => {
    const rootFile = key("root-v1.json");
    const init = await sw(
      "trust-root",
      "init",
      "--key",
      key("k1.pub"),
      "--key",
      key("k2.pub"),
      "--key",
      key("k3.pub"),
      "--threshold",
      "2",
      "--expires",
      "365d",
      "--output",
      rootFile,
    );
    expect(init.rc, init.stderr).to.equal(0);
    expect(init.stdout).to.match(/^Root document version 1 written to .*root-v1\.json \(0 signatures, expires \d{4}-/);
    expect((await runCli("sw-patch", ["trust-root", "sign", "--key", key("k1.pem"), rootFile])).rc).to.equal(0);
    const one = await sw("trust-root", "set", rootFile);
    expect(one.rc).to.equal(1);
    expect(one.stderr).to.include("trust root: version 1 signed by its own root keys: 1 valid signature, 2 required");
    expect((await runCli("sw-patch", ["trust-root", "sign", "--key", key("k2.pem"), rootFile])).rc).to.equal(0);
    const two = await sw("trust-root", "set", rootFile);
    expect(two.stderr).to.equal("");
    expect(two.rc).to.equal(0);
    expect(two.stdout).to.match(/^Root of trust version 1 installed\n/);
    const show = await sw("trust-root", "show");
    expect(show.stdout).to.match(/^Root of trust version 1, expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/);
    expect(show.stdout).to.match(/ {2}patch-signer: 2 of 3 keys: [0-9a-f]{64} /);
    expect((await sw("trust-root", "set", rootFile)).stderr).to.include("A root of trust is installed (version 1)");
  });

  it("a patch signed by one of the 2-of-3 keys is refused, naming had and needed; signed by two it uploads", async () => {
    expect((await build("TR_0002", "k1")).rc).to.equal(0);
    const file = path.join(dir, "TR_0002.patch");
    const one = await sw("upload", file);
    expect(one.rc).to.equal(1);
    expect(one.stderr).to.include("Patch has 1 valid patch-signer signature, the root of trust requires 2");
    // A patch without the member at all (built before the root): 0 of 2.
    expect((await sw("upload", path.join(dir, "TR_0001.patch"))).stderr).to.include("Patch has 0 valid patch-signer signatures, the root of trust requires 2");
    const signed = await runCli("patch_sign", ["--key", key("k3.pem"), file]);
    expect(signed.rc, signed.stderr).to.equal(0);
    expect(signed.stdout).to.match(/TR_0002\.patch: signed by 2 key\(s\): [0-9a-f]{64} [0-9a-f]{64}\n$/);
    const two = await sw("upload", file);
    expect(two.stderr).to.equal("");
    expect(two.rc).to.equal(0);
    const show = await sw("show", "TR_0002");
    expect(show.stdout).to.include("TR_0002");
  });

  it("the patch with signature.dsse still reads with the reference's rules and its envelope verifies independently (Python)", async () => {
    const file = path.join(dir, "TR_0002.patch");
    const ref = await run("python3", [path.join(PY, "reference_read_patch.py"), file, DEV_CERT]);
    const got = JSON.parse(ref.stdout) as { id: string; sw_version: string; members: string[] };
    expect(got).to.deep.equal({ id: "TR_0002", sw_version: "19.09", members: ["metadata.tar", "software.tar", "signature", "signature.v2", "signature.dsse"] });
    const pubs = ["k1", "k2", "k3"].map((k) => key(`${k}.pub`));
    const v = await run("python3", [path.join(PY, "dsse_verify.py"), file, "2", ...pubs]);
    expect(JSON.parse(v.stdout)).to.deep.include({ valid: 2, threshold: 2 });
    // Three needed: the independent verifier refuses too.
    const three = await run("python3", [path.join(PY, "dsse_verify.py"), file, "3", ...pubs]).then(
      () => null,
      (e: { code: number; stdout: string }) => e,
    );
    expect(three?.code).to.equal(1);
    expect(JSON.parse(three!.stdout)).to.deep.include({ valid: 2 });
  });

  it("rotation: signed only by the new keys is refused; by a threshold of old and new accepted; never the same version again", async () => {
    const v2 = key("root-v2.json");
    const init = await sw(
      "trust-root",
      "init",
      "--version",
      "2",
      "--key",
      key("n1.pub"),
      "--key",
      key("n2.pub"),
      "--key",
      key("n3.pub"),
      "--threshold",
      "2",
      "--output",
      v2,
    );
    expect(init.rc, init.stderr).to.equal(0);
    expect((await runCli("sw-patch", ["trust-root", "sign", "--key", key("n1.pem"), "--key", key("n2.pem"), v2])).rc).to.equal(0);
    const newOnly = await sw("trust-root", "rotate", v2);
    expect(newOnly.rc).to.equal(1);
    expect(newOnly.stderr).to.include("trust root: version 2 signed by the root keys of version 1: 0 valid signatures, 2 required");
    expect((await runCli("sw-patch", ["trust-root", "sign", "--key", key("k1.pem"), "--key", key("k3.pem"), v2])).rc).to.equal(0);
    const ok = await sw("trust-root", "rotate", v2);
    expect(ok.stderr).to.equal("");
    expect(ok.stdout).to.match(/^Root of trust version 2 installed\n/);
    expect((await sw("trust-root", "rotate", v2)).stderr).to.include("trust root: version 2 cannot replace version 2 (only version 3 can)");
    expect((await sw("trust-root", "rotate", key("root-v1.json"))).stderr).to.include("trust root: version 1 cannot replace version 2 (only version 3 can)");
    // The old keys no longer sign patches.
    expect((await build("TR_0003", "k1", "k2")).rc).to.equal(0);
    expect((await sw("upload", path.join(dir, "TR_0003.patch"))).stderr).to.include("Patch has 0 valid patch-signer signatures, the root of trust requires 2");
    // Audit rows: each install and each refusal, with the version and digest or the reason.
    const audit = await sw("audit-log", "--format", "json", "--limit", "1000");
    const entries = (JSON.parse(audit.stdout) as { entries: { action: string; outcome: string; detail?: string }[] }).entries.filter((e) =>
      e.action.startsWith("TrustRoot"),
    );
    const rows = entries.map((e) => `${e.action} ${e.outcome} ${e.detail ?? ""}`);
    expect(rows.filter((r) => /^TrustRootSet ok trust-root=v1 sha256=[0-9a-f]{64}$/.test(r))).to.have.length(1);
    expect(rows.filter((r) => /^TrustRootRotate ok trust-root=v2 sha256=[0-9a-f]{64}$/.test(r))).to.have.length(1);
    expect(rows).to.include("TrustRootRotate FAILED_PRECONDITION trust root: version 2 signed by the root keys of version 1: 0 valid signatures, 2 required");
  });

  it("an expired root refuses uploads with a message that says so", async () => {
    // Version 3 that expired a minute ago, written straight into the stopped controller's store
    // (the controller would refuse to install an expired document).
    await ctl.stop();
    const v3 = makeTrustRoot({
      rootKeys: ["n1", "n2", "n3"].map((n) => readPem(key(`${n}.pub`))),
      rootThreshold: 2,
      version: 3,
      expires: new Date(Date.now() - 60_000),
    });
    const doc = parseTrustRoot(signTrustRoot(v3, [readPem(key("n1.pem")), readPem(key("n2.pem"))]));
    const db = await Db.open(path.join(ctl.dataDir, "sw-patch.sqlite"), migrations);
    try {
      await new SqlTrustRootStore(db).insertTrustRoot(
        { version: 3, document: doc.text, sha256: doc.sha256, installedAt: new Date().toISOString(), installedBy: "test" },
        2,
      );
    } finally {
      await db.close();
    }
    ctl = await startController({ dataDir: ctl.dataDir, trust: [`${DEV_CERT}:dev`], extraArgs: ["--no-default-trust"] });
    expect((await sw("trust-root", "show")).stdout).to.include("(EXPIRED: uploads are refused until it is rotated)");
    expect((await build("TR_0004", "n1", "n2")).rc).to.equal(0);
    const up = await sw("upload", path.join(dir, "TR_0004.patch"));
    expect(up.rc).to.equal(1);
    expect(up.stderr).to.match(/The root of trust \(version 3\) expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: no patch can be uploaded until an admin installs version 4/);
  });
});

function readPem(file: string): string {
  return readFileSync(file, "utf8");
}
