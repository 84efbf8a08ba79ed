import { describe, expect, it } from "vitest";
import type { EsimProfileOrder, TrackedOrder } from "../../controller/api/types.js";
import { ORDER_FINALIZER } from "../../controller/api/vocabulary.js";
import type { OrderInput, SoracomView } from "../../controller/order/model.js";
import { planOrder } from "../../controller/order/plan.js";
import { orderToken } from "../../controller/order/tokens.js";

// The account an order spends from is bound with its first recorded intent (status.account). While any
// intent, Soracom order or termination in status is unresolved, an order that resolves to another account
// (accountRef edited during a create, the default account changed) sends nothing: another account's client
// would not find the create in flight, and would order it again.
const UID = "7d1f0e8a-5b2c-4d3e-8f9a-0b1c2d3e4f5a";
const NOW = Date.parse("2026-12-07T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function order(orders: TrackedOrder[], account?: string): EsimProfileOrder {
  return {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfileOrder",
    metadata: { name: "fleet", namespace: "iot", uid: UID, generation: 2, finalizers: [ORDER_FINALIZER] },
    spec: { subscription: "planX3", quantity: 3, accountRef: { name: "b" } },
    status: { orders, ...(account ? { account } : {}) },
  };
}

const view = (v: Partial<SoracomView> = {}): SoracomView => ({
  orders: {},
  profiles: {},
  sims: {},
  admission: { admitted: true },
  ...v,
});

function input(o: EsimProfileOrder, account: string, soracom?: SoracomView): OrderInput {
  return {
    order: o,
    now: NOW,
    children: [],
    ...(soracom ? { soracom } : {}),
    credentials: { ok: true },
    account,
    spend: { remaining: null, limit: null, windowMs: 86_400_000 },
    terminations: { allowed: true, remaining: 20, limit: 20, windowMs: 3_600_000 },
    config: {
      maxQuantityPerResource: 1000,
      inProgressAlertAfterMs: 86_400_000,
      draftExpiryWarningMs: 7_200_000,
      createGracePeriodMs: 60_000,
      soracomRequestTimeoutMs: 30_000,
      pollActiveMs: 5_000,
      pollStableMs: 300_000,
      dryRun: false,
    },
  };
}

const pending: TrackedOrder = {
  sequence: 1,
  token: orderToken(UID, 1),
  quantity: 3,
  status: "Pending",
  createRequestedTime: iso(NOW - 5_000),
};
const withId = (status: string): TrackedOrder => ({ ...pending, profileOrderId: "po-1", status });
const stalled = (o: EsimProfileOrder) => o.status?.conditions?.find((c) => c.type === "Stalled");

describe("the account binding", () => {
  it("the first intent records the account it is made under", () => {
    const plan = planOrder(input(order([]), "a", view()));
    expect(plan.intent).toBe(true);
    expect(plan.status.account).toBe("a");
    expect(plan.status.orders?.[0]?.status).toBe("Pending");
  });

  // Every status that still holds the account: a create in flight, or an order Soracom has not released.
  const holding = [pending, withId("DRAFT"), withId("CONFIRMED"), withId("IN_PROGRESS"), withId("COMPLETED")];

  it.each(holding.map((t) => [t.status, t] as const))(
    "%s under account a, the order now resolving to b: Stalled AccountChanged, no read, nothing sent",
    (_s, t) => {
      const o = order([t], "a");
      const first = planOrder(input(o, "b"));
      expect(first.reads ?? []).toEqual([]);
      expect(first.actions.filter((a) => a.type !== "addFinalizer")).toEqual([]);
      // Even given answers (a round that read anyway), nothing is created, confirmed or cancelled.
      const listed = view({ listed: [], listedAt: NOW, orders: { "po-1": null } });
      const second = planOrder(input(o, "b", listed));
      expect(second.actions).toEqual([]);
      expect(second.intent).toBe(false);
      expect(second.spend).toEqual([]);
      expect(second.status.account).toBe("a");
      expect(second.status.orders).toEqual([t]);
      const s = stalled({ ...o, status: second.status });
      expect(s).toMatchObject({ status: "True", reason: "AccountChanged" });
      expect(s?.message).toContain("Set spec.accountRef.name back to a");
    },
  );

  it("back on the bound account, the order is planned as before", () => {
    const plan = planOrder(input(order([pending], "a"), "a"));
    expect(plan.reads).toContainEqual({ type: "listOrders" });
  });

  it.each(["NotCreated", "Expired", "Cancelled", "Rejected"])(
    "an intent released (%s) binds nothing: a new intent binds the account the order resolves to now",
    (released) => {
      const o = order([{ ...withId(released), quantity: 3 }], "a");
      const plan = planOrder(input(o, "b", view()));
      expect(stalled({ ...o, status: plan.status })?.reason).not.toBe("AccountChanged");
      expect(plan.intent).toBe(true);
      expect(plan.status.account).toBe("b");
    },
  );
});
