import { expect } from "chai";
import type { Alarm } from "../../../clients/sdk/src/index.js";
import { alarmView, renderAlarmList, renderAlarmShow } from "../../../clients/cli/fm/render.js";

const A1: Alarm = {
  uuid: "4ab5698a-19cb-4c17-bd63-302173fef62c",
  alarmId: "900.001",
  entityInstanceId: "orchestration=sw-patch",
  severity: "critical",
  reasonText: "Patching in progress",
  time: new Date("2019-08-21T14:03:27.512Z"),
  mgmtAffecting: true,
  proposedRepairAction: "Wait for patching to complete",
};
const A2: Alarm = {
  uuid: "0f2c0d3e-5b6a-4a5e-9c3d-1d2e3f4a5b6c",
  alarmId: "100.114",
  entityInstanceId: "host=controller-0",
  severity: "minor",
  reasonText: "NTP server unreachable",
  time: new Date("2019-08-20T01:02:03Z"),
  mgmtAffecting: false,
  proposedRepairAction: "",
};

describe("fm: alarm-list and alarm-show tables", () => {
  it("alarm-list: oldest first with the fmclient columns", () => {
    expect(renderAlarmList([A1, A2])).to.equal(
      "+--------------------------------------+----------+------------------------+------------------------+----------+----------------------------+\n" +
        "| UUID                                 | Alarm ID | Reason Text            | Entity ID              | Severity | Time Stamp                 |\n" +
        "+--------------------------------------+----------+------------------------+------------------------+----------+----------------------------+\n" +
        "| 0f2c0d3e-5b6a-4a5e-9c3d-1d2e3f4a5b6c | 100.114  | NTP server unreachable | host=controller-0      | minor    | 2019-08-20T01:02:03.000000 |\n" +
        "| 4ab5698a-19cb-4c17-bd63-302173fef62c | 900.001  | Patching in progress   | orchestration=sw-patch | critical | 2019-08-21T14:03:27.512000 |\n" +
        "+--------------------------------------+----------+------------------------+------------------------+----------+----------------------------+\n",
    );
  });

  it("alarm-list with no alarms is the bare frame", () => {
    expect(renderAlarmList([])).to.equal(
      "+------+----------+-------------+-----------+----------+------------+\n" +
        "| UUID | Alarm ID | Reason Text | Entity ID | Severity | Time Stamp |\n" +
        "+------+----------+-------------+-----------+----------+------------+\n" +
        "+------+----------+-------------+-----------+----------+------------+\n",
    );
  });

  it("alarm-show: properties in alphabetical order, Python booleans, None for empty", () => {
    expect(renderAlarmShow(A2)).to.equal(
      "+------------------------+--------------------------------------+\n" +
        "| Property               | Value                                |\n" +
        "+------------------------+--------------------------------------+\n" +
        "| alarm_id               | 100.114                              |\n" +
        "| alarm_state            | set                                  |\n" +
        "| entity_instance_id     | host=controller-0                    |\n" +
        "| mgmt_affecting         | False                                |\n" +
        "| proposed_repair_action | None                                 |\n" +
        "| reason_text            | NTP server unreachable               |\n" +
        "| severity               | minor                                |\n" +
        "| timestamp              | 2019-08-20T01:02:03.000000           |\n" +
        "| uuid                   | 0f2c0d3e-5b6a-4a5e-9c3d-1d2e3f4a5b6c |\n" +
        "+------------------------+--------------------------------------+\n",
    );
    expect(alarmView(A1)).to.include({ mgmt_affecting: true, alarm_id: "900.001", timestamp: "2019-08-21T14:03:27.512000" });
  });
});
