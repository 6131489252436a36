import { expect } from "chai";
import { AGENT_LIMITS, checkHello, checkReport, clipText } from "../../../../server/domain/hosts/agent-fields.js";
import type { AgentHelloInput } from "../../../../server/domain/hosts/agent-types.js";

function hello(o: Partial<AgentHelloInput> = {}): AgentHelloInput {
  return {
    hostname: "w0",
    personality: "worker",
    subfunctions: ["worker", "lowlatency"],
    release: "19.09",
    mgmtIp: "192.168.204.7",
    packages: [{ name: "sysinv", epoch: "", version: "1.0", release: "1", arch: "noarch" }],
    requiresReboot: false,
    state: "idle",
    installReason: "",
    instances: [],
    interruptedOperationId: "",
    provision: false,
    installRequest: false,
    ...o,
  };
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect((e as { kind: string }).kind).to.equal("invalid-argument");
    return (e as Error).message;
  }
  throw new Error("accepted");
}

describe("agent-reported fields", () => {
  it("accepts a well-formed hello (IPv4, IPv6, no address)", () => {
    for (const mgmtIp of ["192.168.204.7", "fd00::7", ""]) expect(checkHello(hello({ mgmtIp })).mgmtIp).to.equal(mgmtIp);
  });

  it("refuses a mgmt_ip that is no IP address, naming the field", () => {
    for (const mgmtIp of ["unknown", "controller-0", "1.2.3.4:22", "\x1b]0;title\x07", "10.0.0.1 "]) {
      expect(refusal(() => checkHello(hello({ mgmtIp })))).to.match(/^hello\.mgmt_ip: not an IP address: /);
    }
  });

  it("refuses a release or subfunction off its pattern, and too many subfunctions", () => {
    expect(refusal(() => checkHello(hello({ release: "../../etc" })))).to.match(/^hello\.release: invalid release/);
    expect(refusal(() => checkHello(hello({ release: "\x1b[31m" })))).to.match(/^hello\.release: invalid release/);
    expect(refusal(() => checkHello(hello({ subfunctions: ["worker", "\x1b[2J"] })))).to.match(/^hello\.subfunctions: invalid subfunction/);
    expect(refusal(() => checkHello(hello({ subfunctions: ["a".repeat(33)] })))).to.match(/at most 32 characters/);
    expect(refusal(() => checkHello(hello({ subfunctions: Array(9).fill("worker") })))).to.equal("hello.subfunctions: at most 8, got 9");
  });

  it("refuses oversized package and instance fields and lists; clips free text", () => {
    const big = "x".repeat(AGENT_LIMITS.packageFieldChars + 1);
    expect(refusal(() => checkHello(hello({ packages: [{ name: big, epoch: "", version: "1", release: "1", arch: "x" }] })))).to.equal(
      "hello.packages.name: at most 255 characters",
    );
    expect(
      refusal(() => checkReport({ packages: [], requiresReboot: false, state: "idle", installReason: "", instances: [{ uuid: "u", name: big, state: "running" }] })),
    ).to.equal("report.instances.name: at most 255 characters");
    const r = checkReport({ packages: [], requiresReboot: false, state: "install-failed", installReason: "e".repeat(1_000_000), instances: [] });
    expect(r.installReason.length).to.equal(AGENT_LIMITS.textChars);
    expect(r.installReason.endsWith("… (truncated)")).to.equal(true);
    expect(clipText("short")).to.equal("short");
  });
});
