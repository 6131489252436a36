/**
 * TLS for every party against one real controller started with --tls-cert/--tls-key/--tls-client-ca
 * (certificates made here: a CA, a server certificate for 127.0.0.1 and localhost, a client
 * certificate): agents with --tls-ca/--tls-cert/--tls-key and a token from SWPATCH_TOKEN or a token
 * file; an agent without a client certificate is refused with a readable log line; the four CLIs
 * with flags and with SWPATCH_TLS_* variables; plaintext to a non-loopback address refused before
 * dialling (and allowed, with a warning, by --insecure); the Python client over TLS.
 */
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createSwPatchClient, InsecureTransportError, type SwPatchClient } from "../../clients/sdk/src/index.js";
import { runCli } from "../lib/cli.js";
import { REPO_ROOT, startController, type ControllerHandle } from "../lib/controller-harness.js";
import { issue, writeIssued } from "../lib/test-certs.js";

const PYTHON = "/usr/bin/python3";

interface Agent {
  proc: ChildProcess;
  log(): string;
  /** Resolves with the exit code once the process ended by itself. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

function startAgent(hostname: string, args: string[], env: NodeJS.ProcessEnv, root: string): Agent {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["SWPATCH_TOKEN", "SWPATCH_TOKEN_FILE"]) delete clean[k];
  const proc = spawn(
    process.execPath,
    [path.join(REPO_ROOT, "bin/sw-patch-agent"), "--hostname", hostname, "--personality", "worker", "--root", path.join(root, hostname), "--log-level", "info", ...args],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...clean, ...env } },
  );
  let log = "";
  proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    log: () => log,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
}

/** Resolves once `pred()` holds; rejects with `what` after `ms`. */
async function until(what: string, pred: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A non-loopback IPv4 address of this machine (nothing listens on our port there), if any. */
function localNonLoopback(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

describe("TLS for every party (one mTLS controller)", function () {
  this.timeout(120_000);
  let dir: string;
  let ctl: ControllerHandle;
  let files: { ca: string; otherCa: string; cert: string; key: string; tokenFile: string };
  let admin: SwPatchClient;
  const agents: Agent[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-tls-parties-"));
    const ca = issue("sw-patch test CA", { ca: true });
    const server = writeIssued(dir, "server", issue("controller", { issuer: ca, ips: ["127.0.0.1"], dns: ["localhost"] }));
    const client = writeIssued(dir, "client", issue("compute", { issuer: ca, client: true }));
    writeFileSync(path.join(dir, "ca.pem"), ca.certPem);
    writeFileSync(path.join(dir, "other-ca.pem"), issue("another CA", { ca: true }).certPem);
    ctl = await startController({ extraArgs: ["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", path.join(dir, "ca.pem")] });
    files = { ca: path.join(dir, "ca.pem"), otherCa: path.join(dir, "other-ca.pem"), cert: client.cert, key: client.key, tokenFile: path.join(dir, "agent.token") };
    admin = createSwPatchClient({
      endpoint: ctl.endpoint,
      token: ctl.adminToken,
      // The certificate names localhost too: dialling 127.0.0.1, check it under that name.
      tls: { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key), serverName: "localhost" },
    });
    const t = await admin.admin.createToken({ role: "agent", hostname: "compute-file", description: "tls test" });
    writeFileSync(files.tokenFile, `${t.token}\n`, { mode: 0o600 });
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    admin?.close();
    await ctl?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const connected = async (hostname: string) => (await admin.hosts.listHosts({})).hosts.some((h) => h.hostname === hostname && h.connected);
  const tlsArgs = () => ["--controller", ctl.endpoint, "--tls-ca", files.ca, "--tls-cert", files.cert, "--tls-key", files.key];

  it("an agent with --tls-ca/--tls-cert/--tls-key and its token in SWPATCH_TOKEN connects; its host is listed", async () => {
    const a = startAgent("compute-env", tlsArgs(), { SWPATCH_TOKEN: ctl.adminToken }, dir);
    agents.push(a);
    await until("compute-env listed as connected", () => connected("compute-env"));
    expect(a.proc.spawnargs.join(" ")).not.to.include(ctl.adminToken);
    expect(a.log()).to.include('"tls":true').and.not.include("--token puts");
  });

  it("an agent with its token in a --token-file connects as that host", async () => {
    const a = startAgent("compute-file", [...tlsArgs(), "--token-file", files.tokenFile], {}, dir);
    agents.push(a);
    await until("compute-file listed as connected", () => connected("compute-file"));
  });

  it("an agent without a client certificate is refused, with a log line that names --tls-cert", async () => {
    const a = startAgent("compute-nocert", ["--controller", ctl.endpoint, "--tls-ca", files.ca], { SWPATCH_TOKEN: ctl.adminToken }, dir);
    agents.push(a);
    await until("the refusal in the agent's log", () => a.log().includes("requires a client certificate"));
    const line = a
      .log()
      .split("\n")
      .find((l) => l.includes("requires a client certificate"))!;
    expect(JSON.parse(line)).to.include({ level: "warn" });
    expect(line).to.include("--tls-cert");
    expect(await connected("compute-nocert")).to.equal(false);
    await a.stop();
  });

  it("an agent refuses plaintext to a non-loopback controller before dialling, naming --tls-ca and --insecure", async () => {
    const a = startAgent("compute-far", ["--controller", "10.255.255.1:5490"], { SWPATCH_TOKEN: "x" }, dir);
    agents.push(a);
    expect(await a.exited).to.equal(2);
    expect(a.log()).to.include("refusing to connect in plaintext").and.include("--tls-ca").and.include("--insecure");
  });

  it("an agent given --token in argv (still accepted) logs a warning that ps shows it", async () => {
    // Not a real token: no test puts a usable secret in argv.
    const a = startAgent("compute-argv", [...tlsArgs(), "--token", "swp_not_a_real_token"], {}, dir);
    agents.push(a);
    await until("the warning in the agent's log", () => a.log().includes("--token puts the token on the command line"));
    expect(a.log()).to.match(/"level":"warn".*--token puts the token on the command line.*ps/);
    await a.stop();
  });

  const CLI_CALLS: Array<[string, string[], RegExp]> = [
    ["sw-patch", ["query"], /Patch ID/],
    ["sw-manager", ["patch-strategy", "show"], /No strategy available/],
    ["system", ["host-list"], /compute-env/],
    ["fm", ["alarm-list"], /Alarm ID/],
  ];

  it("the CLIs work with --tls-ca, --tls-cert and --tls-key", async () => {
    for (const [cmd, args, expected] of CLI_CALLS) {
      const flags = ["--endpoint", ctl.endpoint, "--tls-ca", files.ca, "--tls-cert", files.cert, "--tls-key", files.key];
      const r = await runCli(cmd, cmd === "sw-manager" ? [...args, ...flags] : [...flags, ...args], { token: ctl.adminToken });
      expect(r, `${cmd} ${args.join(" ")}`).to.deep.include({ rc: 0, stderr: "" });
      expect(r.stdout, cmd).to.match(expected);
    }
  });

  it("the CLIs work with an https:// endpoint and SWPATCH_TLS_CA/CERT/KEY", async () => {
    const env = { SWPATCH_TLS_CA: files.ca, SWPATCH_TLS_CERT: files.cert, SWPATCH_TLS_KEY: files.key };
    for (const [cmd, args, expected] of CLI_CALLS) {
      const r = await runCli(cmd, args, { endpoint: `https://localhost:${ctl.port}`, token: ctl.adminToken, env });
      expect(r, `${cmd} ${args.join(" ")}`).to.deep.include({ rc: 0, stderr: "" });
      expect(r.stdout, cmd).to.match(expected);
    }
  });

  it("TLS failures are one line that says what is wrong and which flag fixes it", async () => {
    const noCert = await runCli("sw-patch", ["--endpoint", ctl.endpoint, "--tls-ca", files.ca, "query"], { token: ctl.adminToken });
    expect(noCert.rc).to.equal(1);
    expect(noCert.stderr).to.equal(
      `Error: TLS with the patch controller at ${ctl.endpoint} failed: the controller requires a client certificate (give --tls-cert and --tls-key, or SWPATCH_TLS_CERT and SWPATCH_TLS_KEY)\n`,
    );
    const unknownCa = await runCli("system", ["--endpoint", ctl.endpoint, "--tls-ca", files.otherCa, "--tls-cert", files.cert, "--tls-key", files.key, "host-list"], {
      token: ctl.adminToken,
    });
    expect(unknownCa.rc).to.equal(1);
    expect(unknownCa.stderr).to.include("is not signed by a CA we trust").and.include("--tls-ca");
    const notPem = await runCli("fm", ["--endpoint", ctl.endpoint, "--tls-ca", files.tokenFile, "alarm-list"]);
    expect(notPem).to.deep.include({ rc: 1, stderr: `Error: --tls-ca: ${files.tokenFile} holds no PEM certificate\n` });
    const missing = await runCli("sw-manager", ["patch-strategy", "show", "--endpoint", ctl.endpoint, "--tls-ca", path.join(dir, "nope.pem")]);
    expect(missing).to.deep.include({ rc: 1, stderr: `Error: --tls-ca: cannot read ${path.join(dir, "nope.pem")}: ENOENT\n` });
    const half = await runCli("sw-patch", ["--endpoint", ctl.endpoint, "--tls-cert", files.cert, "query"]);
    expect(half).to.deep.include({ rc: 1, stderr: "Error: --tls-cert needs --tls-key (SWPATCH_TLS_KEY)\n" });
  });

  it("the CLIs refuse plaintext to a non-loopback address before dialling, naming --tls-ca and --insecure", async () => {
    for (const [cmd, args] of CLI_CALLS) {
      const r = await runCli(cmd, args, { endpoint: "10.255.255.1:5490", token: "x" });
      expect(r.rc, cmd).to.equal(1);
      expect(r.stderr, cmd).to.match(/^Error: refusing to talk to the patch controller at 10\.255\.255\.1:5490 in plaintext .*--tls-ca FILE.*--insecure\n$/);
    }
    expect(() => createSwPatchClient({ endpoint: "10.255.255.1:5490" })).to.throw(InsecureTransportError);
  });

  it("--insecure lets a CLI and an agent dial a non-loopback address in plaintext, with a warning", async function () {
    const ip = localNonLoopback();
    if (!ip) this.skip(); // no non-loopback IPv4 address on this machine to dial
    // The controller listens on 127.0.0.1 only: the dial reaches this machine and is refused.
    const r = await runCli("sw-patch", ["--endpoint", `${ip}:${ctl.port}`, "--insecure", "query"], { token: "x" });
    expect(r.rc).to.equal(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).to.equal(`Warning: talking to the patch controller at ${ip}:${ctl.port} without TLS (--insecure): the token and all data travel in cleartext`);
    expect(lines[1]).to.equal(`Error: cannot reach the patch controller at ${ip}:${ctl.port}: connection refused`);
    const a = startAgent("compute-insecure", ["--controller", `${ip}:${ctl.port}`, "--insecure"], { SWPATCH_TOKEN: "x" }, dir);
    agents.push(a);
    await until("the agent's warning and its first failed dial", () => a.log().includes("ECONNREFUSED"));
    expect(a.log()).to.match(/"level":"warn".*without TLS \(--insecure\)/);
    await a.stop();
  });

  it("the Python client talks TLS from an https:// endpoint and SWPATCH_TLS_CA/CERT/KEY", function () {
    const probe = spawnSync(PYTHON, ["-c", "import grpc, google.protobuf"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) this.skip(); // python3-grpcio/python3-protobuf not installed
    const script = [
      "import json, swpatch_client as s",
      "with s.SwPatchClient() as c: print(json.dumps(sorted(h.hostname for h in c.list_hosts() if h.connected)))",
      "import os\nfor k in ('CA', 'CERT', 'KEY'): del os.environ['SWPATCH_TLS_' + k]",
      "try:\n    s.SwPatchClient('10.255.255.1:5490', token='x')\nexcept s.InsecureTransportError as e:\n    print(json.dumps(str(e)))",
    ].join("\n");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONPATH: path.join(REPO_ROOT, "clients/python"),
      PYTHONDONTWRITEBYTECODE: "1",
      SWPATCH_ENDPOINT: `https://127.0.0.1:${ctl.port}`,
      SWPATCH_TOKEN: ctl.adminToken,
      SWPATCH_TLS_CA: files.ca,
      SWPATCH_TLS_CERT: files.cert,
      SWPATCH_TLS_KEY: files.key,
    };
    const r = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", env, timeout: 60_000 });
    expect(r.status, r.stderr).to.equal(0);
    const [hosts, refusal] = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as unknown);
    expect(hosts).to.include.members(["compute-env", "compute-file"]);
    expect(refusal).to.match(/refusing to connect to 10\.255\.255\.1:5490 in plaintext/);
  });
});
