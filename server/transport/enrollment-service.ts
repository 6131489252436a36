/**
 * The enrolment RPCs of HostService (EnrollHost and RevokeHost: operator; ListEnrollments: reader) over
 * HostEnrollment. AgentService.Enroll (the agent's exchange) is in agent-service.ts.
 */
import type { CallContext } from "nice-grpc";
import type { Enrollment, HostServiceImplementation } from "../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { DomainError } from "../domain/errors.js";
import type { EnrollmentInfo, HostEnrollment } from "../domain/auth/host-enrollment.js";
import type { AuthContextExt } from "./auth-middleware.js";

/** An enrolment as sent (never its token or hash). */
export function toProtoEnrollment(e: EnrollmentInfo): Enrollment {
  return {
    id: e.id,
    hostname: e.hostname,
    personality: e.personality,
    createdAt: new Date(e.createdAt),
    expiresAt: new Date(e.expiresAt),
    state: e.state,
    createdBy: e.createdBy,
    credentialId: e.credentialId,
  };
}

type EnrollmentMethods = Pick<HostServiceImplementation, "enrollHost" | "revokeHost" | "listEnrollments">;

/**
 * The three methods; without `enrollment` (a host service built for tests without one) each
 * answers FAILED_PRECONDITION.
 */
export function createEnrollmentMethods(enrollment: Pick<HostEnrollment, "enroll" | "revokeHost" | "list"> | undefined): EnrollmentMethods {
  const need = () => {
    if (!enrollment) throw new DomainError("failed-precondition", "host enrolment is not available on this server", { reason: "ENROLLMENT_UNAVAILABLE" });
    return enrollment;
  };
  return {
    async enrollHost(req, ctx: CallContext) {
      const caller = (ctx as CallContext & Partial<AuthContextExt>).caller;
      const r = await need().enroll({
        hostname: req.hostname,
        personality: req.personality,
        expiresSeconds: req.expiresSeconds,
        createdBy: caller?.tokenId ?? "local",
      });
      return { enrollment: toProtoEnrollment(r.info), enrollToken: r.token, replacedEnrollmentIds: r.replaced };
    },
    async revokeHost(req) {
      const r = await need().revokeHost(req.hostname);
      return { revokedTokenIds: r.tokenIds, revokedEnrollmentIds: r.enrollmentIds };
    },
    async listEnrollments() {
      return { enrollments: (await need().list()).map(toProtoEnrollment) };
    },
  };
}
