import { expect } from "chai";
import { AgentState, PatchCurrent, PatchState, RepoState, type Host, type Patch } from "../../../clients/sdk/src/index.js";
import { renderPatchTable } from "../../../clients/cli/render/patch-table.js";
import { renderHostsTable } from "../../../clients/cli/render/hosts-table.js";
import { renderAppDependencies } from "../../../clients/cli/render/app-deps-table.js";
import { renderShow } from "../../../clients/cli/render/show.js";
import { renderMessages } from "../../../clients/cli/render/messages.js";
import { center, fillText, terminalWidth } from "../../../clients/cli/render/text.js";

function patch(p: Partial<Patch> & { id: string }): Patch {
  return {
    swVersion: "19.09",
    repoState: RepoState.REPO_STATE_AVAILABLE,
    patchState: PatchState.PATCH_STATE_AVAILABLE,
    status: "",
    summary: "",
    description: "",
    installInstructions: "",
    warnings: "",
    rebootRequired: true,
    unremovable: false,
    applyActiveReleaseOnly: false,
    requires: [],
    contents: [],
    personalities: [],
    semantics: [],
    signer: "",
    uploadedAt: undefined,
    packages: [],
    securityCounter: 0,
    ...p,
  };
}

function host(h: Partial<Host> & { hostname: string; ip: string }): Host {
  return {
    personality: "worker",
    subfunctions: [],
    adminState: 0,
    operationalState: 0,
    availability: 0,
    patchCurrent: PatchCurrent.PATCH_CURRENT_YES,
    requiresReboot: false,
    release: "19.09",
    agentState: AgentState.AGENT_STATE_IDLE,
    installReason: "",
    connected: true,
    lastSeen: undefined,
    activeController: false,
    pendingChanges: 0,
    patchFailed: false,
    interimState: false,
    instances: [],
    allowInsvcPatching: false,
    ...h,
  };
}

describe("cli render: text helpers", () => {
  it("centres like Python's {:^N}: floor(pad/2) left, the rest right", () => {
    expect(center("N", 2)).to.equal("N ");
    expect(center("19.09", 7)).to.equal(" 19.09 ");
    expect(center("Available", 11)).to.equal(" Available ");
    expect(center("ab", 5)).to.equal(" ab  ");
    expect(center("toolong", 3)).to.equal("toolong");
  });

  it("uses 72 columns unless the terminal is wider than 60, then columns - 4", () => {
    expect(terminalWidth(undefined)).to.equal(72);
    expect(terminalWidth(60)).to.equal(72);
    expect(terminalWidth(61)).to.equal(57);
    expect(terminalWidth(120)).to.equal(116);
  });

  it("wraps like textwrap.fill with a hanging indent, keeping the paragraph's leading spaces", () => {
    const text = "    Summary:        " + "word ".repeat(15).trim();
    expect(fillText(text, { width: 40, subsequentIndent: " ".repeat(20) })).to.equal(
      [
        "    Summary:        word word word word",
        "                    word word word word",
        "                    word word word word",
        "                    word word word",
      ].join("\n"),
    );
  });

  it("breaks words longer than the line", () => {
    expect(fillText("abcdefghij", { width: 4 })).to.equal("abcd\nefgh\nij");
  });
});

