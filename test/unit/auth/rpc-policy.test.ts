import { expect } from "chai";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServerReflectionService } from "nice-grpc-server-reflection";
import { PatchServiceDefinition } from "../../../clients/sdk/src/gen/swpatch/v1/patch_service.js";
import { HostServiceDefinition } from "../../../clients/sdk/src/gen/swpatch/v1/host_service.js";
import { AgentServiceDefinition } from "../../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { OrchestrationServiceDefinition } from "../../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { AdminServiceDefinition } from "../../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { RPC_POLICY, methodNameOf } from "../../../server/domain/auth/rpc-policy.js";
import { assertMayActAsHost, roleSatisfies, ROLES, type Role } from "../../../server/domain/auth/roles.js";
import { DomainError } from "../../../server/domain/errors.js";

const SWPATCH = [PatchServiceDefinition, HostServiceDefinition, AgentServiceDefinition, OrchestrationServiceDefinition, AdminServiceDefinition];

/** Every method path the controller serves. */
function allServedPaths(): string[] {
  const paths = SWPATCH.flatMap((d) => Object.values(d.methods).map((m) => `/${d.fullName}/${m.name}`));
  paths.push(...Object.values(HealthDefinition.methods).map((m) => `/${HealthDefinition.fullName}/${m.name}`));
  paths.push(...Object.values(ServerReflectionService).map((m) => m.path));
  return paths;
}

describe("RPC_POLICY", () => {
  it("classifies every method of every service the controller serves", () => {
    const missing = allServedPaths().filter((p) => !(p in RPC_POLICY));
    expect(missing, "add these to server/domain/auth/rpc-policy.ts").to.deep.equal([]);
  });

  it("has no entry for a method that does not exist", () => {
    const served = new Set(allServedPaths());
    const stale = Object.keys(RPC_POLICY).filter((p) => !served.has(p) && !p.startsWith("/grpc.reflection.v1alpha."));
    expect(stale).to.deep.equal([]);
  });

  it("needs no token only for health and reflection", () => {
    const pub = Object.entries(RPC_POLICY)
      .filter(([, r]) => r === "public")
      .map(([p]) => p);
    expect(pub.every((p) => p.startsWith("/grpc.health.v1.") || p.startsWith("/grpc.reflection."))).to.equal(true);
  });

  it("reserves destructive and trust/token methods for admin", () => {
    for (const m of ["DeletePatches", "CommitPatches", "InitRelease", "DelRelease"]) expect(RPC_POLICY[`/swpatch.v1.PatchService/${m}`]).to.equal("admin");
    expect(RPC_POLICY["/swpatch.v1.HostService/DropHost"]).to.equal("admin");
    for (const m of Object.values(AdminServiceDefinition.methods)) expect(RPC_POLICY[`/swpatch.v1.AdminService/${m.name}`]).to.equal("admin");
  });

  it("enrolment: hosts are enrolled and revoked by operators; the exchange needs no bearer token (its request carries the enrolment token)", () => {
    expect(RPC_POLICY["/swpatch.v1.HostService/EnrollHost"]).to.equal("operator");
    expect(RPC_POLICY["/swpatch.v1.HostService/RevokeHost"]).to.equal("operator");
    expect(RPC_POLICY["/swpatch.v1.AgentService/Enroll"]).to.equal("enrollment");
    expect(Object.entries(RPC_POLICY).filter(([, r]) => r === "enrollment")).to.have.length(1);
  });

  it("marks NO_SIDE_EFFECTS methods reader (or admin) and everything else operator or above", () => {
    for (const d of [PatchServiceDefinition, HostServiceDefinition, OrchestrationServiceDefinition]) {
      for (const m of Object.values(d.methods)) {
        const req = RPC_POLICY[`/${d.fullName}/${m.name}`];
        const readOnly = (m.options as { idempotencyLevel?: string }).idempotencyLevel === "NO_SIDE_EFFECTS";
        if (readOnly) expect(req, m.name).to.equal("reader");
        else expect(["operator", "admin"], m.name).to.include(req);
      }
    }
  });

  it("names methods by the last path segment", () => {
    expect(methodNameOf("/swpatch.v1.PatchService/ApplyPatches")).to.equal("ApplyPatches");
  });
});

describe("roleSatisfies", () => {
  const table: Record<Role, Role[]> = {
    admin: ["admin", "operator", "reader", "agent"],
    operator: ["operator", "reader"],
    reader: ["reader"],
    agent: ["agent"],
  };
  for (const role of ROLES) {
    it(`${role} satisfies exactly ${table[role].join(", ")}`, () => {
      expect(ROLES.filter((min) => roleSatisfies(role, min))).to.have.members(table[role]);
    });
  }
});

describe("assertMayActAsHost", () => {
  const kind = (f: () => void) => {
    try {
      f();
      return "ok";
    } catch (e) {
      return (e as DomainError).kind;
    }
  };
  it("lets an agent act as its own host only", () => {
    const agent = { tokenId: "a", role: "agent" as const, hostname: "compute-0" };
    expect(kind(() => assertMayActAsHost(agent, "compute-0"))).to.equal("ok");
    expect(kind(() => assertMayActAsHost(agent, "compute-1"))).to.equal("permission-denied");
  });
  it("lets an admin act as any host and nobody else", () => {
    expect(kind(() => assertMayActAsHost({ tokenId: "x", role: "admin" }, "compute-1"))).to.equal("ok");
    expect(kind(() => assertMayActAsHost({ tokenId: "x", role: "operator" }, "compute-1"))).to.equal("permission-denied");
    expect(kind(() => assertMayActAsHost(undefined, "compute-1"))).to.equal("unauthenticated");
  });
});
