import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { RequestLimiter } from "../../controller/soracom/limiter.js";

describe("RequestLimiter", () => {
  it("never lets more than maxConcurrency through at once", async () => {
    const limiter = new RequestLimiter({ requestsPerSecond: 1000, burst: 1000, maxConcurrency: 3 });
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const release = await limiter.acquire("getSim");
        running++;
        peak = Math.max(peak, running);
        await sleep(20);
        running--;
        release();
      }),
    );
    expect(peak).toBe(3);
    expect(limiter.inFlight).toBe(0);
  });

  it("spaces requests at requestsPerSecond once the burst is spent", async () => {
    const limiter = new RequestLimiter({ requestsPerSecond: 20, burst: 2, maxConcurrency: 10 });
    const started = performance.now();
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const release = await limiter.acquire("getSim");
        times.push(performance.now() - started);
        release();
      }),
    );
    // 2 at once, then 4 more at 50 ms each: the last no earlier than ~200 ms.
    expect(Math.max(...times)).toBeGreaterThanOrEqual(190);
  });

  it("keeps a paused path quiet for as long as asked, other paths untouched", async () => {
    const limiter = new RequestLimiter({ requestsPerSecond: 1000, burst: 1000, maxConcurrency: 2 });
    limiter.pause("createProfileOrder", 300);
    const started = performance.now();
    const other = limiter.acquire("getSim").then((release) => {
      release();
      return performance.now() - started;
    });
    const paused = limiter.acquire("createProfileOrder").then((release) => {
      release();
      return performance.now() - started;
    });
    const [otherMs, pausedMs] = await Promise.all([other, paused]);
    expect(otherMs).toBeLessThan(100);
    expect(pausedMs).toBeGreaterThanOrEqual(290);
  });

  it("spends no more on a path than the vendor said is left, until its window refreshes", async () => {
    const limiter = new RequestLimiter({ requestsPerSecond: 1000, burst: 1000, maxConcurrency: 8 });
    limiter.observe("listOrderedProfiles", 2, 300);
    const started = performance.now();
    const at = (path: string) =>
      limiter.acquire(path).then((release) => {
        release();
        return performance.now() - started;
      });
    const [listed, other] = await Promise.all([
      Promise.all([1, 2, 3, 4].map(() => at("listOrderedProfiles"))),
      at("getSim"),
    ]);
    listed.sort((a, b) => a - b);
    expect(listed[1]).toBeLessThan(100); // the two left go at once
    expect(listed[2]).toBeGreaterThanOrEqual(290); // the rest wait for the refresh
    expect(other).toBeLessThan(100); // another path has its own allowance
  });

  it("takes calls still in flight from what an answer says is left", async () => {
    const limiter = new RequestLimiter({ requestsPerSecond: 1000, burst: 1000, maxConcurrency: 8 });
    const held = await Promise.all([limiter.acquire("getProfileOrder"), limiter.acquire("getProfileOrder")]);
    held[0]();
    limiter.observe("getProfileOrder", 1, 300); // the second call may not have been counted yet
    const started = performance.now();
    const release = await limiter.acquire("getProfileOrder");
    release();
    held[1]();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("starts over with the count of an answer from a later window", async () => {
    const limiter = new RequestLimiter({ requestsPerSecond: 1000, burst: 1000, maxConcurrency: 8 });
    limiter.observe("getSim", 0, 200);
    limiter.observe("getSim", 5, 60_000); // the window refreshed: 5 left in the next one
    const started = performance.now();
    for (let i = 0; i < 5; i++) (await limiter.acquire("getSim"))();
    expect(performance.now() - started).toBeLessThan(100);
  });
});
