import {
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { afterAll, afterEach, beforeEach, inject } from "vitest";
import type { ControlOperation } from "../controlplane/control-server.js";
import { namespaceName } from "../controlplane/fixture.js";
import type { ProvidedControlPlane } from "../controlplane/global-setup.js";

/** ControlPlaneControl stops and restarts the shared servers from inside a test (fault tests). */
export interface ControlPlaneControl {
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
  restartApiserver(): Promise<void>;
  stopEtcd(): Promise<void>;
  startEtcd(): Promise<void>;
  restartEtcd(): Promise<void>;
  /** Compacts etcd at its current revision; returns it. Watches served by etcd from older revisions get 410. */
  compactEtcd(): Promise<number>;
  /** Compacts etcd and restarts the apiserver: every resourceVersion handed out before is now too old (410). */
  forceWatchExpiry(): Promise<number>;
  /** Stops and starts kube-controller-manager (garbage collector, namespace deletion). */
  stopControllerManager(): Promise<void>;
  startControllerManager(): Promise<void>;
  /** Starts whichever server is stopped (useCluster calls it after every test). */
  ensureRunning(): Promise<void>;
}

/** Cluster is what a test gets from useCluster(): clients for the admin identity and a namespace of its own. */
export interface Cluster {
  /** Admin (system:masters) KubeConfig. */
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  apiext: ApiextensionsV1Api;
  rbac: RbacAuthorizationV1Api;
  coordination: CoordinationV1Api;
  objects: KubernetesObjectApi;
  /** A fresh namespace for the current test (created before each test; valid inside tests and hooks). */
  readonly namespace: string;
  /** Connection details: server, CA, tokens, kubeconfig paths (also for child processes). */
  info: ProvidedControlPlane;
  /** A KubeConfig for the unprivileged user (no RBAC bindings until a test grants some). */
  userKubeConfig(): KubeConfig;
  controlPlane: ControlPlaneControl;
}

/**
 * useCluster connects a test file to the run's shared control plane (started by global setup).
 * Call it at the top of a file or describe block: it registers a beforeEach that creates a namespace
 * named after the test, and an afterEach that restarts any server a test left stopped.
 * Namespaces are not deleted: their objects hold finalizers that no controller removes once the test's
 * own controller is gone, and the whole control plane goes away at the end of the run anyway.
 */
export function useCluster(opts: { namespacePrefix?: string } = {}): Cluster {
  const info = inject("controlPlane");
  process.env.KUBECONFIG = info.kubeconfigPath; // never the user's own cluster
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigPath);
  let namespace: string | undefined;

  beforeEach(async (ctx) => {
    const name = namespaceName(opts.namespacePrefix ?? ctx.task.name);
    await cluster.core.createNamespace({ body: { metadata: { name } } });
    namespace = name;
  });
  afterEach(async () => {
    namespace = undefined;
    await cluster.controlPlane.ensureRunning();
  });
  // SoracomAccounts are cluster-scoped and shared by every file of the run: while any exists, the implicit
  // account of a later file's controller serves no namespace (ImplicitAccountClosed). A file's go with it.
  afterAll(async () => {
    await cluster.custom.deleteCollectionClusterCustomObject({
      group: "esim.soracom-operator.io",
      version: "v1alpha1",
      plural: "soracomaccounts",
    });
  });

  const cluster: Cluster = {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    apiext: kc.makeApiClient(ApiextensionsV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
    get namespace(): string {
      if (!namespace) throw new Error("useCluster().namespace is only set while a test runs");
      return namespace;
    },
    info,
    userKubeConfig: () => {
      const user = new KubeConfig();
      user.loadFromFile(info.userKubeconfigPath);
      return user;
    },
    controlPlane: controlOf(info),
  };
  return cluster;
}

function controlOf(info: ProvidedControlPlane): ControlPlaneControl {
  const call = async (op: ControlOperation): Promise<{ revision?: number }> => {
    const res = await fetch(`${info.controlUrl}/${op}`, {
      method: "POST",
      headers: { authorization: `Bearer ${info.controlToken}` },
    });
    const body = (await res.json()) as { revision?: number; error?: string };
    if (!res.ok) throw new Error(`control plane ${op} failed: ${body.error ?? res.status}`);
    return body;
  };
  const done = async (op: ControlOperation) => {
    await call(op);
  };
  return {
    stopApiserver: () => done("apiserver/stop"),
    startApiserver: () => done("apiserver/start"),
    restartApiserver: () => done("apiserver/restart"),
    stopEtcd: () => done("etcd/stop"),
    stopControllerManager: () => done("controller-manager/stop"),
    startControllerManager: () => done("controller-manager/start"),
    startEtcd: () => done("etcd/start"),
    restartEtcd: () => done("etcd/restart"),
    compactEtcd: async () => (await call("etcd/compact")).revision ?? 0,
    forceWatchExpiry: async () => (await call("watches/expire")).revision ?? 0,
    ensureRunning: () => done("ensure-running"),
  };
}
