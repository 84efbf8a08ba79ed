import crypto from "node:crypto";
import { KubeConfig } from "@kubernetes/client-node";
import type { EsimProfileOrder } from "../controller/api/types.js";
import { API_VERSION, ORDER_KIND } from "../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../controller/kube/rest.js";
import { ORDER_REF, PROFILE_REF } from "../controller/api/vocabulary.js";
import { type ApiserverCounts, apiserverRequests } from "./metrics.js";

/**
 * The benchmark's view of the control plane: an admin client, fresh namespaces, orders to apply and
 * the apiserver's request counters. It takes connection details only, so the same code runs against
 * the bench's own control plane (`make bench`) and the integration tests' shared one (the CI smoke).
 */

export interface ClusterInfo {
  kubeconfigPath: string;
  server: string;
  caPem: string;
  adminToken: string;
}

export class BenchCluster {
  readonly kube: KubeClient;

  constructor(readonly info: ClusterInfo) {
    const kc = new KubeConfig();
    kc.loadFromFile(info.kubeconfigPath);
    this.kube = new KubeClient(kc, { timeoutMs: 120_000 });
  }

  async createNamespace(prefix: string): Promise<string> {
    const name = `${prefix}-${crypto.randomBytes(3).toString("hex")}`;
    await this.kube.request({
      method: "POST",
      path: "/api/v1/namespaces",
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
    });
    return name;
  }

  /** applyOrder creates an EsimProfileOrder (the user's `kubectl apply`). */
  applyOrder(namespace: string, name: string, spec: Record<string, unknown>): Promise<EsimProfileOrder> {
    return this.kube.request<EsimProfileOrder>({
      method: "POST",
      path: resourcePath({ ...ORDER_REF, namespace }),
      body: { apiVersion: API_VERSION, kind: ORDER_KIND, metadata: { name }, spec },
    });
  }

  getOrder(namespace: string, name: string): Promise<EsimProfileOrder> {
    return this.kube.request<EsimProfileOrder>({ path: resourcePath({ ...ORDER_REF, namespace }, name) });
  }

  /** deleteProfilesAndSecrets empties a ceiling namespace (its objects carry no finalizer). */
  async deleteProfilesAndSecrets(namespace: string): Promise<void> {
    await this.kube.request({ method: "DELETE", path: resourcePath({ ...PROFILE_REF, namespace }) });
    await this.kube.request({ method: "DELETE", path: `/api/v1/namespaces/${namespace}/secrets` });
  }

  apiserverRequests(): Promise<ApiserverCounts> {
    return apiserverRequests(this.info.server, this.info.caPem, this.info.adminToken);
  }

  close(): void {
    this.kube.close();
  }
}
