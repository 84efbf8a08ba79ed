import { describe, expect, it } from "vitest";
import type { EsimProfileOrder, EsimProfileOrderSpec, TrackedOrder } from "../../controller/api/types.js";
import { ANNOTATIONS, ORDER_FINALIZER } from "../../controller/api/vocabulary.js";
import type { ChildProfile, OrderAction, OrderInput, SoracomView } from "../../controller/order/model.js";
import { countSlots, planOrder, readsFor, withDefaults } from "../../controller/order/plan.js";
import { recordResults } from "../../controller/order/results.js";
import { orderToken } from "../../controller/order/tokens.js";
import type { OrderedProfile, ProfileOrder, Sim } from "../../controller/soracom/types.js";
import { expectConventionalConditions } from "../support/conditions.js";

const UID = "0b6f5c1e-2d3a-4b5c-9d8e-7f6a5b4c3d2e";
const NOW = Date.parse("2026-11-26T12:00:00Z");
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function order(
  spec: Partial<EsimProfileOrderSpec>,
  extra: {
    orders?: TrackedOrder[];
    annotations?: Record<string, string>;
    deleting?: boolean;
    conditions?: never[];
  } = {},
): EsimProfileOrder {
  return {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfileOrder",
    metadata: {
      name: "fleet",
      namespace: "iot",
      uid: UID,
      generation: 1,
      resourceVersion: "1",
      finalizers: [ORDER_FINALIZER],
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
      ...(extra.deleting ? { deletionTimestamp: iso(NOW) } : {}),
    },
    spec: { subscription: "planX3", quantity: 0, ...spec },
    status: { orders: extra.orders ?? [], ...(extra.conditions ? { conditions: extra.conditions } : {}) },
  };
}

/** view is what Soracom answered this round (nothing, unless a test says so). */
// A round's view; the apiserver admits the profiles a create would make unless a test says otherwise.
const view = (v: Partial<SoracomView> = {}): SoracomView => ({
  orders: {},
  profiles: {},
  sims: {},
  admission: { admitted: true },
  ...v,
});

/** input is a round after its reads: `soracom` defaults to an empty view (nothing was read). */
function input(o: EsimProfileOrder, over: Partial<OrderInput> = {}): OrderInput {
  return {
    order: o,
    now: NOW,
    children: [],
    soracom: view(),
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
    ...over,
  };
}

const tracked = (seq: number, quantity: number, status: string, extra: Partial<TrackedOrder> = {}): TrackedOrder => ({
  sequence: seq,
  token: orderToken(UID, seq),
  quantity,
  status,
  ...(status !== "Pending"
    ? { profileOrderId: `po-${seq}`, orderedTime: iso(NOW - H), statusSince: iso(NOW - H) }
    : { createRequestedTime: iso(NOW - 10_000), createAttempts: 1 }),
  ...extra,
});

const soracom = (
  seq: number,
  quantity: number,
  status: ProfileOrder["status"],
  extra: Partial<ProfileOrder> = {},
): ProfileOrder => ({
  profileOrderId: `po-${seq}`,
  subscription: "planX3",
  quantity,
  status,
  orderedTime: NOW - H,
  description: `${orderToken(UID, seq)} iot/fleet`,
  ...extra,
});

const ordered = (seq: number, i: number, extra: Partial<OrderedProfile> = {}): OrderedProfile => ({
  profileOrderId: `po-${seq}`,
  iccid: `8942310000000${seq}${String(i).padStart(5, "0")}`,
  imsi: `44010${seq}${String(i).padStart(9, "0")}`,
  matchingId: `MID-${seq}-${i}`,
  smdpAddress: "smdp.example",
  activationCode: `LPA:1$smdp.example$MID-${seq}-${i}`,
  profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
  createdTime: NOW - H,
  lastModifiedTime: NOW - H,
  ...extra,
});

const child = (seq: number, i: number, extra: Partial<ChildProfile> = {}): ChildProfile => {
  const p = ordered(seq, i);
  return {
    name: `fleet-${p.iccid}`,
    profileOrderId: p.profileOrderId,
    iccid: p.iccid,
    createdAt: NOW - H + i,
    phase: "Registered",
    profileStatus: p.profileStatus,
    lastModifiedTime: iso(p.lastModifiedTime),
    everInstalled: false,
    deleting: false,
    hasActivationSecret: true,
    ...extra,
  };
};
const children = (seq: number, n: number, extra: Partial<ChildProfile> = {}) =>
  Array.from({ length: n }, (_, i) => child(seq, i, extra));

const ofType = <T extends OrderAction["type"]>(actions: OrderAction[], type: T) =>
  actions.filter((a): a is Extract<OrderAction, { type: T }> => a.type === type);
const cond = (plan: ReturnType<typeof planOrder>, type: string) => plan.status.conditions?.find((c) => c.type === type);

/** simOf is the SIM of child (seq, i) as Soracom shows it. */
const simOf = (seq: number, i: number, extra: Partial<Sim> = {}): Sim => ({
  simId: `sim-${seq}-${i}`,
  status: "ready",
  terminationEnabled: false,
  profiles: { [ordered(seq, i).iccid]: { iccid: ordered(seq, i).iccid } },
  ...extra,
});

describe("planOrder: ordering what is missing", () => {
  it("quantity 45 with nothing ordered records three intents (20, 20, 5) and creates them, each with its own token", () => {
    const plan = planOrder(input(order({ quantity: 45 })));
    const creates = ofType(plan.actions, "createOrder");
    expect(creates.map((c) => c.request.quantity)).toEqual([20, 20, 5]);
    expect(new Set(creates.map((c) => c.token)).size).toBe(3);
    expect(plan.intent).toBe(true);
    expect(plan.spend).toEqual(creates.map((c) => ({ token: c.token, quantity: c.request.quantity })));
    expect(plan.status.orders?.map((t) => [t.sequence, t.quantity, t.status])).toEqual([
      [1, 20, "Pending"],
      [2, 20, "Pending"],
      [3, 5, "Pending"],
    ]);
    expect(creates[0]!.request.description).toBe(`${orderToken(UID, 1)} iot/fleet`);
    expect(plan.status.phase).toBe("Pending");
  });

  it("a create may be sent until its grace period ends less the request timeout", () => {
    const [create] = ofType(planOrder(input(order({ quantity: 1 }))).actions, "createOrder");
    expect(create!.sendBy).toBe(NOW + 60_000 - 30_000);
  });

  it("maxProfilesPerOrder smaller than 20 splits into smaller orders", () => {
    const plan = planOrder(input(order({ quantity: 25, maxProfilesPerOrder: 10 })));
    expect(ofType(plan.actions, "createOrder").map((c) => c.request.quantity)).toEqual([10, 10, 5]);
  });

  it("speed class and bundle go into the create request", () => {
    const plan = planOrder(input(order({ quantity: 1, speedClass: "s1.fast", bundles: ["X3-5MB"] })));
    expect(ofType(plan.actions, "createOrder")[0]!.request).toMatchObject({
      subscription: "planX3",
      speedClass: "s1.fast",
      bundles: ["X3-5MB"],
    });
  });

  it("raising 45 to 50 orders exactly 5 more, with the next sequence number", () => {
    const orders = [
      tracked(1, 20, "COMPLETED", { materialized: true }),
      tracked(2, 20, "COMPLETED", { materialized: true }),
      tracked(3, 5, "COMPLETED", { materialized: true }),
    ];
    const kids = [...children(1, 20), ...children(2, 20), ...children(3, 5)];
    const plan = planOrder(input(order({ quantity: 50 }, { orders }), { children: kids }));
    const creates = ofType(plan.actions, "createOrder");
    expect(creates).toHaveLength(1);
    expect(creates[0]).toMatchObject({ sequence: 4, request: { quantity: 5 } });
  });

  it("orders in flight count against the quantity, so a second reconcile orders nothing more", () => {
    const orders = [tracked(1, 20, "Pending"), tracked(2, 20, "DRAFT"), tracked(3, 5, "IN_PROGRESS")];
    const plan = planOrder(
      input(order({ quantity: 45 }, { orders }), { soracom: view({ listed: [], listedAt: NOW }) }),
    );
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });
});

