import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { silentLogger } from "../log.js";
import { type Clock, systemClock } from "./clock.js";
import { counter, exponentialBuckets, gauge, histogram, perRegistry } from "./prom.js";

/**
 * WorkQueue is a rate-limited work queue with controller-runtime's semantics, because reconciliation is
 * level-based and the queue is what makes it safe:
 * - a key added several times before a worker takes it is processed once (the dirty set);
 * - a key is never processed by two workers at once: added while in flight, it waits in the dirty set
 *   and goes back on the queue when done() is called (the processing set);
 * - addRateLimited() requeues with per-key exponential backoff (base doubling to max) until forget();
 * - addAfter() requeues later for polling; when a key is already waiting, the earliest time wins. The
 *   delay is capped (maxAfterMs, 15 min): a reconcile handing back an absurd wait (a server's rate-limit
 *   hint of years) is looked at again then, and no timer is ever armed past what setTimeout can hold
 *   (Node runs a longer one after 1 ms, which re-arms it every millisecond).
 * Keys are opaque strings ("namespace/name" by convention).
 */
export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxAfterMs: number;
  private readonly logger: Logger;
  private readonly labels: { name: string; controller: string };
  private readonly metrics: WorkQueueMetrics | undefined;

  private readonly fifo = new Fifo();
  private readonly dirty = new Set<string>();
  /** processing maps a key in flight to the time a worker took it. */
  private readonly processing = new Map<string, number>();
  /** addedAt remembers when a dirty key was added, for the queue-duration histogram. */
  private readonly addedAt = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly waiting = new Map<string, number>();
  private readonly heap = new MinHeap();
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private getters: Array<(key: string | undefined) => void> = [];
  private drainers: Array<() => void> = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = Math.min(opts.maxDelayMs ?? 1_000_000, MAX_TIMER_MS);
    this.maxAfterMs = Math.min(opts.maxAfterMs ?? DEFAULT_MAX_AFTER_MS, MAX_TIMER_MS);
    this.logger = opts.logger ?? silentLogger;
    this.labels = { name: opts.name, controller: opts.controller ?? opts.name };
    this.metrics = opts.registry ? workQueueMetrics(opts.registry) : undefined;
    this.metrics?.queues.add(this);
    this.metrics?.depth.set(this.labels, 0);
  }

  /** add marks key as needing work; a no-op when it is already waiting or the queue is shutting down. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.adds.inc(this.labels);
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return; // done() puts it back, so it never runs twice at once
    this.enqueue(key);
  }

  /** addAfter adds key once ms have passed; if it is already scheduled, the earlier time is kept. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    // A wait that is not a number, or longer than the cap, is the cap.
    if (!(ms <= this.maxAfterMs)) {
      this.logger.warn({ key, requestedMs: String(ms), cappedMs: this.maxAfterMs }, "requeue delay capped");
      ms = this.maxAfterMs;
    }
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const scheduled = this.waiting.get(key);
    if (scheduled !== undefined && scheduled <= readyAt) return;
    this.waiting.set(key, readyAt);
    this.heap.push({ key, at: readyAt });
    this.armTimer();
  }

  /** addRateLimited requeues key after its backoff delay and counts a retry. */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    const delay = this.when(key);
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    this.metrics?.retries.inc(this.labels);
    this.addAfter(key, delay);
  }

  /** when is the delay the next addRateLimited(key) will use: base * 2^failures, capped at max. */
  when(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    return Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs);
  }

  /** forget resets key's backoff; call it after a success so the next failure starts small again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** numRequeues is how many times key was rate-limited since it was last forgotten. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** len is the number of keys ready for a worker (not those in flight or scheduled for later). */
  len(): number {
    return this.fifo.size;
  }

  /** isShuttingDown tells workers and event handlers that no more work will be accepted. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** get waits for the next key and marks it in flight; undefined means the queue shut down. */
  get(): Promise<string | undefined> {
    const key = this.fifo.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** done ends work on key; if it was added meanwhile it goes back on the queue. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.workDuration.observe(this.labels, (this.clock.now() - started) / 1000);
    if (this.shuttingDown) {
      this.dirty.delete(key);
      this.addedAt.delete(key);
    } else if (this.dirty.has(key)) {
      this.enqueue(key);
    }
    if (this.processing.size === 0) this.notifyDrained();
  }

  /**
   * shutDown stops accepting work and wakes idle workers. Keys not yet taken are dropped: reconciliation
   * is level-based, so whoever runs next (this process after a restart, or the next leader) redoes them.
   */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.waiting.clear();
    this.heap.clear();
    this.fifo.clear();
    for (const key of [...this.dirty]) {
      if (this.processing.has(key)) continue;
      this.dirty.delete(key);
      this.addedAt.delete(key);
    }
    this.metrics?.depth.set(this.labels, 0);
    const getters = this.getters;
    this.getters = [];
    for (const resolve of getters) resolve(undefined);
    if (this.processing.size === 0) this.notifyDrained();
  }

  /** drain resolves once no key is in flight (after shutDown: when the last worker finished). */
  drain(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  /** shutDownWithDrain stops the queue and waits for the keys in flight to finish: graceful shutdown. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    await this.drain();
    this.metrics?.queues.delete(this);
  }

  /**
   * runWorkers runs n workers that take keys and call handler, until the queue shuts down. A handler
   * that throws is logged and does not kill its worker; retry policy belongs to the handler.
   */
  async runWorkers(n: number, handler: (key: string) => Promise<void>): Promise<void> {
    const worker = async () => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          await handler(key);
        } catch (err) {
          this.logger.error({ err, queue: this.name, key }, "work queue handler threw");
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
  }

  /** inFlight reports the start times of keys being processed, for the unfinished-work gauges. */
  inFlight(): { labels: { name: string; controller: string }; now: number; starts: number[] } {
    return { labels: this.labels, now: this.clock.now(), starts: [...this.processing.values()] };
  }

  private enqueue(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      getter(this.take(key));
      return;
    }
    this.fifo.push(key);
    this.metrics?.depth.set(this.labels, this.fifo.size);
  }

  private take(key: string): string {
    const now = this.clock.now();
    this.processing.set(key, now);
    this.dirty.delete(key);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics?.queueDuration.observe(this.labels, (now - added) / 1000);
    this.metrics?.depth.set(this.labels, this.fifo.size);
    return key;
  }

  private armTimer(): void {
    const next = this.heap.peek();
    if (!next || next.at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = this.clock.setTimeout(() => this.fireDue(), Math.min(next.at - this.clock.now(), MAX_TIMER_MS));
  }

  private fireDue(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      // A stale entry (the key was rescheduled earlier, or already fired) is skipped.
      if (this.waiting.get(top.key) !== top.at) continue;
      this.waiting.delete(top.key);
      this.add(top.key);
    }
    this.armTimer();
  }

  private notifyDrained(): void {
    const drainers = this.drainers;
    this.drainers = [];
    for (const resolve of drainers) resolve();
  }
}

