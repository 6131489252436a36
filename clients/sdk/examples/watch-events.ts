// Follows the controller's event log, surviving controller restarts; Ctrl-C stops it.
// Run: npx tsx clients/sdk/examples/watch-events.ts [AFTER_SEQUENCE]
import { createSwPatchClient } from "../src/index.js";

async function run(afterSequence: number): Promise<void> {
  const client = createSwPatchClient({ endpoint: process.env.SWPATCH_ENDPOINT, token: process.env.SWPATCH_TOKEN });
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  try {
    for await (const ev of client.watchEvents({
      afterSequence,
      signal: ac.signal,
      onReconnect: ({ attempt, delayMs }) => console.error(`reconnecting (attempt ${attempt}, in ${delayMs} ms)`),
    })) {
      const subject = ev.patchId || ev.hostname || ev.operationId;
      console.log(`#${ev.sequence} ${ev.time?.toISOString() ?? ""} ${ev.kind} ${subject} ${ev.oldState}->${ev.newState} ${ev.message}`);
    }
  } catch (e) {
    if ((e as Error).name !== "AbortError") throw e;
  } finally {
    client.close();
  }
}

void run(Number(process.argv[2] ?? 0));