/** reads is what a round asks to read before it decides anything (and it decides nothing before). */
const reads = (o: EsimProfileOrder, over: Partial<OrderInput> = {}) => {
  const plan = planOrder(input(o, { ...over, soracom: undefined }));
  expect(plan.actions.filter((a) => a.type !== "addFinalizer")).toEqual([]);
  return plan.reads ?? [];
};

describe("planOrder: reads", () => {
  it("before anything is read, the plan asks for its reads and decides nothing", () => {
    const o = order({ quantity: 45 }, { orders: [tracked(1, 20, "IN_PROGRESS")] });
    expect(reads(o)).toEqual([{ type: "getOrder", profileOrderId: "po-1", why: "poll" }, { type: "admitProfiles" }]);
    expect(planOrder(input(o, { soracom: undefined })).intent).toBe(false);
  });

  it("in steady state the only read is one poll of the profile list per open order", () => {
    const orders = [
      tracked(1, 2, "COMPLETED", { materialized: true }),
      tracked(2, 1, "COMPLETED", { materialized: true }),
      tracked(3, 1, "Expired"),
    ];
    const kids = [...children(1, 2), child(2, 0, { phase: "Terminated" })];
    expect(reads(order({ quantity: 3 }, { orders }), { children: kids })).toEqual([
      { type: "listProfiles", profileOrderId: "po-1", why: "poll" },
    ]);
  });

  it("every order is listed only while a create's outcome is unknown", () => {
    expect(reads(order({ quantity: 20 }, { orders: [tracked(1, 20, "Pending")] }))).toContainEqual({
      type: "listOrders",
    });
    expect(reads(order({ quantity: 20 }, { orders: [tracked(1, 20, "DRAFT")] }))).not.toContainEqual({
      type: "listOrders",
    });
  });

  it("a draft that would be confirmed is always read first (not a poll the pacer may skip)", () => {
    const auto = order({ quantity: 20 }, { orders: [tracked(1, 20, "DRAFT")] });
    expect(reads(auto)).toEqual([{ type: "getOrder", profileOrderId: "po-1", why: "confirm" }]);
    const manual = order({ quantity: 20, confirmation: "Manual" }, { orders: [tracked(1, 20, "DRAFT")] });
    expect(reads(manual)).toEqual([{ type: "getOrder", profileOrderId: "po-1", why: "poll" }]);
  });

  it("an order of unknown status keeps being read, like one in flight", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "ON_HOLD")] });
    expect(reads(o)).toEqual([{ type: "getOrder", profileOrderId: "po-1", why: "poll" }]);
  });

  it("a recorded termination reads its SIM and its order's profile list, whatever the pacer", () => {
    const o = order(
      { quantity: 1, scaleDownPolicy: "TerminateNeverInstalled" },
      { orders: [tracked(1, 2, "COMPLETED", { materialized: true })] },
    );
    o.status!.terminations = [
      {
        profile: child(1, 1).name,
        iccid: child(1, 1).iccid!,
        simId: "sim-1-1",
        profileOrderId: "po-1",
        reason: "ScaleDown",
        requestedTime: iso(NOW - 1000),
      },
    ];
    expect(reads(o, { children: children(1, 2, { simId: "x" }) })).toEqual([
      { type: "listProfiles", profileOrderId: "po-1", why: "terminate" },
      { type: "getSim", simId: "sim-1-1" },
    ]);
  });

  it("readsFor is what the plan asks for", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "CONFIRMED")] });
    expect(reads(o)).toEqual(readsFor(input(o), withDefaults(o.spec)));
  });
});