export interface WorkQueueOptions {
  /** name labels the queue's metrics (`name`); controllers use their own name. */
  name: string;
  /** controller labels the metrics (`controller`); defaults to name. */
  controller?: string;
  clock?: Clock;
  /** baseDelayMs is the first backoff delay (client-go: 5 ms). */
  baseDelayMs?: number;
  /** maxDelayMs caps the backoff (client-go: 1000 s). */
  maxDelayMs?: number;
  /** maxAfterMs caps an addAfter delay (15 min): a poll is never further away than that. */
  maxAfterMs?: number;
  /** registry receives the workqueue_* metrics; omit for none. */
  registry?: Registry;
  logger?: Logger;
}

/** The longest delay setTimeout holds (2^31 - 1 ms); Node fires a longer one after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;
/** The default cap of an addAfter delay. */
export const DEFAULT_MAX_AFTER_MS = 15 * 60_000;

/** Buckets of client-go's workqueue histograms: 10 ns to 1000 s, by tens. */
const DURATION_BUCKETS = exponentialBuckets(1e-8, 10, 12);

type WorkQueueMetrics = ReturnType<typeof workQueueMetrics>;

/** workQueueMetrics registers client-go's workqueue metrics (names and labels as controller-runtime). */
export const workQueueMetrics = perRegistry((registry: Registry) => {
  const queues = new Set<WorkQueue>();
  const labels: Array<"name" | "controller"> = ["name", "controller"];
  const inFlight = () => [...queues].map((q) => q.inFlight());
  return {
    queues,
    depth: gauge(registry, "workqueue_depth", "Current depth of workqueue", labels),
    adds: counter(registry, "workqueue_adds_total", "Total number of adds handled by workqueue", labels),
    queueDuration: histogram(
      registry,
      "workqueue_queue_duration_seconds",
      "How long in seconds an item stays in workqueue before being requested",
      labels,
      DURATION_BUCKETS,
    ),
    workDuration: histogram(
      registry,
      "workqueue_work_duration_seconds",
      "How long in seconds processing an item from workqueue takes",
      labels,
      DURATION_BUCKETS,
    ),
    retries: counter(registry, "workqueue_retries_total", "Total number of retries handled by workqueue", labels),
    unfinished: gauge(
      registry,
      "workqueue_unfinished_work_seconds",
      "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
      labels,
      function collect() {
        for (const q of inFlight()) this.set(q.labels, q.starts.reduce((sum, s) => sum + (q.now - s), 0) / 1000);
      },
    ),
    longest: gauge(
      registry,
      "workqueue_longest_running_processor_seconds",
      "How many seconds has the longest running processor for workqueue been running",
      labels,
      function collect() {
        for (const q of inFlight()) this.set(q.labels, q.starts.reduce((m, s) => Math.max(m, q.now - s), 0) / 1000);
      },
    ),
  };
});

/** Fifo is an array-backed queue with O(1) shift, so 10,000 keys do not cost a copy per get. */
class Fifo {
  private items: string[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(key: string): void {
    this.items.push(key);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

interface Scheduled {
  key: string;
  at: number;
}

/** MinHeap orders scheduled keys by due time, so a timer fire costs log n, not a scan of every key. */
class MinHeap {
  private items: Scheduled[] = [];

  peek(): Scheduled | undefined {
    return this.items[0];
  }

  clear(): void {
    this.items = [];
  }

  push(item: Scheduled): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.at <= a[i]!.at) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  pop(): Scheduled | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.at < a[m]!.at) m = l;
      if (r < a.length && a[r]!.at < a[m]!.at) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
    return top;
  }
}
