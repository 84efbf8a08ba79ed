import { setTimeout as sleep } from "node:timers/promises";

/** LimiterOptions shape the client's own traffic, so a fleet of reconciles never causes a 429 storm. */
export interface LimiterOptions {
  /** Steady request rate across all operations (token bucket refill per second). */
  requestsPerSecond: number;
  /** Bucket size: how many requests may go out back to back after a quiet spell. */
  burst: number;
  /** Requests in flight at once. */
  maxConcurrency: number;
}

/**
 * RequestLimiter combines three gates, taken in this order for every attempt:
 * 1. a pause per operation path, set after a 429 (or a spent X-Soracom-Ratelimit-Remaining) for as
 *    long as the server asked, since Soracom limits per operator and per API path;
 * 2. a concurrency cap (waiters are served first come, first served);
 * 3. a token bucket for the overall rate.
 * The pause is checked before a slot is taken, so a paused path never holds a slot others could use.
 */
export class RequestLimiter {
  readonly #opts: LimiterOptions;
  readonly #now: () => number;
  #tokens: number;
  #refilledAt: number;
  #inFlight = 0;
  readonly #waiters: Array<() => void> = [];
  readonly #pausedUntil = new Map<string, number>();
  /** The bucket is shared: a chain of promises hands out tokens one at a time, in order. */
  #bucketChain: Promise<void> = Promise.resolve();

  constructor(opts: LimiterOptions, now: () => number = Date.now) {
    if (!(opts.requestsPerSecond > 0)) throw new RangeError("requestsPerSecond must be > 0");
    if (!(opts.maxConcurrency >= 1)) throw new RangeError("maxConcurrency must be >= 1");
    this.#opts = { ...opts, burst: Math.max(1, opts.burst) };
    this.#now = now;
    this.#tokens = this.#opts.burst;
    this.#refilledAt = now();
  }

  /** acquire waits until `path` may send; the returned function must be called once when done. */
  async acquire(path: string): Promise<() => void> {
    for (;;) {
      await this.#waitForPause(path);
      await this.#takeSlot();
      if (this.pausedForMs(path) <= 0) break;
      this.#releaseSlot(); // a 429 arrived while we waited for the slot: wait again
    }
    try {
      await this.#takeToken();
    } catch (err) {
      this.#releaseSlot();
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#releaseSlot();
    };
  }

  /** pause keeps `path` quiet for `ms` (the longest pause asked for wins). */
  pause(path: string, ms: number): void {
    const until = this.#now() + ms;
    if (until > (this.#pausedUntil.get(path) ?? 0)) this.#pausedUntil.set(path, until);
  }

  /** pausedForMs tells how long `path` is still paused (0 if not). */
  pausedForMs(path: string): number {
    const until = this.#pausedUntil.get(path);
    if (until === undefined) return 0;
    const left = until - this.#now();
    if (left <= 0) this.#pausedUntil.delete(path);
    return Math.max(0, left);
  }

  /** inFlight is the number of requests holding a slot now (for tests and metrics). */
  get inFlight(): number {
    return this.#inFlight;
  }

  async #waitForPause(path: string): Promise<void> {
    for (let left = this.pausedForMs(path); left > 0; left = this.pausedForMs(path)) await sleep(left);
  }

  async #takeSlot(): Promise<void> {
    if (this.#inFlight < this.#opts.maxConcurrency) {
      this.#inFlight++;
      return;
    }
    // The releaser hands its slot straight to the next waiter, so #inFlight stays counted.
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  #releaseSlot(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#inFlight--;
  }

  #takeToken(): Promise<void> {
    const turn = this.#bucketChain.then(() => this.#waitForToken());
    this.#bucketChain = turn.catch(() => undefined);
    return turn;
  }

  async #waitForToken(): Promise<void> {
    for (;;) {
      const now = this.#now();
      const elapsed = Math.max(0, now - this.#refilledAt);
      this.#tokens = Math.min(this.#opts.burst, this.#tokens + (elapsed * this.#opts.requestsPerSecond) / 1000);
      this.#refilledAt = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.#tokens) * 1000) / this.#opts.requestsPerSecond));
    }
  }
}