describe("planOrder: exactly-once under uncertainty", () => {
  it("a Pending order found in the list by its token is adopted, not ordered again", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "Pending")] });
    const listed = [soracom(7, 3, "DRAFT", { description: "someone else's" }), soracom(1, 20, "DRAFT")];
    const plan = planOrder(input(o, { soracom: view({ listed, listedAt: NOW }) }));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.status.orders?.[0]).toMatchObject({ profileOrderId: "po-1", status: "DRAFT" });
    expect(plan.events.map((e) => e.reason)).toContain("OrderAdopted");
  });

  it("a token that is a prefix of another (sequence 1 vs 10) is not mistaken for it", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 10_000) })] },
    );
    const plan = planOrder(input(o, { soracom: view({ listed: [soracom(10, 20, "DRAFT")], listedAt: NOW }) }));
    expect(plan.status.orders?.[0]?.profileOrderId).toBeUndefined();
  });

  it("a Pending order not listed yet within the grace period is waited for, and the requeue lands when the grace ends", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 20_000) })] },
    );
    const plan = planOrder(input(o, { soracom: view({ listed: [], listedAt: NOW }) }));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.requeueAfterMs).toBeLessThanOrEqual(40_000);
  });

  it("a Pending order still not listed after the grace period did not happen: NotCreated, and what is missing is ordered anew", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 61_000) })] },
    );
    const plan = planOrder(input(o, { soracom: view({ listed: [], listedAt: NOW }) }));
    expect(plan.status.orders?.[0]).toMatchObject({ sequence: 1, status: "NotCreated" });
    expect(plan.events.map((e) => e.reason)).toContain("OrderNotCreated");
    const creates = ofType(plan.actions, "createOrder");
    expect(creates.map((c) => [c.sequence, c.request.quantity])).toEqual([[2, 20]]);
    expect(plan.intent).toBe(true);
  });

  it("regression (defect 3): a create that did not happen is not sent again when the quantity was lowered meanwhile", () => {
    // quantity 2, one profile deleted, the replacement's intent written, then quantity lowered to 1: the
    // intent proves not created after the grace period, and nothing is ordered (57e4de9 created it anyway).
    const o = order(
      { quantity: 1 },
      {
        orders: [
          tracked(1, 2, "COMPLETED", { materialized: true }),
          tracked(2, 1, "Pending", { createRequestedTime: iso(NOW - 61_000) }),
        ],
      },
    );
    const plan = planOrder(input(o, { children: [child(1, 0)], soracom: view({ listed: [], listedAt: NOW }) }));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.spend).toEqual([]);
    expect(plan.status.orders?.[1]?.status).toBe("NotCreated");
  });

  it("a list read before the grace period ended proves nothing, whenever it is judged", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 61_000) })] },
    );
    const plan = planOrder(input(o, { soracom: view({ listed: [], listedAt: NOW - 2_000 }) }));
    expect(plan.status.orders?.[0]?.status).toBe("Pending");
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });

  it("a Pending order is never given up when the list was not read this round", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 10 * H) })] },
    );
    const plan = planOrder(input(o));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.status.orders?.[0]?.status).toBe("Pending");
  });

  it("a create the executor reports done is recorded under its sequence", () => {
    const plan = planOrder(input(order({ quantity: 5 })));
    const { status, events } = recordResults(
      plan.status,
      [{ type: "created", sequence: 1, order: soracom(1, 5, "DRAFT") }],
      NOW,
      1,
    );
    expect(status.orders?.[0]).toMatchObject({ sequence: 1, profileOrderId: "po-1", status: "DRAFT" });
    expect(events.map((e) => e.reason)).toEqual(["OrderCreated"]);
  });

  it("a create whose outcome is unknown stays Pending (to be looked up), never marked failed", () => {
    const plan = planOrder(input(order({ quantity: 5 })));
    const { status } = recordResults(
      plan.status,
      [{ type: "createUnknown", sequence: 1, message: "socket hang up" }],
      NOW,
      1,
    );
    expect(status.orders?.[0]).toMatchObject({ status: "Pending" });
    expect(status.orders?.[0]?.profileOrderId).toBeUndefined();
  });

  it("a create Soracom refused stalls the resource and blocks new orders until the spec changes", () => {
    const plan = planOrder(input(order({ quantity: 5 })));
    const { status } = recordResults(
      plan.status,
      [{ type: "createRejected", sequence: 1, code: "COM0008", message: "bad" }],
      NOW,
      1,
    );
    expect(status.orders?.[0]?.status).toBe("Rejected");
    const again = planOrder(input({ ...order({ quantity: 5 }), status }));
    expect(ofType(again.actions, "createOrder")).toHaveLength(0);
    expect(cond(again, "Stalled")).toMatchObject({ status: "True", reason: "SoracomRejected" });
    const edited = { ...order({ quantity: 5 }), status, metadata: { ...order({}).metadata, generation: 2 } };
    expect(ofType(planOrder(input(edited)).actions, "createOrder")).toHaveLength(1);
  });
});

describe("planOrder: confirmation", () => {
  it("Automatic confirms every draft read as DRAFT this round", () => {
    const o = order({ quantity: 40 }, { orders: [tracked(1, 20, "DRAFT"), tracked(2, 20, "DRAFT")] });
    const plan = planOrder(
      input(o, { soracom: view({ orders: { "po-1": soracom(1, 20, "DRAFT"), "po-2": soracom(2, 20, "DRAFT") } }) }),
    );
    expect(ofType(plan.actions, "confirmOrder").map((a) => a.profileOrderId)).toEqual(["po-1", "po-2"]);
  });

  it("regression (defect 4): a draft not read this round is not confirmed, whatever status or memory say", () => {
    // After a confirm whose answer was lost, 57e4de9 confirmed again from the create's remembered DRAFT answer.
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "DRAFT", { confirmRequestedTime: iso(NOW - 20) })] });
    expect(ofType(planOrder(input(o)).actions, "confirmOrder")).toHaveLength(0);
    const read = planOrder(input(o, { soracom: view({ orders: { "po-1": soracom(1, 20, "CONFIRMED") } }) }));
    expect(ofType(read.actions, "confirmOrder")).toHaveLength(0);
    expect(read.status.orders?.[0]?.status).toBe("CONFIRMED");
    const still = planOrder(input(o, { soracom: view({ orders: { "po-1": soracom(1, 20, "DRAFT") } }) }));
    expect(ofType(still.actions, "confirmOrder").map((a) => a.profileOrderId)).toEqual(["po-1"]);
  });

  it("a confirm whose outcome is unknown is recorded, with an Event, and nothing else is assumed", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "DRAFT")] });
    const { status, events } = recordResults(
      o.status!,
      [{ type: "confirmUnknown", profileOrderId: "po-1", message: "socket hang up" }],
      NOW,
      1,
    );
    expect(status.orders?.[0]).toMatchObject({ status: "DRAFT", confirmRequestedTime: iso(NOW) });
    expect(events.map((e) => e.reason)).toEqual(["SoracomError"]);
  });

  it("Automatic creates are confirmed as soon as they are created; Manual ones are left as drafts", () => {
    const auto = ofType(planOrder(input(order({ quantity: 25 }))).actions, "createOrder");
    expect(auto.map((c) => c.confirm)).toEqual([true, true]);
    const manual = ofType(planOrder(input(order({ quantity: 25, confirmation: "Manual" }))).actions, "createOrder");
    expect(manual.map((c) => c.confirm)).toEqual([false, false]);
  });

  const drafts = { "po-1": soracom(1, 20, "DRAFT"), "po-2": soracom(2, 5, "DRAFT"), "po-3": soracom(3, 5, "DRAFT") };

  it("Manual without approval confirms nothing and says what approving would spend", () => {
    const o = order(
      { quantity: 25, confirmation: "Manual" },
      { orders: [tracked(1, 20, "DRAFT"), tracked(2, 5, "DRAFT")] },
    );
    const plan = planOrder(input(o, { soracom: view({ orders: drafts }) }));
    expect(ofType(plan.actions, "confirmOrder")).toHaveLength(0);
    expect(cond(plan, "AwaitingConfirmation")).toMatchObject({ status: "True", reason: "AwaitingApproval" });
    expect(plan.status.pendingApproval).toMatchObject({ profileOrderIds: ["po-1", "po-2"], quantity: 25 });
    expect(plan.status.phase).toBe("Draft");
  });

  it("Manual approval by annotation confirms exactly the drafts it names", () => {
    const o = order(
      { quantity: 25, confirmation: "Manual" },
      {
        orders: [tracked(1, 20, "DRAFT"), tracked(2, 5, "DRAFT")],
        annotations: { [ANNOTATIONS.approveOrders]: "po-2" },
      },
    );
    const plan = planOrder(input(o, { soracom: view({ orders: drafts }) }));
    expect(ofType(plan.actions, "confirmOrder").map((a) => a.profileOrderId)).toEqual(["po-2"]);
  });

  it("Manual approval by spec.approvedQuantity confirms drafts oldest first while the confirmed total fits", () => {
    const o = order(
      { quantity: 45, confirmation: "Manual", approvedQuantity: 25 },
      { orders: [tracked(1, 20, "DRAFT"), tracked(2, 20, "DRAFT"), tracked(3, 5, "DRAFT")] },
    );
    const all = { ...drafts, "po-2": soracom(2, 20, "DRAFT") };
    const plan = planOrder(input(o, { soracom: view({ orders: all }) }));
    expect(ofType(plan.actions, "confirmOrder").map((a) => a.profileOrderId)).toEqual(["po-1", "po-3"]);
  });

  it("a draft within the warning window of its 24-hour expiry is reported", () => {
    const o = order(
      { quantity: 5, confirmation: "Manual" },
      { orders: [tracked(1, 5, "DRAFT", { orderedTime: iso(NOW - 23 * H) })] },
    );
    expect(cond(planOrder(input(o)), "DraftExpiring")).toMatchObject({ status: "True", reason: "DraftExpiresSoon" });
  });

  it("a draft Soracom dropped after 24 hours is marked Expired and, still wanted, a new draft is created", () => {
    const o = order(
      { quantity: 5, confirmation: "Manual" },
      { orders: [tracked(1, 5, "DRAFT", { orderedTime: iso(NOW - 25 * H) })] },
    );
    const plan = planOrder(input(o, { soracom: view({ orders: { "po-1": null }, listed: [] }) }));
    expect(plan.status.orders?.[0]?.status).toBe("Expired");
    expect(plan.events.map((e) => e.reason)).toContain("DraftExpired");
    expect(ofType(plan.actions, "createOrder").map((a) => a.sequence)).toEqual([2]);
  });
});

