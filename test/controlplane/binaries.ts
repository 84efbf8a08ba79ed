import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** Binaries are the executables the control plane needs; helm is only for the chart tests. */
export interface Binaries {
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
  helm?: string;
  /** kube-controller-manager: garbage collection, namespace deletion, service-account tokens. */
  kubeControllerManager?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// Found by walking up, because the fixture also runs compiled from .demo/build/test/controlplane/.
export const REPO_ROOT = findRepoRoot(here);
export const BUILD_SCRIPT = path.join(REPO_ROOT, "test/controlplane/build.sh");

function findRepoRoot(from: string): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/**
 * resolveBinaries asks build.sh where the binaries are (it honours KUBE_APISERVER_BIN, ETCD_BIN,
 * KUBECTL_BIN, HELM_BIN and KUBEBUILDER_ASSETS), so the tests, the demo and CI agree on one answer.
 */
export async function resolveBinaries(): Promise<Binaries> {
  const { stdout } = await promisify(execFile)("bash", [BUILD_SCRIPT, "--print-env"]);
  const env = Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const bins: Binaries = {
    kubeApiserver: env.KUBE_APISERVER_BIN ?? "",
    etcd: env.ETCD_BIN ?? "",
    kubectl: env.KUBECTL_BIN ?? "",
  };
  if (env.HELM_BIN && fs.existsSync(env.HELM_BIN)) bins.helm = env.HELM_BIN;
  const kcm = env.KUBE_CONTROLLER_MANAGER_BIN;
  if (kcm && fs.existsSync(kcm)) bins.kubeControllerManager = kcm;
  return bins;
}

/** missingBinaries lists the required binaries that are not executable files. */
export function missingBinaries(bins: Binaries): string[] {
  return [bins.kubeApiserver, bins.etcd, bins.kubectl].filter((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * ensureBinaries runs build.sh for etcd and kubernetes (a quick no-op when cached; many minutes the
 * first time, with its progress on stderr) and then resolves the binaries.
 */
export async function ensureBinaries(): Promise<Binaries> {
  for (const component of ["etcd", "kubernetes", "controller-manager"]) {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn("bash", [BUILD_SCRIPT, component], { stdio: ["ignore", "inherit", "inherit"] });
      child.once("error", reject);
      child.once("exit", resolve);
    });
    if (code !== 0) throw new Error(`bash ${BUILD_SCRIPT} ${component} failed with exit code ${code}`);
  }
  const bins = await resolveBinaries();
  const missing = missingBinaries(bins);
  if (missing.length > 0) throw new Error(`control-plane binaries missing after build: ${missing.join(", ")}`);
  return bins;
}