describe("cli render: patch table", () => {
  it("renders the seed document's query example exactly", () => {
    const out = renderPatchTable([patch({ id: "001", rebootRequired: false })]);
    expect(out).to.equal("Patch ID  RR  Release  Patch State\n" + "========  ==  =======  ===========\n" + "001       N    19.09    Available \n" + "\n");
  });

  it("adds the Repo State column when some patch is n/a, widens columns and sorts by ID", () => {
    const out = renderPatchTable([
      patch({ id: "STX_19.09_PATCH_0002", patchState: PatchState.PATCH_STATE_NA, repoState: RepoState.REPO_STATE_APPLIED }),
      patch({ id: "STX_19.09_PATCH_0001", patchState: PatchState.PATCH_STATE_PARTIAL_APPLY, repoState: RepoState.REPO_STATE_APPLIED }),
    ]);
    expect(out).to.equal(
      "      Patch ID        RR  Release  Repo State   Patch State \n" +
        "====================  ==  =======  ==========  =============\n" +
        "STX_19.09_PATCH_0001  Y    19.09    Applied    Partial-Apply\n" +
        "STX_19.09_PATCH_0002  Y    19.09    Applied         n/a     \n" +
        "\n",
    );
  });

  it("prints the header alone for an empty result", () => {
    expect(renderPatchTable([])).to.equal("Patch ID  RR  Release  Patch State\n========  ==  =======  ===========\n\n");
  });

  it("spells every patch state like the reference", () => {
    const states: [PatchState, string][] = [
      [PatchState.PATCH_STATE_AVAILABLE, "Available"],
      [PatchState.PATCH_STATE_PARTIAL_APPLY, "Partial-Apply"],
      [PatchState.PATCH_STATE_APPLIED, "Applied"],
      [PatchState.PATCH_STATE_PARTIAL_REMOVE, "Partial-Remove"],
      [PatchState.PATCH_STATE_COMMITTED, "Committed"],
    ];
    for (const [state, word] of states) {
      const row = renderPatchTable([patch({ id: "A", patchState: state })]).split("\n")[2]!;
      expect(row.trim().endsWith(word), row).to.equal(true);
    }
  });
});

describe("cli render: query-hosts table", () => {
  it("renders hosts sorted by hostname with fixed Patch Current / Reboot Required widths", () => {
    const out = renderHostsTable([
      host({ hostname: "controller-0", ip: "192.178.204.3", patchCurrent: PatchCurrent.PATCH_CURRENT_NO, requiresReboot: true }),
      host({ hostname: "compute-0", ip: "192.178.204.7" }),
      host({ hostname: "storage-0", ip: "192.178.204.12", interimState: true, agentState: AgentState.AGENT_STATE_INSTALLING }),
      host({ hostname: "compute-1", ip: "192.178.204.8", interimState: true, patchFailed: true, agentState: AgentState.AGENT_STATE_INSTALL_FAILED }),
    ]);
    // Each row: hostname (12, left), IP (14, left), then centred cells, two spaces apart.
    const row = (...cells: string[]) => cells.join("  ") + "\n";
    expect(out).to.equal(
      row("  Hostname  ", "  IP Address  ", "Patch Current", "Reboot Required", "Release", "    State     ") +
        row("============", "==============", "=============", "===============", "=======", "==============") +
        row("compute-0   ", "192.178.204.7 ", "     Yes     ", "      No       ", " 19.09 ", "     idle     ") +
        row("compute-1   ", "192.178.204.8 ", "   Failed    ", "      No       ", " 19.09 ", "install-failed") +
        row("controller-0", "192.178.204.3 ", "     No      ", "      Yes      ", " 19.09 ", "     idle     ") +
        row("storage-0   ", "192.178.204.12", "   Pending   ", "      No       ", " 19.09 ", "  installing  "),
    );
  });

  it("shows a host whose agent is gone as such: Unknown and offline, not its last Yes/idle", () => {
    const out = renderHostsTable([
      host({ hostname: "gone", ip: "10.0.0.9", connected: false }),
      host({ hostname: "here", ip: "10.0.0.8" }),
      host({ hostname: "hurt", ip: "10.0.0.7", connected: false, patchFailed: true, agentState: AgentState.AGENT_STATE_INSTALL_FAILED }),
    ]);
    const [gone, here, hurt] = out.split("\n").slice(2);
    // A failed install stays visible while its agent is gone.
    expect(hurt!.trim().split(/ {2,}/)).to.deep.equal(["hurt", "10.0.0.7", "Failed", "No", "19.09", "offline"]);
    expect(gone!.trim().split(/ {2,}/)).to.deep.equal(["gone", "10.0.0.9", "Unknown", "No", "19.09", "offline"]);
    expect(here!.trim().split(/ {2,}/)).to.deep.equal(["here", "10.0.0.8", "Yes", "No", "19.09", "idle"]);
  });

  it("shows unknown and install-rejected agent states", () => {
    const out = renderHostsTable([
      host({ hostname: "a", ip: "1", agentState: AgentState.AGENT_STATE_UNSPECIFIED }),
      host({ hostname: "b", ip: "2", agentState: AgentState.AGENT_STATE_INSTALL_REJECTED }),
    ]);
    expect(out).to.include("unknown").and.include("install-rejected");
  });
});

