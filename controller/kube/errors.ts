/**
 * Errors of the Kubernetes machinery. Callers decide by `code` or `status`, never by message text.
 * The apiserver's Status body (reason, message) travels with the error for logs and conditions.
 */

/** KubeStatusBody is the part of a metav1.Status the machinery reads. */
export interface KubeStatusBody {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
}

/** KubeApiError is any non-2xx answer of the apiserver; `status` is the HTTP code. */
export class KubeApiError extends Error {
  readonly code: string = "KUBE_API_ERROR";
  readonly status: number;
  /** reason is metav1.Status.reason (Conflict, NotFound, Expired, AlreadyExists…), when given. */
  readonly reason: string | undefined;
  /** causes are the reasons of metav1.Status.details.causes (e.g. NamespaceTerminating), when given. */
  readonly causes: readonly string[];

  constructor(status: number, body?: KubeStatusBody, fallbackMessage?: string) {
    super(body?.message || fallbackMessage || `apiserver answered ${status}`);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = body?.reason;
    this.causes = causesOf(body?.details);
  }
}

/** KubeConflictError is a 409: someone else changed the object first (or it already exists). */
export class KubeConflictError extends KubeApiError {
  override readonly code: string = "KUBE_CONFLICT";
  override name = "KubeConflictError";
}

/** KubeNotFoundError is a 404. */
export class KubeNotFoundError extends KubeApiError {
  override readonly code: string = "KUBE_NOT_FOUND";
  override name = "KubeNotFoundError";
}

/** KubeGoneError is a 410: the resourceVersion is older than etcd's compaction; a relist is needed. */
export class KubeGoneError extends KubeApiError {
  override readonly code: string = "KUBE_GONE";
  override name = "KubeGoneError";
}

/** KubeNetworkError is a request that got no HTTP answer (refused, reset, closed mid-stream). */
export class KubeNetworkError extends Error {
  readonly code: string = "KUBE_NETWORK";
  override name = "KubeNetworkError";
}

/** KubeTimeoutError is a request that got no complete answer within its deadline. */
export class KubeTimeoutError extends Error {
  readonly code: string = "KUBE_TIMEOUT";
  override name = "KubeTimeoutError";
}

/** kubeApiError builds the error subclass that matches an HTTP status. */
export function kubeApiError(status: number, body?: KubeStatusBody, fallbackMessage?: string): KubeApiError {
  if (status === 409) return new KubeConflictError(status, body, fallbackMessage);
  if (status === 404) return new KubeNotFoundError(status, body, fallbackMessage);
  if (status === 410) return new KubeGoneError(status, body, fallbackMessage);
  return new KubeApiError(status, body, fallbackMessage);
}

/**
 * statusCodeOf reads the HTTP status out of the errors this process may meet: ours, client-node's
 * ApiException (`code` is a number there) and client-node's Watch (`statusCode`).
 */
export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.status;
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === "number") return e.code;
  if (typeof e.statusCode === "number") return e.statusCode;
  return undefined;
}

/** isConflict: a 409 means "re-read and try again", so controllers requeue it quietly. */
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;
/** isNotFound: a 404. */
export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
/** isForbidden: a 403, RBAC does not grant the request. */
export const isForbidden = (err: unknown): boolean => statusCodeOf(err) === 403;
/** isGone: a 410, the resourceVersion expired. */
export const isGone = (err: unknown): boolean => statusCodeOf(err) === 410;

function causesOf(details: unknown): string[] {
  const causes = (details as { causes?: unknown } | undefined)?.causes;
  if (!Array.isArray(causes)) return [];
  return causes.flatMap((c) => (typeof c?.reason === "string" ? [c.reason as string] : []));
}
