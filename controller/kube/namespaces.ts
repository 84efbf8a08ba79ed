import type { Logger } from "pino";
import { Informer } from "./informer.js";
import type { KubeObject } from "./object.js";
import type { KubeApi } from "./rest.js";

/**
 * NamespaceLabels mirrors the labels of every namespace (metadata only: a namespace has nothing else the
 * controller needs). Which namespaces a SoracomAccount serves, and which a shard owns, are label
 * selectors over these labels, decided by the cluster admin who labels namespaces.
 */
export class NamespaceLabels {
  readonly informer: Informer<KubeObject>;

  constructor(opts: { client: KubeApi; logger?: Logger }) {
    this.informer = new Informer<KubeObject>({
      client: opts.client,
      resource: { group: "", version: "v1", plural: "namespaces" },
      metadataOnly: true,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  /** labels of a namespace; undefined when the namespace is not known (not yet, or gone). */
  labels(namespace: string): Record<string, string> | undefined {
    const ns = this.informer.get(undefined, namespace);
    return ns ? ((ns.metadata.labels as Record<string, string> | undefined) ?? {}) : undefined;
  }

  /** names of every namespace known. */
  names(): string[] {
    return this.informer.list().map((n) => n.metadata.name);
  }
}
