import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { loadSpecRoutes } from "../../simulator/spec.js";
import {
  control,
  createCompletedOrder,
  expectSimShape,
  type Json,
  login,
  request,
  type Session,
  startQuiet,
} from "./simulator-http.js";

let sim: Simulator;
let session: Session;
const spec = loadSpecRoutes();

beforeAll(async () => {
  sim = await startQuiet({ clock: "manual" });
});
afterAll(() => sim.close());
beforeEach(async () => {
  await control(sim, "POST", "/reset");
  session = await login(sim);
});

async function newSim(body: Record<string, unknown> = {}): Promise<Json> {
  const r = await control(sim, "POST", "/sims", body);
  expect(r.status).toBe(201);
  return r.body;
}

const post = (path: string, body?: unknown) =>
  request(sim, "POST", `/v1/sims${path}`, { session, ...(body !== undefined && { body }) });

describe("SIM status changes", () => {
  // [sentence, starting status, operation path, wanted HTTP status, wanted SIM status or error code]
  const table: [string, string, string, number, string][] = [
    ["a ready SIM activates", "ready", "activate", 200, "active"],
    ["an active SIM deactivates", "active", "deactivate", 200, "inactive"],
    ["an inactive SIM activates again", "inactive", "activate", 200, "active"],
    ["an active SIM suspends", "active", "suspend", 200, "suspended"],
    ["a suspended SIM activates", "suspended", "activate", 200, "active"],
    ["a ready SIM goes to standby", "ready", "set_to_standby", 200, "standby"],
    ["an inactive SIM goes to standby", "inactive", "set_to_standby", 200, "standby"],
    ["activating an active SIM changes nothing", "active", "activate", 200, "active"],
    ["an active SIM cannot go to standby", "active", "set_to_standby", 400, "SEM0004"],
    ["a suspended SIM cannot go to standby", "suspended", "set_to_standby", 400, "SEM0004"],
    ["a terminated SIM cannot activate", "terminated", "activate", 400, "SEM0007"],
    ["a terminated SIM cannot deactivate", "terminated", "deactivate", 400, "SEM0007"],
    ["a terminated SIM cannot suspend", "terminated", "suspend", 400, "SEM0007"],
    ["a terminated SIM cannot go to standby", "terminated", "set_to_standby", 400, "SEM0007"],
    ["a terminated SIM cannot be protected again", "terminated", "disable_termination", 400, "SEM0007"],
  ];
  for (const [sentence, from, op, status, want] of table) {
    it(sentence, async () => {
      const s = await newSim({ status: from });
      const r = await post(`/${s.simId}/${op}`);
      expect(r.status).toBe(status);
      if (status === 200) {
        expect(r.body.status).toBe(want);
        expectSimShape(spec, r.body);
      } else {
        expect(r.body.code).toBe(want);
      }
    });
  }

  it("answers 404 SEM0001 for an unknown SIM", async () => {
    expect(await post("/0000000000000000000/activate")).toMatchObject({ status: 404, body: { code: "SEM0001" } });
    const sub = await request(sim, "GET", "/v1/subscribers/000000000000000", { session });
    expect(sub).toMatchObject({ status: 404, body: { code: "SEM0002" } });
  });
});

describe("termination", () => {
  it("refuses to terminate while termination protection is on, then terminates once enabled", async () => {
    const { profiles } = await createCompletedOrder(sim, session, { subscription: "plan01s", quantity: 1 });
    const sub = await request(sim, "GET", `/v1/subscribers/${profiles[0].imsi}`, { session });
    const simId = sub.body.simId;
    const refused = await post(`/${simId}/terminate`);
    expect(refused).toMatchObject({ status: 400, body: { code: "SEM0003" } });
    expect(refused.body.message).toContain("termination is not enabled");

    expect((await post(`/${simId}/enable_termination`)).body.terminationEnabled).toBe(true);
    expect((await post(`/${simId}/disable_termination`)).body.terminationEnabled).toBe(false);
    expect((await post(`/${simId}/terminate`)).status).toBe(400);
    await post(`/${simId}/enable_termination`);
    const done = await post(`/${simId}/terminate`);
    expect(done).toMatchObject({ status: 200, body: { status: "terminated" } });

    const after = await request(sim, "GET", `/v1/sims/${simId}`, { session });
    expect(after.body.status).toBe("terminated");
    expect((await request(sim, "GET", `/v1/subscribers/${profiles[0].imsi}`, { session })).body.status).toBe(
      "terminated",
    );
    expect(await post(`/${simId}/terminate`)).toMatchObject({ status: 400, body: { code: "SEM0007" } });
  });
});

