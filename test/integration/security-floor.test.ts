import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClientError, Metadata, Status, createClient } from "nice-grpc";
import { AgentServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startAgent, type AgentHandle } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY, startController, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients } from "../lib/grpc-clients.js";
import { rpmQ } from "../lib/rpm-query.js";
import { IN_TOTO_STATEMENT_TYPE, INSTALL_RECEIPT_PREDICATE_TYPE, signInstallReceipt, type InstallReceiptStatement } from "../../server/lib/install-receipt.js";

/** The status a call ended with (the call must fail). */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClientError) return `${Status[e.code]}: ${e.details}`;
    throw e;
  }
  throw new Error("expected the call to fail");
}

/**
 * FLOOR (issue 21) end to end, in order, on one controller with real rpm agents: compute-0 enrolled
 * (receipt key), compute-1 on the admin token (no receipts). Patches built by patch_build with
 * --security-counter: FLOOR_A (pkg-a 1.0-2, counter 1), FLOOR_B (pkg-a 1.0-3, counter 2), FLOOR_OLD
 * (pkg-b 1.0-2, counter 1, built "before" FLOOR_B).
 */
describe("anti-rollback floor and signed install receipts (real agents)", function () {
  this.timeout(90_000);
  let controller: ControllerHandle;
  let clients: ReturnType<typeof rawClients>;
  let work: string;
  let dataDir: string;
  let operator = "";
  let compute0: AgentHandle | undefined;
  let compute1: AgentHandle | undefined;
  let credential0 = "";
  const sw = (token: string, ...args: string[]) => runCli("sw-patch", args, { endpoint: controller.endpoint, token });
  const admin = (...args: string[]) => sw(controller.adminToken, ...args);
  const bearer = (t: string) => ({ metadata: Metadata({ authorization: `Bearer ${t}` }) });
  const agentClient = () => createClient(AgentServiceDefinition, clients.channel);
  const receiptsOf = async (host: string) => (await clients.hosts.installReceiptList({ hostname: host })).receipts;

  async function waitFor<T>(what: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    for (;;) {
      const v = await what();
      if (ok(v)) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-floor-"));
    dataDir = path.join(work, "controller");
    const build = async (id: string, counter: string, rpm: { name: string; version: string; release: string }) => {
      const file = (await buildPayloadRpm(rpm)).file;
      const b = await runCli("patch_build", [
        "--id",
        id,
        "--release",
        "19.09",
        "--reboot-required",
        "N",
        "--security-counter",
        counter,
        "--key",
        DEV_KEY,
        "--output-dir",
        work,
        file,
      ]);
      expect(b.rc, b.stderr).to.equal(0);
    };
    await build("FLOOR_A", "1", { name: "pkg-a", version: "1.0", release: "2" });
    await build("FLOOR_B", "2", { name: "pkg-a", version: "1.0", release: "3" });
    await build("FLOOR_OLD", "1", { name: "pkg-b", version: "1.0", release: "2" });
    controller = await startController({ baseFeed: feed.dir, dataDir, keepDataDir: true });
    clients = rawClients(controller);
    operator = (await admin("token-create", "--role", "operator")).stdout.trimEnd().split("\n").at(-1)!;
    const enrollToken = (await sw(operator, "host-enroll", "compute-0", "--personality", "worker")).stdout.trimEnd().split("\n").at(-1)!;
    const tokenFile = path.join(work, "enroll.token");
    writeFileSync(tokenFile, enrollToken + "\n");
    chmodSync(tokenFile, 0o600);
    compute0 = startAgent(controller.endpoint, { hostname: "compute-0", personality: "worker", extraArgs: ["--enroll-token-file", tokenFile] }, work);
    compute1 = startAgent(controller.endpoint, { hostname: "compute-1", personality: "worker" }, work, controller.adminToken);
    await waitFor(
      async () => (await clients.hosts.listHosts({})).hosts,
      (hs) => hs.filter((h) => h.connected).length === 2,
    );
    credential0 = (JSON.parse(readFileSync(path.join(compute0.root, "var/lib/sw-patch-agent/credential.json"), "utf8")) as { token: string }).token;
    for (const id of ["FLOOR_A", "FLOOR_B", "FLOOR_OLD"]) expect((await admin("upload", path.join(work, `${id}.patch`))).rc).to.equal(0);
  });

  after(async () => {
    await compute0?.stop();
    await compute1?.stop();
    clients?.close();
    await controller?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("the counter is read on upload and shown by show; the reference's elements are unchanged", async () => {
    const show = await admin("show", "FLOOR_B");
    expect(show.stdout).to.match(/\n {4}Security Counter: 2\n/);
    expect((await admin("show", "FLOOR_A")).stdout).to.match(/\n {4}Security Counter: 1\n/);
    const xml = (await clients.patches.showPatches({ patchIds: ["FLOOR_B"] })).patches[0]!;
    expect(xml.securityCounter).to.equal(2);
  });

  it("applied and installed: the release's floor is 2 (security-floor), the agent's floor 2, a signed receipt per install", async () => {
    expect((await admin("apply", "FLOOR_A", "FLOOR_B")).rc).to.equal(0);
    for (const h of ["compute-0", "compute-1"]) {
      const r = await admin("host-install", h);
      expect(r.stdout.trimEnd().endsWith("Installation was successful."), r.stdout + r.stderr).to.equal(true);
    }
    expect(rpmQ(compute0!.root, "pkg-a")).to.equal("pkg-a-1.0-3.noarch");
    const floors = await admin("security-floor");
    expect(floors.stdout).to.match(/\| 19\.09 +\| 2 +\| FLOOR_B +\| \d{4}-/);
    const state = JSON.parse(readFileSync(path.join(compute0!.root, "var/lib/sw-patch-agent/state.json"), "utf8")) as { securityFloor?: number };
    expect(state.securityFloor).to.equal(2);
    // Receipt 1 is the provisioning install (base feed) at the agent's first connection; 2 this one.
    const receipts = await waitFor(
      () => receiptsOf("compute-0"),
      (l) => l.length === 2,
    );
    expect(receipts.map((r) => [r.counter, r.operation, r.result])).to.deep.equal([
      [1, "install", "success"],
      [2, "install", "success"],
    ]);
  });

  it("an older counter is refused by the controller; --allow-downgrade is admin-only and audited", async () => {
    const refused = await admin("apply", "FLOOR_OLD");
    expect(refused.rc).to.not.equal(0);
    expect(refused.stderr).to.include("FLOOR_OLD has security counter 1, below the security floor 2 of release 19.09 (set by FLOOR_B)");
    const remove = await sw(operator, "remove", "FLOOR_B");
    expect(remove.rc).to.not.equal(0);
    expect(remove.stderr).to.include("FLOOR_B sets the security floor 2 of release 19.09: removing it would roll the release back");
    const byOperator = await sw(operator, "remove", "--allow-downgrade", "FLOOR_B");
    expect(byOperator.rc).to.not.equal(0);
    expect(byOperator.stderr).to.include("role operator may not pass --allow-downgrade (admin only)");
    expect((await admin("query")).stdout).to.match(/FLOOR_B +N +19\.09 +Applied/);
  });

  it("with the controller forced (--allow-downgrade), the agent still refuses the lower set and says why", async () => {
    const forced = await admin("remove", "--allow-downgrade", "FLOOR_B");
    expect(forced.rc, forced.stderr).to.equal(0);
    expect(forced.stdout).to.equal("FLOOR_B has been removed from the repo\n\n");
    expect((await admin("security-floor", "19.09")).stdout).to.match(/\| 19\.09 +\| 1 +\| FLOOR_A +\|/);
    const audit = await admin("audit-log");
    expect(audit.stdout).to.match(/RemovePatches.*patches=FLOOR_B allow-downgrade/);
    const r = await admin("host-install", "compute-0");
    expect(r.rc).to.not.equal(0);
    expect(r.stdout).to.include("Installation failed.");
    const host = (await clients.hosts.getHost({ host: "compute-0" })).host!;
    expect(host.installReason).to.equal("security floor: the package set has security counter 1, below this host's floor 2; refusing to roll the host back");
    expect(rpmQ(compute0!.root, "pkg-a")).to.equal("pkg-a-1.0-3.noarch");
  });

  it("host-receipts --verify lists the install and the refused removal, every signature verified", async () => {
    await waitFor(
      () => receiptsOf("compute-0"),
      (l) => l.length === 3,
    );
    const r = await sw(operator, "host-receipts", "compute-0", "--verify");
    expect(r.rc, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^Host compute-0: 3 install receipts; receipt key [0-9a-f]{16} \(registered /);
    expect(r.stdout).to.match(/\| 1 +\| install +\| success +\| 0 +\| \d+ +\| +\| .* \| verified +\|/);
    expect(r.stdout).to.match(/\| 2 +\| install +\| success +\| 2 +\| \d+ +\| FLOOR_A,FLOOR_B +\| .* \| verified +\|/);
    expect(r.stdout).to.match(/\| 3 +\| remove +\| rejected +\| 2 +\| \d+ +\| FLOOR_A +\| .* \| verified +\|/);
    expect(r.stdout).to.include("All 3 receipt signatures verify.");
    const json = JSON.parse((await sw(operator, "host-receipts", "compute-0", "--format", "json")).stdout) as {
      receipts: { predicate: { host: string; rpmDatabaseDigest: { sha256: string }; securityFloor: number } }[];
    };
    expect(json.receipts.map((x) => x.predicate.host)).to.deep.equal(["compute-0", "compute-0", "compute-0"]);
    // The refused removal changed nothing: the rpm database digest is the one after the install.
    expect(json.receipts[2]!.predicate.rpmDatabaseDigest.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(json.receipts[2]!.predicate.rpmDatabaseDigest).to.deep.equal(json.receipts[1]!.predicate.rpmDatabaseDigest);
    expect(json.receipts[1]!.predicate.rpmDatabaseDigest).to.not.deep.equal(json.receipts[0]!.predicate.rpmDatabaseDigest);
  });

  it("the admin-token agent sent no receipt, and the output says why", async () => {
    const r = await sw(operator, "host-receipts", "compute-1");
    expect(r.rc).to.equal(0);
    expect(r.stdout).to.equal(
      "Host compute-1 has no receipt key: its agent is not enrolled, or enrolled before receipt keys (agents run with an admin or --token credential send no install receipts).\n",
    );
  });

  it("a replayed receipt is refused; so is one signed by another host's key, or naming another host", async () => {
    const first = (await receiptsOf("compute-0"))[0]!;
    expect(await failure(agentClient().installReceiptSubmit({ envelope: first.envelope }, bearer(credential0)))).to.match(
      /^ALREADY_EXISTS: install receipt refused: counter 1 of host compute-0 is not above its last receipt's/,
    );
    // compute-2 enrols with a key of its own (the test holds it), then signs a receipt for compute-0.
    const enrollToken = (await sw(operator, "host-enroll", "compute-2", "--personality", "worker")).stdout.trimEnd().split("\n").at(-1)!;
    const other = generateKeyPairSync("ed25519");
    const enrolled = await agentClient().enroll({
      enrollToken,
      hostname: "compute-2",
      personality: "worker",
      receiptPublicKey: other.publicKey.export({ type: "spki", format: "pem" }).toString(),
    });
    const statement = (host: string, counter: number): InstallReceiptStatement => ({
      _type: IN_TOTO_STATEMENT_TYPE,
      subject: [],
      predicateType: INSTALL_RECEIPT_PREDICATE_TYPE,
      predicate: {
        host,
        patches: [],
        operation: "install",
        operationId: "forged",
        result: "success",
        reason: "",
        rpmDatabaseDigest: { sha256: "0".repeat(64) },
        securityFloor: 0,
        setSecurityCounter: 0,
        counter,
        time: new Date().toISOString(),
      },
    });
    expect(
      await failure(agentClient().installReceiptSubmit({ envelope: signInstallReceipt(statement("compute-0", 100), other.privateKey) }, bearer(credential0))),
    ).to.match(/^PERMISSION_DENIED: install receipt refused: receipt is not signed by key [0-9a-f]{16}… \(the receipt key of host compute-0\)$/);
    expect(
      await failure(agentClient().installReceiptSubmit({ envelope: signInstallReceipt(statement("compute-0", 100), other.privateKey) }, bearer(enrolled.token))),
    ).to.equal("PERMISSION_DENIED: install receipt refused: it names host compute-0, not compute-2");
    expect(await failure(agentClient().installReceiptSubmit({ envelope: first.envelope }, bearer(controller.adminToken)))).to.equal(
      "PERMISSION_DENIED: only a host's own agent credential may submit its install receipts",
    );
    expect(await receiptsOf("compute-0")).to.have.length(3);
  });

  it("the floor and the receipts survive a controller restart", async () => {
    const port = Number(controller.endpoint.split(":").at(-1));
    await controller.stop();
    clients.close();
    controller = await startController({ dataDir, keepDataDir: true, port });
    clients = rawClients(controller);
    const floors = (await clients.patches.securityFloorList({ release: "19.09" })).floors;
    expect(floors.map((f) => [f.release, f.floor, f.patchId])).to.deep.equal([["19.09", 1, "FLOOR_A"]]);
    const r = await admin("host-receipts", "compute-0", "--verify");
    expect(r.rc, r.stdout).to.equal(0);
    expect(r.stdout).to.include("All 3 receipt signatures verify.");
  });
});