describe("planOrder: profiles", () => {
  it("a COMPLETED order gets an EsimProfile for each of its profiles, once", () => {
    const o = order({ quantity: 3 }, { orders: [tracked(1, 3, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1), ordered(1, 2)];
    const plan = planOrder(input(o, { soracom: view({ profiles: { "po-1": listed } }), children: [child(1, 0)] }));
    expect(ofType(plan.actions, "createProfiles")[0]?.profiles.map((p) => p.iccid)).toEqual([
      listed[1]!.iccid,
      listed[2]!.iccid,
    ]);
    expect(plan.status.orders?.[0]?.materialized).toBeFalsy();
    const after = planOrder(input(o, { soracom: view({ profiles: { "po-1": listed } }), children: children(1, 3) }));
    expect(ofType(after.actions, "createProfiles")).toHaveLength(0);
    expect(after.status.orders?.[0]?.materialized).toBe(true);
    expect(cond(after, "Ready")).toMatchObject({ status: "True" });
    expect(after.status.phase).toBe("Completed");
    expect(after.requeueAfterMs).toBe(300_000);
  });

  it("a list remembered from an earlier round makes the missing profiles, but never decides money", () => {
    const o = order({ quantity: 2 }, { orders: [tracked(1, 2, "COMPLETED", { listedQuantity: 2 })] });
    const listed = [ordered(1, 0), ordered(1, 1)];
    const plan = planOrder(input(o, { remembered: { "po-1": listed }, children: [child(1, 0)] }));
    expect(ofType(plan.actions, "createProfiles")[0]?.profiles).toEqual([listed[1]]);
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });

  it("regression (defect 8): a child being deleted is recorded in status, so no relist or restart makes it again", () => {
    // 57e4de9 remembered deleted profiles in process memory only (SeenProfiles): a restart forgot them.
    const o = order({ quantity: 3 }, { orders: [tracked(1, 3, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1), ordered(1, 2)];
    const deleting = child(1, 1, { deleting: true });
    const first = planOrder(
      input(o, { soracom: view({ profiles: { "po-1": listed } }), children: [child(1, 0), deleting] }),
    );
    expect(first.status.orders?.[0]?.deletedProfiles).toEqual([deleting.iccid]);
    expect(ofType(first.actions, "createProfiles")[0]?.profiles).toEqual([listed[2]]);
    // The profile is gone and the controller restarted: only the status remembers, and that is enough.
    const later = planOrder(
      input(
        { ...o, status: first.status },
        { soracom: view({ profiles: { "po-1": listed } }), children: [child(1, 0), child(1, 2)] },
      ),
    );
    expect(ofType(later.actions, "createProfiles")).toHaveLength(0);
    expect(later.status.orders?.[0]?.materialized).toBe(true);
    expect(later.status.orders?.[0]?.deletedProfiles).toBeUndefined();
    // Deleting frees its place, as for any deleted profile: one replacement is ordered.
    expect(ofType(later.actions, "createOrder").map((a) => a.request.quantity)).toEqual([1]);
  });

  it("a deletion is recorded even while the credentials are broken, so the profile is never kept waiting", () => {
    const o = order({ quantity: 2 }, { orders: [tracked(1, 2, "COMPLETED")] });
    const deleting = child(1, 1, { deleting: true });
    const plan = planOrder(
      input(o, {
        children: [child(1, 0), deleting],
        credentials: { ok: false, reason: "CredentialsNotFound", message: "gone" },
      }),
    );
    expect(plan.status.orders?.[0]?.deletedProfiles).toEqual([deleting.iccid]);
    expect(plan.actions).toEqual([]);
  });

  it("a profile created but not yet seen is made again (idempotent by name), and its slot stays held", () => {
    const o = order({ quantity: 2 }, { orders: [tracked(1, 2, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1)];
    const plan = planOrder(input(o, { soracom: view({ profiles: { "po-1": listed } }), children: [child(1, 0)] }));
    expect(ofType(plan.actions, "createProfiles")[0]?.profiles).toEqual([listed[1]]);
    expect(plan.status.orders?.[0]?.materialized).toBeFalsy();
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });

  it("the round after creating profiles, with the profile cache behind, holds their slots: nothing is ordered again", () => {
    const o = order({ quantity: 2 }, { orders: [tracked(1, 2, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1)];
    const round = planOrder(input(o, { soracom: view({ profiles: { "po-1": listed } }) }));
    expect(ofType(round.actions, "createProfiles")[0]?.profiles).toHaveLength(2);
    const { status } = recordResults(round.status, [], NOW, 1);
    expect(status.orders?.[0]?.materialized).toBeFalsy();
    const behind = planOrder(
      input({ ...o, status }, { soracom: view({ profiles: { "po-1": listed } }), children: [] }),
    );
    expect(ofType(behind.actions, "createOrder")).toHaveLength(0);
    expect(countSlots(behind.status.orders ?? [], [])).toBe(2);
  });

  it("regression (defect 7): a COMPLETED order listing fewer profiles than ordered holds the rest, reports it and reorders nothing", () => {
    const o = order({ quantity: 3 }, { orders: [tracked(1, 3, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1)];
    const plan = planOrder(input(o, { soracom: view({ profiles: { "po-1": listed } }), children: children(1, 2) }));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.status.orders?.[0]).toMatchObject({ listedQuantity: 2 });
    expect(plan.status.orders?.[0]?.materialized).toBeFalsy();
    expect(cond(plan, "ProfileListShort")).toMatchObject({ status: "True", reason: "ShortProfileList" });
    expect(plan.events.map((e) => e.reason)).toContain("ShortProfileList");
    expect(cond(plan, "Ready")?.status).toBe("False");
    // A person looked into it and acknowledged: what is missing is ordered again.
    const acked = order(
      { quantity: 3 },
      { orders: plan.status.orders ?? [], annotations: { [ANNOTATIONS.acknowledgeShort]: "po-1" } },
    );
    const after = planOrder(
      input(acked, { soracom: view({ profiles: { "po-1": listed } }), children: children(1, 2) }),
    );
    expect(after.status.orders?.[0]?.materialized).toBe(true);
    expect(ofType(after.actions, "createOrder").map((a) => a.request.quantity)).toEqual([1]);
  });

  it("regression (defect 7): an order in a status this operator does not know holds its profiles and is shown", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "IN_PROGRESS")] });
    const plan = planOrder(input(o, { soracom: view({ orders: { "po-1": soracom(1, 20, "ON_HOLD" as never) } }) }));
    expect(plan.status.orders?.[0]?.status).toBe("IN_PROGRESS");
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(cond(plan, "Reconciling")).toMatchObject({ status: "True", reason: "SoracomAnswerInvalid" });
    expect(cond(plan, "Ready")).toMatchObject({ status: "False", reason: "SoracomAnswerInvalid" });
    expect(plan.events.map((e) => e.reason)).toContain("SoracomAnswerInvalid");
    expect(countSlots(plan.status.orders ?? [], [])).toBe(20);
  });

  it("a status recorded by an earlier version that neither side knows holds its profiles and stalls", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "ON_HOLD")] });
    const plan = planOrder(input(o));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(cond(plan, "Stalled")).toMatchObject({ status: "True", reason: "UnknownOrderStatus" });
    expect(countSlots(plan.status.orders ?? [], [])).toBe(20);
  });

  it("a device event changes a profile's Soracom status, which is synced to that profile only", () => {
    const o = order({ quantity: 2 }, { orders: [tracked(1, 2, "COMPLETED", { materialized: true })] });
    const listed = [
      ordered(1, 0, {
        profileStatus: "INSTALLATION_SUCCEEDED",
        installedTime: NOW - 1000,
        lastModifiedTime: NOW - 1000,
      }),
      ordered(1, 1),
    ];
    const plan = planOrder(input(o, { soracom: view({ profiles: { "po-1": listed } }), children: children(1, 2) }));
    expect(ofType(plan.actions, "syncProfiles")[0]?.profiles.map((p) => p.name)).toEqual([child(1, 0).name]);
  });

  it("a profile deleted after materialization is not recreated; its slot is freed and a replacement ordered", () => {
    const o = order({ quantity: 3 }, { orders: [tracked(1, 3, "COMPLETED", { materialized: true })] });
    const listed = [ordered(1, 0), ordered(1, 1), ordered(1, 2)];
    const plan = planOrder(input(o, { soracom: view({ profiles: { "po-1": listed } }), children: children(1, 2) }));
    expect(ofType(plan.actions, "createProfiles")).toHaveLength(0);
    expect(ofType(plan.actions, "createOrder").map((a) => a.request.quantity)).toEqual([1]);
  });
});

