import { describe, expect, it } from "vitest";
import { orderToken } from "../../controller/order/tokens.js";
import {
  type Endpoint,
  emptyRecord,
  judge,
  type ProfileTrace,
  type Row,
  type TenantRecord,
} from "../support/tenant-invariants.js";
import { Tracker } from "../support/tenant-tracker.js";

// The tenant adversary test's judge on small made-up records: what the documented semantics allow passes,
// and each kind of violation is named by the right invariant (and only by it).

const VICTIM_ORDER = "11111111-1111-4111-8111-111111111111";
const ADV_ORDER = "22222222-2222-4222-8222-222222222222";
const T0 = 1_000_000;

function sim(n: number, status = "active") {
  const iccid = `89423100000000000${n}`;
  return { simId: `sim-${n}`, status, activeProfileId: iccid, profiles: { [iccid]: { primaryImsi: `imsi-${n}` } } };
}

function call(operation: string, path: string, at: number, status = 200) {
  return { operation, method: operation.startsWith("get") ? "GET" : "POST", path, status, at };
}

function world(): { shared: Endpoint; rec: TenantRecord } {
  const rec = emptyRecord(
    [
      { name: "victim", endpoint: "shared", team: "victim", limit: 3 },
      { name: "adv", endpoint: "shared", team: "adversary", limit: 2 },
    ],
    "implicit",
  );
  rec.orders.set(VICTIM_ORDER, {
    team: "victim",
    namespace: "v",
    name: "fleet",
    maxQuantity: 1,
    freed: 0,
    templateTerminates: true,
  });
  rec.orders.set(ADV_ORDER, {
    team: "adversary",
    namespace: "x",
    name: "mine",
    maxQuantity: 1,
    freed: 0,
    templateTerminates: true,
  });
  const shared: Endpoint = {
    name: "shared",
    sims: [sim(1), sim(2), sim(3)],
    orders: [
      {
        profileOrderId: "o1",
        description: orderToken(VICTIM_ORDER, 0),
        quantity: 1,
        status: "COMPLETED",
        iccids: [sim(1).activeProfileId],
      },
      {
        profileOrderId: "o2",
        description: orderToken(ADV_ORDER, 0),
        quantity: 1,
        status: "COMPLETED",
        iccids: [sim(2).activeProfileId],
      },
    ],
    calls: [],
  };
  rec.seeded.set("shared/sim-3", "adversary");
  return { shared, rec };
}

function profile(
  team: "victim" | "adversary",
  refs: string[],
  policy: string,
  causes: number[],
  owners: string[] = [],
): ProfileTrace {
  return {
    team,
    namespace: team === "victim" ? "v" : "x",
    name: "p",
    refs: new Set(refs),
    ownerUids: new Set(owners),
    policy: [{ at: T0, value: policy }],
    causes,
    accounts: new Set(["adv"]),
  };
}

const terminate = (n: number, at: number) => [
  call("enableSimTermination", `/v1/sims/sim-${n}/enable_termination`, at),
  call("terminateSim", `/v1/sims/sim-${n}/terminate`, at + 1),
];
const violations = (rows: Row[]) => Object.fromEntries(rows.map((r) => [r.invariant.slice(1, 2), r.violations.length]));

