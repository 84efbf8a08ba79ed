import { describe, expect, it } from "vitest";
import type { EsimProfileOrder } from "../../controller/api/types.js";
import { orderDescription, orderToken } from "../../controller/order/tokens.js";
import { beyondWantedAtCreate, checkInvariants, type SimOrder } from "../support/safety-invariants.js";

// The fault suite's judge is itself code: these cases show it catches what it is there to catch.

const UID = "6a1f3c2e-0d4b-4e8f-9a7c-1b2d3e4f5a6b";

function resource(
  quantity: number,
  tracked: Array<{ sequence: number; id: string; status: string }>,
): EsimProfileOrder {
  return {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfileOrder",
    metadata: { name: "fleet", namespace: "iot", uid: UID },
    spec: { subscription: "planX3", quantity },
    status: {
      orders: tracked.map((t) => ({
        sequence: t.sequence,
        token: orderToken(UID, t.sequence),
        quantity: 20,
        status: t.status,
        profileOrderId: t.id,
      })),
    },
  } as EsimProfileOrder;
}

const soracom = (sequence: number, id: string, status = "CONFIRMED"): SimOrder => ({
  profileOrderId: id,
  description: orderDescription(orderToken(UID, sequence), "iot", "fleet"),
  quantity: 20,
  status,
  iccids: [],
});

describe("checkInvariants", () => {
  it("counts over-ordering that no duplicate token shows: two sequences ordered for one wanted", () => {
    const r = resource(20, [
      { sequence: 1, id: "po-1", status: "CONFIRMED" },
      { sequence: 2, id: "po-2", status: "CONFIRMED" },
    ]);
    const report = checkInvariants({ orders: [soracom(1, "po-1"), soracom(2, "po-2")], sims: [] }, [], [r], []);
    expect(report.duplicates).toBe(0);
    expect(report.overOrdered).toBe(20);
    expect(report.problems).toContain("fleet: 40 profiles ordered for 20 wanted");
  });

  it("counts a token ordered twice as a duplicate", () => {
    const r = resource(20, [{ sequence: 1, id: "po-1", status: "CONFIRMED" }]);
    const report = checkInvariants({ orders: [soracom(1, "po-1"), soracom(1, "po-9")], sims: [] }, [], [r], []);
    expect(report.duplicates).toBe(1);
    expect(report.problems.some((p) => p.includes("duplicate"))).toBe(true);
  });

  it("finds nothing wrong when what is ordered is what is wanted", () => {
    const r = resource(20, [{ sequence: 1, id: "po-1", status: "CONFIRMED" }]);
    const create = {
      operation: "createProfileOrder",
      method: "POST",
      path: "/v1/sim_profile_orders",
      status: 201,
      at: 0,
    };
    const report = checkInvariants({ orders: [soracom(1, "po-1")], sims: [] }, [create], [r], []);
    expect(report).toMatchObject({ duplicates: 0, overOrdered: 0, lost: 0, problems: [] });
  });
});

describe("beyondWantedAtCreate: each create judged against the quantity in force when it was made", () => {
  const o = (id: string, quantity: number, orderedTime: number): SimOrder => ({
    profileOrderId: id,
    quantity,
    status: "COMPLETED",
    iccids: [],
    orderedTime,
  });

  it("catches a create made after the quantity was lowered, even when the quantity is raised again later", () => {
    // 2 wanted at 0 and ordered; lowered to 1 at 10 s; an old intent re-sent at 70 s; raised to 3 at 100 s.
    // The end state (3 ordered for 3 wanted) looks right; the create at 70 s was not.
    const history = {
      set: [
        { at: 0, quantity: 2 },
        { at: 10_000, quantity: 1 },
        { at: 100_000, quantity: 3 },
      ],
      freed: [],
    };
    const verdict = beyondWantedAtCreate([o("a", 2, 1_000), o("b", 1, 70_000)], history, 3_000);
    expect(verdict.excess).toBe(2);
    expect(verdict.problem).toContain("order b");
  });

  it("a create planned a moment before the quantity was lowered is not held against it", () => {
    const history = {
      set: [
        { at: 0, quantity: 3 },
        { at: 5_000, quantity: 1 },
      ],
      freed: [],
    };
    expect(beyondWantedAtCreate([o("a", 3, 5_500)], history, 3_000).excess).toBe(0);
  });

  it("a replacement for a profile the test deleted is wanted", () => {
    const history = { set: [{ at: 0, quantity: 2 }], freed: [20_000] };
    expect(beyondWantedAtCreate([o("a", 2, 1_000), o("b", 1, 30_000)], history, 3_000).excess).toBe(0);
    expect(beyondWantedAtCreate([o("a", 2, 1_000), o("b", 1, 15_000)], history, 3_000).excess).toBe(1);
  });
});
