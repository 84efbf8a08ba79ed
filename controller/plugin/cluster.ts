import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from "@kubernetes/client-node";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import { GROUP, ORDER_KIND, ORDER_PLURAL, PROFILE_KIND, PROFILE_PLURAL, VERSION } from "../api/vocabulary.js";
import {
  ApiError,
  ConflictError,
  CrdMissingError,
  ForbiddenError,
  NotFoundError,
  PluginError,
  UnauthorizedError,
  UnreachableError,
} from "./errors.js";

/** Cluster is everything the plugin reads and writes; a fake stands in for it in unit tests. */
export interface Cluster {
  /** listOrders lists orders in a namespace, or in every namespace when namespace is undefined. */
  listOrders(namespace: string | undefined): Promise<EsimProfileOrder[]>;
  getOrder(namespace: string, name: string): Promise<EsimProfileOrder>;
  listProfiles(namespace: string | undefined, labelSelector?: string): Promise<EsimProfile[]>;
  getProfile(namespace: string, name: string): Promise<EsimProfile>;
  getSecret(namespace: string, name: string): Promise<V1Secret>;
  /** patchOrderAnnotations merge-patches annotations, guarded by resourceVersion (409 → ConflictError). */
  patchOrderAnnotations(
    namespace: string,
    name: string,
    annotations: Record<string, string>,
    resourceVersion: string | undefined,
  ): Promise<EsimProfileOrder>;
}

/** Action names what was attempted, so an error can say which verb on which resource failed. */
interface Action {
  verb: string;
  resource: string;
  kind?: string;
  namespace?: string | undefined;
  name?: string;
}

interface Status {
  kind?: string;
  reason?: string;
  message?: string;
}

function statusOf(body: unknown): Status | undefined {
  if (typeof body === "string") {
    try {
      return statusOf(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  return body && typeof body === "object" ? (body as Status) : undefined;
}

const where = (a: Action) => (a.namespace ? ` in namespace "${a.namespace}"` : " in any namespace");
const NETWORK_CODES = /^(E[A-Z]+|UND_ERR_.+|CERT_.+|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/;

/** KubeCluster talks to a real apiserver through @kubernetes/client-node. */
export class KubeCluster implements Cluster {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly server: string;

  constructor(kc: KubeConfig) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.server = kc.getCurrentCluster()?.server ?? "(unknown server)";
  }

  async listOrders(namespace: string | undefined): Promise<EsimProfileOrder[]> {
    const action = { verb: "list", resource: ORDER_PLURAL, kind: ORDER_KIND, namespace };
    return this.listCustom<EsimProfileOrder>(action, undefined);
  }

  async getOrder(namespace: string, name: string): Promise<EsimProfileOrder> {
    const action = { verb: "get", resource: ORDER_PLURAL, kind: ORDER_KIND, namespace, name };
    return this.call(action, () =>
      this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: ORDER_PLURAL, name }),
    );
  }

  async listProfiles(namespace: string | undefined, labelSelector?: string): Promise<EsimProfile[]> {
    const action = { verb: "list", resource: PROFILE_PLURAL, kind: PROFILE_KIND, namespace };
    return this.listCustom<EsimProfile>(action, labelSelector);
  }

  async getProfile(namespace: string, name: string): Promise<EsimProfile> {
    const action = { verb: "get", resource: PROFILE_PLURAL, kind: PROFILE_KIND, namespace, name };
    return this.call(action, () =>
      this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PROFILE_PLURAL,
        name,
      }),
    );
  }

  async getSecret(namespace: string, name: string): Promise<V1Secret> {
    return this.call({ verb: "get", resource: "secrets", namespace, name }, () =>
      this.core.readNamespacedSecret({ namespace, name }),
    );
  }

  async patchOrderAnnotations(
    namespace: string,
    name: string,
    annotations: Record<string, string>,
    resourceVersion: string | undefined,
  ): Promise<EsimProfileOrder> {
    const action = { verb: "patch", resource: ORDER_PLURAL, kind: ORDER_KIND, namespace, name };
    const body = { metadata: { annotations, ...(resourceVersion ? { resourceVersion } : {}) } };
    return this.call(action, () =>
      this.custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: ORDER_PLURAL, name, body },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    );
  }

  /** listCustom follows `continue` tokens so large fleets come back whole. */
  private async listCustom<T>(action: Action, labelSelector: string | undefined): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined;
    do {
      const common = { group: GROUP, version: VERSION, plural: action.resource, limit: 500, _continue: next };
      const page = (await this.call(action, () =>
        action.namespace
          ? this.custom.listNamespacedCustomObject({ ...common, namespace: action.namespace, labelSelector })
          : this.custom.listClusterCustomObject({ ...common, labelSelector }),
      )) as { items?: T[]; metadata?: { continue?: string } };
      items.push(...(page.items ?? []));
      next = page.metadata?.continue || undefined;
    } while (next);
    return items;
  }

  private async call<T>(action: Action, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw await this.translate(action, err);
    }
  }

  /** translate turns a client error into a PluginError a person understands (by status and code). */
  private async translate(action: Action, err: unknown): Promise<Error> {
    if (err instanceof PluginError) return err;
    if (err instanceof ApiException) {
      const status = statusOf(err.body);
      const server = status?.message ? ` (apiserver: ${status.message})` : "";
      switch (err.code) {
        case 401:
          return new UnauthorizedError(
            `the apiserver ${this.server} rejected the kubeconfig's credentials (401 Unauthorized): log in again`,
          );
        case 403:
          return new ForbiddenError(
            `no permission to ${action.verb} ${action.resource}${where(action)}${server}`,
            action.verb,
            action.resource,
            action.namespace,
          );
        case 404:
          return this.notFound(action);
        case 409:
          return new ConflictError(`${action.kind ?? action.resource} "${action.name}" changed meanwhile${server}`);
        default:
          return new ApiError(
            `${action.verb} ${action.resource}${where(action)} failed: HTTP ${err.code}${server}`,
            err.code,
          );
      }
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.test(code)) {
      return new UnreachableError(`cannot reach the Kubernetes API at ${this.server}: ${code}`);
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  /**
   * notFound tells "no such object" from "no such kind": the apiserver answers 404 to both, so when
   * the resource is one of ours we ask discovery whether the group serves it.
   */
  private async notFound(action: Action): Promise<PluginError> {
    if (action.kind && !(await this.serves(action.resource))) {
      return new CrdMissingError(
        `the ${action.kind} CRD is not installed in this cluster (${this.server} serves no ${action.resource}.${GROUP}/${VERSION}): install the operator's CRDs first`,
      );
    }
    if (!action.name) return new NotFoundError(`${action.resource}${where(action)}: not found`);
    const kind = action.kind ?? (action.resource === "secrets" ? "Secret" : action.resource);
    return new NotFoundError(`${kind} "${action.name}" not found${where(action)}`);
  }

  private async serves(plural: string): Promise<boolean> {
    try {
      const list = await this.custom.getAPIResources({ group: GROUP, version: VERSION });
      return list.resources.some((r) => r.name === plural);
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return false;
      return true; // discovery itself failed: do not claim the CRD is missing
    }
  }
}
