import { expect } from "chai";
import { DependencyGraph } from "../../../../server/domain/patches/dependency-graph.js";
import { prng } from "../../../lib/chaos-prng.js";

function graphOf(edges: Record<string, string[]>): DependencyGraph {
  const g = new DependencyGraph();
  for (const [id, req] of Object.entries(edges)) g.set(id, req);
  return g;
}

const knownIn = (edges: Record<string, string[]>) => (id: string) => id in edges;

describe("DependencyGraph", () => {
  // P3 -> P2 -> P1, P4 -> P1, P5 -> P9 (never uploaded)
  const edges = { P1: [], P2: ["P1"], P3: ["P2"], P4: ["P1"], P5: ["P9"] };

  it("lists the direct dependents of a patch, sorted, and none for a patch nothing requires or an unknown id", () => {
    const g = graphOf(edges);
    expect(g.dependentsOf("P1")).to.deep.equal(["P2", "P4"]);
    expect(g.dependentsOf("P2")).to.deep.equal(["P3"]);
    expect(g.dependentsOf("P3")).to.deep.equal([]);
    expect(g.dependentsOf("nope")).to.deep.equal([]);
    expect(g.requirementsOf("P3")).to.deep.equal(["P2"]);
    expect(g.requirementsOf("nope")).to.deep.equal([]);
  });

  it("keeps its own copy of the requirements it was given", () => {
    const req = ["P1"];
    const g = new DependencyGraph();
    g.set("P2", req);
    req.push("P7");
    expect(g.requirementsOf("P2")).to.deep.equal(["P1"]);
    expect(g.dependentsOf("P7")).to.deep.equal([]);
  });

  it("replaces a patch's edges when it is set again", () => {
    const g = graphOf(edges);
    g.set("P2", ["P4"]);
    expect(g.dependentsOf("P1")).to.deep.equal(["P4"]);
    expect(g.dependentsOf("P4")).to.deep.equal(["P2"]);
    expect(g.requirementsOf("P2")).to.deep.equal(["P4"]);
  });

  it("forgets a deleted patch's requirements but still names its dependents (for 'required by ... but is not uploaded')", () => {
    const g = graphOf(edges);
    g.delete("P2");
    expect(g.dependentsOf("P1")).to.deep.equal(["P4"]);
    expect(g.requirementsOf("P2")).to.deep.equal([]);
    expect(g.dependentsOf("P2")).to.deep.equal(["P3"]);
    g.delete("P2");
    expect(g.dependentsOf("P1")).to.deep.equal(["P4"]);
  });

  it("gives the ids plus their direct requirements without recursion, and the transitive closure with it, sorted", () => {
    const g = graphOf(edges);
    const known = knownIn(edges);
    expect(g.closure(["P3"], false, known)).to.deep.equal({ ids: ["P2", "P3"], unknown: [] });
    expect(g.closure(["P3"], true, known)).to.deep.equal({ ids: ["P1", "P2", "P3"], unknown: [] });
    expect(g.closure(["P4", "P3", "P3"], true, known)).to.deep.equal({ ids: ["P1", "P2", "P3", "P4"], unknown: [] });
  });

  it("reports requirements that were never uploaded and unknown given ids", () => {
    const g = graphOf(edges);
    const known = knownIn(edges);
    expect(g.closure(["P5"], false, known)).to.deep.equal({ ids: ["P5", "P9"], unknown: ["P9"] });
    expect(g.closure(["P5", "P8"], true, known)).to.deep.equal({ ids: ["P5", "P8", "P9"], unknown: ["P8", "P9"] });
  });

  it("terminates on cycles and self-requirements, each member once", () => {
    const cyc = { A: ["B"], B: ["C"], C: ["A"], S: ["S"] };
    const g = graphOf(cyc);
    expect(g.closure(["A"], true, knownIn(cyc))).to.deep.equal({ ids: ["A", "B", "C"], unknown: [] });
    expect(g.closure(["S"], true, knownIn(cyc))).to.deep.equal({ ids: ["S"], unknown: [] });
    expect(g.dependentsOf("A")).to.deep.equal(["C"]);
    expect(g.dependentsOf("S")).to.deep.equal(["S"]);
  });

  it("agrees with a naive scan on 300 random graphs (seeded)", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = prng(seed);
      const ids = Array.from({ length: rng.range(1, 8) }, (_, i) => `P${i}`);
      const edges: Record<string, string[]> = {};
      const g = new DependencyGraph();
      for (const id of ids) {
        // Sometimes a requirement that is not uploaded (Q*), sometimes a cycle.
        const req = [...new Set(Array.from({ length: rng.int(3) }, () => (rng.chance(0.15) ? `Q${rng.int(2)}` : rng.pick(ids))))];
        edges[id] = req;
        g.set(id, req);
      }
      // Delete one patch now and then: its dependents keep pointing at it.
      if (rng.chance(0.3)) {
        const gone = rng.pick(ids);
        g.delete(gone);
        delete edges[gone];
      }
      const known = knownIn(edges);
      const start = [rng.pick(ids)];
      const naive = new Set(start);
      for (let grew = true; grew;) {
        grew = false;
        for (const id of [...naive])
          for (const r of edges[id] ?? [])
            if (!naive.has(r)) {
              naive.add(r);
              grew = true;
            }
      }
      const got = g.closure(start, true, known);
      const ctx = `seed ${seed}: ${JSON.stringify(edges)} from ${start}`;
      expect(got.ids, ctx).to.deep.equal([...naive].sort());
      expect(got.unknown, ctx).to.deep.equal([...naive].filter((id) => !known(id)).sort());
      for (const id of [...ids, "Q0", "Q1"]) {
        const by = Object.keys(edges)
          .filter((d) => edges[d]!.includes(id))
          .sort();
        expect(g.dependentsOf(id), `${ctx} dependents of ${id}`).to.deep.equal(by);
      }
    }
  });
});
