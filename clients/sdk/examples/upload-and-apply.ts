// Uploads a .patch file, applies it and installs it on one host, printing progress.
// Run: npx tsx clients/sdk/examples/upload-and-apply.ts path/to/ID.patch [hostname]
import { basename } from "node:path";
import { createSwPatchClient, InstallPhase, SwPatchError } from "../src/index.js";

async function run(file: string, host: string | undefined): Promise<void> {
  const client = createSwPatchClient({ endpoint: process.env.SWPATCH_ENDPOINT, token: process.env.SWPATCH_TOKEN });
  try {
    const uploaded = await client.uploadPatchFile(file, {
      onProgress: ({ bytesSent, totalBytes }) => process.stderr.write(`\ruploading ${basename(file)} ${bytesSent}/${totalBytes}`),
    });
    process.stderr.write("\n");
    console.log(uploaded.messages?.info.trim());
    const applied = await client.patches.applyPatches({ patchIds: [uploaded.patchId] });
    console.log(applied.messages?.info.trim());
    if (host) {
      const { operationId } = await client.hosts.installHostAsync({ host, force: true });
      for await (const p of client.watchOperation(operationId)) {
        console.log(`${InstallPhase[p.phase]} ${p.current}/${p.total} ${p.item}`);
      }
    }
  } catch (e) {
    if (e instanceof SwPatchError) {
      console.error(`${e.codeName}: ${e.message}`);
      process.exitCode = 1;
    } else throw e;
  } finally {
    client.close();
  }
}

const [file, host] = process.argv.slice(2);
if (!file) {
  console.error("usage: upload-and-apply.ts FILE.patch [HOST]");
  process.exitCode = 1;
} else void run(file, host);
