import { expect } from "chai";
import { ConsoleSessions, ConsoleSessionsFullError } from "../../../../server/transport/web/console-sessions.js";

/** The parsed cookies (@fastify/cookie's request.cookies) of a `cookie` header. */
const request = (headers: { cookie?: string }) =>
  Object.fromEntries((headers.cookie ?? "").split(";").map((c) => c.trim().split("=") as [string, string])) as Record<string, string | undefined>;
const cookieOf = (setCookie: string) => setCookie.split(";")[0]!;

describe("web console sessions", () => {
  it("a session cookie answers with its token until it is closed; the cookie is HttpOnly and SameSite=Strict", () => {
    const sessions = new ConsoleSessions();
    const set = sessions.open("swp_abc_secret");
    expect(set).to.match(/^swp_console=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/);
    const req = request({ cookie: `other=1; ${cookieOf(set)}` });
    expect(sessions.tokenOf(req)).to.equal("swp_abc_secret");
    expect(sessions.close(req)).to.equal("swp_console=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    expect(sessions.tokenOf(req)).to.equal(undefined);
  });

  it("an unknown session id answers nothing; clear() ends every session", () => {
    const sessions = new ConsoleSessions();
    const set = sessions.open("from-cookie");
    expect(sessions.tokenOf(request({ cookie: cookieOf(set) }))).to.equal("from-cookie");
    expect(sessions.tokenOf(request({ cookie: "swp_console=" + "0".repeat(64) }))).to.equal(undefined);
    sessions.clear();
    expect(sessions.tokenOf(request({ cookie: cookieOf(set) }))).to.equal(undefined);
  });
});

describe("web console session caps", () => {
  it("1,000 sign-ins with one token push no other user out: that token keeps its newest sessions only", () => {
    const sessions = new ConsoleSessions();
    const admin = cookieOf(sessions.open("admin-token", "admin-id"));
    const other = cookieOf(sessions.open("reader-token", "reader-id"));
    const attacker: string[] = [];
    for (let i = 0; i < 1000; i++) attacker.push(cookieOf(sessions.open("op-token", "op-id")));
    expect(sessions.tokenOf(request({ cookie: admin }))).to.equal("admin-token");
    expect(sessions.tokenOf(request({ cookie: other }))).to.equal("reader-token");
    expect(sessions.size).to.equal(2 + 20);
    expect(sessions.tokenOf(request({ cookie: attacker[0]! }))).to.equal(undefined);
    expect(sessions.tokenOf(request({ cookie: attacker[979]! }))).to.equal(undefined);
    expect(sessions.tokenOf(request({ cookie: attacker[980]! }))).to.equal("op-token");
    expect(sessions.tokenOf(request({ cookie: attacker[999]! }))).to.equal("op-token");
  });

  it("a full console refuses a new sign-in rather than signing anyone out; a closed session makes room", () => {
    const sessions = new ConsoleSessions({ maxSessions: 3, maxPerToken: 1 });
    const a = cookieOf(sessions.open("a", "a"));
    sessions.open("b", "b");
    sessions.open("c", "c");
    expect(() => sessions.open("d", "d")).to.throw(ConsoleSessionsFullError, "the console has 3 sessions open, its limit (--console-max-sessions)");
    // A token at its own cap still signs in: its oldest session goes, no one else's.
    const a3 = cookieOf(sessions.open("a", "a"));
    expect(sessions.tokenOf(request({ cookie: a }))).to.equal(undefined);
    expect(sessions.tokenOf(request({ cookie: a3 }))).to.equal("a");
    expect(sessions.size).to.equal(3);
    sessions.close(request({ cookie: a3 }));
    expect(cookieOf(sessions.open("d", "d"))).to.match(/^swp_console=/);
  });
});
