import { expect } from "chai";
import { existsSync, promises as fsp } from "node:fs";
import * as path from "node:path";
import { AgentState } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";
import { makeTempRoot } from "../../lib/base-feed.js";
import { HostAgent } from "../../../server/agent/host-agent.js";
import { hostPaths } from "../../../server/agent/host-paths.js";
import { loadAgentState, saveAgentState } from "../../../server/agent/state-file.js";
import { createLogger } from "../../../server/lib/log.js";
import { nthAddress, parseAgentArgs } from "../../../server/agent/main.js";

describe("agent host state", function () {
  this.timeout(30000);
  const logger = createLogger({ level: "silent" });

  it("turns an install interrupted by an agent restart into install-failed and says so in the hello", async () => {
    const root = makeTempRoot();
    const paths = hostPaths(root);
    await saveAgentState(root, { state: "installing", installReason: "", requiresReboot: false, interruptedOperationId: "" });
    await fsp.mkdir(path.dirname(paths.patchInstalling), { recursive: true });
    await fsp.writeFile(paths.patchInstalling, "op-7\n");
    const host = new HostAgent({ root, hostname: "controller-0", personality: "controller", subfunctions: ["controller", "worker"], logger });
    await host.start();
    await host.initRpmDb();
    const hello = await host.buildHello();
    expect(hello).to.deep.include({
      state: AgentState.AGENT_STATE_INSTALL_FAILED,
      installReason: "agent restarted during install",
      interruptedOperationId: "op-7",
      subfunctions: ["controller", "worker"],
      packages: [],
    });
    expect(existsSync(paths.patchInstalling)).to.equal(false);
    expect(await loadAgentState(root)).to.deep.equal({
      state: "install-failed",
      installReason: "agent restarted during install",
      requiresReboot: false,
      interruptedOperationId: "op-7",
    });
  });

  it("parses the command line with the reference defaults", () => {
    const c = parseAgentArgs([
      "--controller",
      "127.0.0.1:1",
      "--hostname",
      "compute",
      "--personality",
      "worker",
      "--root",
      "/tmp/r",
      "--simulate",
      "3",
      "--mgmt-ip",
      "192.168.204.10",
    ]);
    expect(c).to.deep.include({ subfunctions: ["worker"], release: "19.09", simulate: 3, provision: false });
    expect([0, 1, 2].map((i) => nthAddress(c.mgmtIp, i))).to.deep.equal(["192.168.204.10", "192.168.204.11", "192.168.204.12"]);
    expect(() => parseAgentArgs(["--hostname", "x"])).to.throw("--controller is required");
  });
});
