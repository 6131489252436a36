import { expect } from "chai";
import { createServer, ServerError, Status, type Server } from "nice-grpc";
import {
  createSwPatchClient,
  HostServiceDefinition,
  NotFoundError,
  type EnrollHostRequest,
  type EnrollHostResponse,
  type Enrollment,
  type HostServiceImplementation,
} from "../../../clients/sdk/src/index.js";
import { completeService } from "./fake-service.js";

describe("sdk: host enrolment calls (client.hosts)", () => {
  let server: Server;
  let port = 0;
  const seen: EnrollHostRequest[] = [];
  const enrollment: Enrollment = {
    id: "0123456789abcdef",
    hostname: "compute-0",
    personality: "worker",
    createdAt: new Date("2026-12-03T12:00:00.000Z"),
    expiresAt: new Date("2026-12-03T13:00:00.000Z"),
    state: "pending",
    createdBy: "fedcba9876543210",
    credentialId: "",
  };
  before(async () => {
    server = createServer();
    const impl: Partial<HostServiceImplementation> = {
      async enrollHost(req) {
        seen.push(req);
        return { enrollment, enrollToken: `swpe_${enrollment.id}_${"a".repeat(64)}`, replacedEnrollmentIds: ["1111111111111111"] };
      },
      async listEnrollments() {
        return { enrollments: [enrollment] };
      },
      async revokeHost(req) {
        if (req.hostname !== "compute-0") throw new ServerError(Status.NOT_FOUND, `Host ${req.hostname} has no credentials or enrolments`);
        return { revokedTokenIds: ["2222222222222222"], revokedEnrollmentIds: [enrollment.id] };
      },
    };
    server.add(HostServiceDefinition, completeService<HostServiceImplementation>(HostServiceDefinition.methods, impl));
    port = await server.listen("127.0.0.1:0");
  });
  after(() => server.forceShutdown());

  it("enrollHost, listEnrollments and revokeHost round-trip their exported types; errors are typed", async () => {
    const client = createSwPatchClient({ endpoint: `127.0.0.1:${port}` });
    try {
      const r: EnrollHostResponse = await client.hosts.enrollHost({ hostname: "compute-0", personality: "worker", expiresSeconds: 600 });
      expect(seen).to.deep.equal([{ hostname: "compute-0", personality: "worker", expiresSeconds: 600 }]);
      expect(r.enrollment).to.deep.equal(enrollment);
      expect(r.enrollToken).to.match(/^swpe_0123456789abcdef_a{64}$/);
      expect(r.replacedEnrollmentIds).to.deep.equal(["1111111111111111"]);
      expect((await client.hosts.listEnrollments({})).enrollments).to.deep.equal([enrollment]);
      expect(await client.hosts.revokeHost({ hostname: "compute-0" })).to.deep.equal({ revokedTokenIds: ["2222222222222222"], revokedEnrollmentIds: [enrollment.id] });
      let caught: unknown;
      try {
        await client.hosts.revokeHost({ hostname: "ghost" });
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(NotFoundError);
    } finally {
      client.close();
    }
  });
});
