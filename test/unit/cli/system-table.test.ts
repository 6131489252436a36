import { expect } from "chai";
import { AdminState, AgentState, Availability, Host, OperationalState, PatchCurrent } from "../../../clients/sdk/src/index.js";
import { renderPropertyTable, renderTable, starlingxTimestamp, utcSeconds } from "../../../clients/cli/render/starlingx-table.js";
import { hostId, hostView, renderHostList, renderHostShow } from "../../../clients/cli/system/render.js";
import { renderTokenList } from "../../../clients/cli/sw-patch/commands/token-list.js";
import { renderAuditLog } from "../../../clients/cli/sw-patch/commands/audit-log.js";
import { renderTrustList } from "../../../clients/cli/sw-patch/commands/trust-list.js";
import { renderTokenCreated } from "../../../clients/cli/sw-patch/commands/token-create.js";

function host(over: Partial<Host>): Host {
  return Host.fromPartial({
    ip: "192.168.204.2",
    personality: "controller",
    adminState: AdminState.ADMIN_STATE_UNLOCKED,
    operationalState: OperationalState.OPERATIONAL_STATE_ENABLED,
    availability: Availability.AVAILABILITY_AVAILABLE,
    patchCurrent: PatchCurrent.PATCH_CURRENT_YES,
    release: "19.09",
    agentState: AgentState.AGENT_STATE_IDLE,
    connected: true,
    ...over,
  });
}

const HOSTS = [
  host({ hostname: "controller-1", ip: "192.168.204.3" }),
  host({ hostname: "compute-0", ip: "192.168.204.7", personality: "worker", adminState: AdminState.ADMIN_STATE_LOCKED }),
  host({ hostname: "controller-0", activeController: true }),
];

describe("starlingx-table: the prettytable look", () => {
  it("frames the header and the rows, left-aligned, one space of padding", () => {
    expect(
      renderTable(
        ["id", "name"],
        [
          [1, "a"],
          [22, "bbbb"],
        ],
      ),
    ).to.equal("+----+------+\n" + "| id | name |\n" + "+----+------+\n" + "| 1  | a    |\n" + "| 22 | bbbb |\n" + "+----+------+\n");
  });

  it("prints the frame of an empty table", () => {
    expect(renderTable(["A", "B"], [])).to.equal("+---+---+\n| A | B |\n+---+---+\n+---+---+\n");
  });

  it("keeps a value with a newline on one row (shown as \\n) and prints booleans and missing values like Python", () => {
    expect(
      renderTable(
        ["k", "v"],
        [
          ["x", "one\ntwo"],
          [true, undefined],
        ],
      ),
    ).to.equal(
      "+------+----------+\n" + "| k    | v        |\n" + "+------+----------+\n" + "| x    | one\\ntwo |\n" + "| True | None     |\n" + "+------+----------+\n",
    );
  });

  it("centres and right-aligns like prettytable", () => {
    expect(
      renderTable(
        ["abcd", "x"],
        [
          ["ab", "y"],
          ["abc", "z"],
        ],
        { align: ["c", "r"] },
      ),
    ).to.equal("+------+---+\n| abcd | x |\n+------+---+\n|  ab  | y |\n| abc  | z |\n+------+---+\n");
  });

  it("renders Property/Value tables", () => {
    expect(
      renderPropertyTable([
        ["hostname", "controller-0"],
        ["id", 1],
      ]),
    ).to.equal(
      "+----------+--------------+\n" +
        "| Property | Value        |\n" +
        "+----------+--------------+\n" +
        "| hostname | controller-0 |\n" +
        "| id       | 1            |\n" +
        "+----------+--------------+\n",
    );
  });

  it("formats timestamps as StarlingX and the admin tables do", () => {
    const d = new Date("2019-08-21T14:03:27.512Z");
    expect(starlingxTimestamp(d)).to.equal("2019-08-21T14:03:27.512000");
    expect(starlingxTimestamp(undefined)).to.equal("None");
    expect(utcSeconds(d)).to.equal("2019-08-21T14:03:27Z");
    expect(utcSeconds(undefined)).to.equal("");
  });
});

