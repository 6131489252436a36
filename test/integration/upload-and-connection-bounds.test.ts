/**
 * Issue 16 points 3 and 5 against the real controller process: a gzip bomb is refused on every
 * upload path with a message naming the limit and leaves data/tmp empty; uploads past
 * --max-concurrent-uploads are RESOURCE_EXHAUSTED (503 on HTTP); slow-body sockets against one
 * HTTP listener are capped and cut, and the other listeners and the gRPC port stay served.
 */
import { expect } from "chai";
import { promises as fsp } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Status } from "nice-grpc";
import type { ImportBasePackageRequest, UploadPatchRequest } from "../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { startController, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients } from "../lib/grpc-clients.js";
import { buildGzipBomb } from "../../tools/bench/gzip-bomb.js";

async function until(what: string, cond: () => Promise<boolean> | boolean): Promise<void> {
  // Polls a condition the controller makes true (no delay stands in for an event).
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function* grpcUpload(fileName: string, data: Buffer, hold?: Promise<void>): AsyncGenerator<UploadPatchRequest> {
  yield { payload: { $case: "header", value: { fileName, sizeBytes: data.length } } };
  for (let at = 0; at < data.length; at += 256 * 1024) yield { payload: { $case: "chunk", value: data.subarray(at, at + 256 * 1024) } };
  if (hold) await hold;
}

function multipart(fileName: string, data: Buffer): { body: Buffer; contentType: string } {
  const b = "bounds-boundary-1";
  const head = Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  return { body: Buffer.concat([head, data, Buffer.from(`\r\n--${b}--\r\n`)]), contentType: `multipart/form-data; boundary=${b}` };
}

function rawSocket(address: string): Promise<net.Socket> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => resolve(s));
    s.once("error", reject);
  });
}

