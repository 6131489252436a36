/**
 * Issue 16, point 10: stored strings that reach a CLI through the controller (agent-reported host
 * fields, audit callers, alarm texts, patch metadata, server messages) cannot drive the terminal
 * or forge lines. A fake controller serves hostile strings in every rendered field; every CLI's
 * output must hold no control character (other than the newlines and tabs it writes itself) and
 * no bidi control, and a forged newline must not add a row.
 */
import { expect } from "chai";
import { Readable } from "node:stream";
import { createServer, ServerError, Status, type Server } from "nice-grpc";
import {
  AdminServiceDefinition,
  AdminState,
  AgentState,
  Availability,
  Host,
  HostServiceDefinition,
  InstallPhase,
  OperationalState,
  OrchestrationServiceDefinition,
  PatchCurrent,
  PatchServiceDefinition,
  PatchState,
  RepoState,
  Strategy,
  type Alarm,
  type AdminServiceImplementation,
  type AuditEntry,
  type HostServiceImplementation,
  type OrchestrationServiceImplementation,
  type Patch,
  type PatchServiceImplementation,
} from "../../../clients/sdk/src/index.js";
import type { CliIo } from "../../../clients/cli/lib/io.js";
import { main as swPatch } from "../../../clients/cli/sw-patch/main.js";
import { main as system } from "../../../clients/cli/system/main.js";
import { main as fm } from "../../../clients/cli/fm/main.js";
import { main as swManager } from "../../../clients/cli/sw-manager/main.js";
import { completeService } from "../sdk/fake-service.js";

const TITLE = "\x1b]0;owned\x07";
const COLOUR = "\x1b[31mred\x1b[0m";
const CR = "refused\rok     ";
const BIDI = "admin\u202enimda";
const FORGED_ROW = "x\n| 99 | 2026-12-03T09:00:00Z | tok-admin | admin | DeletePatches | ALL | ok |";
const C1 = "\x9b2J\x85\x7f\b";
/** Every hostile string, as one value. */
const ALL = [TITLE, COLOUR, CR, BIDI, FORGED_ROW, C1].join(" ");

/** What a terminal acts on: controls other than newline and tab, and bidi/invisible format characters. */
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;

interface Run {
  rc: number;
  stdout: string;
  stderr: string;
}

type Main = (argv: string[], io?: Partial<CliIo>) => Promise<number>;

async function run(main: Main, argv: string[], isTTY = false): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const rc = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([]),
    env: {},
    isTTY,
    columns: undefined,
  });
  return { rc, stdout, stderr };
}

function expectInert(r: Run, what: string): void {
  expect(r.stdout, `${what}: stdout`).to.not.match(ACTIVE);
  expect(r.stderr, `${what}: stderr`).to.not.match(ACTIVE);
  expect(r.stdout + r.stderr, `${what}: forged admin row`).to.not.match(/^\| 99 \|/m);
}

const hostileHost = Host.fromPartial({
  hostname: `compute-${TITLE}`,
  ip: `10.0.0.9${COLOUR}`,
  personality: "worker",
  subfunctions: [`worker${CR}`, BIDI],
  adminState: AdminState.ADMIN_STATE_LOCKED,
  operationalState: OperationalState.OPERATIONAL_STATE_ENABLED,
  availability: Availability.AVAILABILITY_AVAILABLE,
  patchCurrent: PatchCurrent.PATCH_CURRENT_NO,
  release: `19.09${FORGED_ROW}`,
  agentState: AgentState.AGENT_STATE_INSTALL_FAILED,
  installReason: ALL,
  connected: true,
});

const entries: AuditEntry[] = [
  {
    id: 1,
    time: new Date("2026-12-03T08:00:00Z"),
    actor: `anon${CR}`,
    role: BIDI,
    action: `Connect${TITLE}`,
    target: FORGED_ROW,
    outcome: `UNAUTHENTICATED${COLOUR}`,
    detail: C1,
  },
  { id: 2, time: new Date("2026-12-03T08:00:01Z"), actor: "local", role: "admin", action: "ListHosts", target: "", outcome: "ok", detail: "" },
];

const alarm: Alarm = {
  uuid: `4ab5698a${C1}`,
  alarmId: "900.001",
  entityInstanceId: `host=${TITLE}`,
  severity: `critical${COLOUR}`,
  reasonText: `${FORGED_ROW} ${CR} ${BIDI}`,
  time: new Date("2026-12-03T08:00:00Z"),
  mgmtAffecting: true,
  proposedRepairAction: ALL,
};