describe("planOrder: nothing is bought that could not be recorded", () => {
  const materialized = () => order({ quantity: 3 }, { orders: [tracked(1, 3, "COMPLETED", { materialized: true })] });
  const listed = [ordered(1, 0), ordered(1, 1), ordered(1, 2)];

  it("asks the apiserver whether it would take the profiles only when some are missing", () => {
    expect(reads(materialized(), { children: children(1, 3) })).not.toContainEqual({ type: "admitProfiles" });
    expect(reads(materialized(), { children: children(1, 2) })).toContainEqual({ type: "admitProfiles" });
  });

  it("regression (namespace deletion): profiles gone with their namespace are not ordered again", () => {
    const message = "Namespace iot is being deleted: nothing is ordered.";
    const round = (o: EsimProfileOrder) =>
      planOrder(
        input(o, {
          soracom: view({
            profiles: { "po-1": listed },
            admission: { admitted: false, reason: "NamespaceTerminating", message },
          }),
          children: children(1, 1),
        }),
      );
    const plan = round(materialized());
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.intent).toBe(false);
    expect(plan.spend).toEqual([]);
    expect(cond(plan, "Stalled")).toMatchObject({ status: "True", reason: "NamespaceTerminating", message });
    expect(plan.events).toContainEqual({ type: "Warning", reason: "NamespaceTerminating", message });
    // Said once: the next round, already Stalled with it, records no second Event.
    const again = round({ ...materialized(), status: plan.status });
    expect(again.events.filter((e) => e.reason === "NamespaceTerminating")).toHaveLength(0);
    expect(ofType(again.actions, "createOrder")).toHaveLength(0);
  });

  it("a template the apiserver refuses stops the order before anything is bought", () => {
    const message = "The apiserver refuses the EsimProfiles this order would create (422: denied).";
    const plan = planOrder(
      input(order({ quantity: 5 }), {
        soracom: view({ admission: { admitted: false, reason: "ProfilesNotAdmitted", message } }),
      }),
    );
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(cond(plan, "Stalled")).toMatchObject({ status: "True", reason: "ProfilesNotAdmitted" });
  });

  it("places freed by this round's tracking are not ordered without an answer: the order is planned again soon", () => {
    // The create's grace period ended and the list proves it absent: NotCreated frees 5 places this round.
    const o = order(
      { quantity: 5 },
      { orders: [tracked(1, 5, "Pending", { createRequestedTime: iso(NOW - 120_000) })] },
    );
    const plan = planOrder(input(o, { soracom: view({ listed: [], listedAt: NOW, admission: undefined }) }));
    expect(plan.status.orders?.[0]?.status).toBe("NotCreated");
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.requeueAfterMs).toBeLessThanOrEqual(1_000);
    const next = planOrder(input({ ...o, status: plan.status }, { soracom: view() }));
    expect(ofType(next.actions, "createOrder").map((a) => a.request.quantity)).toEqual([5]);
  });
});

