/**
 * The one table that says who may call what: every RPC path of every service the controller
 * serves, mapped to its minimum role. A unit test asserts that every method of every
 * ServiceDefinition has an entry (and no entry is stale), so a new RPC cannot ship unclassified;
 * the middleware denies any path missing from the table.
 */
import type { Role } from "./roles.js";

/**
 * "public": no token needed (health, reflection); "enrollment": no bearer token, the request
 * carries a one-time enrolment token the method checks itself (AgentService.Enroll; audited);
 * otherwise the minimum role.
 */
export type RpcRequirement = "public" | "enrollment" | Role;

/** Minimum role per full method path (`/package.Service/Method`). */
export const RPC_POLICY: Readonly<Record<string, RpcRequirement>> = Object.freeze({
  // PatchService
  "/swpatch.v1.PatchService/UploadPatch": "operator",
  "/swpatch.v1.PatchService/QueryPatches": "reader",
  "/swpatch.v1.PatchService/ShowPatches": "reader",
  "/swpatch.v1.PatchService/ApplyPatches": "operator",
  "/swpatch.v1.PatchService/RemovePatches": "operator",
  "/swpatch.v1.PatchService/DeletePatches": "admin",
  "/swpatch.v1.PatchService/CommitPatches": "admin",
  "/swpatch.v1.PatchService/WhatRequires": "reader",
  "/swpatch.v1.PatchService/QueryDependencies": "reader",
  "/swpatch.v1.PatchService/IsApplied": "reader",
  "/swpatch.v1.PatchService/IsAvailable": "reader",
  "/swpatch.v1.PatchService/ReportAppDependencies": "operator",
  "/swpatch.v1.PatchService/QueryAppDependencies": "reader",
  "/swpatch.v1.PatchService/InitRelease": "admin",
  "/swpatch.v1.PatchService/DelRelease": "admin",
  // Operator for signed packages; unsigned ones are admin-only (checked by the base policy, base-policy.ts).
  "/swpatch.v1.PatchService/ImportBasePackage": "operator",
  "/swpatch.v1.PatchService/ListBasePackages": "reader",
  "/swpatch.v1.PatchService/GetControllerInfo": "reader",
  "/swpatch.v1.PatchService/WatchEvents": "reader",
  // HostService
  "/swpatch.v1.HostService/ListHosts": "reader",
  "/swpatch.v1.HostService/GetHost": "reader",
  "/swpatch.v1.HostService/LockHost": "operator",
  "/swpatch.v1.HostService/UnlockHost": "operator",
  "/swpatch.v1.HostService/SwactHost": "operator",
  "/swpatch.v1.HostService/DropHost": "admin",
  "/swpatch.v1.HostService/InstallHost": "operator",
  "/swpatch.v1.HostService/InstallHostAsync": "operator",
  "/swpatch.v1.HostService/GetOperation": "reader",
  "/swpatch.v1.HostService/WatchOperation": "reader",
  "/swpatch.v1.HostService/ListAlarms": "reader",
  "/swpatch.v1.HostService/GetAlarm": "reader",
  "/swpatch.v1.HostService/RaiseAlarm": "operator",
  "/swpatch.v1.HostService/ClearAlarm": "operator",
  // AgentService: agent tokens (the hello's hostname is checked by the service) or admin.
  "/swpatch.v1.AgentService/Connect": "agent",
  "/swpatch.v1.AgentService/FetchPackage": "agent",
  // Enrolment: the agent's one-time enrolment token is in the request; the host's operator side.
  "/swpatch.v1.AgentService/Enroll": "enrollment",
  // FLOOR (issue 21): receipts come from enrolled agents (the service checks the caller is a host); floors and receipts are read by readers.
  "/swpatch.v1.AgentService/InstallReceiptSubmit": "agent",
  "/swpatch.v1.PatchService/SecurityFloorList": "reader",
  "/swpatch.v1.HostService/InstallReceiptList": "reader",
  "/swpatch.v1.HostService/EnrollHost": "operator",
  "/swpatch.v1.HostService/RevokeHost": "operator",
  "/swpatch.v1.HostService/ListEnrollments": "reader",
  // OrchestrationService
  "/swpatch.v1.OrchestrationService/CreateStrategy": "operator",
  "/swpatch.v1.OrchestrationService/GetStrategy": "reader",
  "/swpatch.v1.OrchestrationService/ApplyStrategy": "operator",
  "/swpatch.v1.OrchestrationService/AbortStrategy": "operator",
  "/swpatch.v1.OrchestrationService/DeleteStrategy": "operator",
  "/swpatch.v1.OrchestrationService/WatchStrategy": "reader",
  // PLAN (issue 20): a rehearsal changes nothing, but runs the engine N times in the controller.
  "/swpatch.v1.OrchestrationService/RehearseStrategy": "operator",
  // OrchestrationService, ROLLOUT (issue 20)
  "/swpatch.v1.OrchestrationService/PauseStrategy": "operator",
  "/swpatch.v1.OrchestrationService/ResumeStrategy": "operator",
  // AdminService: everything admin, reads included (token list, audit log).
  "/swpatch.v1.AdminService/CreateToken": "admin",
  "/swpatch.v1.AdminService/ListTokens": "admin",
  "/swpatch.v1.AdminService/RevokeToken": "admin",
  "/swpatch.v1.AdminService/ListTrustedKeys": "admin",
  "/swpatch.v1.AdminService/AddTrustedKey": "admin",
  "/swpatch.v1.AdminService/RemoveTrustedKey": "admin",
  "/swpatch.v1.AdminService/ListAuditLog": "admin",
  "/swpatch.v1.AdminService/AuditChainVerify": "admin",
  // AdminService, root of trust (issue 21).
  "/swpatch.v1.AdminService/TrustRootGet": "admin",
  "/swpatch.v1.AdminService/TrustRootSet": "admin",
  "/swpatch.v1.AdminService/TrustRootRotate": "admin",
  // Standard services: probes and tooling need no token.
  "/grpc.health.v1.Health/Check": "public",
  "/grpc.health.v1.Health/Watch": "public",
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": "public",
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "public",
});

/**
 * Methods whose calls go to the audit log: every method needing operator or admin (the mutating
 * ones, plus the admin-only reads) and enrolment exchanges. Reader, agent and public methods are
 * not audited on success.
 */
export function isAuditedRequirement(req: RpcRequirement | undefined): boolean {
  return req === "operator" || req === "admin" || req === "enrollment";
}

/** `/swpatch.v1.PatchService/ApplyPatches` → `ApplyPatches`. */
export function methodNameOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i >= 0 ? path.slice(i + 1) : path;
}
