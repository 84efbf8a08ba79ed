import { describe, expect, it } from "vitest";
import type { Condition, EsimProfileOrder } from "../../controller/api/types.js";
import { ORDER_FINALIZER } from "../../controller/api/vocabulary.js";
import type { OrderInput } from "../../controller/order/model.js";
import { planOrder } from "../../controller/order/plan.js";

// What a person sees when the operator refuses to spend or only pretends to: a quantity typo above the
// per-resource maximum gets an Event (once, not every reconcile), and dry run says what it would order.
const NOW = Date.parse("2026-11-26T12:00:00Z");

function input(quantity: number, opts: { dryRun?: boolean; conditions?: Condition[] } = {}): OrderInput {
  const order: EsimProfileOrder = {
    metadata: { name: "fleet", namespace: "iot", uid: "u-1", generation: 1, finalizers: [ORDER_FINALIZER] },
    spec: { subscription: "planX3", quantity },
    status: { orders: [], ...(opts.conditions ? { conditions: opts.conditions } : {}) },
  };
  return {
    order,
    now: NOW,
    children: [],
    soracom: { orders: {}, profiles: {}, sims: {}, admission: { admitted: true } },
    credentials: { ok: true },
    spend: { remaining: 100, limit: 100, windowMs: 86_400_000 },
    terminations: { allowed: true, remaining: 20, limit: 20, windowMs: 3_600_000 },
    config: {
      maxQuantityPerResource: 1000,
      inProgressAlertAfterMs: 86_400_000,
      draftExpiryWarningMs: 7_200_000,
      createGracePeriodMs: 60_000,
      soracomRequestTimeoutMs: 30_000,
      pollActiveMs: 5_000,
      pollStableMs: 300_000,
      dryRun: opts.dryRun ?? false,
    },
  };
}

const cond = (plan: ReturnType<typeof planOrder>, type: string) => plan.status.conditions?.find((c) => c.type === type);

describe("a quantity above the per-resource maximum", () => {
  it("orders nothing, stalls with BudgetExceeded and records a BudgetExceeded Event", () => {
    const plan = planOrder(input(2000));
    expect(plan.actions.filter((a) => a.type === "createOrder")).toEqual([]);
    expect(cond(plan, "Stalled")).toMatchObject({ status: "True", reason: "BudgetExceeded" });
    expect(plan.events.map((e) => `${e.type}/${e.reason}`)).toEqual(["Warning/BudgetExceeded"]);
  });

  it("records the Event once: not again while the same Stalled condition stands", () => {
    const first = planOrder(input(2000));
    const again = planOrder(input(2000, { conditions: first.status.conditions as Condition[] }));
    expect(again.events.filter((e) => e.reason === "BudgetExceeded")).toEqual([]);
  });
});

describe("dry run", () => {
  it("says in the DryRun condition and an Event which orders it would create, and creates none", () => {
    const plan = planOrder(input(45, { dryRun: true }));
    expect(plan.actions.filter((a) => a.type === "createOrder")).toEqual([]);
    expect(plan.intent).toBe(false);
    expect(cond(plan, "DryRun")?.message).toBe(
      "Dry run: nothing is changed in Soracom; would order 45 profiles in 3 orders (20, 20, 5).",
    );
    expect(plan.events).toContainEqual({ type: "Normal", reason: "DryRun", message: cond(plan, "DryRun")?.message });
  });

  it("within the spend budget only: 45 wanted, 30 left, it would order 30", () => {
    const i = input(45, { dryRun: true });
    const plan = planOrder({ ...i, spend: { ...i.spend, remaining: 30 } });
    expect(cond(plan, "DryRun")?.message).toContain("would order 30 profiles in 2 orders (20, 10)");
  });

  it("says it once: no new Event while the message stays the same", () => {
    const first = planOrder(input(45, { dryRun: true }));
    const again = planOrder(input(45, { dryRun: true, conditions: first.status.conditions as Condition[] }));
    expect(again.events.filter((e) => e.reason === "DryRun")).toEqual([]);
  });
});
