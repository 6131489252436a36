/**
 * Issue 16, point 11: the agent stays in its root. A root whose logs, state, flags, scripts or
 * download dirs are symlinks out of it (planted by a package) must not make the agent read, write
 * or remove anything outside the root. Every test keeps an "outside" directory next to the root
 * and checks that its content is byte-for-byte unchanged.
 */
import { expect } from "chai";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  promises as fsp,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm, makeTempRoot, toDesired, type FeedPackage } from "../../lib/base-feed.js";
import type { DesiredPackage } from "../../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { converge, recoverInterruptedInstall, runPatchScripts, type FetchPackageFn } from "../../../server/agent/installer.js";
import { HostAgent } from "../../../server/agent/host-agent.js";
import { hostPaths } from "../../../server/agent/host-paths.js";
import { rpmInitDb, rpmUpgrade } from "../../../server/agent/rpm.js";
import { loadAgentState, saveAgentState, INITIAL_AGENT_STATE } from "../../../server/agent/state-file.js";
import { mkdirInRoot, openLogInRoot, UnsafeRootPathError, readFileInRoot, resolveInRoot, rmInRoot, writeFileInRootAtomic } from "../../../server/agent/root-fs.js";
import { createLogger } from "../../../server/lib/log.js";

/** Every file under `dir` with its content ("-> target" for symlinks), sorted. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isSymbolicLink()) out[rel] = "-> " + readlinkSync(p);
      else if (st.isDirectory()) {
        out[rel + "/"] = "";
        walk(p);
      } else out[rel] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

describe("agent: stays inside its root (issue 16.11)", function () {
  this.timeout(120000);
  let outside: string;
  let outsideFile: string;
  let outsideBefore: Record<string, string>;
  const logger = createLogger({ level: "silent" });

  beforeEach(() => {
    outside = mkdtempSync(path.join(os.tmpdir(), "swpatch-outside-"));
    outsideFile = path.join(outside, "outside-file");
    writeFileSync(outsideFile, "original content\n");
    // Names the agent would write, present outside so that a removal or an overwrite shows.
    for (const d of ["patch-scripts", "patching", "downloads", "sw-patch-agent"]) {
      mkdirSync(path.join(outside, d), { recursive: true });
      writeFileSync(path.join(outside, d, "keep"), "keep\n");
    }
    outsideBefore = snapshot(outside);
  });
  afterEach(() => {
    expect(snapshot(outside), "the directory outside the root").to.deep.equal(outsideBefore);
    rmSync(outside, { recursive: true, force: true });
  });

  function link(root: string, rel: string, target: string) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    symlinkSync(target, path.join(root, rel));
  }

  describe("root-fs", () => {
    it("resolves symlinks like a chroot: absolute targets and .. stay in the root", async () => {
      const root = makeTempRoot();
      const real = await fsp.realpath(root);
      link(root, "var/run", "/run");
      link(root, "var/log", outside);
      link(root, "a/up", "../../../../../../../../..");
      expect(await resolveInRoot(root, "var/run/flag")).to.equal(path.join(real, "run/flag"));
      expect(await resolveInRoot(root, "var/log/x.log")).to.equal(path.join(real, outside, "x.log"));
      expect(await resolveInRoot(root, "a/up/etc/passwd")).to.equal(path.join(real, "etc/passwd"));
      link(root, "loop", "loop");
      await resolveInRoot(root, "loop/x").then(
        () => expect.fail("resolved a loop"),
        (e: unknown) => expect(e).to.be.instanceOf(UnsafeRootPathError),
      );
      await resolveInRoot(root, "/etc/passwd").then(
        () => expect.fail("accepted a path outside the root"),
        (e: unknown) => expect(e).to.be.instanceOf(UnsafeRootPathError),
      );
    });

    it("replaces a symlinked log with a regular file and never appends to the link's target", async () => {
      const root = makeTempRoot();
      const log = hostPaths(root).insvcLog;
      link(root, "var/log/patching-insvc.log", outsideFile);
      const heard: string[] = [];
      const fh = await openLogInRoot(root, log, (w) => heard.push(w));
      await fh.write("patch-controlled text\n");
      await fh.close();
      expect(heard).to.deep.equal([`a symlink to ${outsideFile}`]);
      expect(lstatSync(log).isFile()).to.equal(true);
      expect(readFileSync(log, "utf8")).to.equal("patch-controlled text\n");
    });

    it("creates files under a symlinked directory inside the root, not at its target", async () => {
      const root = makeTempRoot();
      link(root, "var/log", outside);
      link(root, "var/lib", "../../../../../../../../../../" + outside);
      const fh = await openLogInRoot(root, hostPaths(root).insvcLog);
      await fh.write("x\n");
      await fh.close();
      await writeFileInRootAtomic(root, hostPaths(root).stateFile, "{}\n");
      expect(readFileSync(path.join(root, outside, "patching-insvc.log"), "utf8")).to.equal("x\n");
      expect(readFileSync(path.join(root, outside, "sw-patch-agent", "state.json"), "utf8")).to.equal("{}\n");
    });

    it("atomic writes replace a symlink; reads refuse one; rm removes the link only", async () => {
      const root = makeTempRoot();
      link(root, "var/run/node_is_patched", outsideFile);
      await writeFileInRootAtomic(root, hostPaths(root).nodeIsPatched, "");
      expect(lstatSync(hostPaths(root).nodeIsPatched).isFile()).to.equal(true);
      link(root, "var/run/patch_installing", outsideFile);
      await readFileInRoot(root, hostPaths(root).patchInstalling).then(
        () => expect.fail("read through a symlink"),
        (e: unknown) => expect(e).to.be.instanceOf(UnsafeRootPathError),
      );
      link(root, "run/patching", outside);
      await rmInRoot(root, hostPaths(root).patchScripts, { recursive: true }); // <root>/<outside>/patch-scripts: absent
      await rmInRoot(root, "run/patching", { recursive: true });
      expect(existsSync(path.join(root, "run/patching"))).to.equal(false);
      const dir = await mkdirInRoot(root, hostPaths(root).patchScripts, 0o700);
      expect(dir).to.equal(path.join(await fsp.realpath(root), "run/patching/patch-scripts"));
    });
  });

  describe("the agent's own files", () => {
    it("state.json as a symlink: not read, replaced on save", async () => {
      const root = makeTempRoot();
      writeFileSync(outsideFile, JSON.stringify({ state: "install-failed", installReason: "read from outside" }));
      outsideBefore = snapshot(outside);
      link(root, "var/lib/sw-patch-agent/state.json", outsideFile);
      const warnings: string[] = [];
      expect(await loadAgentState(root, (m) => warnings.push(m))).to.deep.equal(INITIAL_AGENT_STATE);
      expect(warnings.join()).to.match(/symlink/);
      await saveAgentState(root, { ...INITIAL_AGENT_STATE, installReason: "saved" });
      expect(lstatSync(hostPaths(root).stateFile).isFile()).to.equal(true);
    });

    it("a symlinked state dir, /var/run and /run: start, lock, unlock and reboot stay in the root", async () => {
      const root = makeTempRoot();
      link(root, "var/lib/sw-patch-agent", path.join(outside, "sw-patch-agent"));
      link(root, "var/run", outside);
      link(root, "run", outside);
      link(root, `${outside.slice(1)}/patch_installing`, outsideFile); // the flag, as the root sees it
      const host = new HostAgent({ root, hostname: "h", personality: "controller", logger, rebootDelayMs: 0 });
      await host.start();
      expect(host.state.state).to.equal("install-failed"); // the flag said an install was interrupted
      expect(host.state.interruptedOperationId).to.equal(""); // ... but its target was not read
      await host.setLocked(true, false);
      await host.setLocked(false, false);
      await host.reboot("r1");
      expect(readFileSync(path.join(root, outside, "sw-patch-agent", "state.json"), "utf8")).to.contain('"state": "idle"');
    });

    it("recoverInterruptedInstall does not read a symlinked patch_installing", async () => {
      const root = makeTempRoot();
      writeFileSync(outsideFile, "secret-first-line\n");
      outsideBefore = snapshot(outside);
      link(root, "var/run/patch_installing", outsideFile);
      expect(await recoverInterruptedInstall(root)).to.deep.equal({ operationId: "", reason: "agent restarted during install" });
      expect(existsSync(hostPaths(root).patchInstalling)).to.equal(false);
    });

    it("converge with symlinked scripts, flags and download dirs leaves the outside alone", async () => {
      const root = makeTempRoot();
      await rpmInitDb(root);
      link(root, "run/patching", outside);
      link(root, "var/cache/sw-patch-agent", outside);
      const dests: string[] = [];
      const fetch: FetchPackageFn = async (_pkg, ctx) => {
        dests.push(ctx.destPath);
        throw new Error("offline");
      };
      const desired: DesiredPackage[] = [{ name: "p", epoch: "", version: "1", release: "1", arch: "noarch", fileName: "p-1-1.noarch.rpm", sha256: "00", sizeBytes: 0 }];
      const res = await converge(root, { desired, fetch, operationId: "op-1" });
      expect(res.failedReason).to.equal("install failed: offline");
      const real = await fsp.realpath(root);
      expect(dests).to.have.length(1);
      expect(dests[0]!.startsWith(real + path.sep), dests[0]).to.equal(true);
      expect(dests[0]).to.equal(path.join(real, outside, "downloads", "op-1", "p-1-1.noarch.rpm"));
    });

    it("FIFOs and device nodes in place of the agent's files neither block it nor get read or written", async () => {
      const root = makeTempRoot();
      const p = hostPaths(root);
      mkdirSync(path.dirname(p.insvcLog), { recursive: true });
      mkdirSync(path.dirname(p.patchInstalling), { recursive: true });
      mkdirSync(p.agentDir, { recursive: true });
      execFileSync("mkfifo", [p.insvcLog]);
      execFileSync("mkfifo", [p.patchInstalling]);
      execFileSync("mknod", [p.stateFile, "c", "1", "5"]); // /dev/zero: endless bytes if read
      const heard: string[] = [];
      const fh = await openLogInRoot(root, p.insvcLog, (w) => heard.push(w));
      await fh.write("x\n");
      await fh.close();
      expect(heard).to.deep.equal(["not a regular file"]);
      expect(readFileSync(p.insvcLog, "utf8")).to.equal("x\n");
      expect(await recoverInterruptedInstall(root)).to.deep.equal({ operationId: "", reason: "agent restarted during install" });
      const warnings: string[] = [];
      expect(await loadAgentState(root, (m) => warnings.push(m))).to.deep.equal(INITIAL_AGENT_STATE);
      expect(warnings.join()).to.match(/not a regular file/);
      await saveAgentState(root, INITIAL_AGENT_STATE);
      expect(lstatSync(p.stateFile).isFile()).to.equal(true);
    });

    it("rpm is not run when its database path in the root is a symlink", async () => {
      const root = makeTempRoot();
      link(root, "root/.rpmdb", outside);
      await rpmInitDb(root).then(
        () => expect.fail("ran rpm --initdb"),
        (e: unknown) => expect(e).to.be.instanceOf(UnsafeRootPathError),
      );
      const res = await converge(root, { desired: [], fetch: async () => "", operationId: "op-2" });
      expect(res.failedReason).to.match(/^install failed: Refusing to run rpm: its database path .* goes through a symlink$/);
    });

    it("runPatchScripts ignores a script symlinked out of the root", async () => {
      const root = makeTempRoot();
      writeFileSync(outsideFile, "#!/bin/sh\necho hi\n");
      chmodSync(outsideFile, 0o755);
      outsideBefore = snapshot(outside);
      link(root, "run/patching/patch-scripts/10-out", outsideFile);
      const r = await runPatchScripts(root);
      expect(r).to.deep.equal({ ran: [], failed: [] }); // <root>/<outsideFile> does not exist in the root
    });
  });

  describe("with a real RPM that ships the symlinks", () => {
    let feed: FeedPackage[];
    before(async () => {
      feed = (await buildBaseFeed()).packages;
    });

    async function provisioned(): Promise<string> {
      const root = makeTempRoot();
      await rpmInitDb(root);
      await rpmUpgrade(
        root,
        feed.map((p) => p.file),
      );
      return root;
    }

    function localFetch(pkgs: FeedPackage[]): FetchPackageFn {
      return async (pkg, ctx) => {
        const src = pkgs.find((p) => p.sha256 === pkg.sha256);
        if (!src) throw new Error(`no package ${pkg.sha256}`);
        await fsp.copyFile(src.file, ctx.destPath);
        return ctx.destPath;
      };
    }

    it("a patch shipping /var/log/patching-insvc.log -> outside: the restart script's output stays in the root", async () => {
      const root = await provisioned();
      const evil = await buildPayloadRpm({
        name: "pkg-a",
        version: "6.6",
        files: [{ path: "/var/log/patching-insvc.log", symlink: outsideFile }],
        scripts: {
          post: 'mkdir -p /run/patching/patch-scripts\nprintf "#!/bin/sh\\necho PATCH-CONTROLLED-TEXT\\n" > /run/patching/patch-scripts/10-evil\nchmod 700 /run/patching/patch-scripts/10-evil',
        },
      });
      expect(lstatSync(outsideFile).isFile()).to.equal(true);
      const warnings: string[] = [];
      const desired = [...feed.filter((p) => p.name !== "pkg-a"), evil].map(toDesired);
      const res = await converge(root, { desired, fetch: localFetch([...feed, evil]), onWarning: (m) => warnings.push(m) });
      expect(res.failedReason).to.equal(undefined);
      expect(res.scriptsRun).to.deep.equal(["10-evil"]);
      const log = hostPaths(root).insvcLog;
      expect(lstatSync(log).isFile()).to.equal(true);
      expect(readFileSync(log, "utf8")).to.contain("PATCH-CONTROLLED-TEXT");
      expect(warnings.join("\n")).to.contain(`was a symlink to ${outsideFile}; replaced it with a regular file`);
    });

    it("a patch shipping /var/log -> outside dir: the log is created inside the root", async () => {
      const root = await provisioned();
      const evil = await buildPayloadRpm({
        name: "pkg-b",
        version: "6.6",
        files: [{ path: "/var/log", symlink: outside }],
        scripts: { post: 'mkdir -p /run/patching/patch-scripts\nprintf "echo HELLO\\n" > /run/patching/patch-scripts/20-b\nchmod 700 /run/patching/patch-scripts/20-b' },
      });
      const desired = [...feed.filter((p) => p.name !== "pkg-b"), evil].map(toDesired);
      const res = await converge(root, { desired, fetch: localFetch([...feed, evil]) });
      expect(res.failedReason).to.equal(undefined);
      expect(res.scriptsRun).to.deep.equal(["20-b"]);
      expect(readFileSync(path.join(root, outside, "patching-insvc.log"), "utf8")).to.contain("HELLO");
    });
  });
});
