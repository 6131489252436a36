import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { createPrivateKey, createPublicKey } from "node:crypto";
import * as path from "node:path";
import { createChannel, createClient, createServer, ServerError, Status, type Channel, type Server } from "nice-grpc";
import { AgentServiceDefinition, type AgentServiceImplementation, type EnrollRequest } from "../../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { CredentialRefusedError, credentialFile, loadCredential, resolveCredentials } from "../../../server/agent/credential.js";
import { createLogger } from "../../../server/lib/log.js";
import { receiptKeyFile } from "../../../server/agent/security-floor.js";
import { AGENT_HELP, parseAgentArgs } from "../../../server/agent/main.js";
import { completeService } from "../sdk/fake-service.js";

const secret = (c: string) => c.repeat(64);

describe("agent credential: stored, enrolled or given", () => {
  const logger = createLogger({ level: "silent" });
  let server: Server;
  let channel: Channel;
  let dir: string;
  const seen: EnrollRequest[] = [];
  const client = () => createClient(AgentServiceDefinition, channel);
  const host = (hostname: string, personality = "worker") => ({ root: path.join(dir, hostname), hostname, personality });
  const tokenFile = (...lines: string[]) => {
    const f = path.join(dir, "enroll.token");
    writeFileSync(f, lines.join("\n") + "\n", { mode: 0o600 });
    return f;
  };

  before(async () => {
    server = createServer();
    const impl: Partial<AgentServiceImplementation> = {
      async enroll(req) {
        seen.push(req);
        if (req.enrollToken === "spent") throw new ServerError(Status.UNAUTHENTICATED, "enrolment token already used");
        if (req.enrollToken === "other-host") throw new ServerError(Status.PERMISSION_DENIED, `enrolment token for host x may not enrol host ${req.hostname}`);
        const id = req.enrollToken.slice(-16).padStart(16, "0");
        return { token: `swp_${id}_${secret("b")}`, tokenId: id, hostname: req.hostname, personality: req.personality };
      },
    };
    server.add(AgentServiceDefinition, completeService<AgentServiceImplementation>(AgentServiceDefinition.methods, impl));
    channel = createChannel(`127.0.0.1:${await server.listen("127.0.0.1:0")}`);
  });
  after(async () => {
    channel.close();
    await server.forceShutdown();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-cred-"));
    seen.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("enrols a host without a credential once: stored 0600 in its state directory, used; the next start reads it and does not exchange again", async () => {
    const h = host("compute-0");
    const file = tokenFile("swpe_aaaaaaaaaaaaaaa1");
    expect(await resolveCredentials({ hosts: [h], client: client(), logger, enrollTokenFile: file })).to.deep.equal([`swp_aaaaaaaaaaaaaaa1_${secret("b")}`]);
    // FLOOR (issue 21): the host's receipt key, made at enrolment: private half 0600 beside the credential, public half sent.
    const { receiptPublicKey, ...rest } = seen[0]!;
    expect([rest]).to.deep.equal([{ enrollToken: "swpe_aaaaaaaaaaaaaaa1", hostname: "compute-0", personality: "worker" }]);
    expect(statSync(receiptKeyFile(h.root)).mode & 0o777).to.equal(0o600);
    const priv = createPrivateKey(readFileSync(receiptKeyFile(h.root), "utf8"));
    expect(priv.asymmetricKeyType).to.equal("ed25519");
    expect(createPublicKey(priv).export({ type: "spki", format: "pem" })).to.equal(receiptPublicKey);
    expect(credentialFile(h.root)).to.equal(path.join(h.root, "var/lib/sw-patch-agent/credential.json"));
    expect(statSync(credentialFile(h.root)).mode & 0o777).to.equal(0o600);
    expect(await loadCredential(h.root)).to.deep.include({ tokenId: "aaaaaaaaaaaaaaa1", hostname: "compute-0", personality: "worker" });
    rmSync(file);
    expect(await resolveCredentials({ hosts: [h], client: client(), logger, enrollTokenFile: file })).to.deep.equal([`swp_aaaaaaaaaaaaaaa1_${secret("b")}`]);
    expect(seen).to.have.length(1);
  });

  it("with --simulate, line i of the file enrols host i", async () => {
    const hosts = [host("sim-0"), host("sim-1")];
    const tokens = await resolveCredentials({ hosts, client: client(), logger, enrollTokenFile: tokenFile("swpe_000000000000000a", "swpe_000000000000000b") });
    expect(tokens).to.deep.equal([`swp_000000000000000a_${secret("b")}`, `swp_000000000000000b_${secret("b")}`]);
    expect(seen.map((s) => [s.hostname, s.enrollToken])).to.deep.equal([
      ["sim-0", "swpe_000000000000000a"],
      ["sim-1", "swpe_000000000000000b"],
    ]);
    const short = resolveCredentials({ hosts: [host("sim-2"), host("sim-3")], client: client(), logger, enrollTokenFile: tokenFile("swpe_000000000000000c") });
    let err: unknown;
    await short.catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/has no line 2 for sim-3$/);
  });

  it("a refused exchange (spent, another host) is CredentialRefusedError with the controller's reason, and nothing is stored", async () => {
    for (const t of ["spent", "other-host"]) {
      let err: unknown;
      await resolveCredentials({ hosts: [host("compute-0")], client: client(), logger, enrollTokenFile: tokenFile(t) }).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(CredentialRefusedError);
      expect((err as Error).message).to.match(/^enrolment of compute-0 refused: enrolment token (already used|for host x may not enrol host compute-0)$/);
      expect(await loadCredential(host("compute-0").root)).to.equal(undefined);
    }
  });

  it("a stored credential for another hostname or personality is refused; --token wins over a stored credential; none at all is undefined", async () => {
    await resolveCredentials({ hosts: [host("compute-0")], client: client(), logger, enrollTokenFile: tokenFile("swpe_aaaaaaaaaaaaaaa1") });
    let err: unknown;
    await resolveCredentials({ hosts: [host("compute-0", "controller")], client: client(), logger }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(CredentialRefusedError);
    expect((err as Error).message).to.include("is for compute-0 (worker), not compute-0 (controller)");
    expect(await resolveCredentials({ hosts: [host("compute-0")], client: client(), logger, explicitToken: "swp_given" })).to.deep.equal(["swp_given"]);
    expect(await resolveCredentials({ hosts: [host("compute-9")], client: client(), logger })).to.deep.equal([undefined]);
  });

  it("a credential file that is not one, or a symlink, stops the agent instead of enrolling over it", async () => {
    const h = host("compute-0");
    await resolveCredentials({ hosts: [h], client: client(), logger, enrollTokenFile: tokenFile("swpe_aaaaaaaaaaaaaaa1") });
    writeFileSync(credentialFile(h.root), "{}");
    let err: unknown;
    await loadCredential(h.root).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/is not a stored credential \(no tokenId\); remove it to enrol again$/);
    const outside = path.join(dir, "outside.json");
    writeFileSync(outside, readFileSync(credentialFile(h.root)));
    rmSync(credentialFile(h.root));
    symlinkSync(outside, credentialFile(h.root));
    err = undefined;
    await loadCredential(h.root).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/^cannot read the stored credential .*symlink/);
  });
});

