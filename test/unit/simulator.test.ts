import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { loadSpecRoutes } from "../../simulator/spec.js";
import {
  control,
  createCompletedOrder,
  type Json,
  login,
  request,
  type Session,
  startQuiet,
} from "./simulator-http.js";

let sim: Simulator;
let session: Session;
const spec = loadSpecRoutes();

/** expectShape checks a response body against the vendor's response schema for the operation. */
function expectShape(operationId: string, status: string, body: unknown) {
  const validate = spec.responseValidator(operationId, status);
  expect(validate, `${operationId} ${status} has a schema`).toBeDefined();
  const valid = validate!(body);
  expect(validate!.errors ?? [], `${operationId} body matches the spec`).toEqual([]);
  expect(valid).toBe(true);
}

beforeAll(async () => {
  sim = await startQuiet({ clock: "manual", confirmDelayMs: 60_000, inProgressDelayMs: 120_000 });
});
afterAll(() => sim.close());
beforeEach(async () => {
  await control(sim, "POST", "/reset");
  session = await login(sim, { tokenTimeoutSeconds: 172_800 });
});

describe("order lifecycle on the simulated clock", () => {
  it("goes DRAFT → CONFIRMED → IN_PROGRESS → COMPLETED and then lists its profiles", async () => {
    const created = await request(sim, "POST", "/v1/sim_profile_orders", {
      body: { subscription: "plan01s", quantity: 3, speedClass: "s1.4xfast", description: "test order" },
      session,
    });
    expect(created.status).toBe(201);
    expectShape("createProfileOrder", "201", created.body);
    expect(created.body).toMatchObject({ status: "DRAFT", quantity: 3, subscription: "plan01s", bundles: [] });
    expect(created.body.profileOrderId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const id = created.body.profileOrderId;

    const before = await request(sim, "GET", `/v1/sim_profile_orders/${id}/profiles`, { session });
    expect(before).toMatchObject({ status: 200, body: [] });

    const confirmed = await request(sim, "POST", `/v1/sim_profile_orders/${id}/confirm`, { session });
    expect(confirmed.status).toBe(200);
    expectShape("confirmProfileOrder", "200", confirmed.body);
    expect(confirmed.body.status).toBe("CONFIRMED");
    expect(confirmed.body.confirmedTime).toBe(sim.now());

    sim.advanceClock(59_999);
    expect((await request(sim, "GET", `/v1/sim_profile_orders/${id}`, { session })).body.status).toBe("CONFIRMED");
    sim.advanceClock(1);
    expect((await request(sim, "GET", `/v1/sim_profile_orders/${id}`, { session })).body.status).toBe("IN_PROGRESS");
    expect((await request(sim, "GET", `/v1/sim_profile_orders/${id}/profiles`, { session })).body).toEqual([]);
    sim.advanceClock(120_000);
    const done = await request(sim, "GET", `/v1/sim_profile_orders/${id}`, { session });
    expect(done.body.status).toBe("COMPLETED");
    expect(done.body.completedTime).toBe(confirmed.body.confirmedTime + 180_000);
    expectShape("getProfileOrder", "200", done.body);

    const profiles = await request<Json[]>(sim, "GET", `/v1/sim_profile_orders/${id}/profiles`, { session });
    expectShape("listOrderedProfiles", "200", profiles.body);
    expect(profiles.body).toHaveLength(3);
    for (const p of profiles.body) {
      expect(p.iccid).toMatch(/^\d{19,20}$/);
      expect(p.imsi).toMatch(/^\d{15}$/);
      expect(p.profileStatus).toBe("SUBSCRIBER_REGISTRATION_SUCCEEDED");
      expect(p.smdpAddress).toBe("smdp.simulator.soracom.local");
      expect(p.activationCode).toBe(`LPA:1$${p.smdpAddress}$${p.matchingId}`);
      expect(p).toMatchObject({ profileOrderId: id, subscription: "plan01s", createdTime: done.body.completedTime });
    }
    expect(new Set(profiles.body.map((p) => p.iccid)).size).toBe(3);
    expect(new Set(profiles.body.map((p) => p.imsi)).size).toBe(3);
  });

  it("backs every profile with a SIM and a subscriber", async () => {
    const { profiles } = await createCompletedOrder(sim, session, {
      subscription: "plan-US",
      quantity: 1,
      speedClass: "s1.8xfast",
      bundles: ["US-1GB"],
    });
    const [profile] = profiles;
    const subscriber = await request(sim, "GET", `/v1/subscribers/${profile.imsi}`, { session });
    expect(subscriber.status).toBe(200);
    expectShape("getSubscriber", "200", subscriber.body);
    expect(subscriber.body).toMatchObject({ imsi: profile.imsi, iccid: profile.iccid, status: "ready" });
    expect(subscriber.body.simId).toMatch(/^\d{19}$/);

    const got = await request(sim, "GET", `/v1/sims/${subscriber.body.simId}`, { session });
    expectShape("getSim", "200", got.body);
    expect(got.body).toMatchObject({
      simId: subscriber.body.simId,
      moduleType: "profilePackage",
      status: "ready",
      terminationEnabled: false,
      speedClass: "s1.8xfast",
      operatorId: "OP0000000000",
    });
    expect(got.body.profiles[profile.iccid]).toMatchObject({
      iccid: profile.iccid,
      primaryImsi: profile.imsi,
      subscribers: { [profile.imsi]: { imsi: profile.imsi, status: "ready", subscription: "plan-US" } },
    });
  });

  it("deletes only a DRAFT and refuses to confirm twice", async () => {
    const a = await request(sim, "POST", "/v1/sim_profile_orders", {
      body: { subscription: "planP1", quantity: 1 },
      session,
    });
    const id = a.body.profileOrderId;
    const confirm = () => request(sim, "POST", `/v1/sim_profile_orders/${id}/confirm`, { session });
    expect((await confirm()).status).toBe(200);
    const again = await confirm();
    expect(again).toMatchObject({ status: 400, body: { code: "SPO0003" } });
    const del = await request(sim, "DELETE", `/v1/sim_profile_orders/${id}`, { session });
    expect(del).toMatchObject({ status: 400, body: { code: "SPO0004" } });

    const b = await request(sim, "POST", "/v1/sim_profile_orders", {
      body: { subscription: "planP1", quantity: 1 },
      session,
    });
    const gone = await request(sim, "DELETE", `/v1/sim_profile_orders/${b.body.profileOrderId}`, { session });
    expect(gone.status).toBe(204);
    const after = await request(sim, "GET", `/v1/sim_profile_orders/${b.body.profileOrderId}`, { session });
    expect(after).toMatchObject({ status: 404, body: { code: "SPO0001" } });
  });

  it("cancels a draft after 24 hours of simulated time", async () => {
    const a = await request(sim, "POST", "/v1/sim_profile_orders", {
      body: { subscription: "planX1", quantity: 1 },
      session,
    });
    const id = a.body.profileOrderId;
    sim.advanceClock(24 * 3600_000 - 1);
    expect((await request(sim, "GET", `/v1/sim_profile_orders/${id}`, { session })).status).toBe(200);
    sim.advanceClock(1);
    expect((await request(sim, "GET", `/v1/sim_profile_orders/${id}`, { session })).status).toBe(404);
    expect((await request(sim, "GET", "/v1/sim_profile_orders", { session })).body).toEqual([]);
    expect((await request(sim, "POST", `/v1/sim_profile_orders/${id}/confirm`, { session })).status).toBe(404);
  });

  it("refuses more profiles than the per-order maximum, which /_sim/config can change", async () => {
    const order = { subscription: "plan01s", quantity: 21 };
    const over = await request(sim, "POST", "/v1/sim_profile_orders", { body: order, session });
    expect(over).toMatchObject({ status: 400, body: { code: "SPO0002" } });
    expect(over.body.message).toContain("21");
    await control(sim, "POST", "/config", { maxProfilesPerOrder: 50 });
    expect((await request(sim, "POST", "/v1/sim_profile_orders", { body: order, session })).status).toBe(201);
  });
});

describe("listing orders", () => {
  it("pages with x-soracom-next-key and link, stable by orderedTime, no header on the last page", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await request(sim, "POST", "/v1/sim_profile_orders", {
        body: { subscription: "plan01s", quantity: 1 },
        session,
      });
      ids.push(r.body.profileOrderId);
      sim.advanceClock(1000);
    }
    const seen: string[] = [];
    let path = "/v1/sim_profile_orders?limit=3";
    let pages = 0;
    for (;;) {
      const page = await request<Json[]>(sim, "GET", path, { session });
      expect(page.status).toBe(200);
      expectShape("listProfileOrders", "200", page.body);
      pages++;
      seen.push(...page.body.map((o) => o.profileOrderId));
      const key = page.headers.get("x-soracom-next-key");
      const link = page.headers.get("link");
      if (!key) {
        expect(link).toBeNull();
        break;
      }
      expect(link).toBe(`</v1/sim_profile_orders?last_evaluated_key=${key}&limit=3>; rel=next`);
      path = /^<([^>]+)>/.exec(link!)![1]!;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
  });

  it("shows a new order in the list only after listVisibilityDelayMs, while GET by id finds it at once", async () => {
    await control(sim, "POST", "/config", { listVisibilityDelayMs: 5000 });
    const r = await request(sim, "POST", "/v1/sim_profile_orders", {
      body: { subscription: "plan01s", quantity: 1 },
      session,
    });
    const id = r.body.profileOrderId;
    expect((await request(sim, "GET", "/v1/sim_profile_orders", { session })).body).toEqual([]);
    expect((await request(sim, "GET", `/v1/sim_profile_orders/${id}`, { session })).status).toBe(200);
    sim.advanceClock(5000);
    const list = await request<Json[]>(sim, "GET", "/v1/sim_profile_orders", { session });
    expect(list.body.map((o) => o.profileOrderId)).toEqual([id]);
  });
});
