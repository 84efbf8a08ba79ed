/**
 * RateLimiter counts calls per operation in fixed one-minute windows of simulated time, as the vendor
 * limits "per API, per minute", and produces the X-Soracom-Ratelimit-* headers every response carries.
 */
export interface RateLimitVerdict {
  allowed: boolean;
  headers: Record<string, string>;
}

const WINDOW_MS = 60_000;

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** take counts one call of `operation` at `now` against `limit` calls per minute. */
  take(operation: string, now: number, limit: number): RateLimitVerdict {
    const start = now - (now % WINDOW_MS);
    let w = this.windows.get(operation);
    if (!w || w.start !== start) {
      w = { start, count: 0 };
      this.windows.set(operation, w);
    }
    const allowed = w.count < limit;
    if (allowed) w.count++;
    return { allowed, headers: rateLimitHeaders(limit, limit - w.count, start + WINDOW_MS - now) };
  }

  /** peek gives the headers for `operation` without counting (for injected faults). */
  peek(operation: string, now: number, limit: number, remaining?: number): Record<string, string> {
    const start = now - (now % WINDOW_MS);
    const w = this.windows.get(operation);
    const used = w && w.start === start ? w.count : 0;
    return rateLimitHeaders(limit, remaining ?? limit - used, start + WINDOW_MS - now);
  }

  reset(): void {
    this.windows.clear();
  }
}

export function rateLimitHeaders(limit: number, remaining: number, msBeforeRefresh: number): Record<string, string> {
  return {
    "x-soracom-ratelimit-limit": String(limit),
    "x-soracom-ratelimit-remaining": String(Math.max(0, remaining)),
    "x-soracom-ratelimit-seconds-before-refresh": String(Math.max(1, Math.ceil(msBeforeRefresh / 1000))),
  };
}
