import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { control, login, request, type Session, startQuiet } from "./simulator-http.js";

let sim: Simulator;

beforeAll(async () => {
  sim = await startQuiet({ clock: "manual" });
});
afterAll(() => sim.close());
beforeEach(async () => {
  await control(sim, "POST", "/reset");
});

describe("POST /v1/auth", () => {
  const cases: { name: string; body: unknown; status: number; code?: string }[] = [
    { name: "an AuthKey logs in", body: { authKeyId: "keyId-simulator", authKey: "secret-simulator" }, status: 200 },
    {
      name: "a SAM user logs in",
      body: { operatorId: "OP0000000000", userName: "simulator", password: "secret-simulator" },
      status: 200,
    },
    {
      name: "a wrong AuthKey is refused with AUM0002",
      body: { authKeyId: "keyId-simulator", authKey: "wrong" },
      status: 401,
      code: "AUM0002",
    },
    {
      name: "a wrong SAM password is refused with AUM0002",
      body: { operatorId: "OP0000000000", userName: "simulator", password: "wrong" },
      status: 401,
      code: "AUM0002",
    },
    {
      name: "root login by email is not simulated",
      body: { email: "a@example.com", password: "x" },
      status: 400,
      code: "AUM0003",
    },
    { name: "an empty body names the missing credentials", body: {}, status: 400, code: "COM0008" },
    {
      name: "a token lifetime above the vendor's maximum is refused",
      body: { authKeyId: "keyId-simulator", authKey: "secret-simulator", tokenTimeoutSeconds: 172_801 },
      status: 400,
      code: "COM0008",
    },
    {
      name: "a token lifetime below 180 s is refused",
      body: { authKeyId: "keyId-simulator", authKey: "secret-simulator", tokenTimeoutSeconds: 60 },
      status: 400,
      code: "COM0008",
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await request(sim, "POST", "/v1/auth", { body: c.body });
      expect(r.status).toBe(c.status);
      if (c.code) expect(r.body.code).toBe(c.code);
      else
        expect(r.body).toMatchObject({
          operatorId: "OP0000000000",
          apiKey: expect.any(String),
          token: expect.any(String),
        });
    });
  }
});

describe("authentication of /v1 calls", () => {
  it("refuses calls without, or with wrong, X-Soracom-API-Key and X-Soracom-Token", async () => {
    const session = await login(sim);
    const none = await request(sim, "GET", "/v1/sim_profile_orders");
    expect(none).toMatchObject({ status: 401, body: { code: "AUM0001" } });
    expect(none.headers.get("x-soracom-ratelimit-limit")).toBe("1000");
    const wrong = await request(sim, "GET", "/v1/sim_profile_orders", { session: { ...session, token: "nope" } });
    expect(wrong).toMatchObject({ status: 401, body: { code: "AUM0001" } });
    const ok = await request(sim, "GET", "/v1/sim_profile_orders", { session });
    expect(ok.status).toBe(200);
  });

  it("expires a token after tokenTimeoutSeconds of simulated time", async () => {
    const session = await login(sim, { tokenTimeoutSeconds: 180 });
    sim.advanceClock(179_999);
    expect((await request(sim, "GET", "/v1/sim_profile_orders", { session })).status).toBe(200);
    sim.advanceClock(1);
    const expired = await request(sim, "GET", "/v1/sim_profile_orders", { session });
    expect(expired).toMatchObject({ status: 401, body: { code: "AUM0001", message: "the token has expired" } });
  });

  it("caps token lifetimes at the configured tokenTimeoutSeconds", async () => {
    await control(sim, "POST", "/config", { tokenTimeoutSeconds: 300 });
    const session = await login(sim);
    sim.advanceClock(300_000);
    expect((await request(sim, "GET", "/v1/sim_profile_orders", { session })).status).toBe(401);
  });

  it("expires every token on POST /_sim/tokens/expire", async () => {
    const a = await login(sim);
    const b = await login(sim);
    expect((await control(sim, "POST", "/tokens/expire")).body).toEqual({ expired: 2 });
    for (const session of [a, b]) {
      expect((await request(sim, "GET", "/v1/sim_profile_orders", { session })).status).toBe(401);
    }
    const fresh = await login(sim);
    expect((await request(sim, "GET", "/v1/sim_profile_orders", { session: fresh })).status).toBe(200);
  });

  it("revokes the token on logout, and only that one", async () => {
    const a = await login(sim);
    const b = await login(sim);
    expect((await request(sim, "POST", "/v1/auth/logout", { session: a })).status).toBe(204);
    expect((await request(sim, "GET", "/v1/sim_profile_orders", { session: a })).status).toBe(401);
    expect((await request(sim, "GET", "/v1/sim_profile_orders", { session: b })).status).toBe(200);
  });
});

