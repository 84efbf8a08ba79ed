import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  isNotFound,
  isOutcomeUnknown,
  type RequestEvent,
  SoracomApiError,
  type SoracomClient,
  SoracomOutcomeUnknownError,
  SoracomRateLimitedError,
  SoracomTimeoutError,
} from "../../controller/soracom/index.js";
import { collect, type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";

let sim: Simulator;
let control: SimControl;
const clients: SoracomClient[] = [];

function client(overrides: Parameters<typeof testClient>[1] = {}): SoracomClient {
  const c = testClient(sim, overrides);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({ clock: "manual" }));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await control.reset();
  await control.clearFaults();
  await control.clearCalls();
});

afterAll(async () => {
  await sim.close();
});

const ORDER = { subscription: "plan01s", quantity: 1, description: "retry-test" } as const;

/** statuses lists what the simulator answered to each call of an operation, in order. */
async function statuses(operation: string): Promise<number[]> {
  return (await control.calls()).calls.filter((c) => c.operation === operation).map((c) => c.status);
}

/** rateLimitWindowEndsIn moves the manual clock so the simulator's minute window ends in `ms`. */
async function rateLimitWindowEndsIn(ms: number): Promise<void> {
  const { now } = await control.clock();
  await control.advance((((60_000 - (now % 60_000) - ms) % 60_000) + 60_000) % 60_000);
}

describe("reads are retried", () => {
  it("a 500 and a 503 on getProfileOrder are retried until it succeeds", async () => {
    const soracom = client();
    const order = await soracom.createProfileOrder(ORDER);
    await control.fault("getProfileOrder", "500");
    await control.fault("getProfileOrder", "503");
    expect((await soracom.getProfileOrder(order.profileOrderId)).profileOrderId).toBe(order.profileOrderId);
    expect(await statuses("getProfileOrder")).toEqual([500, 503, 200]);
  });

  it("a connection reset on a read is retried", async () => {
    const made = await control.createSim({});
    await control.fault("getSim", "reset");
    expect((await client().getSim(made.simId)).simId).toBe(made.simId);
  });

  it("a read that times out is retried", async () => {
    const made = await control.createSim({});
    await control.fault("getSim", "latency", 1, 800);
    const events: RequestEvent[] = [];
    const soracom = client({ requestTimeoutMs: 300, onRequest: (e) => events.push(e) });
    expect((await soracom.getSim(made.simId)).simId).toBe(made.simId);
    const getSim = events.filter((e) => e.operation === "getSim");
    expect(getSim.map((e) => e.error?.code ?? e.status)).toEqual(["SORACOM_ERR_TIMEOUT", 200]);
    await new Promise((r) => setTimeout(r, 800)); // let the abandoned call land before the next test
  });

  it("a read out of retries reports the last 5xx, which isRetryable for the caller", async () => {
    const soracom = client({ retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 10 } });
    await control.fault("getSim", "500", 5);
    const err = await soracom.getSim("1234567890").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomApiError);
    expect((err as SoracomApiError).status).toBe(500);
    expect(await control.count("getSim")).toBe(3);
  });

  it("a 429 is waited out for as long as X-Soracom-Ratelimit-Seconds-Before-Refresh says", async () => {
    const made = await control.createSim({});
    const soracom = client();
    await soracom.getSim(made.simId); // log in first: only getSim is measured
    await rateLimitWindowEndsIn(1500); // the header will say 2 seconds
    await control.fault("getSim", "429");
    const started = performance.now();
    await soracom.getSim(made.simId);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1950);
    expect(waited).toBeLessThan(6000);
    expect(await statuses("getSim")).toEqual([200, 429, 200]);
  });

  it("a 429 asking for longer than maxRateLimitWaitMs is handed to the caller with the wait", async () => {
    const made = await control.createSim({});
    const soracom = client({ retry: { maxRateLimitWaitMs: 500 } });
    await soracom.getSim(made.simId);
    await rateLimitWindowEndsIn(3000);
    await control.fault("getSim", "429");
    const err = await soracom.getSim(made.simId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomRateLimitedError);
    expect((err as SoracomRateLimitedError).retryAfterMs).toBe(3000);
    // The path stays paused: the next call is refused by the client itself, nothing is sent.
    const started = performance.now();
    const again = await soracom.getSim(made.simId).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(SoracomRateLimitedError);
    expect((again as SoracomRateLimitedError).retryAfterMs).toBeGreaterThan(2000);
    expect(performance.now() - started).toBeLessThan(200);
    expect(await statuses("getSim")).toEqual([200, 429]);
  });
});