describe("upload and connection bounds (real controller)", function () {
  this.timeout(60_000);
  let ctl: ControllerHandle;
  let clients: ReturnType<typeof rawClients>;
  const bomb = buildGzipBomb(4000);
  const tmp = () => fsp.readdir(path.join(ctl.dataDir, "tmp")).catch(() => [] as string[]);
  const held: net.Socket[] = [];

  before(async () => {
    ctl = await startController({
      extraArgs: [
        ...["--web-listen", "127.0.0.1:0", "--patch-api-listen", "127.0.0.1:0", "--vim-listen", "127.0.0.1:0"],
        ...["--max-concurrent-uploads", "1", "--http-max-connections", "20", "--http-max-connections-total", "30", "--http-body-timeout", "1500"],
      ],
    });
    clients = rawClients(ctl);
  });
  after(async () => {
    for (const s of held) s.destroy();
    clients?.close();
    await ctl?.stop();
  });

  it("refuses a 4 MB gzip bomb on gRPC, the patch REST API and the web console, naming the limit; data/tmp is left empty", async () => {
    const grpc = await clients.patches.uploadPatch(grpcUpload("BOMB.patch", bomb)).then(
      () => null,
      (e: { code: Status; details: string }) => e,
    );
    expect(grpc?.code).to.equal(Status.INVALID_ARGUMENT);
    expect(grpc?.details).to.include("--max-inflate-ratio 32");
    expect(await tmp()).to.deep.equal([]);

    const m = multipart("BOMB.patch", bomb);
    const rest = await fetch(`http://${ctl.patchApiAddress}/patch/upload`, {
      method: "POST",
      headers: { "x-auth-token": ctl.adminToken, "content-type": m.contentType },
      body: new Uint8Array(m.body),
    });
    expect(rest.status).to.equal(200);
    expect(((await rest.json()) as { error: string }).error).to.include("--max-inflate-ratio 32");
    expect(await tmp()).to.deep.equal([]);

    const web = await fetch(`${ctl.webUrl}/api/patches/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${ctl.adminToken}`, "content-type": m.contentType, "x-sw-patch-console": "1" },
      body: new Uint8Array(m.body),
    });
    expect(web.status).to.equal(200);
    const results = ((await web.json()) as { results: { error: string }[] }).results;
    expect(results[0]!.error).to.include("--max-inflate-ratio 32");
    expect(await tmp()).to.deep.equal([]);
  });

  it("refuses an upload (and a base-package import) past --max-concurrent-uploads with RESOURCE_EXHAUSTED (gRPC) and 503 (REST), naming the flag", async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const ac = new AbortController();
    const first = clients.patches.uploadPatch(grpcUpload("HELD.patch", bomb.subarray(0, 1024), hold), { signal: ac.signal }).catch((e: unknown) => e);
    await until("the first upload's temp dir", async () => (await tmp()).length === 1);
    const second = await clients.patches.uploadPatch(grpcUpload("SECOND.patch", bomb.subarray(0, 1024))).then(
      () => null,
      (e: { code: Status; details: string }) => e,
    );
    expect(second?.code).to.equal(Status.RESOURCE_EXHAUSTED);
    expect(second?.details).to.equal("too many uploads in progress (limit 1, --max-concurrent-uploads); try again later");
    const m = multipart("SECOND.patch", bomb.subarray(0, 1024));
    const rest = await fetch(`http://${ctl.patchApiAddress}/patch/upload`, {
      method: "POST",
      headers: { "x-auth-token": ctl.adminToken, "content-type": m.contentType },
      body: new Uint8Array(m.body),
    });
    expect(rest.status).to.equal(503);
    expect(((await rest.json()) as { error: string }).error).to.include("--max-concurrent-uploads");
    async function* rpm(): AsyncGenerator<ImportBasePackageRequest> {
      yield { payload: { $case: "header", value: { release: "19.09", fileName: "x-1-1.x86_64.rpm", sizeBytes: 1024, signature: Buffer.alloc(0) } } };
      yield { payload: { $case: "chunk", value: Buffer.alloc(1024) } };
    }
    const base = await clients.patches.importBasePackage(rpm()).then(
      () => null,
      (e: { code: Status; details: string }) => e,
    );
    expect(base?.code).to.equal(Status.RESOURCE_EXHAUSTED);
    expect(base?.details).to.include("--max-concurrent-uploads");
    ac.abort();
    release();
    await first;
    await until("data/tmp to empty", async () => (await tmp()).length === 0);
  });

  it("caps slow-body sockets on one listener and cuts them after the body timeout; the other listeners and gRPC stay served", async () => {
    const web = ctl.webUrl!.replace("http://", "");
    const closed: Promise<string>[] = [];
    // 60 unauthenticated sign-ins whose body never comes (the attack of issue 16, point 5).
    for (let i = 0; i < 60; i++) {
      const s = await rawSocket(web);
      held.push(s);
      const got: Buffer[] = [];
      s.on("data", (d: Buffer) => got.push(d));
      s.on("error", () => undefined);
      closed.push(new Promise((r) => s.once("close", () => r(Buffer.concat(got).toString("latin1")))));
      s.write(`POST /api/session HTTP/1.1\r\nHost: ${web}\r\nContent-Type: application/json\r\nX-SW-Patch-Console: 1\r\nContent-Length: 100\r\n\r\n{"tok`);
    }
    // The other HTTP listeners and the gRPC port answer while the web listener is full.
    const api = await fetch(`http://${ctl.patchApiAddress}/patch/query`, { headers: { "X-Auth-Token": ctl.adminToken } });
    expect(api.status).to.equal(200);
    const vim = await fetch(`http://${ctl.vimAddress}/api/orchestration/sw-patch/strategy`, { headers: { "X-Auth-Token": ctl.adminToken } });
    expect(vim.status).to.equal(200);
    const info = await clients.patches.getControllerInfo({});
    expect(info.runningRelease).to.equal("19.09");
    // Every slow body is closed: 40 at once (over the cap of 20), the 20 held ones at the body timeout.
    const answers = await Promise.all(closed);
    expect(answers.filter((a) => a === "").length).to.equal(60);
    const page = await fetch(`${ctl.webUrl}/api/session`, { headers: { authorization: `Bearer ${ctl.adminToken}` } });
    expect(page.status).to.equal(200);
  });
});
