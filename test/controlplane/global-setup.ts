import type {} from "vitest"; // brings the module into the program for the augmentation below
import type { TestProject } from "vitest/node";
import { ensureBinaries } from "./binaries.js";
import { serveControl } from "./control-server.js";
import { ControlPlane, type ControlPlaneInfo } from "./fixture.js";
import { leftoversOf } from "./leftovers.js";

/** ProvidedControlPlane is what integration tests receive through inject("controlPlane"). */
export interface ProvidedControlPlane extends ControlPlaneInfo {
  /** Loopback endpoint to stop/restart the servers from a test (see control-server.ts). */
  controlUrl: string;
  controlToken: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    controlPlane: ProvidedControlPlane;
  }
}

const log = (line: string) => process.stderr.write(`[controlplane] ${line}\n`);

/**
 * One real control plane per `vitest run` of the integration project: built if missing, started once,
 * stopped at the end, and then checked: no etcd or kube-apiserver it started may survive the run, and
 * its folder must be gone. A leftover fails the run loudly instead of piling up on CI machines.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binaries = await ensureBinaries();
  const cp = await ControlPlane.start({ binaries, log });
  const control = await serveControl(cp);
  project.provide("controlPlane", { ...cp.info(), controlUrl: control.url, controlToken: control.token });
  // Child processes the tests spawn (kubectl, the controller) talk to this cluster and never to the
  // user's current context.
  process.env.KUBECONFIG = cp.kubeconfigPath;

  return async () => {
    const dir = cp.dir;
    await control.close();
    const pids = cp.pids;
    await cp.stop();
    const leftovers = leftoversOf(dir, pids);
    if (leftovers.length > 0) {
      throw new Error(`control plane teardown left things behind:\n  ${leftovers.join("\n  ")}`);
    }
    log(`stopped; no process (${pids.length} started over the run) and no folder left`);
  };
}
