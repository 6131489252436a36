import { expect } from "chai";
import { Readable } from "node:stream";
import { main } from "../../../clients/cli/sw-patch/main.js";
import { installLocalGate } from "../../../clients/cli/sw-patch/commands/install-local.js";

describe("sw-patch install-local: never touches / unless the operator says so", () => {
  it("another root goes ahead; / needs root and a yes (--yes, or an answer on a terminal)", () => {
    const base = { yes: false, interactive: false, euid: 0 };
    expect(installLocalGate({ ...base, root: "/tmp/image" })).to.equal("go");
    expect(installLocalGate({ ...base, root: "/tmp/image", euid: 1000 })).to.equal("go");
    expect(installLocalGate({ ...base, root: "/" })).to.deep.equal({
      refuse: "Error: install-local into / changes this machine's packages: confirm with --yes (or give --root DIR).",
    });
    expect(installLocalGate({ ...base, root: "/", interactive: true })).to.equal("ask");
    expect(installLocalGate({ ...base, root: "/", yes: true })).to.equal("go");
    expect(installLocalGate({ ...base, root: "/", yes: true, euid: 1000 })).to.deep.equal({
      refuse: "Error: install-local into / changes this machine's packages: run it as root (or give --root DIR).",
    });
  });

  it("without --root and without a terminal it refuses before starting anything", async () => {
    let stdout = "";
    let stderr = "";
    // An endpoint nobody listens on: even a wrong "go" could not install anything from it.
    const rc = await main(["--endpoint", "127.0.0.1:1", "install-local", "--hostname", "nobody"], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: Readable.from([]),
      env: {},
      isTTY: false,
      columns: undefined,
    });
    expect({ rc, stdout }).to.deep.equal({ rc: 1, stdout: "" });
    expect(stderr).to.match(/^Error: install-local into \/ changes this machine's packages: (confirm with --yes|run it as root)/);
  });
});
