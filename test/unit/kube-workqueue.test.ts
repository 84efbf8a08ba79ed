import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../controller/kube/clock.js";
import { WorkQueue } from "../../controller/kube/workqueue.js";

function newQueue(opts: { maxDelayMs?: number; registry?: Registry } = {}) {
  const clock = new ManualClock();
  const queue = new WorkQueue({ name: "test", clock, ...opts });
  return { clock, queue };
}

/** drainKeys takes every ready key (marking each done) and returns them in order. */
async function drainKeys(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) {
    const key = await queue.get();
    if (key === undefined) break;
    keys.push(key);
    queue.done(key);
  }
  return keys;
}

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value;
}

describe("WorkQueue", () => {
  it("processes a key added several times before a worker takes it once", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    queue.add("ns/a");
    expect(await drainKeys(queue)).toEqual(["ns/a", "ns/b"]);
  });

  it("holds back a key added while it is processed, and hands it out again after done", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    const first = await queue.get();
    queue.add("ns/a");
    expect(queue.len()).toBe(0); // not available to a second worker while in flight
    queue.done(first!);
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe("ns/a");
  });

  it("never runs one key in two workers at once, yet runs different keys in parallel", async () => {
    const { queue } = newQueue();
    const running = new Set<string>();
    let overlap = false;
    let maxParallel = 0;
    const seen: string[] = [];
    const release: Array<() => void> = [];
    const workers = queue.runWorkers(4, async (key) => {
      if (running.has(key)) overlap = true;
      running.add(key);
      maxParallel = Math.max(maxParallel, running.size);
      seen.push(key);
      await new Promise<void>((resolve) => release.push(resolve));
      running.delete(key);
    });
    queue.add("a");
    queue.add("b");
    await new Promise((r) => setImmediate(r));
    queue.add("a"); // while "a" is in flight
    queue.add("a");
    await new Promise((r) => setImmediate(r));
    expect(running).toEqual(new Set(["a", "b"]));
    while (release.length) {
      release.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    queue.shutDown();
    await workers;
    expect(overlap).toBe(false);
    expect(maxParallel).toBe(2);
    expect(seen).toEqual(["a", "b", "a"]);
  });

  it("backs off per key exponentially from 5 ms up to the configured max, and forget resets it", async () => {
    const { queue } = newQueue({ maxDelayMs: 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      delays.push(queue.when("k"));
      queue.addRateLimited("k");
    }
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(queue.numRequeues("k")).toBe(10);
    expect(queue.when("other")).toBe(5);
    queue.forget("k");
    expect(queue.when("k")).toBe(5);
    expect(queue.numRequeues("k")).toBe(0);
  });

  it("makes a rate-limited key available only after its backoff delay", async () => {
    const { clock, queue } = newQueue();
    queue.addRateLimited("k"); // 5 ms
    queue.addRateLimited("k"); // 10 ms, but the earlier schedule wins
    expect(queue.len()).toBe(0);
    await clock.advance(4);
    expect(queue.len()).toBe(0);
    await clock.advance(1);
    expect(await drainKeys(queue)).toEqual(["k"]);
    await clock.advance(100);
    expect(queue.len()).toBe(0);
  });

  it("addAfter keeps the earliest time when a key is scheduled twice", async () => {
    const { clock, queue } = newQueue();
    queue.addAfter("late-then-early", 60_000);
    queue.addAfter("late-then-early", 1_000);
    queue.addAfter("early-then-late", 1_000);
    queue.addAfter("early-then-late", 60_000);
    await clock.advance(999);
    expect(queue.len()).toBe(0);
    await clock.advance(1);
    expect((await drainKeys(queue)).sort()).toEqual(["early-then-late", "late-then-early"]);
    await clock.advance(60_000);
    expect(queue.len()).toBe(0);
  });

  it("releases delayed keys in due order, many keys on one timer", async () => {
    const { clock, queue } = newQueue();
    for (let i = 0; i < 50; i++) queue.addAfter(`k${i}`, 1000 + ((i * 37) % 50) * 10);
    expect(clock.pending()).toBe(1);
    await clock.advance(2000);
    const keys = await drainKeys(queue);
    expect(keys).toHaveLength(50);
    const dueOf = (k: string) => (Number(k.slice(1)) * 37) % 50;
    expect(keys.map(dueOf)).toEqual([...keys.map(dueOf)].sort((a, b) => a - b));
  });

  it("addAfter with zero or negative delay adds at once", async () => {
    const { queue } = newQueue();
    queue.addAfter("now", 0);
    queue.addAfter("past", -5);
    expect(await drainKeys(queue)).toEqual(["now", "past"]);
  });

  it("shuts down gracefully: idle workers end, in-flight work finishes, later adds are ignored", async () => {
    const { clock, queue } = newQueue();
    let finishInFlight: () => void = () => {};
    const processed: string[] = [];
    const workers = queue.runWorkers(2, async (key) => {
      if (key === "slow") await new Promise<void>((resolve) => (finishInFlight = resolve));
      processed.push(key);
    });
    queue.add("slow");
    await new Promise((r) => setImmediate(r));
    queue.addAfter("scheduled", 1000);
    let drained = false;
    const shutdown = queue.shutDownWithDrain().then(() => (drained = true));
    queue.add("after-shutdown");
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false); // waits for "slow"
    finishInFlight();
    await shutdown;
    await workers;
    await clock.advance(5000);
    expect(processed).toEqual(["slow"]);
    expect(clock.pending()).toBe(0);
    expect(await queue.get()).toBeUndefined();
  });

  it("keeps a thrown handler error from killing its worker", async () => {
    const { queue } = newQueue();
    const processed: string[] = [];
    const workers = queue.runWorkers(1, async (key) => {
      processed.push(key);
      if (key === "bad") throw new Error("boom");
    });
    queue.add("bad");
    queue.add("good");
    await new Promise((r) => setImmediate(r));
    queue.shutDown();
    await workers;
    expect(processed).toEqual(["bad", "good"]);
  });

  it("publishes client-go's workqueue metrics with name and controller labels", async () => {
    const registry = new Registry();
    const { clock, queue } = newQueue({ registry });
    const labels = { name: "test", controller: "test" };
    queue.add("a");
    queue.add("a");
    queue.add("b");
    expect(await metricValue(registry, "workqueue_depth", labels)).toBe(2);
    expect(await metricValue(registry, "workqueue_adds_total", labels)).toBe(2);
    await clock.advance(3000);
    const key = await queue.get();
    await clock.advance(7000);
    expect(await metricValue(registry, "workqueue_unfinished_work_seconds", labels)).toBe(7);
    expect(await metricValue(registry, "workqueue_longest_running_processor_seconds", labels)).toBe(7);
    queue.done(key!);
    queue.addRateLimited("a");
    expect(await metricValue(registry, "workqueue_retries_total", labels)).toBe(1);
    expect(await metricValue(registry, "workqueue_depth", labels)).toBe(1);
    expect(await metricValue(registry, "workqueue_unfinished_work_seconds", labels)).toBe(0);
    const text = await registry.metrics();
    expect(text).toContain('workqueue_queue_duration_seconds_sum{name="test",controller="test"} 3');
    expect(text).toContain('workqueue_work_duration_seconds_sum{name="test",controller="test"} 7');
  });
});