describe("planOrder: lowering the quantity", () => {
  const orders = [
    tracked(1, 20, "COMPLETED", { materialized: true }),
    tracked(2, 20, "COMPLETED", { materialized: true }),
    tracked(3, 10, "COMPLETED", { materialized: true }),
  ];
  const kids = () => [
    ...children(1, 20, { everInstalled: true, phase: "Activated" }),
    ...children(2, 20),
    ...Array.from({ length: 10 }, (_, i) => child(3, i, { simId: `sim-3-${i}` })),
  ];

  it("under the default Retain policy nothing is terminated and the surplus is reported", () => {
    const plan = planOrder(input(order({ quantity: 40 }, { orders }), { children: kids() }));
    expect(plan.status.terminations).toBeUndefined();
    expect(cond(plan, "ScaleDownBlocked")).toMatchObject({ status: "True", reason: "SurplusRetained" });
    expect(plan.status.totals?.surplus).toBe(10);
  });

  it("under TerminateNeverInstalled the 10 newest never-installed profiles are recorded for termination, none terminated yet", () => {
    const plan = planOrder(
      input(order({ quantity: 40, scaleDownPolicy: "TerminateNeverInstalled" }, { orders }), { children: kids() }),
    );
    const requests = plan.status.terminations ?? [];
    expect(requests).toHaveLength(10);
    expect(requests.every((r) => r.reason === "ScaleDown")).toBe(true);
    expect(ofType(plan.actions, "terminateSim")).toHaveLength(0);
    const installed = new Set(children(1, 20).map((c) => c.name));
    expect(requests.some((r) => installed.has(r.profile))).toBe(false);
    const newest = [...kids()]
      .filter((c) => !c.everInstalled)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, 10)
      .map((c) => c.name);
    expect(requests.map((r) => r.profile).sort()).toEqual(newest.sort());
  });

  it("drafts are cancelled first, and nothing is terminated when that is enough", () => {
    const o = order(
      { quantity: 20, scaleDownPolicy: "TerminateNeverInstalled" },
      { orders: [tracked(1, 20, "COMPLETED", { materialized: true }), tracked(2, 5, "DRAFT")] },
    );
    const plan = planOrder(
      input(o, { children: children(1, 20), soracom: view({ orders: { "po-2": soracom(2, 5, "DRAFT") } }) }),
    );
    expect(ofType(plan.actions, "cancelDraft").map((a) => a.profileOrderId)).toEqual(["po-2"]);
    expect(plan.status.terminations).toBeUndefined();
    expect(ofType(plan.actions, "confirmOrder")).toHaveLength(0);
  });
});

describe("planOrder: order-driven terminations are recorded, then re-checked on fresh reads", () => {
  const orders = [tracked(1, 3, "COMPLETED", { materialized: true })];
  const kids = () => [child(1, 0), child(1, 1), child(1, 2, { simId: "sim-1-2" })];
  const request = {
    profile: child(1, 2).name,
    iccid: child(1, 2).iccid!,
    simId: "sim-1-2",
    profileOrderId: "po-1",
    reason: "ScaleDown" as const,
    requestedTime: iso(NOW - 5_000),
  };
  const scaledDown = (quantity: number, extra: Partial<EsimProfileOrderSpec> = {}) => {
    const o = order({ quantity, scaleDownPolicy: "TerminateNeverInstalled", ...extra }, { orders });
    o.status!.terminations = [{ ...request }];
    return o;
  };
  const fresh = (p: Partial<OrderedProfile> = {}, sim: Partial<Sim> | null = {}) =>
    view({
      profiles: { "po-1": [ordered(1, 0), ordered(1, 1), ordered(1, 2, p)] },
      sims: { "sim-1-2": sim === null ? null : simOf(1, 2, sim) },
    });

  it("a request that still holds on this round's reads is terminated (protection lifted after the ledger)", () => {
    const plan = planOrder(input(scaledDown(2), { children: kids(), soracom: fresh() }));
    expect(ofType(plan.actions, "terminateSim")).toEqual([
      { type: "terminateSim", profile: request.profile, simId: "sim-1-2", reason: "ScaleDown", enable: true },
    ]);
  });

  it("without this round's reads of the SIM and the profile list, a request waits", () => {
    const plan = planOrder(input(scaledDown(2), { children: kids() }));
    expect(ofType(plan.actions, "terminateSim")).toHaveLength(0);
    expect(plan.status.terminations).toHaveLength(1);
  });

  it.each([
    ["the quantity went back up (no surplus left)", () => input(scaledDown(3), { children: kids(), soracom: fresh() })],
    [
      "the profile was installed on a device meanwhile",
      () =>
        input(scaledDown(2), {
          children: kids(),
          soracom: fresh({ profileStatus: "INSTALLATION_SUCCEEDED", installedTime: NOW - 10 }),
        }),
    ],
    [
      "the SIM is not the one recorded",
      () => input(scaledDown(2), { children: kids(), soracom: fresh({}, { profiles: { other: {} } }) }),
    ],
    ["Soracom has no such SIM", () => input(scaledDown(2), { children: kids(), soracom: fresh({}, null) })],
    [
      "the policy changed to Retain",
      () => input(scaledDown(2, { scaleDownPolicy: "Retain" }), { children: kids(), soracom: fresh() }),
    ],
  ])("regression (defect 2): a request is withdrawn with an Event when %s", (_why, make) => {
    const plan = planOrder(make());
    expect(ofType(plan.actions, "terminateSim")).toHaveLength(0);
    expect(plan.status.terminations).toBeUndefined();
    expect(plan.events.map((e) => e.reason)).toContain("TerminationWithdrawn");
  });

  it("a SIM found terminated already is recorded done without a call", () => {
    const plan = planOrder(input(scaledDown(2), { children: kids(), soracom: fresh({}, { status: "terminated" }) }));
    expect(ofType(plan.actions, "terminateSim")).toHaveLength(0);
    expect(plan.status.terminations?.[0]).toMatchObject({ terminated: true });
  });

  it("a terminated ScaleDown or Replace profile is deleted, which frees its place", () => {
    const o = scaledDown(2);
    o.status!.terminations = [{ ...request, terminated: true }];
    const k = [child(1, 0), child(1, 1), child(1, 2, { phase: "Terminated" })];
    const plan = planOrder(input(o, { children: k }));
    expect(ofType(plan.actions, "deleteProfile").map((a) => a.profile)).toEqual([request.profile]);
  });

  it("paused terminations hold the request back and say why on the order", () => {
    const paused = {
      allowed: false,
      remaining: 0,
      limit: 20,
      windowMs: H,
      paused: { id: "p1", since: NOW - H, resume: "kubectl annotate …" },
    };
    const plan = planOrder(input(scaledDown(2), { children: kids(), soracom: fresh(), terminations: paused }));
    expect(ofType(plan.actions, "terminateSim")).toHaveLength(0);
    expect(cond(plan, "TerminationsPaused")).toMatchObject({ status: "True", reason: "TerminationBudgetExhausted" });
    expect(cond(plan, "TerminationsPaused")?.message).toContain("kubectl annotate");
  });

  it("only the order's status can ask: a profile's annotations are not an input of the planner at all", () => {
    const k = kids();
    const plan = planOrder(
      input(order({ quantity: 3, scaleDownPolicy: "TerminateNeverInstalled" }, { orders }), {
        children: k,
        soracom: fresh(),
      }),
    );
    expect(ofType(plan.actions, "terminateSim")).toHaveLength(0);
    expect(plan.status.terminations).toBeUndefined();
  });
});