describe("speed class, tags and groups", () => {
  it("allows s1.8xfast only on plan-US", async () => {
    const us = await newSim({ subscription: "plan-US" });
    const other = await newSim({ subscription: "plan01s" });
    expect((await post(`/${us.simId}/update_speed_class`, { speedClass: "s1.8xfast" })).body.speedClass).toBe(
      "s1.8xfast",
    );
    const refused = await post(`/${other.simId}/update_speed_class`, { speedClass: "s1.8xfast" });
    expect(refused).toMatchObject({ status: 400, body: { code: "SEM0005" } });
    const dataUnit = await post(`/${other.simId}/update_speed_class`, { speedClass: "u1.standard" });
    expect(dataUnit).toMatchObject({ status: 400, body: { code: "SEM0005" } });
  });

  it("puts, overwrites and deletes tags", async () => {
    const s = await newSim();
    const put = await request(sim, "PUT", `/v1/sims/${s.simId}/tags`, {
      session,
      body: [
        { tagName: "name", tagValue: "pump-7" },
        { tagName: "owner/team", tagValue: "a" },
      ],
    });
    expect(put.body.tags).toEqual({ name: "pump-7", "owner/team": "a" });
    await request(sim, "PUT", `/v1/sims/${s.simId}/tags`, { session, body: [{ tagName: "name", tagValue: "pump-8" }] });
    const del = await request(sim, "DELETE", `/v1/sims/${s.simId}/tags/${encodeURIComponent("owner/team")}`, {
      session,
    });
    expect(del.status).toBe(204);
    expect((await request(sim, "GET", `/v1/sims/${s.simId}`, { session })).body.tags).toEqual({ name: "pump-8" });
    const missing = await request(sim, "DELETE", `/v1/sims/${s.simId}/tags/nope`, { session });
    expect(missing).toMatchObject({ status: 404, body: { code: "SEM0006" } });
  });

  it("sets and unsets the group", async () => {
    const s = await newSim();
    expect((await post(`/${s.simId}/set_group`, { groupId: "grp-1" })).body.groupId).toBe("grp-1");
    expect(await post(`/${s.simId}/set_group`, {})).toMatchObject({ status: 400, body: { code: "COM0008" } });
    const unset = await post(`/${s.simId}/unset_group`);
    expect(unset.status).toBe(200);
    expect(unset.body.groupId).toBeUndefined();
  });
});

describe("GET /v1/query/sims", () => {
  it("matches partially and case-insensitively, so callers must filter exactly", async () => {
    const a = await newSim({ iccid: "8942310000000000017", tags: { name: "Pump-A" } });
    const b = await newSim({ iccid: "8942310000000000170", tags: { name: "pump-b" } });
    const byIccid = await request<Json[]>(sim, "GET", "/v1/query/sims?iccid=00017", {
      session,
    });
    expect(byIccid.body.map((s) => s.simId).sort()).toEqual([a.simId, b.simId].sort());
    const byName = await request<Json[]>(sim, "GET", "/v1/query/sims?name=PUMP-a", { session });
    expect(byName.body.map((s) => s.simId)).toEqual([a.simId]);
    const both = await request<Json[]>(sim, "GET", "/v1/query/sims?name=pump-a,pump-b", { session });
    expect(both.body).toHaveLength(2);
  });

  it("ANDs parameters by default and ORs them with search_type=or", async () => {
    const a = await newSim({ subscription: "plan01s", status: "active" });
    const b = await newSim({ subscription: "plan-US", status: "ready" });
    const and = await request<Json[]>(sim, "GET", "/v1/query/sims?subscription=plan01s&status=ready", { session });
    expect(and.body).toEqual([]);
    const or = await request<Json[]>(sim, "GET", "/v1/query/sims?subscription=plan01s&status=ready&search_type=or", {
      session,
    });
    expect(or.body.map((s) => s.simId).sort()).toEqual([a.simId, b.simId].sort());
    const exact = await request<Json[]>(sim, "GET", "/v1/query/sims?subscription=plan", { session });
    expect(exact.body).toEqual([]);
  });

  it("pages like /sims over three pages, keeping the filters in the link", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await newSim()).simId);
    await newSim({ moduleType: "nano" });
    const seen: string[] = [];
    let path = "/v1/query/sims?module_type=profilePackage&limit=2";
    let pages = 0;
    for (let key: string | null = "start"; key; pages++) {
      const page = await request<Json[]>(sim, "GET", path, { session });
      seen.push(...page.body.map((s) => s.simId));
      key = page.headers.get("x-soracom-next-key");
      if (key) {
        expect(page.headers.get("link")).toContain("module_type=profilePackage");
        path = /^<([^>]+)>/.exec(page.headers.get("link")!)![1]!;
      } else {
        expect(page.headers.get("link")).toBeNull();
      }
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].sort());
  });

  it("finds a new SIM only after searchVisibilityDelayMs", async () => {
    await control(sim, "POST", "/config", { searchVisibilityDelayMs: 15_000 });
    const s = await newSim();
    expect((await request(sim, "GET", `/v1/query/sims?sim_id=${s.simId}`, { session })).body).toEqual([]);
    expect((await request(sim, "GET", `/v1/sims/${s.simId}`, { session })).status).toBe(200);
    sim.advanceClock(15_000);
    expect((await request<Json[]>(sim, "GET", `/v1/query/sims?sim_id=${s.simId}`, { session })).body).toHaveLength(1);
  });
});
