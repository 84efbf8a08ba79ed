import { describe, expect, it } from "vitest";
import { PollCalendar } from "../../controller/order/calendar.js";
import type { SoracomRead } from "../../controller/order/model.js";
import { PollPacer } from "../../controller/order/pacing.js";

// The poll budget, on a fake clock: a fleet of open orders reconciled when the pacer says their next poll
// comes, as the order reconciler requeues them. Every test runs simulated minutes in milliseconds.

const MIN = 60_000;
const ACCOUNT = "account:fleet";
const list = (id: string): SoracomRead => ({ type: "listProfiles", profileOrderId: id, why: "poll" });
const get = (id: string): SoracomRead => ({ type: "getOrder", profileOrderId: id, why: "poll" });

interface Fleet {
  /** Times of every poll sent. */
  calls: number[];
  pacer: PollPacer;
}

/**
 * runFleet reconciles `stable` completed orders (list polls) and `active` orders in flight (GET polls)
 * from t=0 (a restart: nothing read yet) until `untilMs`, each round coming back when the pacer's next
 * slot for the order comes (at least 50 ms later), as nextRound in the reconciler does.
 */
function runFleet(opts: {
  stable: number;
  active?: number;
  perMinute: number | null;
  stableMs: number;
  activeMs?: number;
  untilMs: number;
  vendorLimit?: (t: number) => number | undefined;
  calls?: (t: number, r: SoracomRead) => void;
}): Fleet {
  const pacer = new PollPacer({
    pollActiveMs: opts.activeMs ?? 5_000,
    pollStableMs: opts.stableMs,
    pollBudgetPerMinute: opts.perMinute,
  });
  const orders = [
    ...Array.from({ length: opts.stable }, (_, i) => ({ id: `s${i}`, read: list(`s${i}`) })),
    ...Array.from({ length: opts.active ?? 0 }, (_, i) => ({ id: `a${i}`, read: get(`a${i}`) })),
  ];
  const next = new Map(orders.map((o) => [o.id, 0]));
  const calls: number[] = [];
  for (;;) {
    let t = Number.POSITIVE_INFINITY;
    let o: (typeof orders)[number] | undefined;
    for (const x of orders) {
      const at = next.get(x.id)!;
      if (at < t) [t, o] = [at, x];
    }
    if (!o || t > opts.untilMs) break;
    pacer.budget(ACCOUNT, undefined, opts.vendorLimit?.(t));
    for (const r of pacer.due(ACCOUNT, [o.read], t)) {
      calls.push(t);
      opts.calls?.(t, r);
      if (r.type === "getOrder") pacer.sawOrder(ACCOUNT, r.profileOrderId, t);
      else pacer.sawProfiles(ACCOUNT, o.id, [], t, false);
    }
    next.set(o.id, Math.max(t + 50, pacer.nextPollAt(ACCOUNT, [o.id]) ?? t + opts.stableMs));
  }
  return { calls, pacer };
}

