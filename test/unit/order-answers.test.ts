import { describe, expect, it } from "vitest";
import type { EsimProfileOrder, TrackedOrder } from "../../controller/api/types.js";
import { ORDER_FINALIZER } from "../../controller/api/vocabulary.js";
import type { OrderInput, SoracomView } from "../../controller/order/model.js";
import { countSlots, planOrder } from "../../controller/order/plan.js";
import { recordResults } from "../../controller/order/results.js";
import { orderToken } from "../../controller/order/tokens.js";
import type { ProfileOrder } from "../../controller/soracom/types.js";
import { Rng } from "../support/safety-random.js";

/**
 * Soracom's answers about orders are input (issue 23, defect 1): whatever one answer says, an order that
 * holds profiles keeps holding them, nothing is ordered over it, what status records never goes back or
 * takes one of the operator's own words, and the refusal is shown. Judged on the pure planner, by class:
 * a table of bad answers per kind, then a seeded battery of random ones.
 */

const UID = "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const NOW = Date.parse("2026-12-01T12:00:00Z");
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function order(orders: TrackedOrder[], quantity = 3): EsimProfileOrder {
  return {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfileOrder",
    metadata: { name: "fleet", namespace: "iot", uid: UID, generation: 1, finalizers: [ORDER_FINALIZER] },
    spec: { subscription: "planX3", quantity },
    status: { orders },
  };
}

function input(o: EsimProfileOrder, v: Partial<SoracomView>): OrderInput {
  return {
    order: o,
    now: NOW,
    children: [],
    soracom: { orders: {}, profiles: {}, sims: {}, admission: { admitted: true }, ...v },
    credentials: { ok: true },
    spend: { remaining: null, limit: null, windowMs: 24 * H },
    terminations: { allowed: true, remaining: 20, limit: 20, windowMs: H },
    config: {
      maxQuantityPerResource: 1000,
      inProgressAlertAfterMs: 24 * H,
      draftExpiryWarningMs: 2 * H,
      createGracePeriodMs: 60_000,
      soracomRequestTimeoutMs: 30_000,
      pollActiveMs: 5_000,
      pollStableMs: 300_000,
      dryRun: false,
    },
  };
}

const tracked = (status: string, extra: Partial<TrackedOrder> = {}): TrackedOrder => ({
  sequence: 1,
  token: orderToken(UID, 1),
  quantity: 3,
  status,
  ...(status === "Pending"
    ? { createRequestedTime: iso(NOW - 10_000) }
    : { profileOrderId: "po-1", orderedTime: iso(NOW - H), statusSince: iso(NOW - H) }),
  ...extra,
});

/** answer is Soracom's view of po-1 with `over` written on top (any type: this is what a bad answer is). */
const answer = (status: string, over: Record<string, unknown> = {}): ProfileOrder =>
  ({
    profileOrderId: "po-1",
    subscription: "planX3",
    quantity: 3,
    status,
    orderedTime: NOW - H,
    description: `${orderToken(UID, 1)} iot/fleet`,
    ...over,
  }) as unknown as ProfileOrder;

const creates = (plan: ReturnType<typeof planOrder>) => plan.actions.filter((a) => a.type === "createOrder");
const cond = (plan: ReturnType<typeof planOrder>, type: string) => plan.status.conditions?.find((c) => c.type === type);

/** refusedWhole: nothing ordered, nothing recorded, the places held, and the refusal shown. */
function expectRefused(before: TrackedOrder, plan: ReturnType<typeof planOrder>) {
  expect(creates(plan)).toEqual([]);
  expect(plan.status.orders?.[0]?.status).toBe(before.status);
  expect(plan.status.orders?.[0]?.quantity).toBe(before.quantity);
  expect(countSlots(plan.status.orders ?? [], [])).toBe(countSlots([before], []));
  // A FAILED order stalls the resource for a person already; Stalled outranks Reconciling.
  const shown = before.status === "FAILED" ? { status: "False", reason: "OrderFailed" } : undefined;
  expect(cond(plan, "Ready")).toMatchObject(shown ?? { status: "False", reason: "SoracomAnswerInvalid" });
  if (!shown) expect(cond(plan, "Reconciling")).toMatchObject({ status: "True", reason: "SoracomAnswerInvalid" });
  expect(plan.events.filter((e) => e.type === "Warning").map((e) => e.reason)).toContain("SoracomAnswerInvalid");
}

