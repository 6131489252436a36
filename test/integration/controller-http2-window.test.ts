import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startController, REPO_ROOT, type ControllerHandle } from "../lib/controller-harness.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import { createSwPatchClient, UploadOutcome } from "../../clients/sdk/src/index.js";

/** What the controller's gRPC port advertises: SETTINGS and the connection window it opens. */
async function peerWindows(endpoint: string): Promise<{ streamWindow: number; connectionWindow: number }> {
  const session = http2.connect(`http://${endpoint}`);
  try {
    await new Promise<void>((resolve, reject) => {
      session.once("remoteSettings", () => resolve());
      session.once("error", reject);
    });
    // The connection window arrives as a WINDOW_UPDATE after the SETTINGS; a ping round trip
    // later it has been applied.
    await new Promise<void>((resolve, reject) => session.ping((e) => (e ? reject(e) : resolve())));
    return { streamWindow: session.remoteSettings.initialWindowSize ?? -1, connectionWindow: session.state.remoteWindowSize ?? -1 };
  } finally {
    session.destroy();
  }
}

describe("controller --http2-window", function () {
  this.timeout(90_000);
  let tuned: ControllerHandle;
  let plain: ControllerHandle;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "h2win-"));
    [tuned, plain] = await Promise.all([startController({ release: "19.09", extraArgs: ["--http2-window", "1M"] }), startController({ release: "19.09" })]);
  });
  after(async () => {
    await Promise.all([tuned?.stop(), plain?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("advertises the stream window and opens the connection window to twice it", async () => {
    expect(await peerWindows(tuned.endpoint)).to.deep.equal({ streamWindow: 1048576, connectionWindow: 2 * 1048576 });
  });

  it("keeps HTTP/2's default window when the flag is not given", async () => {
    expect(await peerWindows(plain.endpoint)).to.deep.equal({ streamWindow: 65535, connectionWindow: 65535 });
  });

  it("takes a multi-MiB upload through the larger window, verified and stored", async () => {
    const built = await buildTestPatch({
      dir,
      id: "H2WIN_0001",
      swVersion: "19.09",
      rpms: [{ name: "bigpkg", version: "1.0", release: "1.tis", files: [{ path: "/opt/big.bin", content: randomBytes(6 << 20) }] }],
    });
    expect(statSync(built.path).size).to.be.greaterThan(6 << 20);
    const client = createSwPatchClient({ endpoint: tuned.endpoint, token: tuned.adminToken });
    try {
      const r = await client.uploadPatchFile(built.path);
      expect([r.patchId, r.outcome]).to.deep.equal(["H2WIN_0001", UploadOutcome.UPLOAD_OUTCOME_IMPORTED]);
      const shown = await client.patches.showPatches({ patchIds: ["H2WIN_0001"] });
      expect(shown.patches.map((p) => p.id)).to.deep.equal(["H2WIN_0001"]);
    } finally {
      client.close();
    }
  });

  for (const [value, message] of [
    ["1K", "--http2-window: HTTP/2 window must be a whole number of bytes from 65535 to 268435456, got 1024"],
    ["512M", "--http2-window: HTTP/2 window must be a whole number of bytes from 65535 to 268435456, got 536870912"],
    ["1.5M", '--http2-window: expected a number of bytes such as 1048576, 1024K or 1M, got "1.5M"'],
  ] as const) {
    it(`refuses --http2-window ${value} with exit code 2 and names the problem`, () => {
      const r = spawnSync(
        process.execPath,
        [path.join(REPO_ROOT, "bin/sw-patch-controller"), "--data-dir", path.join(dir, "never"), "--listen", "127.0.0.1:0", "--http2-window", value],
        {
          encoding: "utf8",
          timeout: 30_000,
        },
      );
      expect(r.status).to.equal(2);
      expect(r.stderr).to.include(message);
    });
  }
});
