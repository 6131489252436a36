/**
 * Limits one caller cannot push past (issue 16, points 6 and 7), on a real controller: web console
 * sessions per token and in all; refused calls audited at most N per source, the rest counted in one
 * row (written at shutdown here), calls that ran never dropped.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Metadata, Status, createChannel, createClient, type Channel, ClientError } from "nice-grpc";
import { AdminServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { PatchServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";

describe("state limits on a real controller (console sessions, audit refusals)", function () {
  this.timeout(120_000);
  let dataDir: string;
  let ctl: ControllerHandle;
  let channel: Channel;
  const limits = ["--console-max-sessions", "3", "--console-max-sessions-per-token", "2", "--audit-refusals-per-minute", "5"];
  const start = () => startController({ dataDir, keepDataDir: true, extraArgs: ["--web-listen", "127.0.0.1:0", ...limits] });

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-limits-"));
    ctl = await start();
    channel = createChannel(ctl.endpoint);
  });

  after(async () => {
    channel?.close();
    await ctl?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const admin = () => createClient(AdminServiceDefinition, channel, { "*": { metadata: Metadata({ authorization: `Bearer ${ctl.adminToken}` }) } });
  const signIn = (token: string) =>
    fetch(`${ctl.webUrl}/api/session`, { method: "POST", headers: { "content-type": "application/json", "x-sw-patch-console": "1" }, body: JSON.stringify({ token }) });
  const sessionOf = async (r: Response) => (r.headers.get("set-cookie") ?? "").split(";")[0]!;
  const whoAmI = (cookie: string) => fetch(`${ctl.webUrl}/api/session`, { headers: { cookie } }).then((r) => r.status);

  it("a token signing in again and again keeps its newest sessions and signs no one else out; a full console refuses sign-in (503)", async () => {
    const op = (await admin().createToken({ role: "operator", description: "limits op" })).token;
    const reader = (await admin().createToken({ role: "reader", description: "limits reader" })).token;
    const adminCookie = await sessionOf(await signIn(ctl.adminToken));
    const ops: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await signIn(op);
      expect(r.status).to.equal(200);
      ops.push(await sessionOf(r));
    }
    expect(await whoAmI(adminCookie)).to.equal(200);
    expect(await whoAmI(ops[0]!)).to.equal(401);
    expect(await whoAmI(ops[8]!)).to.equal(200);
    expect(await whoAmI(ops[9]!)).to.equal(200);
    // 1 admin + 2 operator sessions: the console is full.
    const refused = await signIn(reader);
    expect(refused.status).to.equal(503);
    expect(refused.headers.get("retry-after")).to.equal("60");
    expect(((await refused.json()) as { error: string }).error).to.match(/^Sign-in refused: the console has 3 sessions open, its limit/);
    expect(await whoAmI(adminCookie)).to.equal(200);
  });

  it("audits at most 5 refusals a minute from one address, counts the rest in one row, and drops no call that ran", async () => {
    const anon = createClient(PatchServiceDefinition, channel);
    for (let i = 0; i < 50; i++) {
      const e = await anon.deletePatches({ patchIds: [`NOPE_${i}`] }).then(
        () => undefined,
        (x: unknown) => x as ClientError,
      );
      expect(e?.code).to.equal(Status.UNAUTHENTICATED);
    }
    for (let i = 0; i < 10; i++) await admin().createToken({ role: "reader", description: `ran ${i}` });
    const rows = (await admin().listAuditLog({ afterId: 0, limit: 1000 })).entries;
    expect(rows.filter((e) => e.action === "DeletePatches" && e.outcome === "UNAUTHENTICATED")).to.have.length(5);
    expect(rows.filter((e) => e.action === "CreateToken" && e.outcome === "ok").length).to.be.at.least(12);
    // The count is written when the window ends; a shutdown ends every window.
    channel.close();
    await ctl.stop();
    ctl = await start();
    channel = createChannel(ctl.endpoint);
    const after = (await admin().listAuditLog({ afterId: 0, limit: 1000 })).entries.filter((e) => /similar refusals/.test(e.detail));
    expect(after.map((e) => [e.action, e.target, e.outcome, e.detail])).to.deep.equal([
      ["DeletePatches", "127.0.0.1", "UNAUTHENTICATED", "45 similar refusals from 127.0.0.1 dropped (at most 5 per source per 60 s)"],
    ]);
  });
});
