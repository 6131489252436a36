import { DomainError, invalidArgument } from "./errors.js";

/**
 * Size limits of the caller-supplied text the controller stores and shows to everyone (alarms,
 * application dependencies; token descriptions, trusted-key labels, agent fields and audit text
 * have theirs next to their checks). A value over its limit is refused INVALID_ARGUMENT naming the
 * field and the limit; a store that is full is RESOURCE_EXHAUSTED.
 */
export const TEXT_LIMITS = {
  /** fm's own column sizes (reason_text, proposed_repair_action, entity_instance_id: 255). */
  alarmEntityInstanceId: 255,
  alarmReasonText: 255,
  alarmProposedRepairAction: 255,
  /** Active alarms at once. */
  alarms: 10_000,
  /** Patch ids one application may depend on, and applications with dependencies. */
  appDependencyIds: 1_000,
  apps: 1_000,
} as const;

/** Throws INVALID_ARGUMENT "<field>: at most <max> characters, got <n>" when `value` is longer. */
export function checkTextSize(field: string, value: string, max: number): void {
  if (value.length > max) throw invalidArgument(`${field}: at most ${max} characters, got ${value.length}`, { reason: "TEXT_TOO_LONG" });
}

/** Throws INVALID_ARGUMENT "<field>: at most <max> items, got <n>" when `n` is over `max`. */
export function checkCount(field: string, n: number, max: number): void {
  if (n > max) throw invalidArgument(`${field}: at most ${max} items, got ${n}`, { reason: "TOO_MANY_ITEMS" });
}

/** RESOURCE_EXHAUSTED: `what` holds `max` entries already. */
export function storeFull(what: string, max: number): DomainError {
  return new DomainError("resource-exhausted", `${what}: at most ${max} at a time; remove some first`, { reason: "LIMIT_REACHED" });
}
