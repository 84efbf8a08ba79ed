import { describe, expect, it } from "vitest";
import { callRatio, coldMinimum, restartMinimum, steadyMinimum } from "../../bench/minimum.js";

const T = 1_000_000;
const order = (confirmedAfter: number, completedAfter: number) => ({
  confirmedTime: T + confirmedAfter,
  completedTime: T + completedAfter,
});
const base = { pollActiveMs: 1_000, pollStableMs: 30_000, endedAt: T + 5_000, loggedIn: false, listed: 2 };

describe("the Soracom minimum of the benchmark", () => {
  const cases: Record<string, { got: Record<string, number>; want: Record<string, number> }> = {
    "two orders completing at once need a create, a confirm, a GET, a list and a SIM search each": {
      got: coldMinimum([order(0, 0), order(0, 0)], base),
      want: {
        auth: 0,
        createProfileOrder: 2,
        confirmProfileOrder: 2,
        getProfileOrder: 2,
        listOrderedProfiles: 2,
        searchSims: 2,
      },
    },
    "an order in flight for 2.5 active polls needs three GETs": {
      got: coldMinimum([order(0, 2_500)], { ...base, listed: 1 }),
      want: {
        auth: 0,
        createProfileOrder: 1,
        confirmProfileOrder: 1,
        getProfileOrder: 3,
        listOrderedProfiles: 1,
        searchSims: 1,
      },
    },
    "stable polls during a long cold order are allowed up to the cadence, counted as far as they happened": {
      got: coldMinimum([order(0, 0)], { ...base, endedAt: T + 95_000, listed: 3, loggedIn: true }),
      want: {
        auth: 1,
        createProfileOrder: 1,
        confirmProfileOrder: 1,
        getProfileOrder: 1,
        listOrderedProfiles: 3,
        searchSims: 1,
      },
    },
    "more lists than the cadence allows are not in the minimum": {
      got: coldMinimum([order(0, 0)], { ...base, endedAt: T + 35_000, listed: 9 }),
      want: {
        auth: 0,
        createProfileOrder: 1,
        confirmProfileOrder: 1,
        getProfileOrder: 1,
        listOrderedProfiles: 2,
        searchSims: 1,
      },
    },
    "steady state is one list per open order per stable poll": {
      got: steadyMinimum(550, 60_000, 30_000),
      want: { listOrderedProfiles: 1_100 },
    },
    "a restart logs in, lists every open order once, sweeps once (a page per 100 orders) and logs out": {
      got: restartMinimum(550, 551),
      want: { auth: 1, listOrderedProfiles: 550, listProfileOrders: 6, logout: 1 },
    },
  };
  for (const [sentence, c] of Object.entries(cases)) it(sentence, () => expect(c.got).toEqual(c.want));

  it("the ratio counts every call, tells mutating calls and SIM lookups apart, and gives the issue's ratio without SIM lookups", () => {
    const r = callRatio(
      { createProfileOrder: 1, confirmProfileOrder: 1, getProfileOrder: 2, listOrderedProfiles: 1, searchSims: 1 },
      coldMinimum([order(0, 0)], { ...base, listed: 1 }),
    );
    expect(r).toMatchObject({ total: 6, minimumTotal: 5, mutating: 2, simLookups: 1 });
    expect(r.ratio).toBeCloseTo(6 / 5);
    expect(r.issueRatio).toBeCloseTo(6 / 4);
    expect(callRatio({}, {}).ratio).toBe(1);
  });
});