describe("tenant invariants", () => {
  it("a team terminating its own SIMs by deleting their holder under Terminate (directly, by cascade, by scale-down) breaks nothing", () => {
    const { shared, rec } = world();
    rec.profiles.set("a", profile("adversary", ["iccid:894231000000000003"], "Terminate", [T0 + 10]));
    rec.profiles.set("b", profile("adversary", ["iccid:894231000000000002"], "Terminate", [], [ADV_ORDER]));
    rec.orders.get(ADV_ORDER)!.deletedAt = T0 + 20;
    shared.calls = [...terminate(3, T0 + 11), ...terminate(2, T0 + 21), call("getSim", "/v1/sims/sim-1", T0)];
    const rows = judge([shared], rec);
    expect(violations(rows)).toEqual({ a: 0, b: 0, c: 0, d: 0, e: 0, f: 0 });
    expect(rows[1]?.checked).toBe(2);
  });

  it("a termination before the deletion, under Retain, or of the other team's SIM is a violation of (a) and (b)", () => {
    for (const [team, sim, policy, cause] of [
      ["adversary", 3, "Terminate", T0 + 50],
      ["adversary", 3, "Retain", T0 + 10],
      ["adversary", 1, "Terminate", T0 + 10],
    ] as const) {
      const { shared, rec } = world();
      rec.profiles.set("a", profile(team, [`simId:sim-${sim}`], policy, [cause]));
      shared.calls = terminate(sim, T0 + 20);
      const v = violations(judge([shared], rec));
      expect(v.b, `${sim} ${policy}`).toBe(1);
      expect(v.a).toBe(sim === 1 ? 2 : 0);
    }
  });

  it("any mutating call on the victim's SIM or one no one may hold is (a); reads are not", () => {
    const { shared, rec } = world();
    rec.seeded.set("shared/sim-3", "nobody");
    shared.calls = [
      call("suspendSim", "/v1/sims/sim-1/suspend", T0),
      call("putSimTags", "/v1/sims/sim-3/tags", T0),
      call("getSim", "/v1/sims/sim-1", T0),
    ];
    const rows = judge([shared], rec);
    expect(violations(rows).a).toBe(2);
    expect(rows[0]?.violations.join("\n")).toContain("held by victim");
  });

  it("spend: over an account's budget, through the implicit account, or at an endpoint where no account selects the team", () => {
    const { shared, rec } = world();
    shared.orders.push({
      profileOrderId: "o3",
      description: orderToken(ADV_ORDER, 1),
      quantity: 2,
      status: "CONFIRMED",
      iccids: [],
    });
    shared.orders.push({
      profileOrderId: "o4",
      description: orderToken(ADV_ORDER, 2),
      quantity: 5,
      status: "DRAFT",
      iccids: [],
    });
    const implicit: Endpoint = {
      name: "implicit",
      sims: [],
      orders: [
        { profileOrderId: "i1", description: orderToken(ADV_ORDER, 9), quantity: 1, status: "COMPLETED", iccids: [] },
      ],
      calls: [],
    };
    const rows = judge([shared, implicit], rec);
    expect(rows[2]?.violations).toEqual([
      "adv: 3 profiles billed for a budget of 2",
      expect.stringContaining("implicit: order i1 (1 profiles, adversary) spent through the implicit account"),
    ]);
  });

  it("wanted: beyond max quantity plus freed places, an intent billed twice across endpoints, or an order of no known resource", () => {
    const { shared, rec } = world();
    rec.orders.get(VICTIM_ORDER)!.freed = 1;
    shared.orders.push({
      profileOrderId: "o5",
      description: orderToken(VICTIM_ORDER, 1),
      quantity: 1,
      status: "COMPLETED",
      iccids: [],
    });
    expect(violations(judge([shared], rec)).d).toBe(0);
    const other: Endpoint = {
      name: "sandbox",
      sims: [],
      orders: [
        {
          profileOrderId: "s1",
          description: orderToken(VICTIM_ORDER, 1),
          quantity: 1,
          status: "COMPLETED",
          iccids: [],
        },
        { profileOrderId: "s2", description: "someone else's", quantity: 1, status: "COMPLETED", iccids: [] },
      ],
      calls: [],
    };
    const rows = judge([shared, other], rec);
    expect(rows[3]?.violations).toEqual([
      expect.stringContaining("fleet #1 billed twice"),
      expect.stringContaining("s2 (1) names no EsimProfileOrder"),
      "victim: 3 profiles billed, at most 2 wanted (quantities, freed places, terminations)",
    ]);
  });

  it("a profile's forged owner in another namespace frees no place of that namespace's order", () => {
    const { rec } = world();
    const tracker = new Tracker(rec, { v: "victim", x: "adversary" });
    const forged = {
      metadata: {
        namespace: "x",
        name: "p",
        uid: "p1",
        labels: { "esim.soracom-operator.io/order": "mine" },
        ownerReferences: [VICTIM_ORDER, ADV_ORDER].map((uid) => ({
          apiVersion: "v",
          kind: "EsimProfileOrder",
          name: "n",
          uid,
        })),
      },
      spec: {},
    };
    expect(tracker.ordersReferenced(forged)).toEqual([ADV_ORDER]);
    tracker.freedBy(forged);
    expect([rec.orders.get(VICTIM_ORDER)?.freed, rec.orders.get(ADV_ORDER)?.freed]).toEqual([0, 1]);
  });
});
