import { expect } from "chai";
import { createControllerChoice, type AgentServiceClient } from "../../../server/agent/connection.js";
import { resolveAgentTransport } from "../../../server/agent/agent-transport.js";

/** The agent with a controller pair (`--controller a,b`): which controller it dials next. */
describe("agent: following the active controller of a pair", () => {
  const a = { name: "a" } as unknown as AgentServiceClient;
  const b = { name: "b" } as unknown as AgentServiceClient;

  it("goes to the controller the standby names, else to the next one; a stale failure moves nothing", () => {
    const choice = createControllerChoice([
      { target: "127.0.0.1:1", client: a },
      { target: "127.0.0.1:2", client: b },
    ]);
    expect(choice.current()).to.equal(a);
    choice.failed(a, "controller-1@127.0.0.1:2");
    expect(choice.current()).to.equal(b);
    choice.failed(a, undefined); // a late report about the previous one
    expect(choice.current()).to.equal(b);
    choice.failed(b, undefined); // connection refused: the next one
    expect(choice.current()).to.equal(a);
    choice.failed(a, "controller-9@10.9.9.9:1"); // an address not given: the next one
    expect(choice.current()).to.equal(b);
  });

  it("--controller a,b: every address is checked; the plaintext rule names the remote one", () => {
    expect(resolveAgentTransport("127.0.0.1:1,127.0.0.1:2", {}, {}).targets).to.deep.equal(["127.0.0.1:1", "127.0.0.1:2"]);
    expect(() => resolveAgentTransport("127.0.0.1:1,10.0.0.6:5490", {}, {})).to.throw(/--controller 10\.0\.0\.6:5490: refusing to connect in plaintext/);
    expect(() => resolveAgentTransport("127.0.0.1:1,nope", {}, {})).to.throw(/expected HOST:PORT/);
  });
});
