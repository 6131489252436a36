/**
 * The fleet simulator's hosts (`sw-patch-agent --simulate N --sim-installer memory`): N
 * {@link SimHost}s named `<hostname>-<i>`, each starting with the packages of --base-feed (read
 * once from the rpm headers, nothing installed) or, with --provision, with none.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { InstalledPackage } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import type { Instance } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { readRpmHeader } from "../domain/rpm/index.js";
import type { Logger } from "../lib/log.js";
import { SimHost } from "./sim-host.js";
import type { SimOptions } from "./sim-faults.js";

/** The package of each *.rpm in `dir` (from its header), sorted by file name. */
export async function readFeedPackages(dir: string): Promise<InstalledPackage[]> {
  const files = (await fsp.readdir(dir)).filter((f) => f.endsWith(".rpm")).sort();
  const out: InstalledPackage[] = [];
  for (const f of files) {
    const h = await readRpmHeader(path.join(dir, f));
    out.push({ name: h.name, epoch: String(h.epoch ?? 0), version: h.version, release: h.release, arch: h.arch });
  }
  return out;
}

/** What {@link createSimHosts} needs of the agent's configuration. */
export interface SimFleetConfig {
  hostname: string;
  personality: string;
  subfunctions: string[];
  release: string;
  simulate: number;
  provision: boolean;
  baseFeed?: string;
  sim: SimOptions;
  /** The management address of host i ("" leaves it to the controller). */
  mgmtIp: (i: number) => string;
  /** The simulated virtual machines of a host. */
  instances: (hostname: string) => Instance[];
}

/** The simulated hosts `<hostname>-0..N-1`. */
export async function createSimHosts(c: SimFleetConfig, logger: Logger): Promise<SimHost[]> {
  const packages = c.baseFeed ? await readFeedPackages(c.baseFeed) : [];
  return Array.from({ length: c.simulate }, (_, i) => {
    const hostname = `${c.hostname}-${i}`;
    return new SimHost({
      hostname,
      personality: c.personality,
      subfunctions: c.subfunctions,
      release: c.release,
      mgmtIp: c.mgmtIp(i),
      packages,
      provision: c.provision,
      instances: c.instances(hostname),
      sim: c.sim,
      logger,
    });
  });
}
