import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { SEED_HOSTS, startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY, REPO_ROOT } from "../lib/controller-harness.js";

/** Debian's python (`python3` on PATH may be a pyenv without the apt modules). */
const PYTHON = "/usr/bin/python3";
const PY_DIR = path.join(REPO_ROOT, "clients/python");
const APT_LINE = "apt-get install -y python3-grpcio python3-protobuf python3-venv python3-pip python3-setuptools python3-wheel";

/** Why the Python client cannot be installed and run here, or undefined when it can. */
function pythonMissing(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import grpc, google.protobuf, venv, ensurepip, setuptools, wheel"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} not found`;
  if (r.status !== 0) return `${PYTHON} cannot import grpc/protobuf/venv/setuptools/wheel (${r.stderr.trim().split("\n").pop()})`;
  return undefined;
}

interface PyResult {
  rc: number;
  stderr: string;
  stdout: string;
  lines: Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON lines the Python client prints
}

/** Runs a Python with no PYTHONPATH (the installed package must be found on its own). */
function runPython(python: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<PyResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1" };
    delete env.PYTHONPATH;
    delete env.PYTHONHOME;
    delete env.VIRTUAL_ENV;
    const p = spawn(python, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(t);
      const lines = out
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => {
          try {
            return JSON.parse(l) as PyResult["lines"][number];
          } catch {
            return { step: "unparsed", text: l };
          }
        });
      resolve({ rc: code ?? -1, stderr: err, stdout: out, lines });
    });
  });
}

/** The documented install, run for real: a venv that sees Debian's grpcio/protobuf, then pip
 * with no index and no build isolation (setuptools from python3-setuptools), so nothing is
 * downloaded. `./clients/python` is a copy of the package in `work` (the build writes build/ and
 * *.egg-info next to the sources, which must not land in the checkout). */
async function installInVenv(work: string): Promise<{ python: string; pkgRoot: string; install: PyResult }> {
  const pkgRoot = path.join(work, "checkout");
  cpSync(PY_DIR, path.join(pkgRoot, "clients/python"), {
    recursive: true,
    filter: (src) => !/(^|[\\/])(build|__pycache__|[^\\/]*\.egg-info)$/.test(src),
  });
  const venv = path.join(work, "venv");
  const made = await runPython(PYTHON, ["-m", "venv", "--system-site-packages", venv], work, 120_000);
  expect(made.rc, made.stderr).to.equal(0);
  const python = path.join(venv, "bin/python");
  const install = await runPython(python, ["-m", "pip", "install", "--no-index", "--no-build-isolation", "./clients/python"], pkgRoot, 180_000);
  return { python, pkgRoot, install };
}

