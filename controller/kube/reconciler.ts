import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { silentLogger } from "../log.js";
import { type Clock, systemClock } from "./clock.js";
import { isConflict } from "./errors.js";
import { counter, gauge, histogram, perRegistry } from "./prom.js";
import { WorkQueue } from "./workqueue.js";

/**
 * ReconcileResult is all a reconcile returns: when to look again. Nothing (or requeueAfterMs 0) means
 * "done until something changes"; a thrown error means "retry with backoff".
 */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * ReconcileFn is the reconcile contract: bring the world in line for one "namespace/name" key. It gets
 * no event payload (reconciliation is level-based). signal aborts when the controller stops, e.g. on
 * lost leadership: a reconcile should stop starting new external actions then, and finish its writes.
 */
export type ReconcileFn = (key: string, signal: AbortSignal) => Promise<ReconcileResult | undefined>;

/**
 * TerminalError says "retrying will not help until the spec changes": no requeue, but still logged and
 * counted (controller_runtime_terminal_reconcile_errors_total). The reconciler reports it as Stalled.
 */
export class TerminalError extends Error {
  readonly code: string = "RECONCILE_TERMINAL";
  override name = "TerminalError";
}

/** ReconcileOutcome is the single metric label of one reconcile, and what the queue does next. */
export type ReconcileOutcome =
  | { result: "success"; next: "forget" }
  | { result: "requeue_after"; next: "after"; afterMs: number }
  | { result: "requeue"; next: "rate_limited"; conflict: true }
  | { result: "error"; next: "rate_limited" | "forget"; terminal: boolean; panic: boolean };

/**
 * classifyOutcome maps what a reconcile returned or threw to exactly one outcome:
 * - a result with requeueAfterMs > 0 → requeue_after (the backoff is reset);
 * - any other result → success;
 * - a 409 Conflict → requeue, quietly: the cache was stale, the next try reads the new version;
 * - a TerminalError → error, not retried;
 * - a programming error (TypeError and kin, or a thrown non-Error) → error counted as a panic, retried;
 * - any other error → error, retried with per-key backoff.
 */
export function classifyOutcome(
  outcome: { ok: true; value: ReconcileResult | undefined } | { ok: false; error: unknown },
): ReconcileOutcome {
  if (outcome.ok) {
    const afterMs = outcome.value?.requeueAfterMs ?? 0;
    return afterMs > 0 ? { result: "requeue_after", next: "after", afterMs } : { result: "success", next: "forget" };
  }
  const err = outcome.error;
  if (isConflict(err)) return { result: "requeue", next: "rate_limited", conflict: true };
  if (err instanceof TerminalError) return { result: "error", next: "forget", terminal: true, panic: false };
  return { result: "error", next: "rate_limited", terminal: false, panic: isProgrammingError(err) };
}

function isProgrammingError(err: unknown): boolean {
  return (
    !(err instanceof Error) ||
    err instanceof TypeError ||
    err instanceof ReferenceError ||
    err instanceof RangeError ||
    err instanceof SyntaxError
  );
}

