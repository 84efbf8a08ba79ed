import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { ContextNotFoundError, KubeconfigMissingError } from "./errors.js";

/** ConnectOptions are kubectl's own connection flags. */
export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** Connection is a loaded kubeconfig with its context chosen, and the namespace commands default to. */
export interface Connection {
  kubeConfig: KubeConfig;
  namespace: string;
  context: string;
}

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * kubeconfigFiles is where kubectl would look: --kubeconfig, else every existing file in KUBECONFIG,
 * else ~/.kube/config. Missing files in KUBECONFIG are skipped as kubectl skips them.
 */
function kubeconfigFiles(explicit: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new KubeconfigMissingError(`kubeconfig file not found: ${explicit}`);
    return [explicit];
  }
  if (env.KUBECONFIG) {
    return env.KUBECONFIG.split(path.delimiter).filter((f) => f !== "" && fs.existsSync(f));
  }
  const home = path.join(env.HOME ?? os.homedir(), ".kube", "config");
  return fs.existsSync(home) ? [home] : [];
}

/**
 * loadConnection reads the kubeconfig like kubectl: the files above (or the pod's service account
 * when run inside a cluster), --context, and the namespace from -n, else the context, else "default".
 * With nothing to read it fails plainly rather than falling back to localhost:8080 as the library does.
 */
export function loadConnection(opts: ConnectOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const kc = new KubeConfig();
  const files = kubeconfigFiles(opts.kubeconfig, env);
  if (files.length > 0) {
    kc.loadFromFile(files[0] as string);
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      // kubectl's rule: the first file that sets current-context wins.
      kc.mergeConfig(more, Boolean(kc.getCurrentContext()));
    }
  } else if (fs.existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
  } else {
    const where = env.KUBECONFIG
      ? `no file named by KUBECONFIG=${env.KUBECONFIG} exists`
      : "~/.kube/config does not exist";
    throw new KubeconfigMissingError(`no kubeconfig found: set KUBECONFIG or pass --kubeconfig (${where})`);
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new ContextNotFoundError(
        `context "${opts.context}" not found in the kubeconfig (contexts: ${known.join(", ") || "none"})`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const context = kc.getCurrentContext();
  if (!context || !kc.getCurrentCluster()) {
    throw new KubeconfigMissingError(
      "the kubeconfig has no current context: pass --context or run kubectl config use-context",
    );
  }
  const namespace = opts.namespace || kc.getContextObject(context)?.namespace || "default";
  return { kubeConfig: kc, namespace, context };
}
