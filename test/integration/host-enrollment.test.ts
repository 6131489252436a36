import { expect } from "chai";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClientError, Metadata, Status, createClient } from "nice-grpc";
import { AgentServiceDefinition, type ConnectRequest } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { buildBaseFeed } from "../lib/base-feed.js";
import { startAgent, type AgentHandle } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients } from "../lib/grpc-clients.js";

const TOKEN_RE = /^swp_([0-9a-f]{16})_[0-9a-f]{64}$/;
const ENROLL_RE = /^swpe_([0-9a-f]{16})_[0-9a-f]{64}$/;

/** The status a call ended with (the call must fail). */
async function failure(p: Promise<unknown>): Promise<{ code: string; details: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClientError) return { code: Status[e.code], details: e.details };
    throw e;
  }
  throw new Error("expected the call to fail");
}

/**
 * Enrolment against a real controller and real agent processes: host-enroll → agent
 * --enroll-token-file → stored 0600 credential used from then on; the enrolment token is spent;
 * the credential acts only as its host; host-revoke ends the stream and refuses the host. In order.
 */
describe("host enrolment: host-enroll, agent --enroll-token-file, host-revoke", function () {
  this.timeout(180_000);
  let controller: ControllerHandle;
  let clients: ReturnType<typeof rawClients>;
  let rootsDir: string;
  let operator = "";
  let agent: AgentHandle | undefined;
  let enrollToken = "";
  let credentialToken = "";
  let credentialId = "";
  const tokenFile = () => path.join(rootsDir, "enroll.token");
  const agentClient = () => createClient(AgentServiceDefinition, clients.channel);
  const bearer = (t: string) => ({ metadata: Metadata({ authorization: `Bearer ${t}` }) });
  const sw = (token: string, ...args: string[]) => runCli("sw-patch", args, { endpoint: controller.endpoint, token });
  const compute0 = { hostname: "compute-0", personality: "worker" as const };

  async function waitHost(pred: (h: { connected: boolean } | undefined) => boolean): Promise<void> {
    for (;;) {
      const h = (await clients.hosts.listHosts({})).hosts.find((x) => x.hostname === "compute-0");
      if (pred(h)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Opens Connect with `token`, says hello as `hostname`/`personality`; resolves with the first answer or the error. */
  async function hello(token: string, hostname: string, personality: string): Promise<string> {
    const ac = new AbortController();
    async function* requests(): AsyncGenerator<ConnectRequest> {
      yield {
        message: {
          $case: "hello",
          value: {
            hostname,
            personality,
            subfunctions: [personality],
            release: "19.09",
            mgmtIp: "",
            packages: [],
            requiresReboot: false,
            state: 0,
            installReason: "",
            instances: [],
            interruptedOperationId: "",
            agentVersion: "test",
            provision: false,
            installRequest: false,
          },
        },
      };
      await new Promise((r) => ac.signal.addEventListener("abort", r));
    }
    try {
      for await (const r of agentClient().connect(requests(), { ...bearer(token), signal: ac.signal })) return r.message?.$case ?? "";
      return "ended";
    } catch (e) {
      if (e instanceof ClientError) return `${Status[e.code]}: ${e.details}`;
      throw e;
    } finally {
      ac.abort();
    }
  }

  before(async () => {
    const feed = await buildBaseFeed();
    controller = await startController({ baseFeed: feed.dir });
    clients = rawClients(controller);
    rootsDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-enrol-"));
    const r = await sw(controller.adminToken, "token-create", "--role", "operator");
    operator = r.stdout.trimEnd().split("\n").at(-1)!;
    expect(operator).to.match(TOKEN_RE);
  });

  after(async () => {
    await agent?.stop();
    clients?.close();
    await controller?.stop();
    if (rootsDir) rmSync(rootsDir, { recursive: true, force: true });
  });

  it("host-enroll (operator) prints the expiry, the agent command line and the one-time token on the last line", async () => {
    const r = await sw(operator, "host-enroll", "compute-0", "--personality", "worker");
    expect(r.stderr).to.equal("");
    expect(r.rc).to.equal(0);
    const lines = r.stdout.trimEnd().split("\n");
    enrollToken = lines.at(-1)!;
    const id = ENROLL_RE.exec(enrollToken)?.[1];
    expect(id, r.stdout).to.be.a("string");
    expect(lines[0]).to.equal(`Enrolment ${id} for host compute-0 (worker)`);
    expect(lines[1]).to.match(/^Expires: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 1h\)$/);
    expect(r.stdout).to.include(`sw-patch-agent --controller ${controller.endpoint} --hostname compute-0 --personality worker --root / --enroll-token-file `);
    // A reader may not enrol; a bad lifetime is refused before any call.
    expect((await sw(controller.adminToken, "host-enroll", "compute-0", "--personality", "worker", "--expires", "8d")).rc).to.equal(1);
    const reader = (await sw(controller.adminToken, "token-create", "--role", "reader")).stdout.trimEnd().split("\n").at(-1)!;
    const refused = await sw(reader, "host-enroll", "compute-0", "--personality", "worker");
    expect(refused.rc).to.not.equal(0);
    expect(refused.stderr).to.include("may not call EnrollHost");
  });

  it("the agent exchanges it once: host connected, credential stored 0600, token spent (a second exchange is refused)", async () => {
    writeFileSync(tokenFile(), enrollToken + "\n");
    chmodSync(tokenFile(), 0o600);
    agent = startAgent(controller.endpoint, { ...compute0, extraArgs: ["--enroll-token-file", tokenFile(), "--log-level", "info"] }, rootsDir);
    await waitHost((h) => h?.connected === true);
    const file = path.join(agent.root, "var/lib/sw-patch-agent/credential.json");
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const stored = JSON.parse(readFileSync(file, "utf8")) as { tokenId: string; token: string; hostname: string; personality: string };
    expect(stored).to.deep.include({ hostname: "compute-0", personality: "worker" });
    expect(stored.token).to.match(TOKEN_RE);
    credentialToken = stored.token;
    credentialId = stored.tokenId;
    expect(agent.log()).to.include('"msg":"enrolled: credential stored"');
    expect(agent.log()).to.include(credentialId);
    expect(agent.log()).not.to.include(stored.token.slice(22));
    expect(agent.log()).not.to.include(enrollToken.slice(22));
    expect(await failure(agentClient().enroll({ enrollToken, ...compute0 }))).to.deep.equal({ code: "UNAUTHENTICATED", details: "enrolment token already used" });
    const list = await sw(operator, "host-enrollments", "--format", "json");
    const enrollments = (JSON.parse(list.stdout) as { enrollments: { hostname: string; state: string; credentialId: string }[] }).enrollments;
    expect(enrollments.map((e) => [e.hostname, e.state, e.credentialId])).to.deep.equal([["compute-0", "spent", credentialId]]);
    const tokens = await sw(controller.adminToken, "token-list");
    expect(tokens.stdout).to.match(new RegExp(`\\| ${credentialId} \\| agent +\\| compute-0 \\(worker\\) +\\|`));
  });

  it("restarted without the enrolment file, the agent uses the stored credential", async () => {
    await agent!.stop();
    await waitHost((h) => h?.connected === false);
    rmSync(tokenFile());
    agent = startAgent(controller.endpoint, { ...compute0, extraArgs: ["--enroll-token-file", tokenFile(), "--log-level", "info"] }, rootsDir);
    await waitHost((h) => h?.connected === true);
    expect(agent.log()).to.include('"msg":"using the stored credential"');
    expect(agent.log()).to.include(credentialId);
  });

  it("the credential acts only as its host: another hostname or personality is PERMISSION_DENIED; operator calls are refused", async () => {
    expect(await hello(credentialToken, "compute-1", "worker")).to.equal("PERMISSION_DENIED: agent token for compute-0 may not act as host compute-1");
    expect(await hello(credentialToken, "compute-0", "controller")).to.equal("PERMISSION_DENIED: credential of compute-0 is enrolled as worker, not controller");
    expect(await failure(rawClients(controller.endpoint, credentialToken).hosts.listHosts({}))).to.deep.equal({
      code: "PERMISSION_DENIED",
      details: "role agent may not call ListHosts",
    });
  });

  it("an enrolment token for another host is PERMISSION_DENIED; a malformed one UNAUTHENTICATED", async () => {
    const other = (await sw(operator, "host-enroll", "compute-1", "--personality", "worker")).stdout.trimEnd().split("\n").at(-1)!;
    expect(await failure(agentClient().enroll({ enrollToken: other, hostname: "compute-2", personality: "worker" }))).to.deep.equal({
      code: "PERMISSION_DENIED",
      details: "enrolment token for host compute-1 may not enrol host compute-2",
    });
    expect(await failure(agentClient().enroll({ enrollToken: credentialToken, ...compute0 }))).to.deep.equal({
      code: "UNAUTHENTICATED",
      details: "invalid enrolment token",
    });
  });

  it("host-revoke (operator): the stream ends at once, the agent exits 78, the host cannot reconnect or fetch packages", async () => {
    const exited = new Promise<number | null>((r) => agent!.proc.once("exit", (code) => r(code)));
    const r = await sw(operator, "host-revoke", "compute-0");
    expect(r.rc, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(
      `Revoked host compute-0: 1 credential (${credentialId}), 0 pending enrolments.\n` +
        "Its agent stream has ended; it cannot reconnect or fetch packages until it is enrolled again.\n",
    );
    expect(await exited).to.equal(78);
    expect(agent!.log()).to.include("revoked this host's credential");
    await waitHost((h) => h?.connected === false);
    expect(await hello(credentialToken, "compute-0", "worker")).to.equal("UNAUTHENTICATED: token revoked");
    const fetch = agentClient().fetchPackage({ sha256: "0".repeat(64) }, bearer(credentialToken));
    expect(
      await failure(
        (async () => {
          for await (const _ of fetch) void _;
        })(),
      ),
    ).to.deep.equal({ code: "UNAUTHENTICATED", details: "token revoked" });
    const audit = await sw(controller.adminToken, "audit-log");
    expect(audit.stdout).to.match(/RevokeHost/);
    expect(audit.stdout).to.match(/enrollment:[0-9a-f]{16}/);
    expect(audit.stdout).not.to.include(enrollToken.slice(22));
  });
});
