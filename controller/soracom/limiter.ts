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
 * Answers whose refresh times differ by less than this are of one window: the vendor announces whole
 * seconds (rounded up), so two answers of one window may differ by up to a second.
 */
const SAME_WINDOW_MS = 1_500;

/**
 * RequestLimiter combines four gates, taken in this order for every attempt:
 * 1. a pause per operation path, set after a 429 (or a spent X-Soracom-Ratelimit-Remaining) for as
 *    long as the server asked, since Soracom limits per operator and per API path;
 * 2. a concurrency cap (waiters are served first come, first served);
 * 3. the path's allowance: what the vendor's last answer said is left of its per-minute limit, less
 *    the calls sent since and still in flight; spent, the path waits for the window to refresh instead
 *    of sending calls that can only get a 429;
 * 4. a token bucket for the overall rate.
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
  /** Per path: calls left in the vendor's current window, and when it refreshes (from its headers). */
  readonly #allowance = new Map<string, { left: number; refreshAt: number }>();
  /** Per path: calls sent and not yet answered. */
  readonly #pathInFlight = new Map<string, number>();
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
      // A 429 arrived while we waited for the slot, or the path's allowance is spent: wait again.
      if (this.pausedForMs(path) <= 0 && this.#spend(path)) break;
      this.#releaseSlot();
    }
    this.#pathInFlight.set(path, (this.#pathInFlight.get(path) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const n = (this.#pathInFlight.get(path) ?? 1) - 1;
      if (n > 0) this.#pathInFlight.set(path, n);
      else this.#pathInFlight.delete(path);
      this.#releaseSlot();
    };
    try {
      await this.#takeToken();
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /**
   * observe records what an answer on `path` said is left of the vendor's per-minute limit and how long
   * until that window refreshes; call it after the answer's own slot was released. Calls still in flight
   * are taken from it (the vendor may not have counted them yet: at worst a few calls wait needlessly).
   * Within one window the count only goes down; an answer whose window refreshes later starts a new one.
   */
  observe(path: string, remaining: number, refreshMs: number): void {
    if (!Number.isFinite(remaining) || !Number.isFinite(refreshMs) || refreshMs < 0) return;
    const refreshAt = this.#now() + refreshMs;
    const left = Math.max(0, remaining - (this.#pathInFlight.get(path) ?? 0));
    const known = this.#allowance.get(path);
    if (!known || refreshAt > known.refreshAt + SAME_WINDOW_MS) {
      this.#allowance.set(path, { left, refreshAt });
      return;
    }
    known.left = Math.min(known.left, left);
    known.refreshAt = Math.max(known.refreshAt, refreshAt);
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

  /** #spend takes one call from `path`'s allowance; when none is left it pauses the path until the refresh. */
  #spend(path: string): boolean {
    const known = this.#allowance.get(path);
    if (!known) return true;
    const wait = known.refreshAt - this.#now();
    if (wait <= 0) {
      this.#allowance.delete(path); // a new window: unknown until an answer tells
      return true;
    }
    if (known.left <= 0) {
      this.pause(path, wait);
      return false;
    }
    known.left--;
    return true;
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
