import { expect } from "chai";
import { checkUploadFileName } from "../../../server/transport/http/upload-name.js";
import { withReferenceLine } from "../../../server/transport/mappers/patch-messages.js";
import { DomainError } from "../../../server/domain/errors.js";

describe("upload file names and refusal lines (reference parity)", () => {
  it("takes the base name of a path, as the reference controller does", () => {
    expect(checkUploadFileName("/home/sysadmin/001.patch")).to.equal("001.patch");
    expect(checkUploadFileName("patches/001.patch")).to.equal("001.patch");
    expect(checkUploadFileName("../001.patch")).to.equal("001.patch");
    expect(checkUploadFileName("001.patch")).to.equal("001.patch");
  });

  it("refuses what is still unsafe after that", () => {
    for (const bad of ["", "/tmp/", "x/..", "a/.hidden.patch", "a\\b.patch", "%2e%2e.patch", "a/\u0007.patch", `${"x".repeat(300)}.patch`]) {
      expect(() => checkUploadFileName(bad), JSON.stringify(bad)).to.throw(/upload: /);
    }
  });

  it("puts the reference's line first for extraction and signature failures, keeps other errors", () => {
    const tar = new DomainError("invalid-argument", "patch file: truncated tar", { reason: "PATCH_TAR_INVALID" });
    expect(withReferenceLine(tar).message).to.equal("Failed during patch extraction\npatch file: truncated tar");
    expect(withReferenceLine(tar).reason).to.equal("PATCH_TAR_INVALID");
    const sig = new DomainError("invalid-argument", "Patch failed verification: member 'signature' does not match", { reason: "PATCH_SIGNATURE_MISMATCH" });
    expect(withReferenceLine(sig).message).to.equal("Signature check failed\nPatch failed verification: member 'signature' does not match");
    const other = new DomainError("invalid-argument", "Patch has not been signed: missing member 'signature.v2'", { reason: "PATCH_NOT_SIGNED" });
    expect(withReferenceLine(other)).to.equal(other);
  });
});
