import { type KubeObject, toKubeTime } from "./object.js";
import { type KubeApi, type ResourceRef, resourcePath } from "./rest.js";

export { EventRecorder, type EventRecorderOptions, type EventType } from "./events.js";
export { toKubeTime } from "./object.js";

/**
 * Conditions in the kstatus shape (Ready, Reconciling, Stalled and domain types), as pure functions so
 * planners compute the whole status first and write it once; plus the two writes every reconciler
 * needs: /status with optimistic concurrency, and finalizers.
 */

export type ConditionStatus = "True" | "False" | "Unknown";

/** Condition is metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** ConditionInput is a condition without its transition time, which setCondition decides. */
export type ConditionInput = Omit<Condition, "lastTransitionTime" | "message"> & { message?: string };

/**
 * setCondition returns conditions with input applied: a condition of the same type is replaced in
 * place, its lastTransitionTime kept when the status did not change (only reason, message or
 * observedGeneration did); a new type is appended. The input array is not modified.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date | number,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const previous = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message ?? "",
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime: previous && previous.status === input.status ? previous.lastTransitionTime : toKubeTime(now),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** setConditions applies several inputs in order (one clock reading for all of them). */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  now: Date | number,
): Condition[] {
  return inputs.reduce<Condition[]>((acc, input) => setCondition(acc, input, now), [...(conditions ?? [])]);
}

/**
 * setOwnedConditions is setConditions for a writer that owns `owned` types: an owned type not written
 * this round is removed, so a problem that went away leaves no False condition behind. Others' types stay.
 */
export function setOwnedConditions(
  conditions: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  owned: readonly string[],
  now: Date | number,
): Condition[] {
  const written = new Set(inputs.map((c) => c.type));
  const kept = (conditions ?? []).filter((c) => written.has(c.type) || !owned.includes(c.type));
  return setConditions(kept, inputs, now);
}

/** getCondition finds a condition by type. */
export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** removeCondition drops a condition type (kstatus prefers an absent Stalled to Stalled=False). */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** isConditionTrue is true when the condition exists with status "True". */
export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === "True";
}

/** deepEqual compares JSON values; reconcilers use it to skip a status write that changes nothing. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * mergePatchOf is the JSON merge patch (RFC 7386) that turns `current` into `next`, or undefined when
 * they are equal: changed values are set, objects are patched key by key, and a key `next` lacks is
 * sent as null, so the apiserver removes it (a patch of `next` alone would leave it in place).
 */
export function mergePatchOf(current: unknown, next: unknown): unknown {
  if (deepEqual(current, next)) return undefined;
  if (!isObject(current) || !isObject(next)) return next === undefined ? null : next;
  const patch: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(current), ...Object.keys(next)])) {
    const a = current[key];
    const b = next[key];
    if (deepEqual(a, b)) continue;
    patch[key] = b === undefined ? null : (mergePatchOf(a, b) ?? null);
  }
  return patch;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** KindRef is where a write goes: the resource's group/version/plural; the namespace is the object's. */
export type KindRef = Omit<ResourceRef, "namespace">;

function objectRef(kind: KindRef, obj: KubeObject): ResourceRef {
  return obj.metadata.namespace ? { ...kind, namespace: obj.metadata.namespace } : { ...kind };
}

function requireResourceVersion(obj: KubeObject): string {
  const rv = obj.metadata.resourceVersion;
  // Without a resourceVersion the apiserver would overwrite blindly: refuse, it is always a bug.
  if (!rv)
    throw new TypeError(`${obj.kind ?? "object"} ${obj.metadata.name} has no resourceVersion to guard the write`);
  return rv;
}

/**
 * updateStatus replaces the status subresource of obj (PUT …/status) guarded by obj's resourceVersion.
 * If someone wrote the object since it was read, the apiserver answers 409 and this throws a
 * KubeConflictError, which the Controller requeues quietly. Returns the object as stored.
 */
export async function updateStatus<T extends KubeObject>(
  client: KubeApi,
  kind: KindRef,
  obj: T,
  status: unknown,
): Promise<T> {
  const resourceVersion = requireResourceVersion(obj);
  const { managedFields: _omit, ...metadata } = obj.metadata;
  return client.request<T>({
    method: "PUT",
    path: resourcePath(objectRef(kind, obj), obj.metadata.name, "status"),
    body: { ...obj, metadata: { ...metadata, resourceVersion }, status },
  });
}

/** hasFinalizer tells whether obj carries finalizer. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/** addFinalizer adds finalizer (merge patch guarded by resourceVersion); a no-op when present. */
export function addFinalizer<T extends KubeObject>(
  client: KubeApi,
  kind: KindRef,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return Promise.resolve(obj);
  return patchFinalizers(client, kind, obj, [...(obj.metadata.finalizers ?? []), finalizer]);
}

/** removeFinalizer removes finalizer (merge patch guarded by resourceVersion); a no-op when absent. */
export function removeFinalizer<T extends KubeObject>(
  client: KubeApi,
  kind: KindRef,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (!hasFinalizer(obj, finalizer)) return Promise.resolve(obj);
  return patchFinalizers(
    client,
    kind,
    obj,
    (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer),
  );
}

/**
 * patchFinalizers sets the whole finalizer list. A merge patch replaces lists wholesale, so the
 * resourceVersion in the patch is what keeps another writer's finalizer from being lost (409 instead).
 */
function patchFinalizers<T extends KubeObject>(
  client: KubeApi,
  kind: KindRef,
  obj: T,
  finalizers: string[],
): Promise<T> {
  const resourceVersion = requireResourceVersion(obj);
  return client.request<T>({
    method: "PATCH",
    path: resourcePath(objectRef(kind, obj), obj.metadata.name),
    contentType: "application/merge-patch+json",
    body: { metadata: { resourceVersion, finalizers } },
  });
}
