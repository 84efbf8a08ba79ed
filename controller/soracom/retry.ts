/** RetryOptions bound how hard the client tries before it hands an error to the caller. */
export interface RetryOptions {
  /** Repeats after the first attempt (retryable operations only). */
  maxRetries: number;
  /** First backoff ceiling; doubles each attempt. */
  baseDelayMs: number;
  /** Backoff ceiling. */
  maxDelayMs: number;
  /**
   * A 429 asking for a longer pause than this is not waited out inside the call: the caller gets a
   * SoracomRateLimitedError (with retryAfterMs) and can requeue instead of holding a worker.
   */
  maxRateLimitWaitMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxRetries: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRateLimitWaitMs: 60_000,
};

/**
 * backoffDelay is exponential backoff with full jitter (AWS's recommendation): a uniform draw in
 * [0, min(maxDelay, base * 2^(retry-1))]. Full jitter spreads a fleet of controllers that failed
 * together. `retry` counts from 1; `random` returns [0, 1).
 */
export function backoffDelay(retry: number, opts: RetryOptions, random: () => number): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** numericHeader is NaN for a missing or empty header (Number("") would be 0). */
function numericHeader(headers: HeaderBag, name: string): number {
  const value = header(headers, name)?.trim();
  return value ? Number(value) : Number.NaN;
}

/**
 * announcedAllowance reads what an answer says is left of its path's per-minute limit and how long until
 * the window refreshes; undefined unless both headers are there and numeric.
 */
export function announcedAllowance(headers: HeaderBag): { remaining: number; refreshMs: number } | undefined {
  const remaining = numericHeader(headers, "x-soracom-ratelimit-remaining");
  const refresh = numericHeader(headers, "x-soracom-ratelimit-seconds-before-refresh");
  if (!Number.isFinite(remaining) || !Number.isFinite(refresh) || remaining < 0 || refresh < 0) return undefined;
  return { remaining, refreshMs: refresh * 1000 };
}

/**
 * serverWaitMs reads how long the server wants us to stay away from this path: `Retry-After`
 * (seconds or an HTTP date; not confirmed for Soracom, honoured if present) or
 * `X-Soracom-Ratelimit-Seconds-Before-Refresh`. Only consulted on a 429, or when
 * `X-Soracom-Ratelimit-Remaining` says the budget is spent. Undefined when there is no hint.
 */
export function serverWaitMs(status: number, headers: HeaderBag, nowMs: number): number | undefined {
  const remaining = numericHeader(headers, "x-soracom-ratelimit-remaining");
  const exhausted = status === 429 || (Number.isFinite(remaining) && remaining <= 0);
  if (!exhausted) return undefined;
  const retryAfter = parseRetryAfter(header(headers, "retry-after"), nowMs);
  const refresh = numericHeader(headers, "x-soracom-ratelimit-seconds-before-refresh");
  const refreshMs = Number.isFinite(refresh) && refresh >= 0 ? refresh * 1000 : undefined;
  if (retryAfter === undefined) return refreshMs;
  return refreshMs === undefined ? retryAfter : Math.max(retryAfter, refreshMs);
}

function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
