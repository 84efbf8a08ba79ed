import type { Logger } from "pino";
import { Informer, type InformerHandlers } from "./informer.js";
import type { KubeObject } from "./object.js";
import type { KubeApi, ResourceRef } from "./rest.js";

/** ObjectCache is what reconcilers read: a cache of one kind, by namespace. */
export interface ObjectCache<T> {
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): T[];
  /** Grows with every change of the cache (when the cache can tell): equal readings saw the same objects. */
  changeCount?(): number;
}

/**
 * NamespacedCache mirrors one kind across every namespace, or across a chosen list of namespaces with
 * one informer each (so RBAC can be granted per namespace). Reconcilers read it like one cache.
 */
export class NamespacedCache<T extends KubeObject> implements ObjectCache<T> {
  readonly informers: Informer<T>[];
  private readonly scopes: string[];

  constructor(opts: {
    client: KubeApi;
    resource: Omit<ResourceRef, "namespace">;
    namespaces: readonly string[];
    labelSelector?: string;
    logger?: Logger;
    transform?: (obj: T) => T;
    keepAnnotation?: (key: string) => boolean;
    metadataOnly?: boolean;
  }) {
    const namespaces = opts.namespaces.length > 0 ? opts.namespaces : [undefined];
    this.scopes = namespaces.map((ns) => (ns ? `in namespace ${ns}` : "in all namespaces"));
    this.informers = namespaces.map(
      (namespace) =>
        new Informer<T>({
          client: opts.client,
          resource: { ...opts.resource, ...(namespace ? { namespace } : {}) },
          ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
          ...(opts.logger ? { logger: opts.logger } : {}),
          ...(opts.transform ? { transform: opts.transform } : {}),
          ...(opts.keepAnnotation ? { keepAnnotation: opts.keepAnnotation } : {}),
          ...(opts.metadataOnly ? { metadataOnly: true } : {}),
        }),
    );
  }

  get(namespace: string | undefined, name: string): T | undefined {
    for (const i of this.informers) {
      const obj = i.get(namespace, name);
      if (obj) return obj;
    }
    return undefined;
  }

  list(namespace?: string): T[] {
    return this.informers.flatMap((i) => i.list(namespace));
  }

  changeCount(): number {
    let n = 0;
    for (const i of this.informers) n += i.changeCount();
    return n;
  }

  addHandler(handler: InformerHandlers<T>): void {
    for (const i of this.informers) i.addHandler(handler);
  }

  start(): void {
    for (const i of this.informers) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  /** unsynced names the informers whose first list has not completed ("esimprofiles… in namespace a"). */
  unsynced(): string[] {
    return this.informers.flatMap((i, n) => (i.hasSynced() ? [] : [`${i.name} ${this.scopes[n]}`]));
  }

  async waitForSync(timeoutMs: number): Promise<boolean> {
    const results = await Promise.all(this.informers.map((i) => i.waitForSync(timeoutMs)));
    return results.every(Boolean);
  }
}
