import { expect } from "chai";
import { DomainError } from "../../../server/domain/errors.js";
import { parseControllerArgs, resolveControllerConfig } from "../../../server/config/controller-config.js";

describe("controller flags: upload and HTTP limits (BOUNDS)", () => {
  const env = {} as NodeJS.ProcessEnv;

  it("derives the upload defaults from --max-patch-bytes and documents the HTTP defaults", () => {
    const c = resolveControllerConfig({}, env);
    expect(c.uploads).to.deep.equal({ maxUnpackedBytes: 8 * 1024 ** 3, maxInflateRatio: 32, maxConcurrent: 4, maxTmpBytes: 16 * 1024 ** 3 });
    expect(c.httpLimits).to.deep.equal({ headerTimeoutMs: 20_000, idleTimeoutMs: 60_000, bodyTimeoutMs: 30_000, maxConnections: 256, maxConnectionsTotal: 512 });
    const small = resolveControllerConfig({ maxPatchBytes: 1000 }, env);
    expect(small.uploads.maxUnpackedBytes).to.equal(2000);
    expect(small.uploads.maxTmpBytes).to.equal(4000);
  });

  it("parses every flag (byte sizes with K/M) and refuses nonsense naming the flag", () => {
    const o = parseControllerArgs([
      ...["--max-unpacked-bytes", "64M", "--max-inflate-ratio", "0", "--max-concurrent-uploads", "2", "--max-upload-tmp-bytes", "128M"],
      ...[
        "--http-header-timeout",
        "1000",
        "--http-idle-timeout",
        "2000",
        "--http-body-timeout",
        "3000",
        "--http-max-connections",
        "10",
        "--http-max-connections-total",
        "20",
      ],
    ]);
    const c = resolveControllerConfig(o, env);
    expect(c.uploads).to.deep.equal({ maxUnpackedBytes: 64 << 20, maxInflateRatio: 0, maxConcurrent: 2, maxTmpBytes: 128 << 20 });
    expect(c.httpLimits).to.deep.equal({ headerTimeoutMs: 1000, idleTimeoutMs: 2000, bodyTimeoutMs: 3000, maxConnections: 10, maxConnectionsTotal: 20 });
    for (const [flag, value] of [
      ["--max-concurrent-uploads", "0"],
      ["--http-idle-timeout", "soon"],
      ["--max-inflate-ratio", "-1"],
    ]) {
      expect(() => resolveControllerConfig(parseControllerArgs([flag!, value!]), env), flag)
        .to.throw(DomainError)
        .with.property("message")
        .that.includes(flag!);
    }
  });
});