describe("planOrder: profiles deleted on their device", () => {
  const orders = [tracked(1, 2, "COMPLETED", { materialized: true })];
  const kids = () => [child(1, 0, { phase: "Deleted", everInstalled: true, simId: "sim-1-0" }), child(1, 1)];
  it.each([
    ["Report leaves the SIM alone (the profile's condition reports it)", "Report", []],
    ["Terminate records a termination and keeps the resource", "Terminate", ["DeletedOnDevice"]],
    ["Replace records a termination, to be replaced", "Replace", ["Replace"]],
  ] as const)("%s", (_name, policy, reasons) => {
    const plan = planOrder(input(order({ quantity: 2, onDeviceDeletion: policy }, { orders }), { children: kids() }));
    expect((plan.status.terminations ?? []).map((r) => r.reason)).toEqual(reasons);
    expect(plan.status.totals?.deletedOnDevice).toBe(1);
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });

  it("the device installing the profile again withdraws the request", () => {
    const o = order({ quantity: 2, onDeviceDeletion: "Terminate" }, { orders });
    o.status!.terminations = [
      {
        profile: child(1, 0).name,
        iccid: child(1, 0).iccid!,
        simId: "sim-1-0",
        profileOrderId: "po-1",
        reason: "DeletedOnDevice",
        requestedTime: iso(NOW - 1),
      },
    ];
    const soracomView = view({
      profiles: { "po-1": [ordered(1, 0, { profileStatus: "ACTIVATION_SUCCEEDED" }), ordered(1, 1)] },
      sims: { "sim-1-0": simOf(1, 0) },
    });
    const plan = planOrder(input(o, { children: kids(), soracom: soracomView }));
    expect(ofType(plan.actions, "terminateSim")).toHaveLength(0);
    expect(plan.events.map((e) => e.reason)).toContain("TerminationWithdrawn");
  });

  it("a Terminate profile whose SIM is terminated keeps its slot: nothing is reordered", () => {
    const o = order({ quantity: 2, onDeviceDeletion: "Terminate" }, { orders });
    o.status!.terminations = [
      {
        profile: child(1, 0).name,
        iccid: child(1, 0).iccid!,
        reason: "DeletedOnDevice",
        requestedTime: iso(NOW - 1),
        terminated: true,
      },
    ];
    const k = [child(1, 0, { phase: "Terminated" }), child(1, 1)];
    const plan = planOrder(input(o, { children: k }));
    expect(ofType(plan.actions, "deleteProfile")).toHaveLength(0);
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });
});

