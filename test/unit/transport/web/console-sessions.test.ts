import { expect } from "chai";
import type * as http from "node:http";
import { ConsoleSessions } from "../../../../server/transport/web/console-sessions.js";

const request = (headers: http.IncomingHttpHeaders) => ({ headers }) as http.IncomingMessage;
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

  it("a Bearer header wins over the cookie; an unknown session id answers nothing", () => {
    const sessions = new ConsoleSessions();
    const set = sessions.open("from-cookie");
    expect(sessions.tokenOf(request({ authorization: "Bearer  from-header ", cookie: cookieOf(set) }))).to.equal("from-header");
    expect(sessions.tokenOf(request({ cookie: "swp_console=" + "0".repeat(64) }))).to.equal(undefined);
    sessions.clear();
    expect(sessions.tokenOf(request({ cookie: cookieOf(set) }))).to.equal(undefined);
  });
});
