import { kubeApiError } from "../../controller/kube/errors.js";
import type { KubeRequest } from "../../controller/kube/rest.js";

interface Stored {
  metadata: { name: string; namespace: string; resourceVersion: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

/**
 * FakeConfigMaps answers GET, POST and PUT of ConfigMaps like the apiserver does for a ledger: a PUT with
 * a stale resourceVersion is a 409, a POST of an existing one is a 409, a GET of a missing one a 404.
 * Tests edit what is stored (a person's annotation) with `annotate`, and count writes.
 */
export class FakeConfigMaps {
  private readonly store = new Map<string, Stored>();
  private rv = 0;
  writes = 0;

  request = async <T>(req: KubeRequest): Promise<T> => {
    const m = /\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(req.path);
    if (!m) throw new Error(`unexpected path ${req.path}`);
    const [, ns, name] = m;
    const method = req.method ?? "GET";
    if (method === "GET") {
      const found = this.store.get(`${ns}/${name}`);
      if (!found) throw kubeApiError(404, { reason: "NotFound" });
      return structuredClone(found) as T;
    }
    const body = req.body as Stored;
    const key = `${ns}/${body.metadata.name}`;
    const current = this.store.get(key);
    if (method === "POST" && current) throw kubeApiError(409, { reason: "AlreadyExists" });
    if (method === "PUT" && (!current || current.metadata.resourceVersion !== body.metadata.resourceVersion))
      throw kubeApiError(409, { reason: "Conflict" });
    this.writes += 1;
    const stored: Stored = {
      metadata: { ...body.metadata, namespace: ns!, resourceVersion: String(++this.rv) },
      data: { ...(body.data ?? {}) },
    };
    // A write does not carry annotations it did not read: the apiserver keeps what the PUT body says.
    this.store.set(key, stored);
    return structuredClone(stored) as T;
  };

  /** annotate sets an annotation as a person with kubectl would (a new resourceVersion). */
  annotate(namespace: string, name: string, key: string, value: string): void {
    const found = this.store.get(`${namespace}/${name}`);
    if (!found) throw new Error(`no ConfigMap ${namespace}/${name}`);
    found.metadata.annotations = { ...(found.metadata.annotations ?? {}), [key]: value };
    found.metadata.resourceVersion = String(++this.rv);
  }

  data(namespace: string, name: string): Record<string, string> | undefined {
    return this.store.get(`${namespace}/${name}`)?.data;
  }
}