/** busiestWindow is the most calls in any window of `ms` (sliding). */
function busiestWindow(calls: readonly number[], ms: number): number {
  const sorted = [...calls].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe("PollCalendar: slots one budget apart", () => {
  it("gives each poll the first free slot at or after the time it wants", () => {
    const cal = new PollCalendar(60); // one slot a second
    expect(cal.reserve("a", 10_000, false)).toBe(10_000);
    expect(cal.reserve("b", 10_000, false)).toBe(11_000);
    expect(cal.reserve("c", 10_400, false)).toBe(12_000);
    expect(cal.reserve("d", 30_000, false)).toBe(30_000);
  });

  it("lets a poll of an order in flight take a stable poll's slot, which moves to the next free one", () => {
    const cal = new PollCalendar(60);
    cal.reserve("stable-1", 5_000, false);
    cal.reserve("stable-2", 6_000, false);
    expect(cal.reserve("active", 5_000, true)).toBe(5_000);
    expect([cal.at("stable-1"), cal.at("stable-2")]).toEqual([7_000, 6_000]);
  });

  it("counts a read behind a decision: it takes the next slot, so the polls after it wait", () => {
    const cal = new PollCalendar(60);
    cal.spentNow(5_000);
    cal.spentNow(5_000);
    expect(cal.reserve("poll", 5_000, false)).toBe(7_000);
  });

  it("lowers the budget to 80% of the vendor's announced limit when that is less, and lays the slots out again", () => {
    const cal = new PollCalendar(300);
    cal.reserve("a", 0, false);
    cal.reserve("b", 0, false);
    expect(cal.at("b")).toBe(200);
    cal.configure(300, 30);
    expect(cal.perMinute).toBe(24);
    expect([cal.at("a"), cal.at("b")]).toEqual([0, 2_500]);
    cal.configure(300, 1_000); // the vendor allows more than the budget: the budget stands
    expect(cal.perMinute).toBe(300);
  });

  it("calls made before the vendor announced a lower limit still count once the slots are laid out again", () => {
    const cal = new PollCalendar(1_000); // 60 ms slots
    for (const k of ["a", "b", "c"]) {
      cal.reserve(k, 0, false);
      cal.take(k); // three polls went out at once
    }
    cal.configure(1_000, 30); // the answers announce 30 a minute: 2.5 s slots
    expect(cal.reserve("d", 0, false)).toBe(7_500);
  });

  it("without a budget, a poll comes exactly when it wants; the vendor's limit still bounds it", () => {
    const cal = new PollCalendar(null);
    expect(cal.reserve("a", 1_234, false)).toBe(1_234);
    expect(cal.reserve("b", 1_234, false)).toBe(1_234);
    cal.configure(null, 100);
    expect(cal.perMinute).toBe(80);
  });

  it("forgets reservations nobody came for (the order stopped polling)", () => {
    const cal = new PollCalendar(60);
    cal.reserve("gone", 1_000, false);
    cal.reserve("kept", 100_000, false);
    cal.prune(50_000, 10_000);
    expect([cal.at("gone"), cal.at("kept"), cal.keys]).toEqual([undefined, 100_000, 1]);
  });
});

describe("PollPacer under a budget: never more than the budget, spread, the interval grows and is reported", () => {
  it("a fleet within the budget is polled once per stable interval, one poll per slot, never due together", () => {
    // 100 orders every 5 minutes = 20 calls a minute, well within 300 (one slot every 200 ms).
    const { calls, pacer } = runFleet({ stable: 100, perMinute: 300, stableMs: 5 * MIN, untilMs: 60 * MIN });
    const steady = calls.filter((t) => t >= 20 * MIN);
    // 40 minutes of steady state: 100 orders × 8 intervals, give or take the orders at the edges.
    expect(steady.length).toBeGreaterThanOrEqual(780);
    expect(steady.length).toBeLessThanOrEqual(810);
    // Coming due together would put 100 polls in one instant; the slots allow one per 200 ms, and each
    // order's own phase spreads them over the interval, not just the 20 s those slots would take.
    expect(busiestWindow(steady, 1_000)).toBeLessThanOrEqual(5);
    expect(new Set(steady.map((t) => Math.floor((t % (5 * MIN)) / 1_000))).size).toBeGreaterThan(25);
    expect(pacer.report(ACCOUNT)).toEqual({ perMinute: 300, effectiveIntervalMs: 5 * MIN, polls: 100 });
  });

  it("2,000 orders at 5 minutes (400 calls a minute naive) stay within 120 a minute; the interval grows to 16.7 minutes", () => {
    // The 5,000 orders against 300 a minute, scaled down to keep this test fast: the same ratio.
    const { calls, pacer } = runFleet({ stable: 2_000, perMinute: 120, stableMs: 5 * MIN, untilMs: 45 * MIN });
    expect(busiestWindow(calls, MIN)).toBeLessThanOrEqual(120);
    // Not starved either: the budget is used.
    expect(calls.filter((t) => t >= 20 * MIN && t < 40 * MIN).length).toBeGreaterThanOrEqual(20 * 120 - 5);
    const report = pacer.report(ACCOUNT)!;
    expect(report.effectiveIntervalMs).toBeCloseTo((2_000 / 120) * MIN, -3);
    expect(report.perMinute).toBe(120);
  });

  it("adapts down to the vendor's announced limit: 30 a minute announced, at most 24 polls in any minute", () => {
    const { calls, pacer } = runFleet({
      stable: 40,
      perMinute: 300,
      stableMs: 10_000, // naive need: 240 calls a minute
      untilMs: 10 * MIN,
      vendorLimit: (t) => (t > 0 ? 30 : undefined), // the first answer announces it
    });
    expect(busiestWindow(calls, MIN)).toBeLessThanOrEqual(30);
    expect(
      busiestWindow(
        calls.filter((t) => t > MIN),
        MIN,
      ),
    ).toBeLessThanOrEqual(24);
    expect(pacer.report(ACCOUNT)).toEqual({
      perMinute: 24,
      vendorLimit: 30,
      effectiveIntervalMs: (40 / 24) * MIN,
      polls: 40,
    });
  });

  it("orders with recent change are polled first: under a saturated budget a GET of an order in flight still comes every few seconds", () => {
    const gets: number[] = [];
    runFleet({
      stable: 2_000,
      active: 3,
      perMinute: 120,
      stableMs: 5 * MIN,
      activeMs: 5_000,
      untilMs: 20 * MIN,
      calls: (t, r) => {
        if (r.type === "getOrder" && r.profileOrderId === "a0") gets.push(t);
      },
    });
    const gaps = gets.slice(1).map((t, i) => t - gets[i]!);
    // One slot is half a second; an active poll waits at most a few slots behind the other two.
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5_000 + 2_000);
    expect(gets.length).toBeGreaterThan((20 * MIN) / 7_000);
  });

  it("without a budget (unlimited), polls keep their intervals exactly as before", () => {
    const { calls, pacer } = runFleet({ stable: 10, perMinute: null, stableMs: 30_000, untilMs: 10 * MIN });
    const steady = calls.filter((t) => t >= 2 * MIN && t < 8 * MIN);
    expect(steady.length).toBe(10 * 12);
    expect(pacer.report(ACCOUNT)).toEqual({ perMinute: null, effectiveIntervalMs: 30_000, polls: 10 });
  });

  it("an order that completed stops holding a GET slot, so the effective interval counts only the polls that go on", () => {
    const pacer = new PollPacer({ pollActiveMs: 5_000, pollStableMs: MIN, pollBudgetPerMinute: 60 });
    for (const id of ["a", "b"]) {
      pacer.sawOrder(ACCOUNT, id, 0);
      pacer.sawProfiles(ACCOUNT, id, [], 0, false);
    }
    expect(pacer.report(ACCOUNT)?.polls).toBe(4);
    pacer.settled(ACCOUNT, "a");
    expect(pacer.report(ACCOUNT)?.polls).toBe(3);
    expect(pacer.nextPollAt(ACCOUNT, ["a"], ["list"])).toBeGreaterThanOrEqual(0.1 * MIN); // its list goes on, at its phase
  });

  it("reports what orders actually waited when that is longer than the calendar's forecast (slots that passed unused)", () => {
    // 10 orders under a budget of 60 a minute at a 1-minute stable interval: the calendar forecasts 1 minute.
    // The process lists each order only every 3 minutes (its rounds came late): the report must say 3.
    const pacer = new PollPacer({ pollActiveMs: 5_000, pollStableMs: MIN, pollBudgetPerMinute: 60 });
    const ids = Array.from({ length: 10 }, (_, i) => `o${i}`);
    const listAll = (t: number, which = ids) => {
      for (const id of which) pacer.sawProfiles(ACCOUNT, id, [], t + ids.indexOf(id) * 1_000, false);
    };
    listAll(0);
    listAll(3 * MIN, ids.slice(0, 4));
    // 4 of 10 orders have waited once: too few to trust (after a restart the first gaps are short by design).
    expect(pacer.report(ACCOUNT)?.effectiveIntervalMs).toBe(MIN);
    listAll(3 * MIN, ids.slice(4));
    expect(pacer.report(ACCOUNT)?.effectiveIntervalMs).toBe(3 * MIN);
    // One order listed again at once (a read behind a decision): its short gap does not move the median.
    pacer.sawProfiles(ACCOUNT, "o0", [], 3 * MIN + 15_000, false);
    expect(pacer.report(ACCOUNT)?.effectiveIntervalMs).toBe(3 * MIN);
    // Once the orders are listed every minute again, so is the report: it follows each order's latest gap.
    listAll(4 * MIN);
    expect(pacer.report(ACCOUNT)?.effectiveIntervalMs).toBe(MIN);
  });

  it("never reports less than the forecast: short gaps after a restart do not hide a saturated calendar", () => {
    const pacer = new PollPacer({ pollActiveMs: 5_000, pollStableMs: MIN, pollBudgetPerMinute: 6 });
    const ids = Array.from({ length: 20 }, (_, i) => `o${i}`);
    for (const t of [0, 10_000, 20_000]) for (const id of ids) pacer.sawProfiles(ACCOUNT, id, [], t, false);
    // 20 polls at 6 a minute: 200 s, though the gaps measured were 10 s.
    expect(pacer.report(ACCOUNT)?.effectiveIntervalMs).toBe(200_000);
  });

  it("forgets the list times of orders no longer polled, with the stale reservations", () => {
    const pacer = new PollPacer({ pollActiveMs: 5_000, pollStableMs: MIN, pollBudgetPerMinute: 60 });
    const ids = Array.from({ length: 20 }, (_, i) => `o${i}`);
    for (const t of [0, 3 * MIN]) for (const id of ids) pacer.sawProfiles(ACCOUNT, id, [], t, false);
    expect(pacer.report(ACCOUNT)?.effectiveIntervalMs).toBe(3 * MIN);
    // A week later the same IDs are listed again (a pruned process sees them as new): no week-long gap.
    const later = 7 * 24 * 60 * MIN;
    pacer.due(ACCOUNT, [], later);
    for (const id of ids) pacer.sawProfiles(ACCOUNT, id, [], later, false);
    expect(pacer.report(ACCOUNT)?.effectiveIntervalMs).toBe(MIN);
  });

  it("an account's own budget wins over the controller's default", () => {
    const pacer = new PollPacer({ pollActiveMs: 5_000, pollStableMs: MIN, pollBudgetPerMinute: 300 });
    pacer.budget(ACCOUNT, 60);
    pacer.budget("account:other", undefined);
    const t = 0;
    expect(pacer.due(ACCOUNT, [list("a"), list("b")], t)).toEqual([list("a")]);
    expect(pacer.nextPollAt(ACCOUNT, ["b"])).toBe(1_000);
    expect(pacer.due("account:other", [list("a"), list("b")], t)).toEqual([list("a")]);
    expect(pacer.nextPollAt("account:other", ["b"])).toBe(200);
  });
});