describe("cli render: application dependencies", () => {
  it("says so when there are none", () => {
    expect(renderAppDependencies([])).to.equal("There are no application dependencies.\n");
  });

  it("renders a left-aligned table sorted by app", () => {
    expect(
      renderAppDependencies([
        { app: "platform-integ-apps", patchIds: ["P1", "P2"] },
        { app: "app", patchIds: ["P3"] },
      ]),
    ).to.equal(
      "Application          Required Patches\n" +
        "===================  ================\n" +
        "app                  P3              \n" +
        "platform-integ-apps  P1, P2          \n",
    );
  });
});

describe("cli render: show", () => {
  it("prints the reference's labelled fields, requires and contents, then two blank lines", () => {
    const out = renderShow(
      [
        patch({
          id: "STX_19.12_PATCH_0007",
          swVersion: "19.12",
          patchState: PatchState.PATCH_STATE_NA,
          repoState: RepoState.REPO_STATE_AVAILABLE,
          status: "REL",
          rebootRequired: false,
          summary: "Fix sysinv agent crash on interface audit",
          description: "Updates sysinv and adds a helper package\non controller nodes.",
          installInstructions: "Lock the host.\nRun host-install.",
          warnings: "None",
          applyActiveReleaseOnly: true,
          requires: ["STX_19.12_PATCH_0005"],
          contents: ["sysinv-helper-1.0-1.tis.x86_64.rpm", "sysinv-1.0-20.tis.x86_64.rpm"],
        }),
      ],
      72,
    );
    expect(out).to.equal(
      "STX_19.12_PATCH_0007:\n" +
        "    Release:        19.12\n" +
        "    Patch State:    n/a\n" +
        "    Repo State:     Available\n" +
        "    Status:         REL\n" +
        "    Unremovable:    N\n" +
        "    RR:             N\n" +
        "    Apply Active Release Only: Y\n" +
        "    Summary:        Fix sysinv agent crash on interface audit\n" +
        "    Description:    Updates sysinv and adds a helper package\n" +
        "                    on controller nodes.\n" +
        "    Install Instructions:\n" +
        "                    Lock the host.\n" +
        "                    Run host-install.\n" +
        "    Warnings:       None\n" +
        "    Requires:\n" +
        "                    STX_19.12_PATCH_0005\n" +
        "    Contents:\n" +
        "                    sysinv-1.0-20.tis.x86_64.rpm\n" +
        "                    sysinv-helper-1.0-1.tis.x86_64.rpm\n" +
        "\n\n",
    );
  });

  it("omits Repo State unless the patch state is n/a and wraps long summaries at the width", () => {
    const out = renderShow([patch({ id: "A", patchState: PatchState.PATCH_STATE_APPLIED, summary: "alpha beta gamma delta epsilon" })], 40);
    expect(out).to.not.include("Repo State");
    expect(out).to.include("    Summary:        alpha beta gamma\n                    delta epsilon\n");
  });
});

describe("cli render: operation messages", () => {
  it("prints info verbatim and warnings under 'Warning:'", () => {
    expect(renderMessages({ info: "001 is now available\n", warning: "" })).to.equal("001 is now available\n\n");
    expect(renderMessages({ info: "", warning: "Unremovable patch X being removed\n" })).to.equal("Warning:\nUnremovable patch X being removed\n\n");
  });
});
