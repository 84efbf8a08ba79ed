import type { KubeObject } from "./object.js";

/**
 * What a cached object keeps. The informers' caches hold every EsimProfile, order and Secret of the fleet
 * for the life of the process, so their bytes are the controller's marginal memory per profile. Like a
 * controller-runtime cache transform, objects are slimmed before they are stored: fields no reconciler
 * reads are dropped, and the strings that thousands of objects repeat (apiVersion, namespace, the owner's
 * UID, labels, finalizers, phases, timestamps of one burst) are shared instead of kept once per object.
 * Nothing here changes a value a reconciler reads, and no write sends a cached object back whole: status
 * goes through the /status subresource (only status is taken) or a merge patch, finalizers through a
 * merge patch of the list alone.
 */

/** Annotations dropped from every cached object: never read here, and as large as the object itself. */
export const DROPPED_ANNOTATIONS: readonly string[] = ["kubectl.kubernetes.io/last-applied-configuration"];

/** Strings longer than this are kept as they are: unique (messages, PEMs), hashing them buys nothing. */
const INTERN_MAX_LENGTH = 256;

/**
 * intern returns V8's internalized copy of s. A string used as a property key is internalized: one
 * instance per distinct value in V8's string table, which holds its strings weakly, so a value no longer
 * referenced anywhere is collected (no table of our own that would only grow).
 */
export function intern(s: string): string {
  if (s.length > INTERN_MAX_LENGTH) return s;
  const holder: Record<string, number> = { [s]: 0 };
  for (const key in holder) return key;
  return s;
}

/**
 * internStrings replaces, in place, every string value inside a freshly parsed JSON value with its
 * internalized copy and returns the value. Frozen objects are left alone (they are someone else's).
 */
export function internStrings<V>(value: V): V {
  if (typeof value === "string") return intern(value) as V;
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = internStrings(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = internStrings(record[key]);
  return value;
}

/**
 * slimForCache is what every informer stores: the object without managedFields and the annotations in
 * DROPPED_ANNOTATIONS, its strings shared. `keepAnnotation`, when given, drops every other annotation
 * too (for kinds whose annotations no reconciler reads). The input is not modified above metadata.
 */
export function slimForCache<T extends KubeObject>(obj: T, keepAnnotation?: (key: string) => boolean): T {
  if (!obj.metadata) return internStrings(obj);
  const { managedFields: _dropped, annotations, ...metadata } = obj.metadata;
  const kept = annotations
    ? Object.fromEntries(
        Object.entries(annotations).filter(
          ([key]) => !DROPPED_ANNOTATIONS.includes(key) && (keepAnnotation ? keepAnnotation(key) : true),
        ),
      )
    : undefined;
  const slim = {
    ...obj,
    metadata: kept && Object.keys(kept).length > 0 ? { ...metadata, annotations: kept } : metadata,
  };
  return internStrings(slim as T);
}