const patch: Patch = {
  id: "PATCH_0001",
  swVersion: `19.09${TITLE}`,
  repoState: RepoState.REPO_STATE_APPLIED,
  patchState: PatchState.PATCH_STATE_APPLIED,
  status: `REL${COLOUR}`,
  summary: `Summary ${CR}`,
  description: `line one ${BIDI}\nline two ${TITLE}\n    Patch State:   Removed`,
  installInstructions: `step 1${CR}\nstep 2 ${C1}`,
  warnings: `careful ${COLOUR}`,
  rebootRequired: false,
  unremovable: false,
  applyActiveReleaseOnly: false,
  requires: [`PATCH_0000${TITLE}`],
  contents: [`pkg-1.0-1.x86_64.rpm${FORGED_ROW}`],
  personalities: [],
  semantics: [],
  signer: BIDI,
  uploadedAt: undefined,
  packages: [],
  securityCounter: 0,
};

describe("CLI output of hostile stored strings (issue 16.10)", () => {
  let server: Server;
  let endpoint: string;

  before(async () => {
    const hosts: Partial<HostServiceImplementation> = {
      async listHosts() {
        return { hosts: [hostileHost] };
      },
      async getHost() {
        return { host: hostileHost };
      },
      async listAlarms() {
        return { alarms: [alarm] };
      },
      async getAlarm() {
        return { alarm };
      },
      async dropHost() {
        throw new ServerError(Status.NOT_FOUND, `Unknown host ${TITLE}${CR}\nError: forged ${BIDI}`);
      },
      async *installHost() {
        yield {
          progress: {
            operationId: "op-1",
            hostname: "h",
            phase: InstallPhase.INSTALL_PHASE_INSTALLING,
            current: 1,
            total: 1,
            bytesDone: 0,
            bytesTotal: 0,
            item: `pkg${TITLE}${CR}`,
            message: ALL,
            terminal: false,
            time: undefined,
          },
        };
        yield {
          progress: {
            operationId: "op-1",
            hostname: "h",
            phase: InstallPhase.INSTALL_PHASE_DONE,
            current: 1,
            total: 1,
            bytesDone: 0,
            bytesTotal: 0,
            item: "",
            message: "",
            terminal: true,
            time: undefined,
          },
        };
      },
    };
    const admin: Partial<AdminServiceImplementation> = {
      async listAuditLog() {
        return { entries };
      },
      async listTokens() {
        return { tokens: [{ id: "tok-1", role: "agent", hostname: TITLE, description: FORGED_ROW, createdAt: undefined, revoked: false }] };
      },
    };
    const patches: Partial<PatchServiceImplementation> = {
      async showPatches() {
        return { patches: [patch], unrecognized: [`NOPE${COLOUR}`] };
      },
      async queryPatches() {
        return { patches: [{ ...patch, id: `PATCH_0002${CR}` }] };
      },
      async applyPatches() {
        return { messages: { info: `PATCH_0001 is now applied ${TITLE}\n`, warning: `${CR}\n${BIDI}` }, applied: [] };
      },
    };
    const orchestration: Partial<OrchestrationServiceImplementation> = {
      async getStrategy() {
        return {
          strategy: Strategy.fromPartial({
            name: "sw-patch",
            uuid: TITLE,
            state: `applied${COLOUR}`,
            currentPhase: "apply",
            applyPhase: { name: "apply", result: "failed", reason: `${ALL}` },
          }),
        };
      },
    };
    server = createServer();
    server.add(HostServiceDefinition, completeService<HostServiceImplementation>(HostServiceDefinition.methods, hosts));
    server.add(AdminServiceDefinition, completeService<AdminServiceImplementation>(AdminServiceDefinition.methods, admin));
    server.add(PatchServiceDefinition, completeService<PatchServiceImplementation>(PatchServiceDefinition.methods, patches));
    server.add(OrchestrationServiceDefinition, completeService<OrchestrationServiceImplementation>(OrchestrationServiceDefinition.methods, orchestration));
    endpoint = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
  });
  after(() => server.forceShutdown());

  it("sw-patch audit-log: one line per entry, the forged row and the CR rewrite are visible text", async () => {
    const r = await run(swPatch, ["--endpoint", endpoint, "audit-log"]);
    expect(r.rc).to.equal(0);
    expectInert(r, "audit-log");
    // Frame (3 lines) + 2 entries + closing rule: the forged newline added no row.
    expect(r.stdout.split("\n").filter(Boolean)).to.have.length(6);
    expect(r.stdout).to.include("| anonrefused\\rok      |");
    expect(r.stdout).to.include("x\\n| 99 | 2026-12-03T09:00:00Z | tok-admin");
    expect(r.stdout).to.include("admin<U+202E>nimda");
    expect(r.stdout).to.include("Connect\\x1b]0;owned\\x07");
  });

  it("sw-patch query-hosts: hostname, IP and release of an agent cannot set the title or colours", async () => {
    const r = await run(swPatch, ["--endpoint", endpoint, "query-hosts"]);
    expect(r.rc).to.equal(0);
    expectInert(r, "query-hosts");
    expect(r.stdout.split("\n").filter(Boolean)).to.have.length(3);
    expect(r.stdout).to.include("compute-\\x1b]0;owned\\x07");
    expect(r.stdout).to.include("10.0.0.9\\x1b[31mred\\x1b[0m");
    expect(r.stdout).to.include("19.09x\\n| 99 |");
  });

  it("system host-show and host-list: every property is inert, one row each", async () => {
    const r = await run(system, ["--endpoint", endpoint, "host-show", "compute-0"]);
    expect(r.rc).to.equal(0);
    expectInert(r, "host-show");
    // 3 frame lines, 14 properties, closing rule.
    expect(r.stdout.split("\n").filter(Boolean)).to.have.length(18);
    expect(r.stdout).to.match(/\| subfunctions +\| workerrefused\\rok {5},admin<U\+202E>nimda +\|/);
    expect(r.stdout).to.match(/\| mgmt_ip +\| 10\.0\.0\.9\\x1b\[31mred\\x1b\[0m +\|/);
    expect(r.stdout).to.include("| software_load      | 19.09x\\n| 99 |");
    const list = await run(system, ["--endpoint", endpoint, "host-list"]);
    expectInert(list, "host-list");
    expect(list.stdout.split("\n").filter(Boolean)).to.have.length(5);
  });

  it("fm alarm-list and alarm-show: reason, entity, severity and repair action are inert", async () => {
    const l = await run(fm, ["--endpoint", endpoint, "alarm-list"]);
    expect(l.rc).to.equal(0);
    expectInert(l, "alarm-list");
    expect(l.stdout.split("\n").filter(Boolean)).to.have.length(5);
    expect(l.stdout).to.include("4ab5698a\\x9b2J\\x85\\x7f\\x08");
    const s = await run(fm, ["--endpoint", endpoint, "alarm-show", "4ab5698a"]);
    expect(s.rc).to.equal(0);
    expectInert(s, "alarm-show");
    expect(s.stdout.split("\n").filter(Boolean)).to.have.length(13);
    expect(s.stdout).to.include("| entity_instance_id     | host=\\x1b]0;owned\\x07");
  });

  it("--format json has one shape in sw-patch, system and fm: an object at the top, enums as words", async () => {
    for (const [main, argv, key] of [
      [swPatch, ["query-hosts"], "hosts"],
      [swPatch, ["audit-log"], "entries"],
      [system, ["host-list"], "hosts"],
      [system, ["host-show", "compute-0"], "host"],
      [fm, ["alarm-list"], "alarms"],
      [fm, ["alarm-show", "x"], "alarm"],
    ] as const) {
      const r = await run(main, ["--endpoint", endpoint, "--format", "json", ...argv]);
      expect(r.rc, argv[0]).to.equal(0);
      const top: unknown = JSON.parse(r.stdout);
      expect(top !== null && typeof top === "object" && !Array.isArray(top), argv[0]).to.equal(true);
      expect(Object.keys(top as object), argv[0]).to.deep.equal([key]);
    }
    const { hosts } = JSON.parse((await run(swPatch, ["--endpoint", endpoint, "--format", "json", "query-hosts"])).stdout) as { hosts: Record<string, unknown>[] };
    for (const k of ["adminState", "operationalState", "availability", "patchCurrent", "agentState", "state"]) expect(typeof hosts[0]![k], k).to.equal("string");
  });

  it("--format json keeps the exact strings (decoded) but writes no raw control or bidi character", async () => {
    for (const [main, argv] of [
      [swPatch, ["query-hosts"]],
      [swPatch, ["audit-log"]],
      [system, ["host-show", "compute-0"]],
      [fm, ["alarm-show", "x"]],
    ] as const) {
      const r = await run(main, ["--endpoint", endpoint, "--format", "json", ...argv]);
      expect(r.rc, argv[0]).to.equal(0);
      expectInert(r, `${argv[0]} --format json`);
      const text = JSON.stringify(JSON.parse(r.stdout));
      expect(text, argv[0]).to.satisfy(
        (t: string) => t.includes(JSON.stringify(TITLE).slice(1, -1)) || t.includes(JSON.stringify(C1).slice(1, -1)) || t.includes(JSON.stringify(CR).slice(1, -1)),
      );
    }
    const audit = (JSON.parse((await run(swPatch, ["--endpoint", endpoint, "--format", "json", "audit-log"])).stdout) as { entries: AuditEntry[] }).entries;
    expect(audit[0]!.target).to.equal(FORGED_ROW);
    expect(audit[0]!.role).to.equal(BIDI);
    const hostJson = (JSON.parse((await run(system, ["--endpoint", endpoint, "--format", "json", "host-show", "h"])).stdout) as { host: { mgmt_ip: string } }).host;
    expect(hostJson.mgmt_ip).to.equal(hostileHost.ip);
    const debug = await run(swPatch, ["--endpoint", endpoint, "--debug", "query-hosts"]);
    expectInert(debug, "--debug");
  });

  it("sw-patch show: metadata lines stay under their field, nothing is active", async () => {
    const r = await run(swPatch, ["--endpoint", endpoint, "show", "PATCH_0001", "NOPE"]);
    expect(r.rc).to.equal(1);
    expectInert(r, "show");
    expect(r.stdout).to.include("    Release:        19.09\\x1b]0;owned\\x07\n");
    expect(r.stdout).to.include("    Description:    line one admin<U+202E>nimda\n");
    // A description line cannot pose as a field: it stays under the 20-space indent.
    expect(r.stdout).to.include("\n                        Patch State:   Removed\n");
    expect(r.stdout).to.include("                    PATCH_0000\\x1b]0;owned\\x07\n");
    expect(r.stdout).to.include("                    pkg-1.0-1.x86_64.rpmx\\n| 99 |");
    expect(r.stderr).to.equal("NOPE\\x1b[31mred\\x1b[0m is unrecognized\n");
  });

  it("sw-patch query, apply messages, server errors and token-list are inert", async () => {
    const q = await run(swPatch, ["--endpoint", endpoint, "query"]);
    expectInert(q, "query");
    expect(q.stdout).to.include("PATCH_0002refused\\rok");
    const a = await run(swPatch, ["--endpoint", endpoint, "apply", "PATCH_0001"]);
    expect(a.rc).to.equal(0);
    expectInert(a, "apply");
    expect(a.stdout).to.equal("PATCH_0001 is now applied \\x1b]0;owned\\x07\n\nWarning:\nrefused\\rok     \nadmin<U+202E>nimda\n");
    const e = await run(swPatch, ["--endpoint", endpoint, "drop-host", "x"]);
    expect(e.rc).to.equal(1);
    expectInert(e, "drop-host error");
    expect(e.stderr).to.include("Unknown host \\x1b]0;owned\\x07refused\\rok");
    const t = await run(swPatch, ["--endpoint", endpoint, "token-list"]);
    expectInert(t, "token-list");
    expect(t.stdout.split("\n").filter(Boolean)).to.have.length(5);
  });

  it("sw-manager patch-strategy show: reasons and states are inert", async () => {
    const r = await run(swManager, ["--endpoint", endpoint, "patch-strategy", "show"]);
    expect(r.rc).to.equal(0);
    expectInert(r, "patch-strategy show");
    expect(r.stdout).to.include("strategy-uuid:");
    expect(r.stdout).to.include("\\x1b]0;owned\\x07");
  });

  it("host-install on a terminal: only the bar's own escape is raw; the package name is inert", async () => {
    const r = await run(swPatch, ["--endpoint", endpoint, "host-install", "h"], true);
    expect(r.rc).to.equal(0);
    const own = r.stdout.split("\r\x1b[K");
    expect(own).to.have.length(2);
    expect(own.join("")).to.not.match(ACTIVE);
    expect(r.stdout).to.include("pkg\\x1b]0;owned\\x07");
  });
});
