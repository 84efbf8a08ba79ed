import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";

// The vendor limits each API path per minute and says what is left in X-Soracom-Ratelimit-Remaining:
// a burst of reads larger than what is left must wait for the window to refresh, not earn 429s.
const LIMIT = 10;

let sim: Simulator;
let control: SimControl;

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({ clock: "manual", rateLimitPerMinute: LIMIT }));
});

afterAll(async () => {
  await sim.close();
});

describe("a path's per-minute allowance", () => {
  it("a burst past what is left waits for the refresh: no 429, every call answered", async () => {
    const soracom = testClient(sim, { maxConcurrency: 4 });
    try {
      const { now } = await control.send<{ now: number }>("GET", "/clock");
      await control.advance(60_000 - (now % 60_000) - 1_500); // the window ends in 1.5 s (headers say 2)
      const reads = Array.from({ length: 2 * LIMIT }, () => collect(soracom.listProfileOrders()));
      // The simulator's clock is manual: once the window's calls are used, move it to the next window.
      await control.polls("listProfileOrders", LIMIT, { timeoutMs: 10_000 });
      await control.advance(2_000);
      const answered = await Promise.all(reads);
      expect(answered).toHaveLength(2 * LIMIT);
      const statuses = (await control.calls()).calls
        .filter((c) => c.operation === "listProfileOrders")
        .map((c) => c.status);
      expect(statuses.filter((s) => s === 429)).toEqual([]);
      expect(statuses).toHaveLength(2 * LIMIT);
    } finally {
      await soracom.close();
    }
  });
});
