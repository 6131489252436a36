/** Authentication, authorization, audit and run-time trust: the domain half (no gRPC, no SQL). */
export { ROLES, LOCAL_CALLER, isRole, roleSatisfies, assertMayActAsHost } from "./roles.js";
export type { Role, Caller } from "./roles.js";
export { RPC_POLICY, isAuditedRequirement, methodNameOf } from "./rpc-policy.js";
export type { RpcRequirement } from "./rpc-policy.js";
export { TOKEN_RE, generateToken, parseToken, hashSecret, secretMatches, ENROLL_TOKEN_RE, generateEnrollToken, parseEnrollToken } from "./token.js";
export type { GeneratedToken } from "./token.js";
export { AuthManager } from "./auth-manager.js";
export type { TokenRecord, TokenStore, TokenInfo, CreateTokenOptions } from "./auth-manager.js";
export { AuditLog, truncate, MAX_AUDIT_TARGET, MAX_AUDIT_DETAIL, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT } from "./audit-log.js";
export type { AuditEntry, AuditStore, AuditRecord } from "./audit-log.js";
export { TrustManager, keyFingerprint } from "./trust-manager.js";
export type { ExternalTokenVerifier } from "./external-token.js";
export type { StoredTrustedKey, TrustedKeyStore, TrustedKeyInfo } from "./trust-manager.js";
export { CredentialRevocations } from "./revocations.js";
export { HostEnrollment, PERSONALITIES, DEFAULT_ENROLL_SECONDS, MAX_ENROLL_SECONDS } from "./host-enrollment.js";
export type { EnrollmentRecord, EnrollmentStore, EnrollmentInfo, EnrollmentState, EnrollmentStoredState, EnrollOptions, ExchangeOptions } from "./host-enrollment.js";
