import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, startController, type ControllerHandle } from "../lib/controller-harness.js";

/** The optional listeners of the real controller process: web console, patch REST API, VIM. */
describe("controller listeners started by their flags", function () {
  this.timeout(60_000);
  let ctl: ControllerHandle;
  before(async () => {
    ctl = await startController({
      extraArgs: ["--web-listen", "127.0.0.1:0", "--patch-api-listen", "127.0.0.1:0", "--vim-listen", "127.0.0.1:0"],
    });
  });
  after(async () => {
    await ctl?.stop();
  });

  it("serves the built web console and its token-guarded API from --web-listen", async () => {
    expect(ctl.webUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await fetch(`${ctl.webUrl}/`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.include('<div id="root">');
    expect((await fetch(`${ctl.webUrl}/api/patches`)).status).to.equal(401);
    const ok = await fetch(`${ctl.webUrl}/api/patches`, { headers: { authorization: `Bearer ${ctl.adminToken}` } });
    expect(ok.status).to.equal(200);
  });

  it("serves the reference patching API from --patch-api-listen", async () => {
    const root = await fetch(`http://${ctl.patchApiAddress}/`);
    expect(await root.text()).to.equal("Titanium Cloud Patching API, Available versions: /v1");
    const q = await fetch(`http://${ctl.patchApiAddress}/patch/query`, { headers: { "X-Auth-Token": ctl.adminToken } });
    expect(q.status).to.equal(200);
    expect(await q.json()).to.deep.equal({ pd: {} });
    expect((await fetch(`http://${ctl.patchApiAddress}/v1/query`)).status).to.equal(401);
  });

  it("serves the VIM API from --vim-listen", async () => {
    const r = await fetch(`http://${ctl.vimAddress}/api/orchestration/sw-patch/strategy`, { headers: { "X-Auth-Token": ctl.adminToken } });
    expect(r.status).to.equal(200);
    expect(await r.json()).to.deep.equal({ strategy: null });
  });

  it("says at start where the admin token is and how to sign in to the console", () => {
    const file = path.join(path.resolve(ctl.dataDir), "admin.token");
    expect(ctl.startupOutput).to.include(`sw-patch-controller admin token in ${file} (mode 0600): CLIs on this host use it with --token-file ${file}`);
    expect(ctl.startupOutput).to.include(`web console: open ${ctl.webUrl}/ and sign in with the token in that file`);
  });
});

describe("controller start-up with a taken port", function () {
  this.timeout(60_000);
  let blocker: Server;
  let port: number;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-taken-"));
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    port = (blocker.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the controller until it exits (it must: a bind failure ends it); its exit code and stderr. */
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [path.join(REPO_ROOT, "bin/sw-patch-controller"), "--data-dir", path.join(dir, "data"), "--log-level", "warn", ...args], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const kill = setTimeout(() => p.kill("SIGKILL"), 30_000);
      p.once("exit", (code) => {
        clearTimeout(kill);
        resolve({ code, stderr });
      });
    });

  for (const flag of ["--listen", "--web-listen", "--patch-api-listen", "--vim-listen"]) {
    it(`${flag} on a taken port: one line naming the flag, exit 1`, async () => {
      const args = flag === "--listen" ? ["--listen", `127.0.0.1:${port}`] : ["--listen", "127.0.0.1:0", flag, `127.0.0.1:${port}`];
      expect(await run(args)).to.deep.equal({
        code: 1,
        stderr: `sw-patch-controller: ${flag} 127.0.0.1:${port}: address already in use (another process listens there: stop it or choose another port)\n`,
      });
    });
  }
});
