/**
 * Across hosts on a network (issue 17): the controller in one network namespace listening on its
 * veth address with mutual TLS, two agents in another namespace enrolled with one-time enrolment
 * tokens (`sw-patch host-enroll`, `sw-patch-agent --enroll-token-file`), and the operator's CLI in
 * the agents' namespace, so that every call crosses the veth. The seed's walk-through (upload,
 * apply, host-install on both hosts, query-hosts with each host's real address) runs across it, and
 * the reference patching REST API answers over https with the same certificates,
 * while tcpdump on the controller's veth end records every TCP byte: at the end, no token (the
 * operator's, the enrolment tokens, the hosts' own credentials) is in the capture in clear, and as
 * a control a marker token sent in plain text to a plain-text listener IS found there. Plain text to
 * the controller's address is refused by the controller, the CLI and the agent without --insecure,
 * and the token given to the refused CLI and agent is not in the capture either.
 *
 * Needs root (network namespaces) and tcpdump; without them it says why and skips (`.ci/run` runs
 * as root and `npm test`'s set-up installs tcpdump).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { runCli } from "../lib/cli.js";
import { DEV_CERT, DEV_KEY, REPO_ROOT } from "../lib/controller-harness.js";
import { canRun, findSecrets, NetnsPair, waitFor, type Capture, type NsProcess, type NsRunResult } from "../lib/netns.js";
import type { TcpStream } from "../lib/pcap.js";
import { rpmQ } from "../lib/rpm-query.js";
import { credentialFile } from "../../server/agent/credential.js";

/** The controller's gRPC port inside its namespace (a fresh namespace: nothing else listens there). */
const GRPC_PORT = 5490;
/** The reference patching REST API, https with the same certificates (mTLS). */
const REST_PORT = 5487;
/** The plain-text controller of the probe and the control. */
const PLAIN_PORT = 5491;
const HOSTS = [
  { hostname: "controller-0", personality: "controller" },
  { hostname: "compute-0", personality: "worker" },
] as const;

const bin = (name: string) => path.join(REPO_ROOT, "bin", name);

