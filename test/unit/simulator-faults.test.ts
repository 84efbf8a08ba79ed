import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { control, type Json, login, request, type Session, startQuiet } from "./simulator-http.js";

let sim: Simulator;
let session: Session;

beforeAll(async () => {
  sim = await startQuiet({ clock: "manual" });
});
afterAll(() => sim.close());
beforeEach(async () => {
  await control(sim, "POST", "/reset");
  session = await login(sim);
});

const ORDER = { subscription: "plan01s", quantity: 1 };
const createOrder = () => request(sim, "POST", "/v1/sim_profile_orders", { body: ORDER, session });
const orderCount = async () => ((await control(sim, "GET", "/state")).body.orders as Json[]).length;

function expectRateLimitHeaders(headers: Headers) {
  for (const h of ["limit", "remaining", "seconds-before-refresh"]) {
    expect(headers.get(`x-soracom-ratelimit-${h}`), h).toMatch(/^\d+$/);
  }
}

describe("injected faults", () => {
  for (const kind of ["429", "500", "503"]) {
    it(`answers ${kind} for the next N calls of the operation without applying them`, async () => {
      const f = await control(sim, "POST", "/faults", { operation: "createProfileOrder", count: 2, kind });
      expect(f.status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const r = await createOrder();
        expect(r.status).toBe(Number(kind));
        expect(r.body.code).toMatch(/^COM000[234]$/);
        expectRateLimitHeaders(r.headers);
        if (kind === "429") expect(r.headers.get("x-soracom-ratelimit-remaining")).toBe("0");
      }
      expect(await orderCount()).toBe(0);
      expect((await createOrder()).status).toBe(201);
      expect(await orderCount()).toBe(1);
    });
  }

  it("faults only the named operation", async () => {
    await control(sim, "POST", "/faults", { operation: "getProfileOrder", count: 1, kind: "500" });
    expect((await createOrder()).status).toBe(201);
  });

  it("adds latency, then proceeds", async () => {
    await control(sim, "POST", "/faults", { operation: "listProfileOrders", count: 1, kind: "latency", latencyMs: 30 });
    const started = performance.now();
    const r = await request(sim, "GET", "/v1/sim_profile_orders", { session });
    expect(r.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("delays every /v1 call by the configured latencyMs, and a latency fault adds to it", async () => {
    expect((await control(sim, "POST", "/config", { latencyMs: 40 })).status).toBe(200);
    try {
      let started = performance.now();
      expect((await request(sim, "GET", "/v1/sim_profile_orders", { session })).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(35);
      await control(sim, "POST", "/faults", {
        operation: "listProfileOrders",
        count: 1,
        kind: "latency",
        latencyMs: 40,
      });
      started = performance.now();
      expect((await request(sim, "GET", "/v1/sim_profile_orders", { session })).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    } finally {
      await control(sim, "POST", "/config", { latencyMs: 0 });
    }
  });

  it("resets the connection before applying the call", async () => {
    await control(sim, "POST", "/faults", { operation: "createProfileOrder", count: 1, kind: "reset" });
    await expect(createOrder()).rejects.toThrow();
    expect(await orderCount()).toBe(0);
  });

  it("drops the response after applying the call (the outcome a client cannot know)", async () => {
    await control(sim, "POST", "/faults", { operation: "createProfileOrder", count: 1, kind: "drop-response" });
    await expect(createOrder()).rejects.toThrow();
    expect(await orderCount()).toBe(1);
    const calls = (await control(sim, "GET", "/calls")).body.calls as Json[];
    expect(calls.at(-1)).toMatchObject({ operation: "createProfileOrder", status: 201, fault: "drop-response" });
  });

  it("refuses unknown operations and kinds, and clears faults on DELETE", async () => {
    expect((await control(sim, "POST", "/faults", { operation: "nope", kind: "500" })).status).toBe(400);
    expect((await control(sim, "POST", "/faults", { operation: "getSim", kind: "418" })).status).toBe(400);
    expect((await control(sim, "POST", "/faults", { operation: "getSim", kind: "latency" })).status).toBe(400);
    await control(sim, "POST", "/faults", { operation: "createProfileOrder", count: 5, kind: "500" });
    expect((await control(sim, "DELETE", "/faults")).body).toEqual({ faults: [] });
    expect((await createOrder()).status).toBe(201);
  });
});

describe("rate limits", () => {
  it("counts per operation per simulated minute and answers 429 past the limit", async () => {
    await control(sim, "POST", "/config", { rateLimitPerMinute: 3 });
    sim.advanceClock(60_000 - (sim.now() % 60_000)); // start of a window
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await request(sim, "GET", "/v1/sim_profile_orders", { session });
      expect(r.status).toBe(200);
      remaining.push(r.headers.get("x-soracom-ratelimit-remaining")!);
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const over = await request(sim, "GET", "/v1/sim_profile_orders", { session });
    expect(over).toMatchObject({ status: 429, body: { code: "COM0004" } });
    expect(over.headers.get("x-soracom-ratelimit-seconds-before-refresh")).toBe("60");
    expect((await createOrder()).status).toBe(201); // another operation has its own budget
    sim.advanceClock(60_000);
    expect((await request(sim, "GET", "/v1/sim_profile_orders", { session })).status).toBe(200);
  });
});

describe("call log", () => {
  it("records every /v1 call with its status, including failures, and counts per operation", async () => {
    await control(sim, "DELETE", "/calls");
    await createOrder();
    await request(sim, "GET", "/v1/sim_profile_orders");
    await request(sim, "GET", "/v1/sim_profile_orders/nope", { session });
    await request(sim, "GET", "/v1/nowhere", { session });
    const log = await control(sim, "GET", "/calls");
    expect(log.body.calls.map((c: Json) => [c.operation, c.method, c.path, c.status])).toEqual([
      ["createProfileOrder", "POST", "/v1/sim_profile_orders", 201],
      ["listProfileOrders", "GET", "/v1/sim_profile_orders", 401],
      ["getProfileOrder", "GET", "/v1/sim_profile_orders/nope", 404],
      ["unknown", "GET", "/v1/nowhere", 404],
    ]);
    expect(log.body.calls[0].at).toBe(sim.now());
    expect(log.body.counts).toEqual({ createProfileOrder: 1, listProfileOrders: 1, getProfileOrder: 1, unknown: 1 });
    await control(sim, "DELETE", "/calls");
    expect((await control(sim, "GET", "/calls")).body).toEqual({ calls: [], counts: {} });
  });
});
