import { type Simulator, startSimulator } from "../simulator/index.js";

/**
 * The benchmark's Soracom: the in-process simulator with a per-call latency, vendor delays of zero (the
 * bench measures the operator, not how long Soracom takes to make profiles) and a rate limit high enough
 * never to answer 429, except on the paths the operator polls when pollLimitPerMinute is set: there it
 * is the vendor's per-path limit, below what the fleet would need polled naively, and the operator's poll
 * budget must keep every answer a 200. Every call is logged with its wall-clock time, which the simulator's own
 * 10,000-entry call log cannot do for a 10,000-profile run.
 */

/** SoracomCall is one /v1 call the simulator answered. */
export interface SoracomCall {
  operation: string;
  method: string;
  status: number;
  /** Date.now() when the call reached the simulator (the configured latency is subtracted). */
  arrivedAt: number;
}

/** Soracom operations that change nothing at Soracom; auth and logout only open and close a session. */
const NOT_MUTATING = new Set([
  "auth",
  "logout",
  "getProfileOrder",
  "listProfileOrders",
  "listOrderedProfiles",
  "getSubscriber",
  "searchSims",
  "getSim",
]);

/** isMutating: the call changes something at Soracom (an order, a SIM, a tag), i.e. it may cost money. */
export function isMutating(operation: string): boolean {
  return !NOT_MUTATING.has(operation);
}

export interface BenchSimulator {
  sim: Simulator;
  url: string;
  latencyMs: number;
  /** Calls since the last mark(). */
  calls(): SoracomCall[];
  /** Calls per operation since the last mark(). */
  counts(): Record<string, number>;
  /** Starts a new window of calls. */
  mark(): void;
  /**
   * listGaps are the gaps (ms) between two successful lists of one order whose later list arrived in
   * [from, to): how long orders actually waited between polls, by the simulator's record (not reset by mark).
   */
  listGaps(from: number, to: number): number[];
  /** Calls fn for each call as it arrives (unsubscribe with the returned function). */
  onCall(fn: (c: SoracomCall) => void): () => void;
  close(): Promise<void>;
}

/** The operations polls use: the vendor limits each path per minute, and so does the bench when asked. */
export const POLLED_OPERATIONS: ReadonlySet<string> = new Set(["getProfileOrder", "listOrderedProfiles"]);

export async function startBenchSimulator(latencyMs: number, pollLimitPerMinute?: number): Promise<BenchSimulator> {
  const sim = await startSimulator({
    port: 0,
    host: "127.0.0.1",
    confirmDelayMs: 0,
    inProgressDelayMs: 0,
    rateLimitPerMinute: 10_000_000,
    maxProfilesPerOrder: 20,
    latencyMs,
  });
  if (pollLimitPerMinute) limitPolledPaths(sim, pollLimitPerMinute);
  let log: SoracomCall[] = [];
  const lastListed = new Map<string, number>();
  const gaps: Array<{ at: number; ms: number }> = [];
  const listeners = new Set<(c: SoracomCall) => void>();
  const record = sim.engine.recordCall.bind(sim.engine);
  // The engine records a call once it is answered: after the configured latency.
  sim.engine.recordCall = (call) => {
    const c: SoracomCall = {
      operation: call.operation,
      method: call.method,
      status: call.status,
      arrivedAt: Date.now() - latencyMs,
    };
    log.push(c);
    const listed = c.operation === "listOrderedProfiles" && c.status === 200 ? orderIdOf(call.path) : undefined;
    if (listed) {
      const last = lastListed.get(listed);
      if (last !== undefined) gaps.push({ at: c.arrivedAt, ms: c.arrivedAt - last });
      lastListed.set(listed, c.arrivedAt);
    }
    for (const fn of listeners) fn(c);
    record(call);
  };
  return {
    sim,
    url: sim.url,
    latencyMs,
    calls: () => log,
    counts: () => countBy(log),
    mark: () => {
      log = [];
      sim.engine.clearCalls();
    },
    listGaps: (from, to) => gaps.filter((g) => g.at >= from && g.at < to).map((g) => g.ms),
    onCall: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    close: () => sim.close(),
  };
}

/** orderIdOf is the profile order ID in a /sim_profile_orders/{id}/profiles path. */
function orderIdOf(path: string): string | undefined {
  return /\/sim_profile_orders\/([^/]+)\/profiles$/.exec(path)?.[1];
}

/** limitPolledPaths gives the polled operations their own per-minute limit (429 and headers included). */
function limitPolledPaths(sim: Simulator, perMinute: number): void {
  const limiter = sim.engine.limiter;
  const take = limiter.take.bind(limiter);
  const peek = limiter.peek.bind(limiter);
  const limitOf = (operation: string, limit: number) => (POLLED_OPERATIONS.has(operation) ? perMinute : limit);
  limiter.take = (operation, now, limit) => take(operation, now, limitOf(operation, limit));
  limiter.peek = (operation, now, limit, remaining) => peek(operation, now, limitOf(operation, limit), remaining);
}

/** throttled counts the calls Soracom answered 429 (rate limit). */
export function throttled(calls: readonly SoracomCall[]): number {
  return calls.filter((c) => c.status === 429).length;
}

export function countBy(calls: readonly SoracomCall[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.operation] = (out[c.operation] ?? 0) + 1;
  return out;
}

/** OrderTimes are the simulator's own times of one order (simulated clock = wall clock here). */
export interface OrderTimes {
  profileOrderId: string;
  quantity: number;
  status: string;
  confirmedTime?: number;
  completedTime?: number;
}

/** orders lists every order the simulator holds, with its lifecycle times. */
export function simulatorOrders(sim: Simulator): OrderTimes[] {
  sim.engine.settle();
  return Object.values(sim.engine.state.orders).map((o) => ({
    profileOrderId: o.profileOrderId,
    quantity: o.quantity,
    status: o.status,
    ...(o.confirmedTime !== undefined ? { confirmedTime: o.confirmedTime } : {}),
    ...(o.completedTime !== undefined ? { completedTime: o.completedTime } : {}),
  }));
}