/** `openssl` with its output kept for the error message. */
function openssl(args: string[], input?: string): void {
  const r = spawnSync("openssl", args, { encoding: "utf8", input });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/**
 * A CA, the controller's certificate (SAN = its veth address) and one client certificate per
 * name, made with openssl as the README's quick tour makes them (P-256 keys: fast).
 */
function makePki(dir: string, controllerIp: string, clients: string[]): void {
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"];
  openssl(["req", "-x509", ...key, "-keyout", `${dir}/ca.key`, "-out", `${dir}/ca.pem`, "-days", "2", "-subj", "/CN=sw-patch test CA"]);
  const leaf = (name: string, ext: string[]) => {
    const csr = `${dir}/${name}.csr`;
    openssl(["req", ...key, "-keyout", `${dir}/${name}.key`, "-out", csr, "-subj", `/CN=${name}`, ...ext.flatMap((e) => ["-addext", e])]);
    openssl(["x509", "-req", "-in", csr, "-CA", `${dir}/ca.pem`, "-CAkey", `${dir}/ca.key`, "-days", "2", "-copy_extensions", "copy", "-out", `${dir}/${name}.pem`]);
  };
  leaf("controller", [`subjectAltName=IP:${controllerIp}`, "extendedKeyUsage=serverAuth"]);
  for (const c of clients) leaf(c, ["extendedKeyUsage=clientAuth"]);
}

/**
 * The one-time enrolment token in `sw-patch host-enroll`'s output: the first line that is a
 * single token-shaped word (no spaces, 20+ characters), else the last such word on a line that
 * names a token. Tolerant on purpose: the output's wording is the enrolment command's business.
 */
function enrolmentTokenFrom(stdout: string): string {
  const lines = stdout.split("\n").map((l) => l.trim());
  const word = /^[A-Za-z0-9_.~+/=-]{20,}$/;
  const alone = lines.find((l) => word.test(l));
  if (alone) return alone;
  for (const l of lines.filter((x) => /token/i.test(x)).reverse()) {
    const w = l
      .split(/\s+/)
      .map((x) => x.replace(/^["'`]|["'`.,;]$/g, ""))
      .filter((x) => word.test(x))
      .pop();
    if (w) return w;
  }
  throw new Error(`no enrolment token in host-enroll's output:\n${stdout}`);
}

/** The host's own credential, as the agent stored it at enrolment; checks the file is 0600. */
function hostCredentialIn(root: string): string {
  const file = credentialFile(root);
  expect(statSync(file).mode & 0o777, file).to.equal(0o600);
  return (JSON.parse(readFileSync(file, "utf8")) as { token: string }).token;
}

/** The secret part of a `swp_<id>_<secret>` (or enrolment `swpe_...`) token (searching for it finds the whole token too), or the whole string. */
function secretOf(token: string): string {
  return /^swpe?_[0-9a-f]{16}_([0-9a-f]{64})$/.exec(token)?.[1] ?? token;
}

const randomHex = (chars: number) => randomBytes(chars / 2).toString("hex");

interface HostRow {
  hostname: string;
  ip: string;
  connected: boolean;
  patchCurrent: string;
  state: string;
}

describe("multi-host: a controller and two enrolled agents in network namespaces, mutual TLS", function () {
  this.timeout(180_000);
  let net: NetnsPair | undefined;
  let work: string;
  let pki: string;
  let capture: Capture | undefined;
  let streams: TcpStream[] | undefined;
  let controller: NsProcess;
  let adminToken: string;
  let patch001: string;
  const roots = new Map<string, string>();
  const agents = new Map<string, NsProcess>();
  const enrolmentTokens = new Map<string, string>();
  const markers = { token: `swp_${randomHex(16)}_${randomHex(64)}`, patchId: `MARKER_${randomHex(24)}` };
  /** Given to a CLI and an agent that must refuse plain text before sending anything: never on the wire. */
  const unsentToken = `swp_${randomHex(16)}_${randomHex(64)}`;
  let controlRan = false;

  /** The operator's CLI, run in the agents' namespace against https://<controller veth address>. */
  const sw = (args: string[]): Promise<NsRunResult> =>
    net!.run(net!.agt, process.execPath, [bin("sw-patch"), ...args], {
      env: {
        SWPATCH_ENDPOINT: `https://${net!.ctlIp}:${GRPC_PORT}`,
        SWPATCH_TLS_CA: `${pki}/ca.pem`,
        SWPATCH_TLS_CERT: `${pki}/operator.pem`,
        SWPATCH_TLS_KEY: `${pki}/operator.key`,
        SWPATCH_TOKEN: adminToken,
      },
    });

  const hosts = async (): Promise<HostRow[]> => {
    const r = await sw(["query-hosts", "--format", "json"]);
    expect(r.rc, r.stderr).to.equal(0);
    return (JSON.parse(r.stdout) as { hosts: HostRow[] }).hosts;
  };

  /** Polls query-hosts (each call a CLI process across the veth) until `pred` holds. */
  const waitHosts = async (pred: (hs: HostRow[]) => boolean, what: string, timeoutMs = 60_000): Promise<HostRow[]> => {
    const deadline = Date.now() + timeoutMs;
    let last: HostRow[] = [];
    while (Date.now() < deadline) {
      last = await hosts();
      if (pred(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what}: not reached in ${timeoutMs} ms: ${JSON.stringify(last)}\ncontroller: ${controller.stderr().slice(-2000)}`);
  };

  /** Starts a host's agent in the agents' namespace: mTLS with the host's client certificate, plus `extra`. */
  const startAgent = (h: (typeof HOSTS)[number], root: string, extra: string[]): NsProcess =>
    net!.spawn(
      net!.agt,
      process.execPath,
      [
        bin("sw-patch-agent"),
        ...["--controller", `${net!.ctlIp}:${GRPC_PORT}`, "--hostname", h.hostname, "--personality", h.personality, "--root", root],
        ...["--provision", "--reboot-delay-ms", "100", "--log-level", "warn"],
        ...["--tls-ca", `${pki}/ca.pem`, "--tls-cert", `${pki}/${h.hostname}.pem`, "--tls-key", `${pki}/${h.hostname}.key`],
        ...extra,
      ],
      { env: { SWPATCH_TOKEN: undefined, SWPATCH_TOKEN_FILE: undefined } },
    ); // the agent would take a token from there instead of enrolling

  /** Starts a controller in the controller's namespace and resolves once it listens (or rejects with its output). */
  const startController = async (dataDir: string, port: number, extra: string[], alsoWaitFor?: string): Promise<NsProcess> => {
    const p = net!.spawn(net!.ctl, process.execPath, [
      bin("sw-patch-controller"),
      "--data-dir",
      dataDir,
      "--listen",
      `${net!.ctlIp}:${port}`,
      "--release",
      "19.09",
      "--log-level",
      "warn",
      "--trust",
      `${DEV_CERT}:dev`,
      ...extra,
    ]);
    await waitFor(p, () => p.stdout().includes(`listening on ${net!.ctlIp}:${port}`) && (!alsoWaitFor || p.stdout().includes(alsoWaitFor)), "controller");
    return p;
  };

  before(async function () {
    const can = canRun();
    if (!can.ok) {
      console.log(`    skipped: ${can.reason}`);
      this.skip();
    }
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-netns-"));
    pki = path.join(work, "pki");
    mkdirSync(pki);
    const feed = await buildBaseFeed();
    const sysinv2 = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    const helper = await buildPayloadRpm({ name: "sysinv-helper", version: "1.0", release: "1" });
    const b = await runCli("patch_build", [
      ...["--id", "001", "--release", "19.09", "--summary", "sysinv fix", "--status", "REL", "--reboot-required", "N"],
      ...["--key", DEV_KEY, "--output-dir", work, "--controller", helper.file, sysinv2.file],
    ]);
    expect(b.rc, b.stderr).to.equal(0);
    patch001 = path.join(work, "001.patch");
    net = NetnsPair.create();
    makePki(pki, net.ctlIp, ["operator", ...HOSTS.map((h) => h.hostname)]);
    capture = await net.capture(net.ctl, path.join(work, "veth.pcap"));
    const dataDir = path.join(work, "controller");
    const tls = ["--tls-cert", `${pki}/controller.pem`, "--tls-key", `${pki}/controller.key`, "--tls-client-ca", `${pki}/ca.pem`];
    const rest = ["--patch-api-listen", `${net.ctlIp}:${REST_PORT}`];
    controller = await startController(dataDir, GRPC_PORT, ["--base-feed", feed.dir, ...tls, ...rest], "patch API listening on");
    adminToken = readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
  });

  after(async () => {
    // Processes first (SIGTERM, then SIGKILL), then both namespaces; then the files.
    try {
      await net?.close();
    } finally {
      if (work) rmSync(work, { recursive: true, force: true });
    }
  });

  it("a controller without TLS on the veth address is refused unless --insecure is given", async () => {
    const r = await net!.run(net!.ctl, process.execPath, [
      ...[bin("sw-patch-controller"), "--data-dir", path.join(work, "plain-refused"), "--listen", `${net!.ctlIp}:${PLAIN_PORT}`, "--release", "19.09"],
    ]);
    // Refused at start like any bad combination of flags (exit 2, the usage), before anything listens.
    expect(r.rc, r.stdout + r.stderr).to.equal(2);
    const first = r.stderr.split("\n")[0]!;
    expect(first).to.include(`--listen ${net!.ctlIp}`);
    expect(first).to.include("--insecure");
    expect(r.stdout).to.not.include("listening on");
  });

  it("the CLI and the agent refuse plain text to the controller's address without --insecure, before sending anything", async () => {
    const env = { SWPATCH_ENDPOINT: `${net!.ctlIp}:${GRPC_PORT}`, SWPATCH_TOKEN: unsentToken };
    const cli = await net!.run(net!.agt, process.execPath, [bin("sw-patch"), "query"], { env });
    expect(cli.rc, cli.stdout + cli.stderr).to.equal(1);
    expect(cli.stderr).to.match(/^Error: refusing to talk to the patch controller at .* in plaintext.*--insecure$/m);
    const agent = await net!.run(
      net!.agt,
      process.execPath,
      [
        bin("sw-patch-agent"),
        "--controller",
        `${net!.ctlIp}:${GRPC_PORT}`,
        "--hostname",
        "compute-9",
        "--personality",
        "worker",
        "--root",
        path.join(work, "roots", "plain"),
      ],
      { env },
    );
    expect(agent.rc, agent.stderr).to.equal(2);
    expect(agent.stderr).to.match(/refusing to connect in plaintext.*--insecure$/m);
  });

  it("enrols both hosts: host-enroll prints a one-time token, each agent exchanges it for its own credential over mTLS", async () => {
    for (const h of HOSTS) {
      const r = await sw(["host-enroll", h.hostname, "--personality", h.personality]);
      expect(r.rc, r.stdout + r.stderr).to.equal(0);
      const token = enrolmentTokenFrom(r.stdout);
      enrolmentTokens.set(h.hostname, token);
      const file = path.join(work, `${h.hostname}.enrol`);
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      const root = path.join(work, "roots", h.hostname);
      roots.set(h.hostname, root);
      const agent = startAgent(h, root, ["--enroll-token-file", file]);
      agents.set(h.hostname, agent);
    }
    // Provisioned from the base feed: connected, current, idle, each at the agents' veth address.
    const hs = await waitHosts((x) => x.length === 2 && x.every((h) => h.connected && h.patchCurrent === "Yes" && h.state === "idle"), "both hosts provisioned");
    expect(hs.map((h) => [h.hostname, h.ip])).to.deep.equal([
      ["compute-0", net!.agtIp],
      ["controller-0", net!.agtIp],
    ]);
    for (const h of HOSTS) {
      expect(hostCredentialIn(roots.get(h.hostname)!))
        .to.match(/^swp_[0-9a-f]{16}_[0-9a-f]{64}$/)
        .and.not.equal(adminToken);
      expect(rpmQ(roots.get(h.hostname)!, "sysinv")).to.equal("sysinv-1.0-1.noarch");
    }
  });

  it("upload, query and query-hosts as the seed shows them, with each host's real address", async () => {
    expect(await sw(["upload", patch001])).to.deep.include({ rc: 0, stdout: "001 is now available\n\n" });
    expect((await sw(["query"])).stdout).to.equal("Patch ID  RR  Release  Patch State\n========  ==  =======  ===========\n001       N    19.09    Available \n\n");
    const r = await sw(["query-hosts"]);
    expect(r.rc, r.stderr).to.equal(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]!.trim()).to.match(/^Hostname\s+IP Address\s+Patch Current\s+Reboot Required\s+Release\s+State$/);
    expect(lines.slice(2).map((l) => l.split(/\s+/).filter(Boolean))).to.deep.equal([
      ["compute-0", net!.agtIp, "Yes", "No", "19.09", "idle"],
      ["controller-0", net!.agtIp, "Yes", "No", "19.09", "idle"],
    ]);
  });

  it("apply, then host-install on both hosts: Partial-Apply, then Applied, the packages in each root", async () => {
    expect(await sw(["apply", "001"])).to.deep.include({ rc: 0, stdout: "001 is now in the repo\n\n" });
    expect((await sw(["query"])).stdout).to.include("Partial-Apply");
    await waitHosts((hs) => hs.every((h) => h.patchCurrent === "No"), "both hosts out of date after apply");
    for (const [i, h] of HOSTS.entries()) {
      const r = await sw(["host-install", h.hostname]);
      expect(r.rc, `${h.hostname}: ${r.stdout}${r.stderr}`).to.equal(0);
      expect(r.stdout.trimEnd().endsWith("Installation was successful."), r.stdout).to.equal(true);
      expect((await sw(["query"])).stdout).to.include(i < HOSTS.length - 1 ? "Partial-Apply" : "Applied");
    }
    expect((await sw(["query"])).stdout).to.equal("Patch ID  RR  Release  Patch State\n========  ==  =======  ===========\n001       N    19.09     Applied  \n\n");
    for (const h of HOSTS) {
      const root = roots.get(h.hostname)!;
      expect(rpmQ(root, "sysinv")).to.equal("sysinv-1.0-2.noarch");
      expect(rpmQ(root, "sysinv-helper")).to.equal(h.personality === "controller" ? "sysinv-helper-1.0-1.noarch" : "package sysinv-helper is not installed");
    }
    const hs = await hosts();
    expect(hs.map((h) => [h.hostname, h.ip, h.patchCurrent])).to.deep.equal([
      ["compute-0", net!.agtIp, "Yes"],
      ["controller-0", net!.agtIp, "Yes"],
    ]);
  });

  it("the reference patching REST API over https (same certificates, mTLS): query_hosts and query from the agents' namespace", async () => {
    // GET with X-Auth-Token (the reference client's header) and the operator's client certificate; the token comes from the environment.
    const script = `
      const https = require("node:https"), fs = require("node:fs");
      const [ip, port, pki] = process.argv.slice(1);
      const get = (p) => new Promise((resolve, reject) => https.get({ host: ip, port, path: p, ca: fs.readFileSync(pki + "/ca.pem"),
        cert: fs.readFileSync(pki + "/operator.pem"), key: fs.readFileSync(pki + "/operator.key"), headers: { "X-Auth-Token": process.env.SWPATCH_TOKEN } },
        (r) => { let b = ""; r.on("data", (d) => (b += d)); r.on("end", () => resolve({ status: r.statusCode, body: JSON.parse(b) })); }).on("error", reject));
      Promise.all([get("/v1/query_hosts"), get("/v1/query")]).then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e.message); process.exit(1); });`;
    const r = await net!.run(net!.agt, process.execPath, ["-e", script, net!.ctlIp, String(REST_PORT), pki], { env: { SWPATCH_TOKEN: adminToken } });
    expect(r.rc, r.stderr).to.equal(0);
    const [hostsAnswer, queryAnswer] = JSON.parse(r.stdout) as [
      { status: number; body: { data: { hostname: string; ip: string }[] } },
      { status: number; body: { pd: Record<string, { patchstate: string }> } },
    ];
    expect(hostsAnswer.status).to.equal(200);
    expect(hostsAnswer.body.data.map((h) => [h.hostname, h.ip]).sort()).to.deep.equal([
      ["compute-0", net!.agtIp],
      ["controller-0", net!.agtIp],
    ]);
    expect(queryAnswer.status).to.equal(200);
    expect(queryAnswer.body.pd["001"]!.patchstate).to.equal("Applied");
  });

  it("host-revoke cuts a host off: its stream ends, its agent exits refused (78), the other host stays", async () => {
    const r = await sw(["host-revoke", "compute-0"]);
    expect(r.rc, r.stdout + r.stderr).to.equal(0);
    expect(await agents.get("compute-0")!.exited, agents.get("compute-0")!.stderr()).to.equal(78);
    const hs = await waitHosts((x) => !x.find((h) => h.hostname === "compute-0")!.connected, "compute-0 disconnected");
    expect(hs.find((h) => h.hostname === "controller-0")!.connected).to.equal(true);
    // Started again with its stored credential, it cannot reconnect.
    const again = startAgent(HOSTS[1], roots.get("compute-0")!, []);
    expect(await again.exited, again.stderr()).to.equal(78);
  });

  it("an enrolment token works once: the spent one is refused to a fresh root", async () => {
    const file = path.join(work, "controller-0.enrol");
    const agent = startAgent(HOSTS[0], path.join(work, "roots", "controller-0-again"), ["--enroll-token-file", file]);
    expect(await agent.exited, agent.stderr()).to.equal(78);
    expect((await hosts()).find((h) => h.hostname === "controller-0")!.connected).to.equal(true);
  });

  it("control: a marker token sent in plain text to a plain-text controller crosses the veth in clear", async () => {
    const plain = await startController(path.join(work, "plain"), PLAIN_PORT, ["--insecure"]);
    const r = await net!.run(net!.agt, process.execPath, [bin("sw-patch"), "--insecure", "show", markers.patchId], {
      env: { SWPATCH_ENDPOINT: `${net!.ctlIp}:${PLAIN_PORT}`, SWPATCH_TOKEN: markers.token },
    });
    // The CLI says it talks in clear; the controller refuses the marker (no token of its own), after it crossed.
    expect(r.stderr).to.match(/without TLS \(--insecure\)/);
    expect(r.rc, r.stdout + r.stderr).to.equal(1);
    expect(r.stderr).to.include("invalid token");
    expect(await plain.stop()).to.equal(true);
    controlRan = true;
  });

  it("the capture on the veth holds no token in clear (operator, enrolment, host credentials) and does hold the control's markers", async function () {
    if (!controlRan) this.skip();
    streams = await capture!.stop();
    capture = undefined;
    const toController = streams.filter((s) => [GRPC_PORT, REST_PORT].some((port) => s.dst === `${net!.ctlIp}:${port}`));
    expect(toController.filter((s) => s.dst.endsWith(`:${REST_PORT}`))).to.have.length.greaterThan(0);
    const bytesIn = toController.reduce((n, s) => n + s.payload.length, 0);
    // The patch upload alone crossed: the capture saw the walk-through (gRPC and REST), all of it TLS records.
    expect(bytesIn).to.be.greaterThan(statSync(patch001).size);
    for (const s of toController) expect(s.payload[0], `${s.src}: not a TLS record`).to.equal(0x16);
    const secrets: Record<string, string> = { "operator (admin) token": secretOf(adminToken) };
    for (const h of HOSTS) {
      secrets[`${h.hostname} enrolment token`] = secretOf(enrolmentTokens.get(h.hostname)!);
      secrets[`${h.hostname} credential`] = secretOf(hostCredentialIn(roots.get(h.hostname)!));
    }
    secrets["token of the refused plain-text CLI and agent"] = secretOf(unsentToken);
    expect(findSecrets(streams, secrets)).to.deep.equal([]);
    const control = findSecrets(streams, { "marker token": secretOf(markers.token), "marker patch id": markers.patchId });
    expect(control.map((h) => h.label).sort()).to.deep.equal(["marker patch id", "marker token"]);
    for (const h of control) expect(h.stream).to.match(new RegExp(`:${PLAIN_PORT}$`));
  });
});
