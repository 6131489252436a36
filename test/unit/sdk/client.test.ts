import { expect } from "chai";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, ServerError, Status, type Server, type CallContext } from "nice-grpc";
import { delay } from "abort-controller-x";
import {
  ClientError,
  createSwPatchClient,
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  normalizeEndpoint,
  PatchNotFoundError,
  PatchServiceDefinition,
  PreconditionError,
  SwPatchError,
  toSwPatchError,
  UnavailableError,
  type PatchServiceImplementation,
  type UploadPatchRequest,
  type WatchEventsRequest,
} from "../../../clients/sdk/src/index.js";
import { completeService } from "./fake-service.js";

describe("sdk: endpoints", () => {
  it("accepts host:port, [v6]:port and bare hosts", () => {
    expect(normalizeEndpoint("127.0.0.1:5490")).to.equal("127.0.0.1:5490");
    expect(normalizeEndpoint("[::1]:6000")).to.equal("[::1]:6000");
    expect(normalizeEndpoint("[::1]")).to.equal("[::1]:5490");
    expect(normalizeEndpoint("::1")).to.equal("[::1]:5490");
    expect(normalizeEndpoint("controller")).to.equal("controller:5490");
    expect(normalizeEndpoint("http://controller:7")).to.equal("controller:7");
  });
});