describe("WorkQueue: requeue delays are capped (issue 23, defect 3)", () => {
  /** countingClock is the real clock, counting how often a timer of the queue fires. */
  function countingClock() {
    const counter = { fired: 0 };
    const clock = {
      now: () => Date.now(),
      setTimeout: (fn: () => void, ms: number) =>
        setTimeout(() => {
          counter.fired += 1;
          fn();
        }, ms),
      clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
    };
    return { clock, counter };
  }

  it("an absurd requeueAfterMs (1e12) does not spin the timer: it never fires within 300 ms", async () => {
    const { clock, counter } = countingClock();
    const queue = new WorkQueue({ name: "test", clock });
    queue.addAfter("ns/a", 1e12);
    await new Promise((r) => setTimeout(r, 300));
    expect(counter.fired).toBe(0);
    expect(queue.len()).toBe(0);
    queue.shutDown();
  });

  it("a delay past the cap, or not a number, is looked at again after the cap (15 min)", async () => {
    const { clock, queue } = newQueue();
    queue.addAfter("ns/huge", 1e12);
    queue.addAfter("ns/nan", Number.NaN);
    queue.addAfter("ns/infinite", Number.POSITIVE_INFINITY);
    await clock.advance(15 * 60_000 - 1);
    expect(queue.len()).toBe(0);
    await clock.advance(1);
    expect((await drainKeys(queue)).sort()).toEqual(["ns/huge", "ns/infinite", "ns/nan"]);
  });

  it("a delay under the cap is kept as it is", async () => {
    const { clock, queue } = newQueue();
    queue.addAfter("ns/a", 60_000);
    await clock.advance(59_999);
    expect(queue.len()).toBe(0);
    await clock.advance(1);
    expect(await drainKeys(queue)).toEqual(["ns/a"]);
  });
});