const GET_ROWS: Array<[string, TrackedOrder, ProfileOrder]> = [
  ["an operator word as status (Cancelled) on a confirmed order", tracked("CONFIRMED"), answer("Cancelled")],
  ["an operator word as status (Expired)", tracked("IN_PROGRESS"), answer("Expired")],
  ["an operator word as status (NotCreated)", tracked("CONFIRMED"), answer("NotCreated")],
  ["an operator word as status (Rejected)", tracked("CONFIRMED"), answer("Rejected")],
  ["an operator word as status (Pending)", tracked("DRAFT"), answer("Pending")],
  ["a status not in the vendor's enum", tracked("CONFIRMED"), answer("ON_HOLD")],
  ["a vendor status in the wrong case", tracked("CONFIRMED"), answer("cancelled")],
  ["an empty status", tracked("CONFIRMED"), answer("")],
  ["a null status", tracked("IN_PROGRESS"), answer(null as never)],
  ["a backward transition CONFIRMED → DRAFT", tracked("CONFIRMED"), answer("DRAFT")],
  ["a backward transition IN_PROGRESS → CONFIRMED", tracked("IN_PROGRESS"), answer("CONFIRMED")],
  ["an impossible transition COMPLETED → FAILED", tracked("COMPLETED"), answer("FAILED")],
  ["an impossible transition FAILED → COMPLETED", tracked("FAILED"), answer("COMPLETED")],
  ["a backward transition COMPLETED → IN_PROGRESS", tracked("COMPLETED"), answer("IN_PROGRESS")],
  ["quantity 0", tracked("CONFIRMED"), answer("CONFIRMED", { quantity: 0 })],
  ["quantity as a string", tracked("CONFIRMED"), answer("IN_PROGRESS", { quantity: "1" })],
  ["a smaller quantity", tracked("IN_PROGRESS"), answer("IN_PROGRESS", { quantity: 1 })],
  ["a larger quantity", tracked("CONFIRMED"), answer("CONFIRMED", { quantity: 30 })],
  ["a negative quantity", tracked("CONFIRMED"), answer("CONFIRMED", { quantity: -3 })],
  ["a fractional quantity", tracked("CONFIRMED"), answer("CONFIRMED", { quantity: 2.5 })],
  ["a missing quantity", tracked("CONFIRMED"), answer("CONFIRMED", { quantity: undefined })],
  ["another order's ID", tracked("CONFIRMED"), answer("CONFIRMED", { profileOrderId: "po-9" })],
  ["a numeric order ID", tracked("CONFIRMED"), answer("CONFIRMED", { profileOrderId: 1 })],
  ["a time that is not a time", tracked("DRAFT"), answer("CONFIRMED", { orderedTime: "yesterday" })],
  ["an answer that is not an object", tracked("CONFIRMED"), "CONFIRMED" as unknown as ProfileOrder],
];

describe("an answer about a tracked order that fails its checks changes nothing and is shown", () => {
  for (const [what, before, bad] of GET_ROWS) {
    it(what, () => {
      const plan = planOrder(input(order([before]), { orders: { "po-1": bad } }));
      expectRefused(before, plan);
    });
  }
});

describe("a 404 frees a draft only when a list agrees, and never an order that may be confirmed", () => {
  const rows: Array<[string, TrackedOrder, Partial<SoracomView>]> = [
    ["a confirmed order answered 404", tracked("CONFIRMED"), { listed: [] }],
    [
      "a draft a confirm was sent for, answered 404",
      tracked("DRAFT", { confirmRequestedTime: iso(NOW - 60_000) }),
      {
        listed: [],
      },
    ],
    ["a draft answered 404 that the list of orders still shows", tracked("DRAFT"), { listed: [answer("DRAFT")] }],
  ];
  for (const [what, before, v] of rows) {
    it(what, () => {
      const plan = planOrder(input(order([before]), { orders: { "po-1": null }, ...v }));
      expectRefused(before, plan);
    });
  }

  it("a draft answered 404 without a list this round stays as it is, holding its places", () => {
    const before = tracked("DRAFT");
    const plan = planOrder(input(order([before]), { orders: { "po-1": null } }));
    expect(creates(plan)).toEqual([]);
    expect(plan.status.orders?.[0]?.status).toBe("DRAFT");
  });

  it("a draft answered 404 that the list does not show either is released (the control: evidence agrees)", () => {
    const plan = planOrder(input(order([tracked("DRAFT")]), { orders: { "po-1": null }, listed: [] }));
    expect(plan.status.orders?.[0]?.status).toBe("Cancelled");
    expect(creates(plan)).toHaveLength(1);
  });
});