describe("system: host-list and host-show tables", () => {
  it("host-list: one row per host in hostname order, ids are the row numbers", () => {
    expect(renderHostList(HOSTS)).to.equal(
      "+----+--------------+-------------+----------------+-------------+--------------+\n" +
        "| id | hostname     | personality | administrative | operational | availability |\n" +
        "+----+--------------+-------------+----------------+-------------+--------------+\n" +
        "| 1  | compute-0    | worker      | locked         | enabled     | available    |\n" +
        "| 2  | controller-0 | controller  | unlocked       | enabled     | available    |\n" +
        "| 3  | controller-1 | controller  | unlocked       | enabled     | available    |\n" +
        "+----+--------------+-------------+----------------+-------------+--------------+\n",
    );
    expect(hostId(HOSTS, "controller-1")).to.equal(3);
    expect(hostId(HOSTS, "nope")).to.equal(undefined);
  });

  it("host-list of no hosts is the bare frame", () => {
    expect(renderHostList([])).to.equal(
      "+----+----------+-------------+----------------+-------------+--------------+\n" +
        "| id | hostname | personality | administrative | operational | availability |\n" +
        "+----+----------+-------------+----------------+-------------+--------------+\n" +
        "+----+----------+-------------+----------------+-------------+--------------+\n",
    );
  });

  it("host-show: the properties in alphabetical order", () => {
    expect(renderHostShow(HOSTS[2]!, 2)).to.equal(
      "+--------------------+--------------------------------------+\n" +
        "| Property           | Value                                |\n" +
        "+--------------------+--------------------------------------+\n" +
        "| administrative     | unlocked                             |\n" +
        "| availability       | available                            |\n" +
        "| capabilities       | {'Personality': 'Controller-Active'} |\n" +
        "| hostname           | controller-0                         |\n" +
        "| id                 | 2                                    |\n" +
        "| install_state      | idle                                 |\n" +
        "| install_state_info | None                                 |\n" +
        "| mgmt_ip            | 192.168.204.2                        |\n" +
        "| operational        | enabled                              |\n" +
        "| patch_current      | Yes                                  |\n" +
        "| personality        | controller                           |\n" +
        "| reboot_required    | False                                |\n" +
        "| software_load      | 19.09                                |\n" +
        "| subfunctions       | controller                           |\n" +
        "+--------------------+--------------------------------------+\n",
    );
  });

  it("host-show of a worker after a failed install that needs a reboot", () => {
    const h = host({
      hostname: "compute-0",
      ip: "192.168.204.7",
      personality: "worker",
      subfunctions: ["worker", "lowlatency"],
      adminState: AdminState.ADMIN_STATE_LOCKED,
      operationalState: OperationalState.OPERATIONAL_STATE_DISABLED,
      availability: Availability.AVAILABILITY_OFFLINE,
      patchCurrent: PatchCurrent.PATCH_CURRENT_NO,
      patchFailed: true,
      requiresReboot: true,
      agentState: AgentState.AGENT_STATE_INSTALL_FAILED,
      installReason: "rpm failed",
    });
    const out = renderHostShow(h, undefined);
    expect(out.split("\n").slice(3, -2)).to.deep.equal([
      "| administrative     | locked            |",
      "| availability       | offline           |",
      "| capabilities       | {}                |",
      "| hostname           | compute-0         |",
      "| id                 | None              |",
      "| install_state      | install-failed    |",
      "| install_state_info | rpm failed        |",
      "| mgmt_ip            | 192.168.204.7     |",
      "| operational        | disabled          |",
      "| patch_current      | Failed            |",
      "| personality        | worker            |",
      "| reboot_required    | True              |",
      "| software_load      | 19.09             |",
      "| subfunctions       | worker,lowlatency |",
    ]);
    expect(hostView(h, 4)).to.include({ id: 4, administrative: "locked", reboot_required: true, subfunctions: "worker,lowlatency" });
  });
});

describe("sw-patch admin tables", () => {
  const created = new Date("2024-05-01T10:20:30.456Z");

  it("token-list", () => {
    expect(
      renderTokenList([
        { id: "0123456789abcdef", role: "admin", hostname: "", description: "bootstrap", createdAt: created, revoked: false, personality: "" },
        { id: "fedcba9876543210", role: "agent", hostname: "compute-0", description: "", createdAt: created, revoked: true, personality: "" },
      ]),
    ).to.equal(
      "+------------------+-------+-----------+----------------------+---------+-------------+\n" +
        "| ID               | Role  | Host      | Created              | Revoked | Description |\n" +
        "+------------------+-------+-----------+----------------------+---------+-------------+\n" +
        "| 0123456789abcdef | admin |           | 2024-05-01T10:20:30Z | no      | bootstrap   |\n" +
        "| fedcba9876543210 | agent | compute-0 | 2024-05-01T10:20:30Z | yes     |             |\n" +
        "+------------------+-------+-----------+----------------------+---------+-------------+\n",
    );
  });

  it("audit-log", () => {
    expect(
      renderAuditLog([
        { id: 7, time: created, actor: "0123456789abcdef", role: "admin", action: "LockHost", target: "host=compute-0", outcome: "ok", detail: "" },
        { id: 8, time: created, actor: "anonymous", role: "", action: "ApplyPatches", target: "patches=001", outcome: "UNAUTHENTICATED", detail: "missing token" },
      ]),
    ).to.equal(
      "+----+----------------------+------------------+-------+--------------+----------------+-----------------+\n" +
        "| ID | Time                 | Actor            | Role  | Action       | Target         | Outcome         |\n" +
        "+----+----------------------+------------------+-------+--------------+----------------+-----------------+\n" +
        "| 7  | 2024-05-01T10:20:30Z | 0123456789abcdef | admin | LockHost     | host=compute-0 | ok              |\n" +
        "| 8  | 2024-05-01T10:20:30Z | anonymous        |       | ApplyPatches | patches=001    | UNAUTHENTICATED |\n" +
        "+----+----------------------+------------------+-------+--------------+----------------+-----------------+\n",
    );
  });

  it("trust-list", () => {
    expect(renderTrustList([{ label: "dev", pem: "", fingerprintSha256: "ab:cd" }])).to.equal(
      "+-------+-----------------------+\n" +
        "| Label | Fingerprint (SHA-256) |\n" +
        "+-------+-----------------------+\n" +
        "| dev   | ab:cd                 |\n" +
        "+-------+-----------------------+\n",
    );
  });

  it("token-create puts the token alone on the last line", () => {
    const out = renderTokenCreated({
      info: { id: "0123456789abcdef", role: "agent", hostname: "compute-0", description: "lab", createdAt: created, revoked: false, personality: "" },
      token: "swp_0123456789abcdef_" + "0".repeat(64),
    });
    expect(out).to.equal(
      "Created agent token 0123456789abcdef for host compute-0\n" +
        "Description: lab\n" +
        "Created: 2024-05-01T10:20:30Z\n" +
        "The token is shown only once; store it now:\n" +
        "swp_0123456789abcdef_" +
        "0".repeat(64) +
        "\n",
    );
  });
});
