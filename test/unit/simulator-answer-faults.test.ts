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

const ORDER = { subscription: "plan01s", quantity: 2 };
const createOrder = () => request(sim, "POST", "/v1/sim_profile_orders", { body: ORDER, session });
const state = async () => (await control(sim, "GET", "/state")).body;
const calls = async (): Promise<Json[]> => (await control(sim, "GET", "/calls")).body.calls;
const answerFault = (body: Record<string, unknown>) => control(sim, "POST", "/faults", { kind: "answer", ...body });

async function raw(path: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(sim.url + path, {
    headers: { "x-soracom-api-key": session.apiKey, "x-soracom-token": session.token },
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe("answer faults: the call is applied, a bad answer goes back", () => {
  it("a patch is merged into the answer; the order is made as asked and the call logged", async () => {
    expect(
      (
        await answerFault({
          operation: "createProfileOrder",
          count: 1,
          answer: { patch: { quantity: 0, status: null, extra: { a: 1 } } },
        })
      ).status,
    ).toBe(200);
    const r = await createOrder();
    expect(r.status).toBe(201);
    expect(r.body.quantity).toBe(0);
    expect(r.body).not.toHaveProperty("status");
    expect(r.body.extra).toEqual({ a: 1 });
    const orders = (await state()).orders as Json[];
    expect(orders.map((o) => [o.quantity, o.status])).toEqual([[2, "DRAFT"]]);
    const log = await calls();
    expect(log.filter((c) => c.operation === "createProfileOrder").map((c) => [c.status, c.fault])).toEqual([
      [201, "answer"],
    ]);
    // count 1: the next answer is the real one.
    expect((await createOrder()).body.quantity).toBe(2);
  });

  it("a patch applies to each element of an array answer", async () => {
    await createOrder();
    await createOrder();
    await answerFault({ operation: "listProfileOrders", count: 1, answer: { patch: { status: "Cancelled" } } });
    const r = await request(sim, "GET", "/v1/sim_profile_orders", { session });
    expect(r.body.map((o: Json) => o.status)).toEqual(["Cancelled", "Cancelled"]);
    expect(r.body.every((o: Json) => o.quantity === 2)).toBe(true);
  });

  it("body replaces the raw text; status replaces the status; headers extend them", async () => {
    const o = (await createOrder()).body;
    await answerFault({
      operation: "getProfileOrder",
      count: 1,
      answer: { status: 404, headers: { "content-type": "text/html" }, body: "<h1>Not Found</h1>" },
    });
    const r = await raw(`/v1/sim_profile_orders/${o.profileOrderId}`);
    expect([r.status, r.headers.get("content-type"), r.text]).toEqual([404, "text/html", "<h1>Not Found</h1>"]);
    expect(r.headers.get("x-soracom-ratelimit-limit")).toMatch(/^\d+$/);
    const log = await calls();
    expect(log.at(-1)).toMatchObject({ operation: "getProfileOrder", status: 404, fault: "answer" });
  });

  it('"{seq}" in a header counts the affected calls, so a next key changes on every page', async () => {
    await createOrder();
    await answerFault({
      operation: "listProfileOrders",
      count: 3,
      answer: { headers: { "x-soracom-next-key": "k{seq}" } },
    });
    const keys: Array<string | null> = [];
    for (let i = 0; i < 4; i++) keys.push((await raw("/v1/sim_profile_orders")).headers.get("x-soracom-next-key"));
    expect(keys).toEqual(["k1", "k2", "k3", null]);
  });

  it("with a probability, a seeded PRNG picks the calls; count counts affected calls only", async () => {
    const run = async (seed: number) => {
      await control(sim, "DELETE", "/faults");
      await answerFault({
        operation: "listProfileOrders",
        count: 10,
        probability: 0.3,
        seed,
        answer: { status: 500, body: "{}" },
      });
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push((await raw("/v1/sim_profile_orders")).status);
      return statuses;
    };
    const first = await run(42);
    const again = await run(42);
    const other = await run(7);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    for (const statuses of [first, other]) {
      const hit = statuses.filter((s) => s === 500).length;
      // 60 draws at 0.3 expect 18: the 10-call budget is spent, and never in the first 10 calls alone.
      expect(hit).toBe(10);
      expect(statuses.slice(0, 10).filter((s) => s === 500).length).toBeLessThan(10);
    }
    expect((await control(sim, "GET", "/faults")).body.faults).toEqual([]);
  });

  it("rejects malformed answer faults", async () => {
    const cases: Array<Record<string, unknown>> = [
      { operation: "getSim", answer: { status: 99 } },
      { operation: "getSim", answer: { body: { not: "text" } } },
      { operation: "getSim", answer: { patch: [1, 2] } },
      { operation: "getSim", answer: { headers: { a: 1 } } },
      { operation: "getSim", answer: "nope" },
      { operation: "getSim" },
      { operation: "getSim", answer: {}, probability: 1.5 },
      { operation: "getSim", answer: {}, probability: 0.5, seed: 1.5 },
      { operation: "noSuchOperation", answer: {} },
    ];
    for (const body of cases) {
      const r = await answerFault(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await control(sim, "GET", "/faults")).body.faults).toEqual([]);
  });
});
