import { expect } from "chai";
import { main, USAGE } from "../../../tools/patch-build/cli.js";

describe("patch_build --help", () => {
  it("says what a bare RPM does, and exits 0 with the help on stdout", async () => {
    expect(USAGE).to.match(/A bare RPM \(one in <rpm list>, given without a node-type option\)/);
    expect(USAGE).to.include("installs nothing\non a host that lacks it");
    const written: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
    let rc: number;
    try {
      rc = await main(["--help"]);
    } finally {
      process.stdout.write = orig;
    }
    expect(rc).to.equal(0);
    expect(written.join("")).to.equal(USAGE);
  });
});
