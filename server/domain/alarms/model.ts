/** A fault-management alarm (fm alarm-list). */
export interface AlarmRecord {
  uuid: string;
  alarmId: string;
  entityInstanceId: string;
  severity: string;
  reasonText: string;
  mgmtAffecting: boolean;
  proposedRepairAction: string;
  time: Date;
}
