import { KubeApiError, KubeConflictError, KubeNetworkError, KubeTimeoutError } from "../controller/kube/errors.js";

/**
 * The bench's own apiserver calls on a loaded 2-core machine: a request that timed out (the client's
 * deadline, or the apiserver's 504), was throttled (429) or met a 500/503 is tried again, so one slow
 * answer does not end an hour-long run. A create tried again may find its object made by the attempt
 * that timed out: createOrGet then reads it instead of failing on AlreadyExists.
 */

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** transient: the call may succeed if sent again unchanged. */
export function transient(err: unknown): boolean {
  if (err instanceof KubeTimeoutError || err instanceof KubeNetworkError) return true;
  return err instanceof KubeApiError && [429, 500, 503, 504].includes(err.status);
}

/** withRetries calls `fn` until it succeeds, fails for good, or `attempts` tries failed transiently. */
export async function withRetries<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !transient(err)) throw err;
      await sleep((opts.baseDelayMs ?? 1_000) * 2 ** (i - 1));
    }
  }
}

/**
 * createOrGet creates an object, trying again on transient errors; when a retry finds it already there
 * (the timed-out attempt made it), the object is read instead. AlreadyExists on the first try is an error.
 */
export async function createOrGet<T>(create: () => Promise<T>, get: () => Promise<T>, opts?: RetryOptions): Promise<T> {
  let tries = 0;
  try {
    return await withRetries(() => {
      tries++;
      return create();
    }, opts);
  } catch (err) {
    if (tries > 1 && err instanceof KubeConflictError && err.reason === "AlreadyExists") return withRetries(get, opts);
    throw err;
  }
}
