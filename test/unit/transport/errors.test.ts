import { expect } from "chai";
import { ServerError, Status } from "nice-grpc";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { DomainError, notFound } from "../../../server/domain/errors.js";
import { ReasonedServerError, encodeStatusDetails, reasonOf, toServerError } from "../../../server/transport/errors.js";
import { createLogger } from "../../../server/lib/log.js";

/** google.rpc.Status -> { code, message, details: [{ typeUrl, reason, domain, metadata }] }. */
function decode(bytes: Uint8Array) {
  const r = new BinaryReader(bytes);
  const out = { code: -1, message: "", details: [] as Array<{ typeUrl: string; reason: string; domain: string; metadata: Record<string, string> }> };
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    if (f === 1) out.code = r.int32();
    else if (f === 2) out.message = r.string();
    else if (f === 3) {
      const any = new BinaryReader(r.bytes());
      const d = { typeUrl: "", reason: "", domain: "", metadata: {} as Record<string, string> };
      while (any.pos < any.len) {
        const [g, x] = any.tag();
        if (g === 1) d.typeUrl = any.string();
        else if (g === 2) {
          const info = new BinaryReader(any.bytes());
          while (info.pos < info.len) {
            const [h, y] = info.tag();
            if (h === 1) d.reason = info.string();
            else if (h === 2) d.domain = info.string();
            else if (h === 3) {
              const entry = new BinaryReader(info.bytes());
              let k = "";
              let v = "";
              while (entry.pos < entry.len) {
                const [i] = entry.tag();
                if (i === 1) k = entry.string();
                else v = entry.string();
              }
              d.metadata[k] = v;
            } else info.skip(y);
          }
        } else any.skip(x);
      }
      out.details.push(d);
    } else r.skip(w);
  }
  return out;
}

const silent = createLogger({ level: "silent" });

describe("transport errors: the reason on the wire", () => {
  it("encodes google.rpc.Status with one google.rpc.ErrorInfo (reason, domain swpatch.v1, metadata)", () => {
    const bytes = encodeStatusDetails(Status.NOT_FOUND, "Patch X does not exist", "PATCH_NOT_FOUND", { patchId: "X", hostname: "h-1" });
    expect(decode(bytes)).to.deep.equal({
      code: Status.NOT_FOUND,
      message: "Patch X does not exist",
      details: [{ typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", reason: "PATCH_NOT_FOUND", domain: "swpatch.v1", metadata: { patchId: "X", hostname: "h-1" } }],
    });
  });

  it("maps a DomainError to its status with its reason and context", () => {
    const e = toServerError(notFound("Patch X does not exist", { reason: "PATCH_NOT_FOUND", patchId: "X" }), silent, "/m") as ReasonedServerError;
    expect(e).to.be.instanceOf(ReasonedServerError);
    expect([e.code, e.details, e.reason, e.metadata]).to.deep.equal([Status.NOT_FOUND, "Patch X does not exist", "PATCH_NOT_FOUND", { patchId: "X" }]);
    const plain = toServerError(new DomainError("failed-precondition", "no"), silent, "/m") as ReasonedServerError;
    expect(plain.reason).to.equal("FAILED_PRECONDITION");
  });

  it("gives unexpected errors INTERNAL_ERROR and a plain ServerError its status name", () => {
    const lines: string[] = [];
    const e = toServerError(new TypeError("boom"), createLogger({ write: (l) => lines.push(l) }), "/m") as ReasonedServerError;
    expect(e.code).to.equal(Status.INTERNAL);
    expect(e.reason).to.equal("INTERNAL_ERROR");
    expect(e.details).to.match(/^internal error \(ref [0-9a-f]{8}\)$/);
    expect(lines.join("")).to.include("boom");
    expect(reasonOf(new ServerError(Status.NOT_FOUND, "x"))).to.equal("NOT_FOUND");
    expect(reasonOf(new ServerError(Status.UNKNOWN, "x"))).to.equal("INTERNAL_ERROR");
  });

  it("a message or metadata cut inside a surrogate pair is sent with U+FFFD (grpc-js would throw URIError and the process die)", () => {
    const log = createLogger({ level: "error" });
    const cut = "document \u{4d58f}".slice(0, -1); // ends in a lone high surrogate
    const m = toServerError(new DomainError("invalid-argument", `bad ${cut}`, { reason: "X", hostname: cut }), log, "/m") as ReasonedServerError;
    expect(() => encodeURI(m.details)).to.not.throw();
    expect(m.details).to.equal("bad document \uFFFD");
    expect(m.metadata.hostname).to.equal("document \uFFFD");
    expect([m.code, m.reason]).to.deep.equal([Status.INVALID_ARGUMENT, "X"]);
    const raw = toServerError(new ServerError(Status.NOT_FOUND, cut), log, "/m") as ServerError;
    expect([raw.code, raw.details]).to.deep.equal([Status.NOT_FOUND, "document \uFFFD"]);
    // Well-formed texts (pairs included) are left as they are, the same object.
    const ok = new ServerError(Status.NOT_FOUND, "document \u{4d58f}");
    expect(toServerError(ok, log, "/m")).to.equal(ok);
  });
});
