import { describe, expect, it } from "vitest";
import type { EsimProfileOrder } from "../../controller/api/types.js";
import { ORDER_FINALIZER } from "../../controller/api/vocabulary.js";
import type { OrderInput } from "../../controller/order/model.js";
import { planOrder } from "../../controller/order/plan.js";
import { orderToken } from "../../controller/order/tokens.js";

// The grace period of an uncertain create is judged on the list Soracom returned, at the time it was
// read: a list read before the grace period ended proves nothing, however late the plan runs (the
// reconcile may wait between reading and planning).
const UID = "0b6f5c1e-2d3a-4b5c-9d8e-7f6a5b4c3d2e";
const NOW = Date.parse("2026-11-26T12:00:00Z");
const GRACE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function pendingFor(requestedAgoMs: number): EsimProfileOrder {
  return {
    metadata: { name: "fleet", namespace: "iot", uid: UID, generation: 1, finalizers: [ORDER_FINALIZER] },
    spec: { subscription: "planX3", quantity: 20 },
    status: {
      orders: [
        {
          sequence: 1,
          token: orderToken(UID, 1),
          quantity: 20,
          status: "Pending",
          createRequestedTime: iso(NOW - requestedAgoMs),
        },
      ],
    },
  };
}

function input(order: EsimProfileOrder, listedAt: number | undefined): OrderInput {
  return {
    order,
    now: NOW,
    children: [],
    soracom: {
      orders: {},
      profiles: {},
      sims: {},
      admission: { admitted: true },
      listed: [],
      ...(listedAt === undefined ? {} : { listedAt }),
    },
    credentials: { ok: true },
    spend: { remaining: null, limit: null, windowMs: 86_400_000 },
    terminations: { allowed: true, remaining: 20, limit: 20, windowMs: 3_600_000 },
    config: {
      maxQuantityPerResource: 1000,
      inProgressAlertAfterMs: 86_400_000,
      draftExpiryWarningMs: 7_200_000,
      createGracePeriodMs: GRACE,
      soracomRequestTimeoutMs: 30_000,
      pollActiveMs: 5_000,
      pollStableMs: 300_000,
      dryRun: false,
    },
  };
}

const creates = (i: OrderInput) => planOrder(i).actions.filter((a) => a.type === "createOrder").length;

describe("the grace period of an uncertain create", () => {
  const cases: Record<string, { requestedAgoMs: number; listedAgoMs?: number; creates: number }> = {
    "a list read before the grace period ended does not let the create be sent again, even when the plan runs after it":
      { requestedAgoMs: GRACE + 1_000, listedAgoMs: 2_000, creates: 0 },
    "a list read after the grace period ended, without the order, proves it absent: what is missing is ordered anew": {
      requestedAgoMs: GRACE + 1_000,
      listedAgoMs: 500,
      creates: 1,
    },
    "a list read within the grace period waits": { requestedAgoMs: 10_000, listedAgoMs: 0, creates: 0 },
    "without a list time, the plan's clock is the list's": { requestedAgoMs: GRACE + 1_000, creates: 1 },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const listedAt = c.listedAgoMs === undefined ? undefined : NOW - c.listedAgoMs;
      expect(creates(input(pendingFor(c.requestedAgoMs), listedAt))).toBe(c.creates);
    });
  }
});
