/**
 * The one authenticate of the HTTP APIs (server/transport/http/authenticate.ts): each credential
 * kind, their precedence, local trust, the external verifier (null or a throw refuses), and the
 * refusal reasons.
 */
import { expect } from "chai";
import type * as http from "node:http";
import { DomainError } from "../../../../server/domain/errors.js";
import type { Caller } from "../../../../server/domain/auth/roles.js";
import type { ExternalTokenVerifier } from "../../../../server/domain/auth/external-token.js";
import { createLogger } from "../../../../server/lib/log.js";
import { AuthRefusal, createAuthenticate, type Authenticate } from "../../../../server/transport/http/authenticate.js";

const OURS = "swp_0123456789abcdef_" + "a".repeat(64);
const OTHER_OURS = "swp_fedcba9876543210_" + "b".repeat(64);
const log = createLogger({ level: "silent" });

function req(headers: http.IncomingHttpHeaders, remote = "10.0.0.9", local = "10.0.0.1"): http.IncomingMessage {
  return { headers, socket: { remoteAddress: remote, localAddress: local } } as unknown as http.IncomingMessage;
}

/** Our token store: OURS is an operator, anything else unknown; "boom" makes the store fail. */
const auth = {
  seen: [] as string[],
  async verify(token: string): Promise<Caller> {
    this.seen.push(token);
    if (token === OURS) return { tokenId: "0123456789abcdef", role: "operator" };
    if (token.includes("boom")) throw new Error("database is locked");
    throw new DomainError("unauthenticated", "invalid token");
  },
};

function verifier(answer: (t: string) => Promise<Caller | null>): ExternalTokenVerifier & { asked: string[] } {
  const asked: string[] = [];
  return {
    name: "keystone",
    asked,
    verify: (t) => {
      asked.push(t);
      return answer(t);
    },
  };
}

async function refusal(p: Promise<unknown>): Promise<AuthRefusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AuthRefusal) return e;
    throw e;
  }
  throw new Error("expected an AuthRefusal");
}

describe("http: the one authenticate", () => {
  let authenticate: Authenticate;
  beforeEach(() => {
    auth.seen = [];
    authenticate = createAuthenticate({ auth, log });
  });

  it("accepts our token as Bearer, as X-Auth-Token and from the session cookie", async () => {
    expect(await authenticate(req({ authorization: `Bearer ${OURS}` }), {})).to.deep.equal({
      caller: { tokenId: "0123456789abcdef", role: "operator" },
      credential: "bearer",
    });
    expect((await authenticate(req({ "x-auth-token": ` ${OURS} ` }), {})).credential).to.equal("x-auth-token");
    expect((await authenticate(req({}), { sessionToken: () => OURS })).credential).to.equal("cookie");
  });

  it("takes Bearer before X-Auth-Token before the cookie (the first found decides, even when it fails)", async () => {
    await authenticate(req({ authorization: `Bearer ${OURS}`, "x-auth-token": OTHER_OURS }), { sessionToken: () => OTHER_OURS });
    expect(auth.seen).to.deep.equal([OURS]);
    const e = await refusal(authenticate(req({ authorization: `Bearer ${OTHER_OURS}`, "x-auth-token": OURS }), {}));
    expect(e).to.include({ reason: "invalid", actor: "fedcba9876543210", credential: "bearer" });
    auth.seen = [];
    await authenticate(req({ "x-auth-token": OURS }), { sessionToken: () => OTHER_OURS });
    expect(auth.seen).to.deep.equal([OURS]);
  });

  it("ignores the session cookie where the API does not allow it, and a Basic header", async () => {
    const e = await refusal(authenticate(req({ authorization: "Basic eDp5", cookie: "swp_console=x" }), {}));
    expect(e).to.include({ reason: "missing", message: "missing token", actor: "anonymous", credential: "none" });
  });

  it("refuses with a reason: missing, invalid (actor = the token id), unavailable (the store failed)", async () => {
    expect(await refusal(authenticate(req({}), {}))).to.include({ reason: "missing" });
    expect(await refusal(authenticate(req({ "x-auth-token": OTHER_OURS }), {}))).to.include({ reason: "invalid", message: "invalid token", actor: "fedcba9876543210" });
    expect(await refusal(authenticate(req({ "x-auth-token": "swp_boom" }), {}))).to.include({ reason: "unavailable", actor: "anonymous" });
  });

  it("local trust: only with both ends on loopback; no token or an unknown token is the local admin, a failing store is not", async () => {
    const lo = (h: http.IncomingHttpHeaders) => req(h, "127.0.0.1", "127.0.0.1");
    expect(await authenticate(lo({}), { localTrust: true })).to.deep.equal({ caller: { tokenId: "local", role: "admin" }, credential: "local" });
    expect((await authenticate(lo({ "x-auth-token": "gAAAAAB-a-keystone-token" }), { localTrust: true })).caller.role).to.equal("admin");
    expect((await authenticate(lo({ "x-auth-token": OURS }), { localTrust: true })).caller.role).to.equal("operator");
    expect(await refusal(authenticate(lo({ "x-auth-token": "swp_boom" }), { localTrust: true }))).to.include({ reason: "unavailable" });
    expect(await refusal(authenticate(lo({}), {}))).to.include({ reason: "missing" });
    expect(await refusal(authenticate(req({}, "10.0.0.9", "127.0.0.1"), { localTrust: true }))).to.include({ reason: "missing" });
    expect(await refusal(authenticate(req({}, "127.0.0.1", "10.0.0.1"), { localTrust: true }))).to.include({ reason: "missing" });
  });

  it("asks the external verifier for tokens that are not swp_ tokens, never for ours", async () => {
    const v = verifier(async (t) => (t === "ks-good" ? { tokenId: "keystone:admin", role: "admin" } : null));
    const a = createAuthenticate({ auth, log, externalTokens: v });
    expect((await a(req({ "x-auth-token": "ks-good" }), {})).caller).to.deep.equal({ tokenId: "keystone:admin", role: "admin" });
    expect((await a(req({ "x-auth-token": OURS }), {})).caller.role).to.equal("operator");
    expect(v.asked).to.deep.equal(["ks-good"]);
    expect(auth.seen).to.deep.equal([OURS]);
  });

  it("a verifier's null or throw refuses the call (invalid → 401), also under local trust", async () => {
    const lo = (h: http.IncomingHttpHeaders) => req(h, "127.0.0.1", "127.0.0.1");
    const none = createAuthenticate({ auth, log, externalTokens: verifier(async () => null) });
    for (const trust of [false, true]) {
      expect(await refusal(none(lo({ "x-auth-token": "ks-unknown" }), { localTrust: trust }))).to.include({
        reason: "invalid",
        message: "token refused by keystone",
        actor: "keystone",
      });
    }
    const down = createAuthenticate({
      auth,
      log,
      externalTokens: verifier(async () => {
        throw new DomainError("unavailable", "keystone did not answer");
      }),
    });
    for (const trust of [false, true]) {
      // Could not ask: refused as unavailable (503), never let through, not even under local trust.
      expect(await refusal(down(lo({ authorization: "Bearer ks-x" }), { localTrust: trust }))).to.include({
        reason: "unavailable",
        message: "keystone did not answer",
      });
    }
    // Local trust still makes a call without any token the local admin.
    expect((await none(lo({}), { localTrust: true })).credential).to.equal("local");
  });
});
