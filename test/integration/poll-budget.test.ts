import { describe, expect, it } from "vitest";
import type { SoracomAccount } from "../../controller/api/types.js";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { resourcePath } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";
import { eventually, metricValue } from "../support/controller-process.js";
import { condition, lendSimulatorAccount, useE2E } from "../support/e2e.js";
import type { SimCall } from "../support/soracom-sim.js";

// The Soracom poll budget against the simulator's per-path rate limit: 20 open orders polled every 10 s
// would need 120 listOrderedProfiles a minute, and the simulator allows 30 per path and minute (announced
// in X-Soracom-Ratelimit-Limit). The controller is given a budget of 1,000 a minute, so only adapting to
// the announced limit keeps it out of 429s: it must poll at most 80% of 30 a minute, make no 429 at all,
// and report the effective interval (20 polls at 24 a minute: 50 s, or what the orders waited when longer,
// judged against the call log) in its metric and the account's status.

const cluster = useCluster();
const e2e = useE2E(cluster);

const LIMIT = 30;
const ORDERS = 20;
const OBSERVE_MS = 75_000;

/**
 * latestGaps are, per order, the gap between its last two lists in the simulator's call log: how long each
 * order actually waited for its latest poll, whatever the controller believes.
 */
function latestGaps(calls: readonly SimCall[]): number[] {
  const last = new Map<string, { at: number; gap?: number }>();
  for (const c of calls) {
    const id = /\/sim_profile_orders\/([^/]+)\/profiles/.exec(c.path)?.[1];
    if (c.operation !== "listOrderedProfiles" || !id) continue;
    const before = last.get(id);
    last.set(id, before ? { at: c.at, gap: c.at - before.at } : { at: c.at });
  }
  return [...last.values()].flatMap((o) => (o.gap === undefined ? [] : [o.gap]));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** busiestMinute is the most calls of `operation` in any 60 s window (sliding, by the simulator's clock). */
function busiestMinute(calls: readonly SimCall[], operation: string): number {
  const at = calls.filter((c) => c.operation === operation).map((c) => c.at);
  let most = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= 60_000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe("the Soracom poll budget", () => {
  it("20 open orders at a 10 s stable interval against a limit of 30 a minute per path: zero 429s, the effective interval reported", async () => {
    const { sim, control } = await e2e.simulator({
      rateLimitPerMinute: LIMIT,
      confirmDelayMs: 100,
      inProgressDelayMs: 200,
    });
    const account = await lendSimulatorAccount(cluster, e2e.kube, sim);
    const ctl = await e2e.controller(sim, {
      credentials: null,
      args: [
        ...["--poll-interval-active", "1s", "--poll-interval-stable", "10s"],
        ...["--soracom-poll-budget", "1000", "--soracom-requests-per-second", "50"],
      ],
    });
    await e2e.applyOrder("fleet", {
      subscription: "planX3",
      quantity: ORDERS,
      maxProfilesPerOrder: 1,
      accountRef: { name: account.name },
    });
    await eventually(
      async () => {
        const o = await e2e.order("fleet");
        return condition(o, "Ready")?.status === "True" && o.status?.totals?.provisioned === ORDERS;
      },
      { timeoutMs: 90_000, what: `${ORDERS} profiles Ready` },
    );

    // Steady state: the lists go on, at the budget's pace.
    const steadyFrom = (await control.clock()).now;
    await new Promise((r) => setTimeout(r, OBSERVE_MS));
    const { calls } = await control.calls();
    const steadyLists = calls.filter((c) => c.operation === "listOrderedProfiles" && c.at >= steadyFrom);

    expect(
      calls.filter((c) => c.status === 429),
      "429s in the simulator's call log",
    ).toEqual([]);
    for (const op of ["listOrderedProfiles", "getProfileOrder"])
      expect(busiestMinute(calls, op), `${op}: most calls in a minute`).toBeLessThanOrEqual(LIMIT);
    // 24 slots a minute; a poll may go up to 100 ms before its slot (timer rounding), so a sliding window
    // can hold one more. The simulator's fixed windows are what 429s come from, and there were none.
    const busiest = busiestMinute(steadyLists, "listOrderedProfiles");
    expect(busiest, "steady polls in a minute").toBeLessThanOrEqual(25);
    // Polled, not starved: 24 a minute over 75 s, give or take the slots at the edges.
    expect(steadyLists.length).toBeGreaterThanOrEqual(20);

    console.info(
      `poll budget: naive need ${(ORDERS * 60) / 10}/min, limit ${LIMIT}/min; steady lists ${steadyLists.length} in ${OBSERVE_MS / 1000} s, busiest minute ${busiest}; 429s 0`,
    );
    // The reported interval is the slots' forecast (20 polls at 24 a minute: 50 s), or what orders waited
    // for their latest list when that was longer: judged against the simulator's log.
    const metrics = await ctl.metrics();
    const { calls: logged } = await control.calls();
    const waited = median(latestGaps(logged)) / 1000;
    const labels = { account: account.name };
    expect(metricValue(metrics, "soracom_esim_poll_budget_calls_per_minute", labels)).toBe(24);
    const reported = metricValue(metrics, "soracom_esim_poll_interval_effective_seconds", labels)!;
    console.info(
      `poll budget: effective interval reported ${reported.toFixed(1)} s, median latest list gap logged ${waited.toFixed(1)} s`,
    );
    const truth = Math.max(50, waited);
    expect(reported).toBeGreaterThanOrEqual(truth * 0.97);
    expect(reported).toBeLessThanOrEqual(truth * 1.1);

    const ref = { group: GROUP, version: VERSION, plural: "soracomaccounts" };
    const polling = await eventually(
      async () =>
        (await e2e.kube.request<SoracomAccount>({ path: resourcePath(ref, account.name) })).status?.polling?.default,
      { timeoutMs: 90_000, what: "the account's status.polling" },
    );
    expect(polling).toMatchObject({ callsPerMinute: 24, vendorLimitPerMinute: LIMIT, polls: ORDERS });
    expect(polling.effectiveIntervalSeconds).toBeGreaterThanOrEqual(Math.floor(truth * 0.97));
    expect(polling.effectiveIntervalSeconds).toBeLessThanOrEqual(Math.ceil(truth * 1.1));
  });
});
