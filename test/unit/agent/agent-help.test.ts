import { expect } from "chai";
import { AGENT_HELP, AGENT_OPTIONS, main } from "../../../server/agent/main.js";

describe("sw-patch-agent --help", () => {
  it("describes every flag the agent accepts", () => {
    const missing = Object.keys(AGENT_OPTIONS).filter((k) => !new RegExp(`^ +(-\\w, )?--${k}\\b`, "m").test(AGENT_HELP));
    expect(missing).to.deep.equal([]);
  });

  it("prints the help on stdout and exits 0, even with other flags missing", async () => {
    const written: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    let rc: number;
    try {
      rc = await main(["--help"]);
    } finally {
      process.stdout.write = orig;
    }
    expect(rc).to.equal(0);
    expect(written.join("")).to.equal(AGENT_HELP);
  });
});
