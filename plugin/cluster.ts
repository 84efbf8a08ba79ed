import type { KubeConfig, V1Secret } from "@kubernetes/client-node";
import type { EsimProfile, EsimProfileOrder, SoracomAccount } from "../controller/api/types.js";
import {
  ACCOUNT_KIND,
  ACCOUNT_PLURAL,
  GROUP,
  ORDER_KIND,
  ORDER_PLURAL,
  PROFILE_KIND,
  PROFILE_PLURAL,
  VERSION,
} from "../controller/api/vocabulary.js";
import { KubeApiError, KubeNetworkError, KubeTimeoutError } from "../controller/kube/errors.js";
import { KubeClient, type KubeRequest, resourcePath } from "../controller/kube/rest.js";
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
  /** getAccount reads a SoracomAccount (cluster-scoped). */
  getAccount(name: string): Promise<SoracomAccount>;
  /**
   * patchAnnotations merge-patches the annotations of one of the operator's objects, guarded by
   * resourceVersion (409 → ConflictError; namespace is ignored for the cluster-scoped account).
   */
  patchAnnotations<K extends AnnotatedKind>(
    kind: K,
    namespace: string,
    name: string,
    annotations: Record<string, string>,
    resourceVersion: string | undefined,
  ): Promise<KindObject[K]>;
  /** close releases connections when the command is done. */
  close?(): void;
}

/** The operator's kinds whose annotations the plugin writes (approve, ack, refresh, resume). */
export interface KindObject {
  EsimProfileOrder: EsimProfileOrder;
  EsimProfile: EsimProfile;
  SoracomAccount: SoracomAccount;
}
export type AnnotatedKind = keyof KindObject;

const PLURALS: Record<AnnotatedKind, string> = {
  [ORDER_KIND]: ORDER_PLURAL,
  [PROFILE_KIND]: PROFILE_PLURAL,
  [ACCOUNT_KIND]: ACCOUNT_PLURAL,
};

/** Action names what was attempted, so an error can say which verb on which resource failed. */
interface Action {
  verb: string;
  resource: string;
  kind?: string;
  namespace?: string | undefined;
  name?: string;
}

const where = (a: Action) =>
  a.namespace ? ` in namespace "${a.namespace}"` : a.kind === ACCOUNT_KIND ? "" : " in any namespace";
const ours = (plural: string, namespace?: string) => ({ group: GROUP, version: VERSION, plural, namespace });
const MERGE_PATCH = "application/merge-patch+json";

/**
 * KubeCluster talks to the apiserver with the controller's own REST client (controller/kube/rest.ts):
 * plain JSON as the server sent it, the kubeconfig's credentials and TLS.
 */
export class KubeCluster implements Cluster {
  private readonly client: KubeClient;
  private readonly server: string;

  constructor(kc: KubeConfig) {
    this.client = new KubeClient(kc);
    this.server = kc.getCurrentCluster()?.server ?? "(unknown server)";
  }

  /** close drops keep-alive connections so the process can exit at once. */
  close(): void {
    this.client.close();
  }

  listOrders(namespace: string | undefined): Promise<EsimProfileOrder[]> {
    return this.list({ verb: "list", resource: ORDER_PLURAL, kind: ORDER_KIND, namespace }, undefined);
  }

  getOrder(namespace: string, name: string): Promise<EsimProfileOrder> {
    const action = { verb: "get", resource: ORDER_PLURAL, kind: ORDER_KIND, namespace, name };
    return this.call(action, { path: resourcePath(ours(ORDER_PLURAL, namespace), name) });
  }

  listProfiles(namespace: string | undefined, labelSelector?: string): Promise<EsimProfile[]> {
    return this.list({ verb: "list", resource: PROFILE_PLURAL, kind: PROFILE_KIND, namespace }, labelSelector);
  }

  getProfile(namespace: string, name: string): Promise<EsimProfile> {
    const action = { verb: "get", resource: PROFILE_PLURAL, kind: PROFILE_KIND, namespace, name };
    return this.call(action, { path: resourcePath(ours(PROFILE_PLURAL, namespace), name) });
  }

  getSecret(namespace: string, name: string): Promise<V1Secret> {
    const path = resourcePath({ group: "", version: "v1", plural: "secrets", namespace }, name);
    return this.call({ verb: "get", resource: "secrets", namespace, name }, { path });
  }

  getAccount(name: string): Promise<SoracomAccount> {
    const action = { verb: "get", resource: ACCOUNT_PLURAL, kind: ACCOUNT_KIND, name };
    return this.call(action, { path: resourcePath(ours(ACCOUNT_PLURAL), name) });
  }

  patchAnnotations<K extends AnnotatedKind>(
    kind: K,
    namespace: string,
    name: string,
    annotations: Record<string, string>,
    resourceVersion: string | undefined,
  ): Promise<KindObject[K]> {
    const plural = PLURALS[kind];
    const ns = kind === ACCOUNT_KIND ? undefined : namespace;
    const action = { verb: "patch", resource: plural, kind, namespace: ns, name };
    const body = { metadata: { annotations, ...(resourceVersion ? { resourceVersion } : {}) } };
    const path = resourcePath(ours(plural, ns), name);
    return this.call(action, { method: "PATCH", path, body, contentType: MERGE_PATCH });
  }

  /** list follows `continue` tokens so large fleets come back whole. */
  private async list<T>(action: Action, labelSelector: string | undefined): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined;
    do {
      const page = await this.call<{ items?: T[]; metadata?: { continue?: string } }>(action, {
        path: resourcePath(ours(action.resource, action.namespace)),
        query: { limit: 500, labelSelector, continue: next },
      });
      items.push(...(page.items ?? []));
      next = page.metadata?.continue || undefined;
    } while (next);
    return items;
  }

  private async call<T>(action: Action, req: KubeRequest): Promise<T> {
    try {
      return await this.client.request<T>(req);
    } catch (err) {
      throw await this.translate(action, err);
    }
  }

  /** translate turns a client error into a PluginError a person understands (decided by status and class). */
  private async translate(action: Action, err: unknown): Promise<Error> {
    if (err instanceof PluginError) return err;
    if (err instanceof KubeNetworkError || err instanceof KubeTimeoutError) {
      return new UnreachableError(`cannot reach the Kubernetes API at ${this.server}: ${err.message}`);
    }
    if (!(err instanceof KubeApiError)) return err instanceof Error ? err : new Error(String(err));
    const server = err.message ? ` (apiserver: ${err.message})` : "";
    switch (err.status) {
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
          `${action.verb} ${action.resource}${where(action)} failed: HTTP ${err.status}${server}`,
          err.status,
        );
    }
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
      const list = await this.client.request<{ resources?: { name: string }[] }>({ path: `/apis/${GROUP}/${VERSION}` });
      return (list.resources ?? []).some((r) => r.name === plural);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      return true; // discovery itself failed: do not claim the CRD is missing
    }
  }
}
