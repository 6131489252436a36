import { expect } from "chai";
import { ClientError, Metadata, Status } from "nice-grpc";
import {
  HostNotFoundError,
  InternalError,
  NotFoundError,
  OperationNotFoundError,
  PatchNotFoundError,
  PermissionDeniedError,
  ReleaseNotFoundError,
  StrategyNotFoundError,
  SwPatchError,
  reasonFromTrailer,
  toSwPatchError,
} from "../../../clients/sdk/src/index.js";

const PATCH_PATH = "/swpatch.v1.PatchService/DelRelease";

describe("sdk: typed errors by the controller's reason", () => {
  it("chooses the class by reason first: RELEASE_NOT_FOUND on a PatchService call is not a PatchNotFoundError", () => {
    const e = toSwPatchError(new ClientError(PATCH_PATH, Status.NOT_FOUND, "Release 9 is not known"), "ep", "RELEASE_NOT_FOUND") as SwPatchError;
    expect(e).to.be.instanceOf(ReleaseNotFoundError).and.instanceOf(NotFoundError).and.not.instanceOf(PatchNotFoundError);
    expect(e.reason).to.equal("RELEASE_NOT_FOUND");
    expect(e.endpoint).to.equal("ep");
    expect(e.message).to.equal("Release 9 is not known");
  });

  it("maps every NOT_FOUND reason it knows, and an unknown NOT_FOUND reason to NotFoundError", () => {
    const by = (reason: string, path = "/swpatch.v1.HostService/GetHost") => toSwPatchError(new ClientError(path, Status.NOT_FOUND, "x"), undefined, reason);
    expect(by("PATCH_NOT_FOUND", "/swpatch.v1.HostService/X")).to.be.instanceOf(PatchNotFoundError);
    expect(by("HOST_NOT_FOUND")).to.be.instanceOf(HostNotFoundError);
    expect(by("OPERATION_NOT_FOUND")).to.be.instanceOf(OperationNotFoundError);
    expect(by("STRATEGY_NOT_FOUND")).to.be.instanceOf(StrategyNotFoundError);
    expect(by("constructor")).to.be.instanceOf(NotFoundError).and.not.instanceOf(PatchNotFoundError); // not an inherited key
    const token = by("TOKEN_NOT_FOUND", PATCH_PATH);
    expect(token).to.be.instanceOf(NotFoundError).and.not.instanceOf(PatchNotFoundError);
    expect((token as SwPatchError).reason).to.equal("TOKEN_NOT_FOUND");
  });

  it("falls back to the status for other reasons, keeping the reason", () => {
    const e = toSwPatchError(new ClientError("/p/M", Status.PERMISSION_DENIED, "role reader may not call M"), undefined, "ROLE_NOT_PERMITTED") as SwPatchError;
    expect(e).to.be.instanceOf(PermissionDeniedError);
    expect(e.reason).to.equal("ROLE_NOT_PERMITTED");
    expect(toSwPatchError(new ClientError("/p/M", Status.INTERNAL, "internal error (ref 1)"), undefined, "INTERNAL_ERROR")).to.be.instanceOf(InternalError);
  });

  it("without a reason (an older controller) keeps the PatchService NOT_FOUND fallback; reason is undefined", () => {
    const e = toSwPatchError(new ClientError(PATCH_PATH, Status.NOT_FOUND, "x")) as SwPatchError;
    expect(e).to.be.instanceOf(PatchNotFoundError);
    expect(e.reason).to.equal(undefined);
  });

  it("reads the reason from the swpatch-error-reason trailer", () => {
    expect(reasonFromTrailer(Metadata({ "swpatch-error-reason": "PATCH_NOT_FOUND", "swpatch-error-domain": "swpatch.v1" }))).to.equal("PATCH_NOT_FOUND");
    expect(reasonFromTrailer(Metadata())).to.equal(undefined);
    expect(reasonFromTrailer(undefined)).to.equal(undefined);
  });
});