describe("an order found by its token is adopted only when it is the order intended", () => {
  const rows: Array<[string, ProfileOrder]> = [
    ["listed with quantity 0", answer("CONFIRMED", { quantity: 0 })],
    ["listed with another quantity", answer("DRAFT", { quantity: 1 })],
    ["listed with an operator word as status", answer("Cancelled")],
    ["listed with an unknown status", answer("SHIPPED")],
  ];
  for (const [what, listed] of rows) {
    it(what, () => {
      const before = tracked("Pending", { createRequestedTime: iso(NOW - 10 * 60_000) });
      const plan = planOrder(input(order([before]), { listed: [listed], listedAt: NOW }));
      expect(creates(plan)).toEqual([]);
      expect(plan.status.orders?.[0]?.status).toBe("Pending");
      expect(plan.status.orders?.[0]?.profileOrderId).toBeUndefined();
      expect(countSlots(plan.status.orders ?? [], [])).toBe(3);
      expect(plan.events.map((e) => e.reason)).toContain("SoracomAnswerInvalid");
    });
  }
});

describe("create and confirm answers are checked before they are recorded", () => {
  const rows: Array<[string, TrackedOrder, "created" | "confirmed", ProfileOrder]> = [
    ["a create answered with quantity 0", tracked("Pending"), "created", answer("DRAFT", { quantity: 0 })],
    ["a create answered with a string quantity", tracked("Pending"), "created", answer("DRAFT", { quantity: "3" })],
    ["a create answered with an operator word", tracked("Pending"), "created", answer("Cancelled")],
    ["a confirm answered with an operator word", tracked("DRAFT"), "confirmed", answer("Cancelled")],
    ["a confirm answered with quantity 0", tracked("DRAFT"), "confirmed", answer("CONFIRMED", { quantity: 0 })],
    [
      "a confirm answered about another order",
      tracked("DRAFT"),
      "confirmed",
      answer("CONFIRMED", {
        profileOrderId: "po-9",
      }),
    ],
  ];
  for (const [what, before, type, bad] of rows) {
    it(what, () => {
      const result =
        type === "created" ? { type, sequence: 1, order: bad } : { type, profileOrderId: "po-1", order: bad };
      const { status, events } = recordResults({ orders: [before] }, [result as never], NOW, 1);
      expect(status.orders?.[0]?.status).toBe(before.status);
      expect(status.orders?.[0]?.quantity).toBe(3);
      expect(countSlots(status.orders ?? [], [])).toBe(3);
      expect(events.map((e) => e.reason)).toContain("SoracomAnswerInvalid");
      // The next round plans from what was recorded: nothing is ordered over it.
      const next = planOrder(input(order(status.orders ?? []), {}));
      expect(creates(next)).toEqual([]);
    });
  }
});

describe("a battery of random answers never buys profiles over an order that holds them", () => {
  const STATUSES = ["DRAFT", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "FAILED", "Cancelled", "Expired", "NotCreated"];
  const WEIRD = [...STATUSES, "Rejected", "Pending", "ON_HOLD", "", null, 0, "completed"];
  const QUANTITIES = [3, 3, 3, 0, 1, 2, 4, -3, "3", "1", null, 2.5, 1e9];
  const IDS = ["po-1", "po-1", "po-1", "po-2", "", null];
  const HOLDING: TrackedOrder[] = [
    tracked("DRAFT", { confirmRequestedTime: iso(NOW - 60_000) }),
    tracked("CONFIRMED"),
    tracked("IN_PROGRESS"),
    tracked("COMPLETED"),
  ];
  const VENDOR = ["DRAFT", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "FAILED"];
  const STEP: Record<string, number> = { DRAFT: 0, CONFIRMED: 1, IN_PROGRESS: 2, COMPLETED: 3, FAILED: 3 };

  it("2,000 answers: no create, the quantity never changes, the status only moves forward in the vendor's words", () => {
    const random = new Rng(23);
    const pick = <T>(xs: readonly T[]) => random.pick(xs);
    for (let i = 0; i < 2_000; i++) {
      const before = pick(HOLDING);
      const bad = answer(pick(WEIRD) as string, { quantity: pick(QUANTITIES), profileOrderId: pick(IDS) });
      const plan = planOrder(
        input(order([before]), { orders: { "po-1": random.chance(0.1) ? null : bad }, listed: [] }),
      );
      const after = plan.status.orders?.[0];
      const why = `${before.status} answered ${JSON.stringify(bad)}`;
      expect(creates(plan), why).toEqual([]);
      expect(after?.quantity, why).toBe(3);
      expect(VENDOR, why).toContain(after?.status);
      expect(STEP[after!.status!]!, why).toBeGreaterThanOrEqual(STEP[before.status!]!);
    }
  });
});