describe("createProfileOrder is never retried", () => {
  it("a dropped response is an unknown outcome; the order exists; one call was made", async () => {
    const soracom = client();
    await control.fault("createProfileOrder", "drop-response");
    const err = await soracom.createProfileOrder(ORDER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomOutcomeUnknownError);
    expect(err).toMatchObject({ code: "SORACOM_ERR_OUTCOME_UNKNOWN", operation: "createProfileOrder" });
    expect(await control.count("createProfileOrder")).toBe(1);
    const orders = await collect(soracom.listProfileOrders());
    expect(orders.map((o) => o.description)).toEqual(["retry-test"]);
  });

  it("a reset is an unknown outcome; one call was made", async () => {
    await control.fault("createProfileOrder", "reset");
    const err = await client()
      .createProfileOrder(ORDER)
      .catch((e: unknown) => e);
    expect(isOutcomeUnknown(err)).toBe(true);
    expect(await control.count("createProfileOrder")).toBe(1);
  });

  it("a 500 is an unknown outcome (the server may have applied it); one call was made", async () => {
    await control.fault("createProfileOrder", "500");
    const err = await client()
      .createProfileOrder(ORDER)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomOutcomeUnknownError);
    expect((err as SoracomOutcomeUnknownError).cause).toBeInstanceOf(SoracomApiError);
    expect(await statuses("createProfileOrder")).toEqual([500]);
  });

  it("a timeout is an unknown outcome; one call was made", async () => {
    await control.fault("createProfileOrder", "latency", 1, 1000);
    const err = await client({ requestTimeoutMs: 200 })
      .createProfileOrder(ORDER)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomOutcomeUnknownError);
    expect((err as SoracomOutcomeUnknownError).cause).toBeInstanceOf(SoracomTimeoutError);
    await new Promise((r) => setTimeout(r, 1000)); // let the slow call land before counting
    expect(await control.count("createProfileOrder")).toBe(1);
  });

  it("a 429 is a definite 'not applied': a rate-limited error, not retried", async () => {
    await control.fault("createProfileOrder", "429");
    const err = await client()
      .createProfileOrder(ORDER)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomRateLimitedError);
    expect(err).toMatchObject({ code: "SORACOM_ERR_RATE_LIMITED", status: 429 });
    expect(await control.count("createProfileOrder")).toBe(1);
  });

  it("after a 429 the next create on that path waits for the pause before it is sent", async () => {
    const soracom = client();
    await soracom.getSim("1234567890").catch(() => undefined); // log in first
    await rateLimitWindowEndsIn(1500);
    await control.fault("createProfileOrder", "429");
    await expect(soracom.createProfileOrder(ORDER)).rejects.toBeInstanceOf(SoracomRateLimitedError);
    const started = performance.now();
    await soracom.createProfileOrder(ORDER);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1900);
    expect(await statuses("createProfileOrder")).toEqual([429, 201]);
  });

  it("an expired token is renewed and the create repeated once: one order", async () => {
    const soracom = client();
    await soracom.getSim("1234567890").catch(() => undefined);
    await control.expireTokens();
    await soracom.createProfileOrder(ORDER);
    expect(await statuses("createProfileOrder")).toEqual([401, 201]);
    expect(await collect(soracom.listProfileOrders())).toHaveLength(1);
  });
});

describe("other mutations follow their retry class", () => {
  it("confirm with a dropped response is an unknown outcome; the order is confirmed; one call", async () => {
    const soracom = client();
    const order = await soracom.createProfileOrder(ORDER);
    await control.fault("confirmProfileOrder", "drop-response");
    await expect(soracom.confirmProfileOrder(order.profileOrderId)).rejects.toBeInstanceOf(SoracomOutcomeUnknownError);
    expect(await control.count("confirmProfileOrder")).toBe(1);
    expect((await soracom.getProfileOrder(order.profileOrderId)).status).not.toBe("DRAFT");
  });

  it("terminate with a reset is an unknown outcome, not repeated", async () => {
    const made = await control.createSim({});
    const soracom = client();
    await soracom.enableSimTermination(made.simId);
    await control.fault("terminateSim", "reset");
    await expect(soracom.terminateSim(made.simId)).rejects.toBeInstanceOf(SoracomOutcomeUnknownError);
    expect(await control.count("terminateSim")).toBe(1);
  });

  it("deleteProfileOrder with a dropped response is repeated, and the 404 that follows means done", async () => {
    const soracom = client();
    const order = await soracom.createProfileOrder(ORDER);
    await control.fault("deleteProfileOrder", "drop-response");
    await soracom.deleteProfileOrder(order.profileOrderId);
    // The simulator logs the status it would have sent before dropping the connection.
    expect(await statuses("deleteProfileOrder")).toEqual([204, 404]);
    await expect(soracom.getProfileOrder(order.profileOrderId)).rejects.toSatisfy(isNotFound);
  });

  it("activate with a dropped response is repeated (an idempotent state-set)", async () => {
    const made = await control.createSim({});
    const soracom = client();
    await control.fault("activateSim", "drop-response");
    expect((await soracom.activateSim(made.simId)).status).toBe("active");
    expect(await control.count("activateSim")).toBe(2);
  });
});

describe("the client's own limits", () => {
  it("maxConcurrency caps requests in flight", async () => {
    const made = await control.createSim({});
    const ends: Array<{ start: number; end: number }> = [];
    const soracom = client({
      maxConcurrency: 2,
      onRequest: (e) => {
        if (e.operation === "getSim") ends.push({ start: performance.now() - e.durationMs, end: performance.now() });
      },
    });
    await soracom.getSim(made.simId);
    ends.length = 0;
    await control.fault("getSim", "latency", 6, 150);
    const started = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => soracom.getSim(made.simId)));
    const elapsed = performance.now() - started;
    // Sweep line over the attempts (shrunk by 2 ms at each end: durations are rounded to the ms).
    const edges = ends.flatMap((a) => [
      { t: a.start + 2, d: 1 },
      { t: a.end - 2, d: -1 },
    ]);
    edges.sort((x, y) => x.t - y.t || x.d - y.d);
    let inFlight = 0;
    let peak = 0;
    for (const edge of edges) {
      inFlight += edge.d;
      peak = Math.max(peak, inFlight);
    }
    expect(ends).toHaveLength(6);
    expect(peak).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(3 * 150 - 10);
  });

  it("requestsPerSecond spaces requests once the burst is spent", async () => {
    const made = await control.createSim({});
    const soracom = client({ requestsPerSecond: 10 });
    const started = performance.now();
    // 1 login + 15 reads = 16 requests: 10 from the burst, 6 more at 100 ms each.
    await Promise.all(Array.from({ length: 15 }, () => soracom.getSim(made.simId)));
    expect(performance.now() - started).toBeGreaterThanOrEqual(550);
  });
});