export interface ControllerOptions {
  /** name labels metrics and logs ("esimprofileorder"); it is also the work queue's name. */
  name: string;
  reconcile: ReconcileFn;
  /** concurrency is the number of workers (controller-runtime's MaxConcurrentReconciles); default 1. */
  concurrency?: number;
  registry?: Registry;
  logger?: Logger;
  clock?: Clock;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Controller wires a work queue, n workers and the controller_runtime_* metrics around a ReconcileFn.
 * Informer handlers call enqueue(); start() runs the workers until stop(), which lets in-flight
 * reconciles finish (a reconcile that already called Soracom must get to record what it did).
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcileFn: ReconcileFn;
  private readonly concurrency: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly labels: { controller: string };
  private readonly stopper = new AbortController();
  private running: Promise<void> | undefined;
  private active = 0;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.reconcileFn = opts.reconcile;
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.logger = (opts.logger ?? silentLogger).child({ controller: opts.name });
    this.clock = opts.clock ?? systemClock;
    this.labels = { controller: opts.name };
    this.queue = new WorkQueue({
      name: opts.name,
      controller: opts.name,
      clock: this.clock,
      logger: this.logger,
      ...(opts.registry ? { registry: opts.registry } : {}),
      ...(opts.baseDelayMs !== undefined ? { baseDelayMs: opts.baseDelayMs } : {}),
      ...(opts.maxDelayMs !== undefined ? { maxDelayMs: opts.maxDelayMs } : {}),
    });
    this.metrics = opts.registry ? controllerMetrics(opts.registry) : undefined;
    this.initMetrics();
  }

  /** enqueue asks for key to be reconciled (deduplicated by the queue). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** start runs the workers; the promise settles after stop() once every worker has finished. */
  start(): Promise<void> {
    this.running ??= this.queue.runWorkers(this.concurrency, (key) => this.reconcileOne(key));
    return this.running;
  }

  /** stop refuses new work, signals reconciles in flight and waits for them to finish. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.queue.shutDownWithDrain();
    await this.running;
  }

  /** reconcileOne runs one reconcile and applies its outcome: one metric label, one queue action. */
  private async reconcileOne(key: string): Promise<void> {
    const started = this.clock.now();
    this.logger.debug({ key }, "reconciling");
    this.setActive(+1);
    let outcome: ReconcileOutcome;
    try {
      const value = await this.reconcileFn(key, this.stopper.signal);
      outcome = classifyOutcome({ ok: true, value });
    } catch (error) {
      outcome = classifyOutcome({ ok: false, error });
      this.logFailure(key, outcome, error);
    } finally {
      this.setActive(-1);
      this.metrics?.time.observe(this.labels, (this.clock.now() - started) / 1000);
    }
    this.count(outcome);
    if (outcome.next === "rate_limited") {
      this.queue.addRateLimited(key);
      return;
    }
    this.queue.forget(key);
    if (outcome.next === "after") this.queue.addAfter(key, outcome.afterMs);
  }

  private logFailure(key: string, outcome: ReconcileOutcome, err: unknown): void {
    if (outcome.result === "requeue") this.logger.debug({ key }, "conflict; requeueing");
    else if (outcome.result === "error" && outcome.terminal)
      this.logger.error({ key, err }, "reconcile failed terminally; not retrying");
    else
      this.logger.error({ key, err, retries: this.queue.numRequeues(key) }, "reconcile failed; retrying with backoff");
  }

  private count(outcome: ReconcileOutcome): void {
    const m = this.metrics;
    if (!m) return;
    m.total.inc({ ...this.labels, result: outcome.result });
    if (outcome.result !== "error") return;
    m.errors.inc(this.labels);
    if (outcome.terminal) m.terminal.inc(this.labels);
    if (outcome.panic) m.panics.inc(this.labels);
  }

  private setActive(delta: number): void {
    this.active += delta;
    this.metrics?.active.set(this.labels, this.active);
  }

  /** initMetrics publishes zeros, so dashboards and alerts see every series from the start. */
  private initMetrics(): void {
    const m = this.metrics;
    if (!m) return;
    for (const result of ["success", "error", "requeue", "requeue_after"]) m.total.inc({ ...this.labels, result }, 0);
    m.errors.inc(this.labels, 0);
    m.terminal.inc(this.labels, 0);
    m.panics.inc(this.labels, 0);
    m.maxConcurrent.set(this.labels, this.concurrency);
    m.active.set(this.labels, 0);
  }
}

/** controller-runtime's reconcile-time buckets (seconds). */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2,
  2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

type ControllerMetrics = ReturnType<typeof controllerMetrics>;

/** controllerMetrics registers controller-runtime's controller metrics (same names and labels). */
export const controllerMetrics = perRegistry((registry: Registry) => {
  const c: Array<"controller"> = ["controller"];
  return {
    total: counter(registry, "controller_runtime_reconcile_total", "Total number of reconciliations per controller", [
      "controller",
      "result",
    ]),
    errors: counter(
      registry,
      "controller_runtime_reconcile_errors_total",
      "Total number of reconciliation errors per controller",
      c,
    ),
    terminal: counter(
      registry,
      "controller_runtime_terminal_reconcile_errors_total",
      "Total number of terminal reconciliation errors per controller",
      c,
    ),
    panics: counter(
      registry,
      "controller_runtime_reconcile_panics_total",
      "Total number of reconciliation panics per controller",
      c,
    ),
    time: histogram(
      registry,
      "controller_runtime_reconcile_time_seconds",
      "Length of time per reconciliation per controller",
      c,
      RECONCILE_BUCKETS,
    ),
    maxConcurrent: gauge(
      registry,
      "controller_runtime_max_concurrent_reconciles",
      "Maximum number of concurrent reconciles per controller",
      c,
    ),
    active: gauge(registry, "controller_runtime_active_workers", "Number of currently used workers per controller", c),
  };
});
