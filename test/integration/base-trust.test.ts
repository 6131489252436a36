/**
 * Trust at start and base-package policy on a real controller process: the default set-up makes
 * and trusts a local signing key (and the StarlingX formal certificate), not the dev certificate;
 * operators import only signed base packages (signatures made with the real `openssl` and the SDK
 * / CLI), admins may import unsigned ones, which `sw-patch query-base` shows as unsigned with the
 * importing token and time. One controller, restarted once with `--trust` of the dev certificate.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createSwPatchClient, InvalidArgumentError, PermissionDeniedError, type SwPatchClient } from "../../clients/sdk/src/index.js";
import { buildPayloadRpm, type FeedPackage } from "../lib/base-feed.js";
import { runCli } from "../lib/cli.js";
import { DEV_CERT, startController, type ControllerHandle } from "../lib/controller-harness.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";

describe("trust defaults and base-package policy (real controller, openssl signatures)", function () {
  this.timeout(120_000);
  let dir: string;
  let dataDir: string;
  let ctl: ControllerHandle;
  let admin: SwPatchClient;
  let operator: SwPatchClient;
  let operatorToken: string;
  let operatorId: string;
  let adminId: string;
  let keyFile: string;
  const rpms: Record<string, FeedPackage> = {};

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-trust-"));
    dataDir = path.join(dir, "ctl");
    keyFile = path.join(dataDir, "signing", "local-signing-key.pem");
    ctl = await startController({ dataDir, trust: [], keepDataDir: true });
    admin = createSwPatchClient({ endpoint: ctl.endpoint, token: ctl.adminToken });
    adminId = ctl.adminToken.split("_")[1]!;
    const created = await admin.admin.createToken({ role: "operator", hostname: "", description: "trust test" });
    operatorToken = created.token;
    operatorId = created.info!.id;
    operator = createSwPatchClient({ endpoint: ctl.endpoint, token: operatorToken });
    for (const name of ["trust-a", "trust-b", "trust-c", "trust-p"]) rpms[name] = await buildPayloadRpm({ name, version: "1.0", outDir: path.join(dir, "rpms") });
  });

  after(async () => {
    admin?.close();
    operator?.close();
    await ctl?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("first start: makes a local signing key (0600, printed), trusts local and formal, not the dev certificate", async () => {
    expect(ctl.startupOutput).to.contain(
      `sw-patch-controller local signing key ${keyFile} (certificate ${path.join(dataDir, "signing", "local-signing-cert.pem")}, trusted as local)`,
    );
    expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
    expect(statSync(path.dirname(keyFile)).mode & 0o777).to.equal(0o700);
    expect((await admin.patches.getControllerInfo({})).trustLabels).to.deep.equal(["local", "formal"]);
    expect(ctl.stderr()).not.to.contain("private key is public");
  });

  it("a patch signed with the dev key is refused; one signed with the local key is accepted", async () => {
    const dev = await buildTestPatch({ dir: path.join(dir, "p1"), id: "TRUST_0001", swVersion: "19.09" });
    const e = await operator.uploadPatchFile(dev.path).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).to.be.instanceOf(InvalidArgumentError);
    const local = await buildTestPatch({
      dir: path.join(dir, "p2"),
      id: "TRUST_0002",
      swVersion: "19.09",
      rpms: [{ name: "trustpkg", version: "1.0", release: "1", files: [{ path: "/etc/trustpkg.conf", content: "x\n" }] }],
      signingKey: readFileSync(keyFile, "utf8"),
    });
    expect((await operator.uploadPatchFile(local.path)).patchId).to.equal("TRUST_0002");
    // patch_build finds the local key through SWPATCH_DATA_DIR when no --key is given.
    const built = await runCli("patch_build", ["--id", "TRUST_0003", "--release", "19.09", "--output-dir", dir, rpms["trust-p"]!.file], {
      env: { SWPATCH_DATA_DIR: dataDir, SWPATCH_SIGNING_KEY: "" },
    });
    expect(built.rc, built.stderr).to.equal(0);
    expect((await operator.uploadPatchFile(path.join(dir, "TRUST_0003.patch"))).patchId).to.equal("TRUST_0003");
  });

  it("operator: unsigned refused, openssl-signed (local key) accepted; admin: unsigned accepted and listed as unsigned", async () => {
    const a = rpms["trust-a"]!;
    const refused = await operator.importBasePackageFile(a.file, { release: "19.09" }).then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(refused).to.be.instanceOf(PermissionDeniedError);
    expect(refused!.message).to.contain(`Base package ${a.fileName} is not signed by a trusted key`);
    expect((await admin.patches.listBasePackages({ release: "19.09" })).packages).to.deep.equal([]);

    // The signature an operator makes with openssl over the base statement.
    const statement = path.join(dir, "statement");
    const sig = path.join(dir, "a.sig");
    writeFileSync(statement, `sw-patch-base-package-v1\nrelease 19.09\nfile ${a.fileName}\nsha256 ${a.sha256}\n`);
    execFileSync("openssl", ["dgst", "-sha256", "-sign", keyFile, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-out", sig, statement]);
    expect((await operator.importBasePackageFile(a.file, { release: "19.09", signature: readFileSync(sig) })).added).to.equal(true);

    const b = rpms["trust-b"]!;
    const c = rpms["trust-c"]!;
    const asOperator = await runCli("sw-patch", ["import-base", "--release", "19.09", b.file], { endpoint: ctl.endpoint, token: operatorToken });
    expect(asOperator.rc).to.equal(1);
    expect(asOperator.stderr).to.contain(`Base package ${b.fileName} is not signed by a trusted key`);
    const asAdmin = await runCli("sw-patch", ["import-base", "--release", "19.09", b.file], { endpoint: ctl.endpoint, token: ctl.adminToken });
    expect(asAdmin).to.include({ rc: 0, stdout: `${b.fileName} imported into the base feed of 19.09\n` });
    const signedCli = await runCli("sw-patch", ["import-base", "--release", "19.09", "--sign-key", keyFile, c.file], { endpoint: ctl.endpoint, token: operatorToken });
    expect(signedCli).to.include({ rc: 0, stdout: `${c.fileName} imported into the base feed of 19.09\n` });

    const q = await runCli("sw-patch", ["query-base", "19.09"], { endpoint: ctl.endpoint, token: operatorToken });
    expect(q.rc).to.equal(0);
    const rows = q.stdout.split("\n").filter((l) => l.startsWith("| 19.09"));
    expect(rows.length).to.equal(3);
    expect(rows[0]).to.match(new RegExp(`\\| ${a.fileName} +\\| signed by local, imported by ${operatorId} at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`));
    expect(rows[1]).to.match(new RegExp(`\\| ${b.fileName} +\\| unsigned, imported by ${adminId} at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`));
    expect(rows[2]).to.contain(`signed by local, imported by ${operatorId}`);
    const unknown = await runCli("sw-patch", ["import-base", "--release", "66.66", "--sign-key", keyFile, c.file], { endpoint: ctl.endpoint, token: operatorToken });
    expect(unknown.rc).to.equal(1);
    expect(unknown.stderr).to.contain("Release 66.66 is not known; an admin creates it with InitRelease");
    expect((await admin.patches.getControllerInfo({})).releases).to.deep.equal(["19.09"]);
  });

  it("restart with --trust of the dev certificate: a warning at start, the same local key, provenance kept", async () => {
    const keyBefore = readFileSync(keyFile, "utf8");
    const before = (await admin.patches.listBasePackages({})).packages;
    admin.close();
    operator.close();
    await ctl.stop();
    ctl = await startController({ dataDir, trust: [`${DEV_CERT}:dev`], keepDataDir: true });
    admin = createSwPatchClient({ endpoint: ctl.endpoint, token: ctl.adminToken });
    operator = createSwPatchClient({ endpoint: ctl.endpoint, token: operatorToken });
    expect(ctl.stderr()).to.contain("WARNING: trusted key dev is the StarlingX dev certificate, whose private key is public");
    expect(ctl.startupOutput).to.contain(`local signing key ${keyFile}`);
    expect(readFileSync(keyFile, "utf8")).to.equal(keyBefore);
    expect((await admin.patches.getControllerInfo({})).trustLabels).to.deep.equal(["dev", "local", "formal"]);
    expect((await admin.patches.listBasePackages({})).packages).to.deep.equal(before);
    const json = await runCli("sw-patch", ["query-base", "--format", "json"], { endpoint: ctl.endpoint, token: operatorToken });
    const listed = (JSON.parse(json.stdout) as { packages: { release: string; signer: string; importedBy: string; importedAt: string; package: { fileName: string } }[] })
      .packages;
    expect(listed.map((p) => [p.package.fileName, p.signer, p.importedBy])).to.deep.equal([
      [rpms["trust-a"]!.fileName, "local", operatorId],
      [rpms["trust-b"]!.fileName, "", adminId],
      [rpms["trust-c"]!.fileName, "local", operatorId],
    ]);
    expect(listed[1]!.importedAt).to.match(/^\d{4}-\d\d-\d\dT/);
  });
});
