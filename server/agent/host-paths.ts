/**
 * Paths inside a host root that the agent reads and writes (reference spec 6.5). On a real host the
 * root is "/" and /var/run is /run; in a test root they are two plain directories.
 */
import * as path from "node:path";

export interface HostPaths {
  root: string;
  /** In-service restart scripts dropped by %post/%preun: /run/patching/patch-scripts. */
  patchScripts: string;
  /** /run/patching/patch-flags. */
  patchFlags: string;
  /** Touched after a successful install with changes; cleared once the restart scripts pass. */
  nodeIsPatched: string;
  /** Created by reboot-required RPMs (or the agent): scripts are skipped, a reboot is needed. */
  nodeIsPatchedRr: string;
  /** Present while an install runs; its content is the operation id. */
  patchInstalling: string;
  /** Present after a failed install; its content is the reason. */
  patchInstallFailed: string;
  /** The mtce lock flag. */
  nodeLocked: string;
  /** Log of the restart scripts. */
  insvcLog: string;
  /** Agent state directory (state.json) and download area. */
  agentDir: string;
  stateFile: string;
  downloads: string;
}

export function hostPaths(root: string): HostPaths {
  const r = path.resolve(root);
  const agentDir = path.join(r, "var", "lib", "sw-patch-agent");
  return {
    root: r,
    patchScripts: path.join(r, "run", "patching", "patch-scripts"),
    patchFlags: path.join(r, "run", "patching", "patch-flags"),
    nodeIsPatched: path.join(r, "var", "run", "node_is_patched"),
    nodeIsPatchedRr: path.join(r, "var", "run", "node_is_patched_rr"),
    patchInstalling: path.join(r, "var", "run", "patch_installing"),
    patchInstallFailed: path.join(r, "var", "run", "patch_install_failed"),
    nodeLocked: path.join(r, "var", "run", ".node_locked"),
    insvcLog: path.join(r, "var", "log", "patching-insvc.log"),
    agentDir,
    stateFile: path.join(agentDir, "state.json"),
    downloads: path.join(r, "var", "cache", "sw-patch-agent", "downloads"),
  };
}
