import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAgentArgs } from "../../../server/agent/main.js";
import { parseControllerArgs } from "../../../server/config/controller-config.js";

const DIR = path.join(__dirname, "../../../contrib/systemd");

/** The ExecStart command line of a unit, with `$VAR` expanded from `env` and `%H` as `host`, split as systemd does. */
function execStart(unit: string, envFile: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(readFileSync(path.join(DIR, unit), "utf8"))![1]!;
  const env = Object.fromEntries(
    readFileSync(path.join(DIR, envFile), "utf8")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return line
    .replace(/%H/g, "host-1")
    .split(/\s+/)
    .flatMap((w) => (w.startsWith("$") ? (env[w.slice(1)] ?? "").split(/\s+/) : [w]))
    .filter(Boolean);
}

describe("contrib/systemd units", () => {
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), "swpatch-units-"))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("the agent unit's command line is one the agent accepts: root /, a real reboot, the token from a file, mutual TLS", () => {
    const argv = execStart("sw-patch-agent.service", "agent.env.example");
    expect(argv[0]).to.equal("/usr/local/bin/sw-patch-agent");
    const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const files: Record<string, string> = {
      "agent.token": "tok-123\n",
      "ca.pem": cert,
      "agent.pem": cert,
      "agent.key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(tmp, name), text, { mode: 0o600 });
    const local = (a: string) => (a.startsWith("/etc/sw-patch/") && files[path.basename(a)] !== undefined ? path.join(tmp, path.basename(a)) : a);
    const cfg = parseAgentArgs(argv.slice(1).map(local), {});
    expect(cfg).to.deep.include({ root: "/", hostname: "host-1", personality: "worker", controller: "controller:5490" });
    expect(cfg.transport.token).to.equal("tok-123");
    expect(Object.keys(cfg.transport.tls ?? {})).to.deep.equal(["ca", "cert", "key"]);
    expect(cfg.reboot.mode).to.equal("system");
  });

  it("the controller unit's command line is one the controller accepts", () => {
    const argv = execStart("sw-patch-controller.service", "controller.env.example");
    expect(argv[0]).to.equal("/usr/local/bin/sw-patch-controller");
    expect(parseControllerArgs(argv.slice(1))).to.deep.include({ dataDir: "/var/lib/sw-patch", listen: "127.0.0.1:5490", release: "19.09" });
  });

  it("systemd-analyze verify finds nothing wrong with either unit", function () {
    if (spawnSync("systemd-analyze", ["--version"]).status !== 0) this.skip();
    for (const unit of ["sw-patch-agent.service", "sw-patch-controller.service"]) {
      // verify checks that the program exists: point it at one that does.
      const copy = path.join(tmp, unit);
      writeFileSync(copy, readFileSync(path.join(DIR, unit), "utf8").replace(/^ExecStart=\S+/m, "ExecStart=/bin/true"));
      const r = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
      // Only what it says of our unit counts: verify also loads the machine's own units and may complain of them
      // (Debian's keystone.service, installed for the Keystone tests, has "Dependency After=keystone.service is dropped").
      const ours = (r.stdout + r.stderr)
        .split("\n")
        .filter((l) => l.includes(unit) || l.includes(tmp))
        .join("\n");
      expect({ status: r.status, out: ours }, unit).to.deep.equal({ status: 0, out: "" });
    }
  });
});