describe("sdk: typed errors", () => {
  it("maps NOT_FOUND from PatchService to PatchNotFoundError, keeping code and cause", () => {
    const cause = new ClientError("/swpatch.v1.PatchService/ApplyPatches", Status.NOT_FOUND, "Patch X does not exist");
    const e = toSwPatchError(cause) as SwPatchError;
    expect(e).to.be.instanceOf(PatchNotFoundError).and.instanceOf(NotFoundError).and.instanceOf(SwPatchError);
    expect(e.message).to.equal("Patch X does not exist");
    expect(e.code).to.equal(Status.NOT_FOUND);
    expect(e.cause).to.equal(cause);
    expect(e.codeName).to.equal("NOT_FOUND");
  });

  it("maps NOT_FOUND from other services to NotFoundError and other codes to their classes", () => {
    const host = toSwPatchError(new ClientError("/swpatch.v1.HostService/DropHost", Status.NOT_FOUND, "Unknown host specified: h"));
    expect(host).to.be.instanceOf(NotFoundError).and.not.instanceOf(PatchNotFoundError);
    expect(toSwPatchError(new ClientError("/p/M", Status.FAILED_PRECONDITION, "x"))).to.be.instanceOf(PreconditionError);
    expect(toSwPatchError(new ClientError("/p/M", Status.INVALID_ARGUMENT, "x"))).to.be.instanceOf(InvalidArgumentError);
  });

  it("leaves errors that are not gRPC statuses alone", () => {
    const e = new Error("boom");
    expect(toSwPatchError(e)).to.equal(e);
  });

  it("reports an unreachable controller as UnavailableError", async () => {
    const client = createSwPatchClient({ endpoint: "127.0.0.1:1" });
    try {
      await client.patches.queryPatches({});
      expect.fail("should have thrown");
    } catch (e) {
      expect(e).to.be.instanceOf(UnavailableError);
      expect((e as UnavailableError).code).to.equal(Status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});

describe("sdk: client against an in-process fake PatchService", () => {
  let server: Server;
  let port: number;
  const seen: { authorization?: string; watchRequests: WatchEventsRequest[]; uploads: UploadPatchRequest[][] } = {
    watchRequests: [],
    uploads: [],
  };
  let watchCalls = 0;

  before(async () => {
    const impl: Partial<PatchServiceImplementation> = {
      async queryPatches(_req, ctx: CallContext) {
        seen.authorization = ctx.metadata.get("authorization");
        return { patches: [] };
      },
      async applyPatches(req) {
        throw new ServerError(Status.NOT_FOUND, `Patch ${req.patchIds[0]} does not exist`);
      },
      async showPatches(_req, ctx) {
        await delay(ctx.signal, 10_000);
        return { patches: [], unrecognized: [] };
      },
      async uploadPatch(requests) {
        const got: UploadPatchRequest[] = [];
        for await (const r of requests) got.push(r);
        seen.uploads.push(got);
        return { patchId: "P", outcome: 1, messages: { info: "P is now available\n", warning: "" }, patch: undefined };
      },
      async *watchEvents(req, ctx) {
        seen.watchRequests.push(req);
        watchCalls += 1;
        const ev = (sequence: number) => ({
          event: {
            sequence,
            kind: "patch.state",
            time: undefined,
            patchId: "",
            hostname: "",
            oldState: "",
            newState: "",
            message: "",
            operationId: "",
            progress: undefined,
          },
        });
        if (watchCalls === 1) {
          yield ev(1);
          yield ev(2);
          throw new ServerError(Status.UNAVAILABLE, "controller going away");
        }
        yield ev(2); // a replay the client must drop
        yield ev(3);
        yield ev(4);
        await delay(ctx.signal, 60_000);
      },
    };
    server = createServer();
    server.add(PatchServiceDefinition, completeService<PatchServiceImplementation>(PatchServiceDefinition.methods, impl));
    port = await server.listen("127.0.0.1:0");
  });
  after(async () => {
    server.forceShutdown();
  });

  it("sends the token as authorization: Bearer", async () => {
    const client = createSwPatchClient({ endpoint: `127.0.0.1:${port}`, token: "s3cret" });
    await client.patches.queryPatches({});
    client.close();
    expect(seen.authorization).to.equal("Bearer s3cret");
  });

  it("throws PatchNotFoundError with the controller's text", async () => {
    const client = createSwPatchClient({ endpoint: `127.0.0.1:${port}` });
    try {
      await client.patches.applyPatches({ patchIds: ["X"] });
      expect.fail("should have thrown");
    } catch (e) {
      expect(e).to.be.instanceOf(PatchNotFoundError);
      expect((e as Error).message).to.equal("Patch X does not exist");
    } finally {
      client.close();
    }
  });

  it("applies the default deadline to unary calls", async () => {
    const client = createSwPatchClient({ endpoint: `127.0.0.1:${port}`, defaultDeadlineMs: 100 });
    try {
      await client.patches.showPatches({ patchIds: ["A"] });
      expect.fail("should have thrown");
    } catch (e) {
      expect(e).to.be.instanceOf(DeadlineExceededError);
    } finally {
      client.close();
    }
  });

  it("streams an upload as a header then 1 MiB chunks from disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdk-upload-"));
    const file = join(dir, "P.patch");
    writeFileSync(file, Buffer.alloc(2.5 * 1024 * 1024, 7));
    const progress: number[] = [];
    const client = createSwPatchClient({ endpoint: `127.0.0.1:${port}` });
    try {
      const r = await client.uploadPatchFile(file, { onProgress: (p) => progress.push(p.bytesSent) });
      expect(r.patchId).to.equal("P");
    } finally {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const got = seen.uploads.at(-1)!;
    expect(got[0]!.payload).to.deep.include({ $case: "header" });
    const header = got[0]!.payload!.value as { fileName: string; sizeBytes: number };
    expect(header.fileName).to.equal("P.patch");
    expect(header.sizeBytes).to.equal(2.5 * 1024 * 1024);
    const sizes = got.slice(1).map((r) => (r.payload!.value as Buffer).length);
    expect(sizes).to.deep.equal([1048576, 1048576, 524288]);
    expect(progress).to.deep.equal([1048576, 2097152, 2621440]);
  });

  it("watchEvents reconnects after UNAVAILABLE and resumes after the last sequence without repeats", async () => {
    const client = createSwPatchClient({ endpoint: `127.0.0.1:${port}` });
    const ac = new AbortController();
    const sequences: number[] = [];
    let reconnects = 0;
    try {
      for await (const ev of client.watchEvents({ signal: ac.signal, initialBackoffMs: 10, onReconnect: () => reconnects++ })) {
        sequences.push(ev.sequence);
        if (sequences.length === 4) ac.abort();
      }
    } catch (e) {
      expect((e as Error).name).to.equal("AbortError");
    } finally {
      client.close();
    }
    expect(sequences).to.deep.equal([1, 2, 3, 4]);
    expect(reconnects).to.equal(1);
    expect(seen.watchRequests.map((r) => r.afterSequence)).to.deep.equal([0, 2]);
  });
});
