import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAgentArgs } from "../../../server/agent/main.js";
import { defaultRebootMode, systemReboot, type SystemRebootMode } from "../../../server/agent/reboot.js";
import { loadAgentState, saveAgentState, INITIAL_AGENT_STATE } from "../../../server/agent/state-file.js";

describe("agent reboot modes", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-reboot-unit-"));
    writeFileSync(path.join(dir, "boot_id"), "b-1\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (command: string, waitMs = 50): SystemRebootMode => ({ mode: "system", command, bootIdFile: path.join(dir, "boot_id"), waitMs });

  it("reboots for real only on --root / unless told otherwise", () => {
    const base = ["--controller", "127.0.0.1:1", "--hostname", "h", "--personality", "worker"];
    expect(defaultRebootMode("/")).to.equal("system");
    expect(parseAgentArgs([...base, "--root", "/"]).reboot).to.deep.equal({
      mode: "system",
      command: "systemctl reboot",
      bootIdFile: "/proc/sys/kernel/random/boot_id",
      waitMs: 600_000,
    });
    expect(parseAgentArgs([...base, "--root", dir]).reboot).to.deep.equal({ mode: "simulate", delayMs: 200 });
    expect(parseAgentArgs([...base, "--root", dir, "--reboot-mode", "system", "--reboot-command", "/sbin/reboot -f"]).reboot).to.include({
      mode: "system",
      command: "/sbin/reboot -f",
    });
    expect(parseAgentArgs([...base, "--root", "/", "--reboot-mode", "simulate"]).reboot.mode).to.equal("simulate");
    expect(() => parseAgentArgs([...base, "--root", dir, "--reboot-mode", "halt"])).to.throw("--reboot-mode must be system or simulate");
    expect(() => parseAgentArgs([...base, "--root", dir, "--reboot-command", " "])).to.throw("--reboot-command must not be empty");
  });

  it("saves the boot id before running the command, and names a failing command with its output", async () => {
    const saved: string[] = [];
    const reason = await systemReboot(mode("echo 'Failed to reboot' >&2; exit 4"), async (b) => void saved.push(b));
    expect(saved).to.deep.equal(["b-1"]);
    expect(reason).to.equal("reboot command `echo 'Failed to reboot' >&2; exit 4` exited with 4: Failed to reboot");
  });

  it("a host still up after the wait did not reboot; a shutdown (abort) during the wait is no failure", async () => {
    expect(await systemReboot(mode("true", 20), async () => undefined)).to.equal("the host did not reboot within 0 s of `true`");
    const ac = new AbortController();
    const p = systemReboot(mode("true", 60_000), async () => undefined, ac.signal);
    setTimeout(() => ac.abort(), 50);
    expect(await p).to.equal(undefined);
    expect(await systemReboot({ ...mode("true"), bootIdFile: path.join(dir, "missing") }, async () => undefined)).to.equal(
      `cannot read the boot id from ${path.join(dir, "missing")}`,
    );
  });

  it("keeps a pending reboot in state.json across a restart, and ignores a malformed one", async () => {
    const root = path.join(dir, "root");
    await saveAgentState(root, { ...INITIAL_AGENT_STATE, pendingReboot: { requestId: "r-1", bootId: "b-1" } });
    expect((await loadAgentState(root)).pendingReboot).to.deep.equal({ requestId: "r-1", bootId: "b-1" });
    writeFileSync(path.join(root, "var/lib/sw-patch-agent/state.json"), JSON.stringify({ state: "idle", pendingReboot: { requestId: 7 } }));
    expect((await loadAgentState(root)).pendingReboot).to.equal(undefined);
  });
});