describe("Python client (clients/python, pip-installed in a venv) against a real cluster", function () {
  this.timeout(600_000);
  const hosts = SEED_HOSTS.filter((h) => ["controller-0", "controller-1", "compute-0"].includes(h.hostname));
  let cluster: Cluster | undefined;
  let work: string | undefined;
  let venvPython: string;
  let pkgRoot: string;
  let install: PyResult;
  let unit: PyResult;
  let result: PyResult;

  before(async function () {
    const missing = pythonMissing();
    if (missing) {
      console.log(`    skipped: ${missing}; install with: ${APT_LINE}`);
      this.skip();
    }
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-py-"));
    const patchDir = path.join(work, "patches");
    mkdirSync(patchDir);
    const sysinv = (release: string) => buildPayloadRpm({ name: "sysinv", version: "1.0", release });
    const helper = await buildPayloadRpm({ name: "sysinv-helper", version: "1.0", release: "1" });
    const build = async (id: string, extra: string[]) => {
      const b = await runCli("patch_build", [
        "--id",
        id,
        "--release",
        "19.09",
        "--summary",
        `sysinv fix ${id}`,
        "--status",
        "REL",
        "--reboot-required",
        "N",
        "--key",
        DEV_KEY,
        "--output-dir",
        patchDir,
        ...extra,
      ]);
      expect(b.rc, b.stderr).to.equal(0);
    };
    await build("001", ["--controller", helper.file, (await sysinv("2")).file]);
    await build("002", ["--req", "001", (await sysinv("3")).file]);
    await build("003", ["--req", "002", (await sysinv("4")).file]);
    const baseRpm = (await buildPayloadRpm({ name: "py-extra", version: "1.0", release: "1" })).file;
    const trustPem = path.join(work, "extra-key.pem");
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(trustPem, publicKey.export({ type: "spki", format: "pem" }));

    ({ python: venvPython, pkgRoot, install } = await installInVenv(work));
    expect(install.rc, `${install.stdout}\n${install.stderr}`).to.equal(0);
    unit = await runPython(venvPython, ["-m", "unittest", "discover", "-s", "clients/python/tests", "-p", "test_*.py", "-v"], pkgRoot);

    cluster = await startCluster({ hosts, baseFeed: feed.dir, controller: { extraArgs: ["--time-scale", "0.01"] } });
    const scenario = path.join(pkgRoot, "clients/python/tests/scenario.py");
    result = await runPython(
      venvPython,
      [scenario, cluster.controller.endpoint, cluster.controller.adminToken, patchDir, trustPem, baseRpm, "controller-0", "controller-1", "compute-0"],
      work,
    );
  });

  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const steps = (name: string) => result.lines.filter((l) => l.step === name);
  const one = (name: string) => {
    const s = steps(name);
    expect(s, `no "${name}" line in:\n${JSON.stringify(result.lines, null, 1)}\n${result.stderr}`).to.have.length.greaterThan(0);
    return s[0]!;
  };
  const error = (name: string) => {
    const e = steps("error").find((l) => l.case === name);
    expect(e, `no error line for ${name}`).to.not.equal(undefined);
    return e!;
  };

  it("installs with pip (no index, no build isolation) into a venv, and the scenario imports it from there", () => {
    expect(install.rc, install.stderr).to.equal(0);
    expect(install.stdout).to.match(/Successfully installed swpatch-client-0\.1\.0/);
    const mod = one("module");
    expect(mod.file.startsWith(path.join(work!, "venv/lib/")), mod.file).to.equal(true);
    expect(mod.file).to.match(/\/lib\/python3\.\d+\/site-packages\/swpatch_client\/__init__\.py$/);
    expect(mod.version).to.equal("0.1.0");
  });

  it("passes its unit tests (watch_events resume, deadlines, chunked upload, typed errors) from the venv", () => {
    expect(unit.rc, unit.stderr).to.equal(0);
    expect(unit.stderr).to.match(/Ran \d+ tests/);
    expect(unit.stderr).to.match(/\nOK\s*$/);
    expect(unit.stderr).to.match(/test_watch_events_resumes_after_unavailable_without_loss_or_repeat .* ok/);
  });

  it("runs the scenario to the end (exit 0)", () => {
    expect(result.rc, `${JSON.stringify(result.lines, null, 1)}\n${result.stderr}`).to.equal(0);
    expect(result.lines.at(-1)).to.deep.equal({ step: "done" });
    expect(steps("crash")).to.deep.equal([]);
  });

  it("uploads (client streaming), shows and queries the patch", () => {
    expect(one("upload")).to.deep.include({ patch_id: "001", info: "001 is now available" });
    expect(steps("query")[0]!.states).to.deep.equal({ "001": "Available" });
    expect(one("show")).to.deep.include({ ids: ["001"], unrecognized: ["nope"], release: "19.09", reboot_required: false });
  });

  it("applies: 001 in the repo, Partial-Apply, every host Patch Current No", () => {
    expect(one("apply")).to.deep.equal({ step: "apply", info: "001 is now in the repo", applied: ["001"] });
    expect(steps("query")[1]!.states).to.deep.equal({ "001": "Partial-Apply" });
    expect(steps("hosts")[0]!.hosts).to.deep.equal({ "compute-0": "No", "controller-0": "No", "controller-1": "No" });
  });

  it("installs with a streamed host_install and with host_install_async + watch_operation", () => {
    const installs = steps("install");
    expect(installs.map((i) => [i.host, i.mode, i.final, i.terminal])).to.deep.equal([
      ["controller-0", "stream", "done", true],
      ["controller-1", "async", "done", true],
      ["compute-0", "async", "done", true],
    ]);
    for (const i of installs) {
      expect(i.operation_id).to.be.a("string").and.not.equal("");
      expect(i.messages).to.be.greaterThan(1);
    }
    expect(steps("host_current").map((h) => [h.host, h.current])).to.deep.equal([
      ["controller-0", "Yes"],
      ["controller-1", "Yes"],
      ["compute-0", "Yes"],
    ]);
    const queries = steps("query").map((q) => q.states["001"]);
    expect(queries).to.deep.equal(["Available", "Partial-Apply", "Partial-Apply", "Partial-Apply", "Applied"]);
    expect(steps("hosts")[1]!.hosts).to.deep.equal({ "compute-0": "Yes", "controller-0": "Yes", "controller-1": "Yes" });
    expect(steps("get_operation").map((g) => [g.host, g.phase, g.terminal, g.same])).to.deep.equal([
      ["controller-1", "done", true, true],
      ["compute-0", "done", true, true],
    ]);
    expect(one("is_applied").result).to.equal(true);
    expect(one("get_host")).to.deep.include({ hostname: "controller-0", personality: "controller", connected: true });
  });

  it("maps gRPC errors to exception classes by the controller's reason, with code and details", () => {
    expect(error("apply-unknown")).to.deep.include({
      exception: "PatchNotFoundError",
      code: "NOT_FOUND",
      details: "Patch 999 does not exist",
      method: "ApplyPatches",
      reason: "PATCH_NOT_FOUND",
    });
    expect(error("apply-unknown").classes).to.deep.equal(["PatchNotFoundError", "NotFoundError", "SwPatchError"]);
    expect(error("install-unknown-host")).to.deep.include({ exception: "HostNotFoundError", code: "NOT_FOUND", method: "InstallHost", reason: "HOST_NOT_FOUND" });
    expect(error("install-unknown-host").details).to.include("no-such-host");
    expect(error("get-host-unknown")).to.deep.include({ exception: "HostNotFoundError", method: "GetHost", reason: "HOST_NOT_FOUND" });
    expect(error("operation-unknown")).to.deep.include({ exception: "OperationNotFoundError", code: "NOT_FOUND", reason: "OPERATION_NOT_FOUND" });
    // A PatchService call whose missing thing is a release: the class follows the reason.
    expect(error("del-release-unknown")).to.deep.include({
      exception: "ReleaseNotFoundError",
      code: "NOT_FOUND",
      method: "DelRelease",
      reason: "RELEASE_NOT_FOUND",
      details: "Release 99.99 is not known",
    });
    expect(error("upload-bad-name")).to.deep.include({ exception: "InvalidArgumentError", code: "INVALID_ARGUMENT", method: "UploadPatch", reason: "BAD_FILE_NAME" });
    expect(error("bad-token")).to.deep.include({ exception: "UnauthenticatedError", code: "UNAUTHENTICATED", reason: "TOKEN_INVALID" });
  });

  it("what_requires, query_dependencies (direct and recursive), is_available", () => {
    expect(steps("upload_more").map((u) => u.patch_id)).to.deep.equal(["002", "003"]);
    expect(one("what_requires").requirements).to.deep.equal({ "001": ["002"], "002": ["003"], "003": [] });
    expect(one("query_dependencies")).to.deep.include({ direct: ["002", "003"], recursive: ["001", "002", "003"] });
    expect(one("is_available").result).to.equal(true);
    expect(error("query-dependencies-unknown")).to.deep.include({ exception: "PatchNotFoundError", reason: "PATCH_NOT_FOUND", details: "nope is unrecognized" });
  });

  it("apply, remove and delete refuse with PreconditionError and the reason; remove then delete 003", () => {
    expect(error("apply-requirement-missing")).to.deep.include({
      exception: "PreconditionError",
      code: "FAILED_PRECONDITION",
      method: "ApplyPatches",
      reason: "REQUIREMENT_NOT_APPLIED",
      details: "002 is required by: 003",
    });
    expect(one("apply_more").applied).to.deep.equal(["002", "003"]);
    expect(error("remove-required")).to.deep.include({
      exception: "PreconditionError",
      method: "RemovePatches",
      reason: "REQUIRED_BY_APPLIED",
      details: "002 is required by: 003",
    });
    expect(error("delete-applied")).to.deep.include({ exception: "PreconditionError", method: "DeletePatches", reason: "NOT_AVAILABLE" });
    expect(one("remove")).to.deep.include({ removed: ["003"], state: "Available" });
    expect(one("delete")).to.deep.include({ deleted: ["003"], states: { "001": "Applied", "002": "Partial-Apply" } });
  });

  it("tokens: create, list, a reader is denied writes (PermissionDeniedError), revoke (UnauthenticatedError)", () => {
    expect(one("token_create")).to.deep.include({ role: "reader", description: "python reader", has_secret: true, listed: true });
    expect(one("reader_query").ids).to.deep.equal(["001", "002"]);
    expect(error("reader-apply")).to.deep.include({
      exception: "PermissionDeniedError",
      code: "PERMISSION_DENIED",
      method: "ApplyPatches",
      reason: "ROLE_NOT_PERMITTED",
    });
    expect(error("reader-list-tokens")).to.deep.include({ exception: "PermissionDeniedError", method: "ListTokens" });
    expect(one("token_revoke").revoked).to.deep.equal([true]);
    expect(one("enroll")).to.deep.include({ token_prefix: "swpe_", personality: "worker", revoked_enrollments: true });
    expect(one("enroll").pending).to.deep.equal([["py-host", "pending"]]);
    expect(one("enroll").states).to.deep.equal(["revoked"]);
    expect(error("revoke-unknown-host")).to.deep.include({ exception: "NotFoundError", method: "RevokeHost" });
    expect(error("revoked-token")).to.deep.include({ exception: "UnauthenticatedError", code: "UNAUTHENTICATED", reason: "TOKEN_REVOKED" });
  });

  it("trusted keys: list, add, add again (AlreadyExistsError), remove; --trust keys cannot be removed", () => {
    expect(one("trust")).to.deep.include({
      // --trust dev and formal (the harness), then the controller's local signing key (a default).
      before: ["dev", "formal", "local"],
      added: "py-extra",
      fingerprint_len: 64,
      after_add: ["dev", "formal", "local", "py-extra"],
      after_remove: ["dev", "formal", "local"],
    });
    expect(error("trust-duplicate")).to.deep.include({ exception: "AlreadyExistsError", code: "ALREADY_EXISTS", reason: "TRUSTED_KEY_EXISTS" });
    expect(error("trust-remove-unknown")).to.deep.include({ exception: "NotFoundError", code: "NOT_FOUND", reason: "TRUSTED_KEY_NOT_FOUND" });
    expect(error("trust-remove-configured")).to.deep.include({ exception: "PreconditionError", reason: "TRUSTED_KEY_CONFIGURED" });
  });

  it("alarms: raise, list, get, clear", () => {
    expect(one("alarm")).to.deep.include({ raised: "100.101", listed: true, got: "python test alarm", cleared: true });
  });

  it("orchestration: no strategy is StrategyNotFoundError; create twice is AlreadyExistsError; abort before apply is refused", () => {
    for (const c of ["strategy-get-none", "strategy-delete-none", "strategy-apply-none", "strategy-get-deleted"]) {
      expect(error(c), c).to.deep.include({ exception: "StrategyNotFoundError", code: "NOT_FOUND", reason: "STRATEGY_NOT_FOUND" });
    }
    expect(one("strategy_create")).to.deep.include({ state: "building", uuid: true });
    expect(error("strategy-exists")).to.deep.include({ exception: "AlreadyExistsError", method: "CreateStrategy", reason: "STRATEGY_EXISTS" });
    expect(error("strategy-abort-not-applying")).to.deep.include({ exception: "PreconditionError", method: "AbortStrategy", reason: "ABORT_REJECTED" });
    expect(error("strategy-resume-not-paused")).to.deep.include({ exception: "PreconditionError", method: "ResumeStrategy", reason: "RESUME_REJECTED" });
  });

  it("orchestration: watch_strategy to ready-to-apply, apply stage 0 only, abort while paused, delete", () => {
    const built = one("strategy_built");
    expect(built.state, built.build_reason).to.equal("ready-to-apply");
    expect(built).to.deep.include({ controller_apply_type: "serial", alarm_restrictions: "relaxed", total_stages: 3 });
    expect(built.stages).to.deep.equal(["sw-patch-controllers", "sw-patch-controllers", "sw-patch-worker-hosts"]);
    expect(built.seen.at(-1)).to.equal("ready-to-apply");
    const stage0 = one("strategy_stage0");
    expect(stage0).to.deep.include({ state: "applying", current_stage: 1, stop_at_stage: 1 });
    expect(one("strategy_abort")).to.deep.include({ state: "aborted", apply_result: "aborted" });
    expect(one("strategy_get")).to.deep.include({ state: "aborted" });
  });

  it("orchestration: a second strategy applies every stage; every host current, 002 Applied", () => {
    // The host the aborted strategy's stage 0 installed needs no stage any more.
    expect(one("strategy2_built")).to.deep.include({ state: "ready-to-apply", stages: ["sw-patch-controllers", "sw-patch-worker-hosts"] });
    const done = one("strategy2_done");
    expect(done.state, `${done.apply_reason} ${JSON.stringify(done)}`).to.equal("applied");
    expect(done.seen).to.include("applying");
    expect(done.apply_result).to.equal("success");
    expect(one("after_strategy")).to.deep.include({
      hosts: { "compute-0": "Yes", "controller-0": "Yes", "controller-1": "Yes" },
      states: { "001": "Applied", "002": "Applied" },
    });
  });

  it("commit: the dry run changes nothing, the commit makes both patches Committed", () => {
    const dry = one("commit_dry_run");
    expect(dry.patch_ids).to.deep.equal(["001", "002"]);
    expect(dry.freed_bytes).to.be.greaterThan(0);
    expect(dry.info).to.match(/^This commit operation would free \d+\.\d\d MiB/);
    expect(dry.states).to.deep.equal({ "001": "Applied", "002": "Applied" });
    const c = one("commit");
    expect(c.patch_ids).to.deep.equal(["001", "002"]);
    expect(c.info).to.match(/committed/i);
    expect(c.states).to.deep.equal({ "001": "Committed", "002": "Committed" });
    expect(error("remove-committed")).to.deep.include({ exception: "PreconditionError", reason: "NOT_REMOVABLE" });
  });

  it("fetch_package streams a patch RPM by its sha256", () => {
    const f = one("fetch_package");
    expect(f.size).to.equal(f.expected);
    expect(f.size).to.be.greaterThan(0);
  });

  it("reads the audit log (paged): the calls the scenario made, denials included", () => {
    const a = one("audit");
    expect(a.increasing).to.equal(true);
    expect(a.actions).to.include.members([
      "UploadPatch",
      "ApplyPatches",
      "CommitPatches",
      "CreateToken",
      "RevokeToken",
      "AddTrustedKey",
      "CreateStrategy",
      "AbortStrategy",
    ]);
    expect(a.outcomes).to.include.members(["ok", "PERMISSION_DENIED", "FAILED_PRECONDITION"]);
    expect(one("audit_page")).to.deep.include({ ids_after_first: true, size: 2 });
  });

  it("replays the patch's events with watch_events (filtered by kind and patch)", () => {
    const ev = one("events");
    expect(ev.increasing).to.equal(true);
    const kinds = (ev.events as Array<{ kind: string; new_state: string }>).map((e) => e.kind);
    expect(kinds[0]).to.equal("patch.uploaded");
    expect(kinds).to.include("patch.state");
    expect(ev.events.at(-1).new_state).to.equal("Applied");
  });

  it("replays the whole event log, install progress included", () => {
    const ev = one("events_all");
    expect(ev.exception, JSON.stringify(ev)).to.equal(undefined);
    expect(ev.kinds).to.include.keys("patch.uploaded", "patch.state", "install.progress", "host.state");
  });

  it("the other calls: app dependencies, init/del release, import_base_package, lock/unlock, swact, drop", () => {
    expect(one("app_dependencies")).to.deep.include({ reported: { "py-app": ["002"] }, after_clear: {} });
    expect(one("releases")).to.deep.include({
      created: "Patch repository for 20.06 has been created",
      again: "Patch repository for 20.06 already exists",
      listed: true,
      deleted: true,
      after: false,
    });
    // Imported unsigned with the admin token: listed as unsigned, with its importer and time.
    expect(one("import_base_package")).to.deep.include({ name: "py-extra", file_name: "py-extra-1.0-1.noarch.rpm", added: [true, false], listed: [["", true, true]] });
    expect(error("import-bad-name")).to.deep.include({ exception: "InvalidArgumentError", method: "ImportBasePackage" });
    expect(one("lock_unlock")).to.deep.include({ locked: 1, unlocked: 2, rebooting: false }); // ADMIN_STATE_LOCKED, _UNLOCKED
    expect(error("unlock-unlocked")).to.deep.include({ exception: "PreconditionError", reason: "ALREADY_UNLOCKED" });
    expect(error("swact-worker")).to.deep.include({ exception: "PreconditionError", method: "SwactHost", reason: "NOT_CONTROLLER" });
    expect(one("swact")).to.deep.include({ before: ["controller-0"], after: "controller-1", flagged: ["controller-1"] });
    expect(one("drop_host")).to.deep.include({ info: "compute-0 has been dropped from the host table", back: true });
    expect(error("drop-unknown")).to.deep.include({ exception: "HostNotFoundError", method: "DropHost", reason: "HOST_NOT_FOUND" });
  });

  it("watch_events survives a controller kill -9 and restart: resumes after the last sequence, nothing lost or repeated", async () => {
    const c = cluster!;
    const after = Number((await c.clients.patches.getControllerInfo({})).lastEventSequence);
    const raise = (text: string) =>
      c.clients.hosts.raiseAlarm({
        alarmId: "100.101",
        entityInstanceId: "host=compute-0",
        severity: "minor",
        reasonText: text,
        mgmtAffecting: false,
        proposedRepairAction: "",
      });
    const first = (await raise("before restart")).alarm!.uuid;
    const script = [
      "import json, sys",
      "from swpatch_client import SwPatchClient",
      "c = SwPatchClient(sys.argv[1], token=sys.argv[2])",
      "def reconnect(attempt, delay, after, error):",
      "    print(json.dumps({'step': 'reconnect', 'after': after, 'error': type(error).__name__}), flush=True)",
      "n = 0",
      "for ev in c.watch_events(after_sequence=int(sys.argv[3]), kinds=['alarm.raised'], initial_backoff=0.1, max_backoff=1, timeout=120, on_reconnect=reconnect):",
      "    print(json.dumps({'step': 'event', 'seq': ev.sequence, 'uuid': ev.new_state}), flush=True)",
      "    n += 1",
      "    if n == 2:",
      "        break",
      "c.close()",
    ].join("\n");
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };
    delete env.PYTHONPATH;
    const p = spawn(venvPython, ["-c", script, c.controller.endpoint, c.controller.adminToken, String(after)], { cwd: work!, env, stdio: ["ignore", "pipe", "pipe"] });
    const lines: Array<Record<string, any>> = []; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON lines
    let err = "";
    let waiter: (() => void) | undefined;
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    let buf = "";
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const l of parts.filter((x) => x.trim())) lines.push(JSON.parse(l) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON lines
      waiter?.();
    });
    const exited = new Promise<number | null>((resolve) => p.on("close", resolve));
    const until = async (pred: () => boolean) => {
      while (!pred()) {
        const more = new Promise<void>((resolve) => (waiter = resolve));
        const code = await Promise.race([more.then(() => undefined), exited.then((x) => ({ x }))]);
        if (code && !pred()) throw new Error(`watcher exited (${code.x}): ${JSON.stringify(lines)}\n${err}`);
      }
    };
    let second = "";
    try {
      await until(() => lines.some((l) => l.step === "event"));
      await c.restartController();
      second = (await raise("after restart")).alarm!.uuid;
      expect(await exited, err).to.equal(0);
    } finally {
      if (p.exitCode === null) p.kill("SIGKILL");
    }
    const events = lines.filter((l) => l.step === "event");
    expect(events.map((e) => e.uuid)).to.deep.equal([first, second]);
    expect(events[0]!.seq).to.be.greaterThan(after);
    expect(events[1]!.seq).to.be.greaterThan(events[0]!.seq);
    const reconnects = lines.filter((l) => l.step === "reconnect");
    expect(reconnects.length, JSON.stringify(lines)).to.be.greaterThan(0);
    expect(reconnects[0]).to.deep.include({ after: events[0]!.seq });
    expect(lines.indexOf(reconnects[0]!)).to.be.lessThan(lines.indexOf(events[1]!));
  });

  it("maps an unreachable controller to UnavailableError", async () => {
    const r = await runPython(
      venvPython,
      [
        "-c",
        [
          "from swpatch_client import SwPatchClient, UnavailableError",
          "c = SwPatchClient('127.0.0.1:1', token='x', timeout=5)",
          'try:\n    c.list_hosts()\nexcept UnavailableError as e:\n    print(\'{"step": "unavailable", "code": "%s"}\' % e.code.name)',
          "c.close()",
        ].join("\n"),
      ],
      work!,
    );
    expect(r.rc, r.stderr).to.equal(0);
    expect(r.lines).to.deep.equal([{ step: "unavailable", code: "UNAVAILABLE" }]);
  });
});
