/** How `system` shows hosts: the cgts-client host-list and host-show tables. */
import { AdminState, agentStateLabel, Availability, OperationalState, type Host } from "../../sdk/src/index.js";
import { patchCurrentCell } from "../render/hosts-table.js";
import { renderPropertyTable, renderTable } from "../render/starlingx-table.js";

/** administrative: locked | unlocked. */
export function adminLabel(state: AdminState): string {
  if (state === AdminState.ADMIN_STATE_LOCKED) return "locked";
  if (state === AdminState.ADMIN_STATE_UNLOCKED) return "unlocked";
  return "None";
}

/** operational: enabled | disabled. */
export function operationalLabel(state: OperationalState): string {
  if (state === OperationalState.OPERATIONAL_STATE_ENABLED) return "enabled";
  if (state === OperationalState.OPERATIONAL_STATE_DISABLED) return "disabled";
  return "None";
}

/** availability: available | offline | rebooting | degraded. */
export function availabilityLabel(state: Availability): string {
  switch (state) {
    case Availability.AVAILABILITY_AVAILABLE:
      return "available";
    case Availability.AVAILABILITY_OFFLINE:
      return "offline";
    case Availability.AVAILABILITY_REBOOTING:
      return "rebooting";
    case Availability.AVAILABILITY_DEGRADED:
      return "degraded";
    default:
      return "None";
  }
}

/** Hosts in hostname order (code-point order, like the controller's ListHosts). */
export function sortHosts(hosts: readonly Host[]): Host[] {
  return [...hosts].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}

/** The host's id: its 1-based row number in hostname order (undefined if it is not listed). */
export function hostId(hosts: readonly Host[], hostname: string): number | undefined {
  const i = sortHosts(hosts).findIndex((h) => h.hostname === hostname);
  return i < 0 ? undefined : i + 1;
}

/** The controller role cgts-client shows in `capabilities` ({} for other personalities). */
export function capabilities(h: Host): string {
  if (h.personality !== "controller") return "{}";
  return `{'Personality': '${h.activeController ? "Controller-Active" : "Controller-Standby"}'}`;
}

/** One host under host-show's property names (also the `--format json` view). */
export interface HostView {
  id: number | null;
  hostname: string;
  personality: string;
  subfunctions: string;
  administrative: string;
  operational: string;
  availability: string;
  mgmt_ip: string;
  software_load: string;
  patch_current: string;
  reboot_required: boolean;
  install_state: string;
  install_state_info: string;
  capabilities: string;
  active_controller: boolean;
  connected: boolean;
}

/** A Host as host-show names its properties. */
export function hostView(h: Host, id: number | undefined): HostView {
  return {
    id: id ?? null,
    hostname: h.hostname,
    personality: h.personality,
    subfunctions: (h.subfunctions.length > 0 ? h.subfunctions : [h.personality]).join(","),
    administrative: adminLabel(h.adminState),
    operational: operationalLabel(h.operationalState),
    availability: availabilityLabel(h.availability),
    mgmt_ip: h.ip,
    software_load: h.release,
    patch_current: patchCurrentCell(h),
    reboot_required: h.requiresReboot,
    install_state: agentStateLabel(h.agentState),
    install_state_info: h.installReason,
    capabilities: capabilities(h),
    active_controller: h.activeController,
    connected: h.connected,
  };
}

/**
 * `system host-list`: id, hostname, personality, administrative, operational, availability; one
 * row per host in hostname order, ids are the row numbers.
 */
export function renderHostList(hosts: readonly Host[]): string {
  const rows = sortHosts(hosts).map((h, i) => [
    i + 1,
    h.hostname,
    h.personality,
    adminLabel(h.adminState),
    operationalLabel(h.operationalState),
    availabilityLabel(h.availability),
  ]);
  return renderTable(["id", "hostname", "personality", "administrative", "operational", "availability"], rows);
}

/** The host-show properties, in cgts-client's (alphabetical) order. */
const SHOW_FIELDS: readonly (keyof HostView)[] = [
  "administrative",
  "availability",
  "capabilities",
  "hostname",
  "id",
  "install_state",
  "install_state_info",
  "mgmt_ip",
  "operational",
  "patch_current",
  "personality",
  "reboot_required",
  "software_load",
  "subfunctions",
];

/** `system host-show`: the Property / Value table of one host. */
export function renderHostShow(h: Host, id: number | undefined): string {
  const v = hostView(h, id);
  return renderPropertyTable(
    SHOW_FIELDS.map((f) => {
      const value = v[f];
      return [f, value === "" ? "None" : value] as const;
    }),
  );
}