describe("planOrder: what stops it", () => {
  it("a FAILED order stalls the resource with an event and blocks new orders until acknowledged", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "IN_PROGRESS")] });
    const plan = planOrder(input(o, { soracom: view({ orders: { "po-1": soracom(1, 20, "FAILED") } }) }));
    expect(cond(plan, "Stalled")).toMatchObject({ status: "True", reason: "OrderFailed" });
    expect(plan.status.phase).toBe("Failed");
    expect(plan.events.map((e) => e.reason)).toContain("OrderFailed");
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    const acked = order(
      { quantity: 20 },
      { orders: plan.status.orders ?? [], annotations: { [ANNOTATIONS.acknowledgeFailed]: "po-1" } },
    );
    expect(ofType(planOrder(input(acked)).actions, "createOrder").map((a) => a.request.quantity)).toEqual([20]);
  });

  it("quantity above the per-resource maximum (a 2000 typo) orders nothing and says why", () => {
    const plan = planOrder(input(order({ quantity: 2000 })));
    expect(plan.actions.filter((a) => a.type === "createOrder")).toHaveLength(0);
    expect(cond(plan, "Stalled")).toMatchObject({ status: "True", reason: "BudgetExceeded" });
    expect(cond(plan, "Stalled")?.message).toContain("per-resource maximum of 1000");
  });

  it("the spend budget caps what is ordered, and the rest is reported", () => {
    const plan = planOrder(input(order({ quantity: 45 }), { spend: { remaining: 25, limit: 100, windowMs: 24 * H } }));
    expect(ofType(plan.actions, "createOrder").map((a) => a.request.quantity)).toEqual([20, 5]);
    expect(plan.spend.reduce((n, s) => n + s.quantity, 0)).toBe(25);
    expect(cond(plan, "Stalled")).toMatchObject({ status: "True", reason: "BudgetExceeded" });
    expect(plan.events.map((e) => e.reason)).toContain("BudgetExceeded");
  });

  it("an exhausted spend budget orders nothing", () => {
    const plan = planOrder(input(order({ quantity: 5 }), { spend: { remaining: 0, limit: 100, windowMs: 24 * H } }));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.intent).toBe(false);
  });

  it("dry run plans and reports but makes no Soracom change and records no intent", () => {
    const base = input(order({ quantity: 45, confirmation: "Automatic" }, { orders: [tracked(1, 20, "DRAFT")] }), {
      soracom: view({ orders: { "po-1": soracom(1, 20, "DRAFT") } }),
    });
    const plan = planOrder({ ...base, config: { ...base.config, dryRun: true } });
    expect(plan.actions.filter((a) => a.type !== "addFinalizer" && a.type !== "removeFinalizer")).toEqual([]);
    expect(plan.intent).toBe(false);
    expect(plan.spend).toEqual([]);
    expect(plan.status.orders).toHaveLength(1);
    expect(cond(plan, "DryRun")).toMatchObject({ status: "True" });
    expect(cond(plan, "DryRun")?.message).toContain("order 25 profiles in 2 orders (20, 5)");
    expect(cond(plan, "DryRun")?.message).toContain("confirm draft order(s) po-1");
  });

  it("missing credentials stall the resource with the reason and touch nothing", () => {
    const plan = planOrder(
      input(order({ quantity: 5 }), {
        credentials: { ok: false, reason: "CredentialsNotFound", message: "Secret iot/creds does not exist" },
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(cond(plan, "Stalled")).toMatchObject({
      status: "True",
      reason: "CredentialsNotFound",
      message: "Secret iot/creds does not exist",
    });
    expect(cond(plan, "Ready")?.status).toBe("False");
  });

  it("paused orders nothing and shows Paused", () => {
    const plan = planOrder(input(order({ quantity: 5, paused: true })));
    expect(plan.actions).toEqual([]);
    expect(plan.status.phase).toBe("Paused");
  });

  it("an order In Progress for longer than the threshold is reported stuck", () => {
    const o = order({ quantity: 5 }, { orders: [tracked(1, 5, "IN_PROGRESS", { statusSince: iso(NOW - 25 * H) })] });
    const plan = planOrder(input(o, { soracom: view({ orders: { "po-1": soracom(1, 5, "IN_PROGRESS") } }) }));
    expect(cond(plan, "OrderStuck")).toMatchObject({ status: "True", reason: "InProgressTooLong" });
  });

  it("a resource without its finalizer gets it in a round of its own: no read, no intent, nothing charged", () => {
    const o = order({ quantity: 45 }, { orders: [tracked(1, 5, "DRAFT")] });
    o.metadata.finalizers = [];
    for (const read of [undefined, view({ orders: { "po-1": soracom(1, 5, "DRAFT") } })]) {
      const plan = planOrder(input(o, { soracom: read }));
      expect(plan.actions).toEqual([{ type: "addFinalizer" }]);
      expect(plan.reads).toBeUndefined();
      expect(plan.intent).toBe(false);
      expect(plan.spend).toEqual([]);
      expect(plan.status).toEqual(o.status);
    }
  });
});

describe("planOrder: deletion", () => {
  it("drafts are cancelled and the finalizer removed; confirmed orders are reported as not cancellable", () => {
    const o = order(
      { quantity: 25 },
      { deleting: true, orders: [tracked(1, 20, "IN_PROGRESS"), tracked(2, 5, "DRAFT")] },
    );
    const plan = planOrder(input(o));
    expect(plan.actions.map((a) => a.type)).toEqual(["cancelDraft", "removeFinalizer"]);
    expect(plan.events.some((e) => e.message.includes("cannot be cancelled"))).toBe(true);
  });

  it("a create with an unknown outcome holds the finalizer until the order shows up or the grace period ends", () => {
    const o = order({ quantity: 5 }, { deleting: true, orders: [tracked(1, 5, "Pending")] });
    expect(planOrder(input(o, { soracom: view({ listed: [], listedAt: NOW }) })).actions).toEqual([]);
    const shown = planOrder(input(o, { soracom: view({ listed: [soracom(1, 5, "DRAFT")], listedAt: NOW }) }));
    expect(shown.actions.map((a) => a.type)).toEqual(["cancelDraft", "removeFinalizer"]);
  });
});

describe("planOrder: conditions and messages a person reads (issue 25)", () => {
  const listed = [ordered(1, 0), ordered(1, 1), ordered(1, 2)];
  const situations: Record<string, OrderInput> = {
    "a fresh order": input(order({ quantity: 3 })),
    "an order with every profile": input(
      order({ quantity: 3 }, { orders: [tracked(1, 3, "COMPLETED", { materialized: true })] }),
      { soracom: view({ profiles: { "po-1": listed } }), children: children(1, 3) },
    ),
    "a draft awaiting approval": input(
      order({ quantity: 20, confirmation: "Manual" }, { orders: [tracked(1, 20, "DRAFT")] }),
    ),
    "an order past the spend budget": input(order({ quantity: 5 }), {
      spend: { remaining: 0, limit: 5, windowMs: 24 * H },
    }),
    "a paused order": input(order({ quantity: 5, paused: true })),
    "an order in dry run": (() => {
      const i = input(order({ quantity: 5 }));
      return { ...i, config: { ...i.config, dryRun: true } };
    })(),
  };
  for (const [sentence, given] of Object.entries(situations)) {
    it(`${sentence}: Ready always, every other condition only while True, each with a reason and a message`, () => {
      expectConventionalConditions(planOrder(given).status.conditions);
    });
  }

  it("a condition that stops holding is removed, not left False: approval ends AwaitingConfirmation", () => {
    const awaiting = situations["a draft awaiting approval"]!;
    const before = planOrder(awaiting).status;
    expect(before.conditions?.map((c) => c.type)).toContain("AwaitingConfirmation");
    const approved = { ...awaiting.order, spec: { ...awaiting.order.spec, approvedQuantity: 20 }, status: before };
    const after = planOrder({ ...awaiting, order: approved }).status;
    expect(after.conditions?.map((c) => c.type)).not.toContain("AwaitingConfirmation");
    expect(after.conditions?.filter((c) => c.status === "False").map((c) => c.type)).toEqual(["Ready"]);
  });

  it("the spend budget's message names where its limit is set and writes its window as a person does", () => {
    const spend = { remaining: 2, limit: 5, windowMs: 24 * H, source: "SoracomAccount iot spec.budgets.spend" };
    const message = cond(planOrder(input(order({ quantity: 5 }), { spend })), "Stalled")?.message;
    expect(message).toContain("(5 per 24h, set in SoracomAccount iot spec.budgets.spend)");
    expect(message).not.toContain("--spend-budget");
    const odd = cond(planOrder(input(order({ quantity: 5 }), { spend: { ...spend, windowMs: 1.5 * H } })), "Stalled");
    expect(odd?.message).toContain("5 per 1h30m");
  });

  it("durations in messages read as a person writes them: 30m, 2h, 1m (not 1h, 120 minutes, 60 s)", () => {
    const stuck = input(order({ quantity: 20 }, { orders: [tracked(1, 20, "IN_PROGRESS")] }));
    const stuckPlan = planOrder({ ...stuck, config: { ...stuck.config, inProgressAlertAfterMs: H / 2 } });
    expect(cond(stuckPlan, "OrderStuck")?.message).toContain("In Progress for more than 30m;");
    const draft = tracked(1, 20, "DRAFT", { orderedTime: iso(NOW - 23 * H) });
    const expiring = planOrder(input(order({ quantity: 20, confirmation: "Manual" }, { orders: [draft] })));
    expect(cond(expiring, "DraftExpiring")?.message).toContain("expire at Soracom within 2h unless approved");
    const lost = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 61_000) })] },
    );
    const notCreated = planOrder(input(lost, { soracom: view({ listed: [], listedAt: NOW }) }));
    expect(JSON.stringify(notCreated.events)).toContain("does not list it 1m after it was sent");
  });
});
