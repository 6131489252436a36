// Lists patches and hosts.  Run: SWPATCH_ENDPOINT=127.0.0.1:5490 npx tsx clients/sdk/examples/query.ts
import { agentStateLabel, createSwPatchClient, patchStateLabel, QueryFilter, UnavailableError } from "../src/index.js";

async function run(): Promise<void> {
  const client = createSwPatchClient({ endpoint: process.env.SWPATCH_ENDPOINT, token: process.env.SWPATCH_TOKEN });
  try {
    const info = await client.patches.getControllerInfo({});
    console.log(`controller ${client.endpoint}: release ${info.runningRelease}, ${info.patchCount} patches`);
    const { patches } = await client.patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL });
    for (const p of patches) console.log(`${p.id}  ${p.swVersion}  ${patchStateLabel(p.patchState)}`);
    const { hosts } = await client.hosts.listHosts({}, { deadline: 5_000 });
    for (const h of hosts) console.log(`${h.hostname}  ${h.ip}  ${agentStateLabel(h.agentState)}`);
  } catch (e) {
    if (e instanceof UnavailableError) console.error(`controller unreachable: ${e.message}`);
    else throw e;
    process.exitCode = 1;
  } finally {
    client.close();
  }
}

void run();
