import { expect } from "chai";
import { parseControllerArgs, resolveControllerConfig } from "../../../server/config/controller-config.js";

/** The controller pair's flags: --controller-id, --advertise, --lease, --lease-ttl. */
describe("controller config: the pair flags", () => {
  const resolve = (argv: string[]) => resolveControllerConfig(parseControllerArgs(argv), {});

  it("a single controller has no pair", () => {
    expect(resolve([]).pair).to.equal(undefined);
  });

  it("derives the timings from --lease-ttl (default 3000 ms)", () => {
    const url = "postgres://swpatch@127.0.0.1:5432/swpatch";
    expect(resolve(["--controller-id", "controller-1", "--lease", url]).pair).to.deep.equal({
      controllerId: "controller-1",
      advertise: undefined,
      leaseUrl: url,
      leaseInStore: false,
      ttlMs: 3000,
      renewIntervalMs: 750,
      safetyMarginMs: 750,
      standbyPollMs: 375,
      swactHoldOffMs: 1500,
    });
    expect(resolve(["--controller-id", "controller-0", "--lease", url, "--lease-ttl", "2000", "--advertise", "10.0.0.5:5490"]).pair).to.deep.include({
      advertise: "10.0.0.5:5490",
      renewIntervalMs: 500,
      safetyMarginMs: 500,
    });
  });

  it("refuses flags that cannot make a pair, naming the flag", () => {
    expect(() => resolve(["--lease", "postgres://x@h/db"])).to.throw(/need --controller-id/);
    expect(() => resolve(["--controller-id", "controller-2", "--lease", "postgres://x@h/db"])).to.throw(/--controller-id: expected controller-0 or controller-1/);
    expect(() => resolve(["--controller-id", "controller-0"])).to.throw(/--lease postgres:/);
    expect(() => resolve(["--controller-id", "controller-0", "--lease", "mysql://x"])).to.throw(/--lease: expected a postgres:\/\/ URL/);
    expect(() => resolve(["--controller-id", "controller-0", "--lease", "postgres://x@h/db", "--lease-ttl", "100"])).to.throw(/--lease-ttl/);
    expect(() => resolve(["--controller-id", "controller-0", "--lease", "postgres://x@h/db", "--advertise", "nohost"])).to.throw(/--advertise/);
  });

  it("with --store postgres:// the store's database holds the lease (no --lease); a different --lease is refused", () => {
    const url = "postgres://swpatch@127.0.0.1:5432/swpatch";
    expect(resolve(["--store", url, "--controller-id", "controller-0"]).pair).to.deep.include({ leaseUrl: url, leaseInStore: true });
    expect(resolve(["--store", url, "--controller-id", "controller-0", "--lease", url]).pair).to.deep.include({ leaseInStore: true });
    expect(() => resolve(["--store", url, "--controller-id", "controller-0", "--lease", "postgres://x@h/other"])).to.throw(/lease lives in the store's database/);
    expect(resolve(["--controller-id", "controller-0", "--lease", url]).pair).to.deep.include({ leaseInStore: false });
  });
});
