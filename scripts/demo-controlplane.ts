/**
 * The control plane of `make demo`: the test fixture (test/controlplane/fixture.ts) kept running in
 * the background until SIGTERM or SIGINT, which stop etcd and kube-apiserver and remove their folder.
 * Compiled by scripts/demo.sh into .demo/build/ and started with:
 *   node .demo/build/scripts/demo-controlplane.js <state-dir>
 * When ready it writes <state-dir>/kubeconfig and <state-dir>/controlplane.json; scripts/demo.sh waits
 * for the latter.
 */
import fs from "node:fs";
import path from "node:path";
import { ControlPlane } from "../test/controlplane/fixture.js";

const stateDir = path.resolve(process.argv[2] ?? ".demo");
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} [controlplane] ${line}\n`);

async function run(): Promise<void> {
  const cp = await ControlPlane.start({ baseDir: path.join(stateDir, "controlplane"), log });
  const kubeconfig = path.join(stateDir, "kubeconfig");
  fs.copyFileSync(cp.kubeconfigPath, kubeconfig);
  fs.chmodSync(kubeconfig, 0o600);
  const info = {
    server: cp.server,
    kubeconfig,
    userKubeconfig: cp.userKubeconfigPath,
    etcd: cp.etcdUrl,
    pid: process.pid,
  };
  fs.writeFileSync(
    path.join(stateDir, "controlplane.json"),
    `${JSON.stringify({ ...info, startupMs: cp.startupMs }, null, 2)}\n`,
  );
  // Stay up until a signal: the fixture's own SIGINT/SIGTERM handlers stop the servers and exit.
  setInterval(() => undefined, 1 << 30);
}

run().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
