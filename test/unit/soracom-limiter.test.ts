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
});