describe("agent flags: --enroll-token-file", () => {
  const base = ["--controller", "127.0.0.1:1", "--hostname", "compute-0", "--personality", "worker", "--root", "/tmp/r"];
  it("is resolved to an absolute path and read only when needed; it does not combine with --token or --token-file", () => {
    expect(parseAgentArgs([...base, "--enroll-token-file", "enroll.token"]).enrollTokenFile).to.equal(path.resolve("enroll.token"));
    expect(() => parseAgentArgs([...base, "--enroll-token-file", "e", "--token", "t"])).to.throw("--enroll-token-file does not combine with --token or --token-file");
    expect(() => parseAgentArgs([...base, "--enroll-token-file", "e", "--token-file", "t"])).to.throw("does not combine");
    expect(AGENT_HELP).to.include("--enroll-token-file PATH");
    expect(AGENT_HELP).to.include("Exit status 78");
  });

  it("ignores (and says so) a token exported in the environment: the host enrols instead of acting with someone else's token", () => {
    const cfg = parseAgentArgs([...base, "--enroll-token-file", "e"], { SWPATCH_TOKEN: "swp_operator" });
    expect(cfg.transport.token).to.equal(undefined);
    expect(cfg.transport.warnings.join("\n")).to.include("SWPATCH_TOKEN in the environment is ignored");
    // Without enrolment the environment's token is the agent's token, as before.
    expect(parseAgentArgs(base, { SWPATCH_TOKEN: "swp_agent" }).transport.token).to.equal("swp_agent");
  });
});
