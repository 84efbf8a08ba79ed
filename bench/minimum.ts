import { isMutating } from "./soracom.js";

/**
 * The least number of Soracom calls each phase of the job needs, the yardstick of the call ratio:
 * - cold order: one login, and per Soracom order one create, one confirm, one list of its profiles (and
 *   one more per stable poll until the whole cold order is done), and one GET per poll while it is in
 *   flight (at least one: the confirm answer says CONFIRMED, only a GET can tell COMPLETED);
 * - steady state: one list of profiles per open order per stable poll, nothing per profile;
 * - restart: one login, one list of profiles per open order, nothing per profile, no change at all;
 * - the orphan sweep (once at start, then every --orphan-sweep-interval): one page of
 *   listProfileOrders per 100 orders.
 * An ordered profile has no SIM ID, and the product shows it (status, `kubectl esim export`): the least
 * that learns them is one /query/sims search per order (20 IMSIs at once). The cold minimum includes that
 * search; `issueRatio` leaves it out, as the issue's wording does (nothing per profile), and
 * `simLookups` counts every SIM lookup made.
 */

export type Counts = Record<string, number>;

/** An order as the simulator saw it (times in ms). */
export interface OrderLifecycle {
  confirmedTime?: number;
  completedTime?: number;
}

export const SIM_LOOKUPS = ["getSubscriber", "searchSims", "getSim"] as const;

/**
 * coldMinimum is the minimum for creating, confirming, following and materializing these orders. A
 * completed order is also listed once per stable poll while the rest of the cold order goes on (until
 * `endedAt`): those polls are allowed, up to the stable cadence, and counted only as far as they
 * happened (`listed`, the lists actually made), so that polling less often than the cadence does not
 * read as beating the minimum. The process logs in once; whether that login falls into this window or
 * just before it (the start-up orphan sweep) is luck, so `loggedIn` says whether it happened inside.
 */
export function coldMinimum(
  orders: readonly OrderLifecycle[],
  o: { pollActiveMs: number; pollStableMs: number; endedAt: number; loggedIn: boolean; listed: number },
): Counts {
  let gets = 0;
  let stablePolls = 0;
  for (const x of orders) {
    const inFlightMs = (x.completedTime ?? x.confirmedTime ?? 0) - (x.confirmedTime ?? 0);
    gets += Math.max(1, Math.ceil(inFlightMs / o.pollActiveMs));
    if (x.completedTime) stablePolls += Math.max(0, Math.floor((o.endedAt - x.completedTime) / o.pollStableMs));
  }
  const lists = orders.length + Math.min(stablePolls, Math.max(0, o.listed - orders.length));
  return {
    auth: o.loggedIn ? 1 : 0,
    createProfileOrder: orders.length,
    confirmProfileOrder: orders.length,
    getProfileOrder: gets,
    listOrderedProfiles: lists,
    searchSims: orders.length,
  };
}

/**
 * steadyMinimum is the minimum over a window: one list per open order per stable poll, or, when a poll
 * budget (calls per minute) cannot pay for that, the budget: the operator then polls each order less often.
 */
export function steadyMinimum(
  openOrders: number,
  windowMs: number,
  pollStableMs: number,
  budgetPerMinute?: number,
): Counts {
  const naive = (openOrders * windowMs) / pollStableMs;
  const budget = budgetPerMinute === undefined ? Number.POSITIVE_INFINITY : (budgetPerMinute * windowMs) / 60_000;
  return { listOrderedProfiles: Math.round(Math.min(naive, budget)) };
}

/**
 * restartMinimum is the minimum after a restart: log in, list each open order once, sweep once, and log
 * out when the process stops (the bench stops it before counting).
 */
export function restartMinimum(openOrders: number, allOrders: number): Counts {
  return { auth: 1, listOrderedProfiles: openOrders, listProfileOrders: Math.ceil(allOrders / 100), logout: 1 };
}

/** CallRatio compares what was called with the minimum. */
export interface CallRatio {
  calls: Counts;
  minimum: Counts;
  total: number;
  minimumTotal: number;
  /** total / minimumTotal: 1.0 is the minimum. */
  ratio: number;
  /** total / the minimum without any SIM lookup (the issue's literal minimum). */
  issueRatio: number;
  /** Calls that change something at Soracom (creates and confirms included). */
  mutating: number;
  /** SIM ID lookups, part of total, not of the minimum. */
  simLookups: number;
}

export function callRatio(calls: Counts, minimum: Counts): CallRatio {
  const sum = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);
  const total = sum(calls);
  const minimumTotal = sum(minimum);
  const withoutSims = minimumTotal - SIM_LOOKUPS.reduce((n, op) => n + (minimum[op] ?? 0), 0);
  const over = (min: number) => (min > 0 ? total / min : total === 0 ? 1 : Number.POSITIVE_INFINITY);
  return {
    calls,
    minimum,
    total,
    minimumTotal,
    ratio: over(minimumTotal),
    issueRatio: over(withoutSims),
    mutating: mutatingCalls(calls),
    simLookups: SIM_LOOKUPS.reduce((n, op) => n + (calls[op] ?? 0), 0),
  };
}

/** mutatingCalls counts every call that changes something at Soracom (orders included). */
export function mutatingCalls(calls: Counts): number {
  return Object.entries(calls)
    .filter(([op]) => isMutating(op))
    .reduce((n, [, v]) => n + v, 0);
}
