/**
 * The shape of a Kubernetes object as far as the machinery cares, and the "namespace/name" key that
 * the queue, the cache and the reconcile contract share.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: Array<Record<string, unknown>>;
  managedFields?: unknown[];
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

/** objectKey is the queue key of an object: "namespace/name", or "name" when cluster-scoped. */
export function objectKey(obj: { metadata: { name: string; namespace?: string } }): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : obj.metadata.name;
}

/** splitKey reverses objectKey; namespace is "" for a cluster-scoped key. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * dropManagedFields returns obj without metadata.managedFields. Server-side-apply bookkeeping is often
 * as large as the object itself and the controller never reads it; at 10,000 cached objects it is the
 * difference between a small and a large heap.
 */
export function dropManagedFields<T extends KubeObject>(obj: T): T {
  if (!obj.metadata || obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata } as T;
}

/** toKubeTime renders a time as metav1.Time does: RFC 3339 in UTC, whole seconds. */
export function toKubeTime(at: Date | number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** toMicroTime renders a time as metav1.MicroTime does (Lease renewTime): RFC 3339, microseconds. */
export function toMicroTime(at: Date | number): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