describe("request validation against the vendored spec", () => {
  let session: Session;
  beforeEach(async () => {
    session = await login(sim);
  });

  const cases: { name: string; method: string; path: string; body?: unknown; field: string }[] = [
    {
      name: "an order without subscription",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { quantity: 1 },
      field: "body.subscription",
    },
    { name: "an order without a body", method: "POST", path: "/v1/sim_profile_orders", field: "body.subscription" },
    {
      name: "a quantity of zero",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { subscription: "plan01s", quantity: 0 },
      field: "body.quantity",
    },
    {
      name: "a quantity given as a string",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { subscription: "plan01s", quantity: "3" },
      field: "body.quantity",
    },
    {
      name: "a speed class outside the enum",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { subscription: "plan01s", quantity: 1, speedClass: "s1.warp" },
      field: "body.speedClass",
    },
    {
      name: "s1.8xfast on a plan other than plan-US",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { subscription: "plan01s", quantity: 1, speedClass: "s1.8xfast" },
      field: "body.speedClass",
    },
    {
      name: "two bundles",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { subscription: "plan-US", quantity: 1, bundles: ["US-1MB", "US-3MB"] },
      field: "body.bundles",
    },
    {
      name: "a bundle of another plan",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { subscription: "planX3", quantity: 1, bundles: ["US-1MB"] },
      field: "body.bundles",
    },
    {
      name: "an unknown subscription",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { subscription: "plan-Z", quantity: 1 },
      field: "body.subscription",
    },
    {
      name: "a description over 100 characters",
      method: "POST",
      path: "/v1/sim_profile_orders",
      body: { subscription: "plan01s", quantity: 1, description: "x".repeat(101) },
      field: "body.description",
    },
    { name: "a list limit of 0", method: "GET", path: "/v1/sim_profile_orders?limit=0", field: "query.limit" },
    { name: "a list limit of 101", method: "GET", path: "/v1/sim_profile_orders?limit=101", field: "query.limit" },
    {
      name: "a list limit that is not a number",
      method: "GET",
      path: "/v1/sim_profile_orders?limit=ten",
      field: "query.limit",
    },
    {
      name: "a search_type outside the enum",
      method: "GET",
      path: "/v1/query/sims?search_type=xor",
      field: "query.search_type",
    },
    { name: "a one-character search value", method: "GET", path: "/v1/query/sims?iccid=8", field: "query.iccid" },
    {
      name: "a tag without a value",
      method: "PUT",
      path: "/v1/sims/1/tags",
      body: [{ tagName: "a" }],
      field: "body[0].tagValue",
    },
    {
      name: "an unknown speed class update",
      method: "POST",
      path: "/v1/sims/1/update_speed_class",
      body: { speedClass: "fast" },
      field: "body.speedClass",
    },
    { name: "a body that is not JSON", method: "POST", path: "/v1/sim_profile_orders", body: "{nope", field: "JSON" },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with COM0008 naming ${c.field}`, async () => {
      const r = await request(sim, c.method, c.path, { session, ...(c.body !== undefined && { body: c.body }) });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("COM0008");
      expect(r.body.message).toContain(c.field);
    });
  }

  it("answers 404 COM0001 for a path the spec does not have", async () => {
    const r = await request(sim, "GET", "/v1/no_such_thing", { session });
    expect(r).toMatchObject({ status: 404, body: { code: "COM0001" } });
  });

  it("checks authentication before validation, so a bad body without a token is a 401", async () => {
    const r = await request(sim, "POST", "/v1/sim_profile_orders", { body: { quantity: -1 } });
    expect(r.status).toBe(401);
  });
});
