import { expect } from "chai";
import { createLogger } from "../../../server/lib/log.js";

function capture(level: "debug" | "info" = "debug") {
  const lines: Array<Record<string, unknown>> = [];
  const write = (line: string) => {
    expect(line.endsWith("\n")).to.equal(true);
    lines.push(JSON.parse(line) as Record<string, unknown>);
  };
  return { lines, write, level };
}

describe("log: structured JSON lines", () => {
  it("writes time, level and msg, then bindings, then fields (a field wins over a binding)", () => {
    const c = capture();
    createLogger({ level: c.level, write: c.write, bindings: { proc: "controller", component: "a" } }).info("hello", { component: "b", n: 1 });
    expect(c.lines).to.have.length(1);
    const l = c.lines[0]!;
    expect(Object.keys(l).slice(0, 3)).to.deep.equal(["time", "level", "msg"]);
    expect(l).to.include({ level: "info", msg: "hello", proc: "controller", component: "b", n: 1 });
    expect(Number.isNaN(Date.parse(String(l.time)))).to.equal(false);
  });

  it("a field or binding named time, level or msg cannot overwrite the line's own; it is kept as field_<name>", () => {
    const c = capture();
    const log = createLogger({ level: c.level, write: c.write, bindings: { msg: "from binding", level: "bound" } });
    log.warn("real message", { time: "1970-01-01T00:00:00Z", level: "debug", msg: "fake" });
    log.child({ time: "child time" }).error("child message");
    const [a, b] = c.lines;
    expect(a).to.include({ level: "warn", msg: "real message", field_time: "1970-01-01T00:00:00Z", field_level: "debug", field_msg: "fake" });
    expect(a!.time).to.not.equal("1970-01-01T00:00:00Z");
    expect(b).to.include({ level: "error", msg: "child message", field_time: "child time", field_msg: "from binding", field_level: "bound" });
    expect(b!.time).to.not.equal("child time");
  });

  it("drops lines below the level", () => {
    const c = capture("info");
    const log = createLogger({ level: "info", write: c.write });
    log.debug("no");
    log.info("yes");
    expect(c.lines.map((l) => l.msg)).to.deep.equal(["yes"]);
  });
});
