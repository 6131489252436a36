import { expect } from "chai";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";

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
});
