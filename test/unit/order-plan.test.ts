import { describe, expect, it } from "vitest";
import type { EsimProfileOrder, EsimProfileOrderSpec, TrackedOrder } from "../../controller/api/types.js";
import { ANNOTATIONS, ORDER_FINALIZER } from "../../controller/api/vocabulary.js";
import type { ChildProfile, OrderAction, OrderInput } from "../../controller/order/model.js";
import { countSlots, ordersToPoll, planOrder } from "../../controller/order/plan.js";
import { applyResults } from "../../controller/order/results.js";
import { orderToken } from "../../controller/order/tokens.js";
import type { OrderedProfile, ProfileOrder } from "../../controller/soracom/types.js";

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

function input(o: EsimProfileOrder, over: Partial<OrderInput> = {}): OrderInput {
  return {
    order: o,
    now: NOW,
    children: [],
    soracomOrders: {},
    orderedProfiles: {},
    credentials: { ok: true },
    spend: { remaining: null, limit: null, windowMs: 24 * H },
    config: {
      maxQuantityPerResource: 1000,
      inProgressAlertAfterMs: 24 * H,
      draftExpiryWarningMs: 2 * H,
      createGracePeriodMs: 60_000,
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

describe("planOrder: ordering what is missing", () => {
  it("quantity 45 with nothing ordered records three intents (20, 20, 5) and creates them, each with its own token", () => {
    const plan = planOrder(input(order({ quantity: 45 })));
    const creates = ofType(plan.actions, "createOrder");
    expect(creates.map((c) => c.request.quantity)).toEqual([20, 20, 5]);
    expect(new Set(creates.map((c) => c.token)).size).toBe(3);
    expect(plan.intent).toBe(true);
    expect(plan.status.orders?.map((t) => [t.sequence, t.quantity, t.status])).toEqual([
      [1, 20, "Pending"],
      [2, 20, "Pending"],
      [3, 5, "Pending"],
    ]);
    expect(creates[0]!.request.description).toBe(`${orderToken(UID, 1)} iot/fleet`);
    expect(plan.status.phase).toBe("Pending");
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
    const plan = planOrder(input(order({ quantity: 45 }, { orders }), { listed: [] }));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });
});

describe("planOrder: exactly-once under uncertainty", () => {
  it("a Pending order found in the list by its token is adopted, not ordered again", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "Pending")] });
    const plan = planOrder(
      input(o, { listed: [soracom(7, 3, "DRAFT", { description: "someone else's" }), soracom(1, 20, "DRAFT")] }),
    );
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.status.orders?.[0]).toMatchObject({ profileOrderId: "po-1", status: "DRAFT" });
    expect(ofType(plan.actions, "confirmOrder").map((a) => a.profileOrderId)).toEqual(["po-1"]);
    expect(plan.events.map((e) => e.reason)).toContain("OrderAdopted");
  });

  it("a token that is a prefix of another (sequence 1 vs 10) is not mistaken for it", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 10 * 60_000) })] },
    );
    const plan = planOrder(input(o, { listed: [soracom(10, 20, "DRAFT")] }));
    expect(plan.status.orders?.[0]?.profileOrderId).toBeUndefined();
  });

  it("a Pending order not listed yet within the grace period is waited for, and the requeue lands when the grace ends", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 20_000) })] },
    );
    const plan = planOrder(input(o, { listed: [] }));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.requeueAfterMs).toBeLessThanOrEqual(40_000);
  });

  it("a Pending order still not listed after the grace period is created again with the same token, and the attempt is recorded first", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 61_000) })] },
    );
    const plan = planOrder(input(o, { listed: [] }));
    const creates = ofType(plan.actions, "createOrder");
    expect(creates).toHaveLength(1);
    expect(creates[0]!.token).toBe(orderToken(UID, 1));
    expect(plan.intent).toBe(true);
    expect(plan.status.orders?.[0]).toMatchObject({ createAttempts: 2, createRequestedTime: iso(NOW) });
  });

  it("a Pending order is never recreated when the list was not read this round", () => {
    const o = order(
      { quantity: 20 },
      { orders: [tracked(1, 20, "Pending", { createRequestedTime: iso(NOW - 10 * H) })] },
    );
    const plan = planOrder(input(o));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });

  it("ordersToPoll lists every order only while a create's outcome is unknown", () => {
    expect(ordersToPoll([tracked(1, 20, "Pending")], []).listAll).toBe(true);
    expect(ordersToPoll([tracked(1, 20, "DRAFT")], []).listAll).toBe(false);
  });

  it("a create the executor reports done is recorded under its sequence", () => {
    const plan = planOrder(input(order({ quantity: 5 })));
    const { status, events } = applyResults(
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
    const { status } = applyResults(
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
    const { status } = applyResults(
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
  it("Automatic confirms every draft", () => {
    const o = order({ quantity: 40 }, { orders: [tracked(1, 20, "DRAFT"), tracked(2, 20, "DRAFT")] });
    const plan = planOrder(
      input(o, { soracomOrders: { "po-1": soracom(1, 20, "DRAFT"), "po-2": soracom(2, 20, "DRAFT") } }),
    );
    expect(ofType(plan.actions, "confirmOrder").map((a) => a.profileOrderId)).toEqual(["po-1", "po-2"]);
  });

  it("Automatic creates are confirmed as soon as they are created; Manual ones are left as drafts", () => {
    const auto = ofType(planOrder(input(order({ quantity: 25 }))).actions, "createOrder");
    expect(auto.map((c) => c.confirm)).toEqual([true, true]);
    const manual = ofType(planOrder(input(order({ quantity: 25, confirmation: "Manual" }))).actions, "createOrder");
    expect(manual.map((c) => c.confirm)).toEqual([false, false]);
  });

  it("Manual without approval confirms nothing and says what approving would spend", () => {
    const o = order(
      { quantity: 25, confirmation: "Manual" },
      { orders: [tracked(1, 20, "DRAFT"), tracked(2, 5, "DRAFT")] },
    );
    const plan = planOrder(input(o));
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
    expect(ofType(planOrder(input(o)).actions, "confirmOrder").map((a) => a.profileOrderId)).toEqual(["po-2"]);
  });

  it("Manual approval by spec.approvedQuantity confirms drafts oldest first while the confirmed total fits", () => {
    const o = order(
      { quantity: 45, confirmation: "Manual", approvedQuantity: 25 },
      { orders: [tracked(1, 20, "DRAFT"), tracked(2, 20, "DRAFT"), tracked(3, 5, "DRAFT")] },
    );
    expect(ofType(planOrder(input(o)).actions, "confirmOrder").map((a) => a.profileOrderId)).toEqual(["po-1", "po-3"]);
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
    const plan = planOrder(input(o, { soracomOrders: { "po-1": null } }));
    expect(plan.status.orders?.[0]?.status).toBe("Expired");
    expect(plan.events.map((e) => e.reason)).toContain("DraftExpired");
    expect(ofType(plan.actions, "createOrder").map((a) => a.sequence)).toEqual([2]);
  });
});

describe("planOrder: profiles", () => {
  it("a COMPLETED order gets an EsimProfile for each of its profiles, once", () => {
    const o = order({ quantity: 3 }, { orders: [tracked(1, 3, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1), ordered(1, 2)];
    const plan = planOrder(input(o, { orderedProfiles: { "po-1": listed }, children: [child(1, 0)] }));
    expect(ofType(plan.actions, "createProfiles")[0]?.profiles.map((p) => p.iccid)).toEqual([
      listed[1]!.iccid,
      listed[2]!.iccid,
    ]);
    expect(plan.status.orders?.[0]?.materialized).toBeFalsy();
    const after = planOrder(input(o, { orderedProfiles: { "po-1": listed }, children: children(1, 3) }));
    expect(ofType(after.actions, "createProfiles")).toHaveLength(0);
    expect(after.status.orders?.[0]?.materialized).toBe(true);
    expect(cond(after, "Ready")).toMatchObject({ status: "True" });
    expect(after.status.phase).toBe("Completed");
    expect(after.requeueAfterMs).toBe(300_000);
  });

  it("a profile seen made and deleted before the order counted itself materialized is not made again; its slot is freed", () => {
    const o = order({ quantity: 2 }, { orders: [tracked(1, 2, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1)];
    const without = planOrder(input(o, { orderedProfiles: { "po-1": listed }, children: [child(1, 0)] }));
    expect(ofType(without.actions, "createProfiles")[0]?.profiles).toEqual([listed[1]]);
    const deletedProfiles = new Set([listed[1]!.iccid]);
    const plan = planOrder(input(o, { orderedProfiles: { "po-1": listed }, children: [child(1, 0)], deletedProfiles }));
    expect(ofType(plan.actions, "createProfiles")).toHaveLength(0);
    expect(plan.status.orders?.[0]?.materialized).toBe(true);
    // As for any profile deleted after materialization, the order orders one replacement.
    expect(ofType(plan.actions, "createOrder").map((a) => a.request.quantity)).toEqual([1]);
  });

  it("a profile created but not yet seen is made again (idempotent by name), and its slot stays held", () => {
    const o = order({ quantity: 2 }, { orders: [tracked(1, 2, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1)];
    // Nothing is known deleted: the one not in the cache may be on its way there.
    const plan = planOrder(input(o, { orderedProfiles: { "po-1": listed }, children: [child(1, 0)] }));
    expect(ofType(plan.actions, "createProfiles")[0]?.profiles).toEqual([listed[1]]);
    expect(plan.status.orders?.[0]?.materialized).toBeFalsy();
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });

  it("the round after creating profiles, with the profile cache behind, holds their slots: nothing is ordered again", () => {
    // The money rule of materialization: an order counts as materialized only once the cache shows its
    // profiles, because a materialized order's slots are its profiles in the cache. Marking it earlier
    // (from the executor's results) let the next round see 0 profiles and order them all again.
    const o = order({ quantity: 2 }, { orders: [tracked(1, 2, "COMPLETED")] });
    const listed = [ordered(1, 0), ordered(1, 1)];
    const round = planOrder(input(o, { orderedProfiles: { "po-1": listed } }));
    expect(ofType(round.actions, "createProfiles")[0]?.profiles).toHaveLength(2);
    const { status } = applyResults(round.status, [], NOW, 1);
    expect(status.orders?.[0]?.materialized).toBeFalsy();
    const behind = planOrder(input({ ...o, status }, { orderedProfiles: { "po-1": listed }, children: [] }));
    expect(ofType(behind.actions, "createOrder")).toHaveLength(0);
    expect(countSlots(behind.status.orders ?? [], [])).toBe(2);
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
    const plan = planOrder(input(o, { orderedProfiles: { "po-1": listed }, children: children(1, 2) }));
    expect(ofType(plan.actions, "syncProfiles")[0]?.profiles.map((p) => p.name)).toEqual([child(1, 0).name]);
  });

  it("a profile deleted after materialization is not recreated; its slot is freed and a replacement ordered", () => {
    const o = order({ quantity: 3 }, { orders: [tracked(1, 3, "COMPLETED", { materialized: true })] });
    const plan = planOrder(
      input(o, {
        orderedProfiles: { "po-1": [ordered(1, 0), ordered(1, 1), ordered(1, 2)] },
        children: children(1, 2),
      }),
    );
    expect(ofType(plan.actions, "createProfiles")).toHaveLength(0);
    expect(ofType(plan.actions, "createOrder").map((a) => a.request.quantity)).toEqual([1]);
  });

  it("in steady state the only Soracom call is one list of profiles per open order", () => {
    const orders = [
      tracked(1, 2, "COMPLETED", { materialized: true }),
      tracked(2, 1, "COMPLETED", { materialized: true }),
      tracked(3, 1, "Expired"),
    ];
    const poll = ordersToPoll(orders, [...children(1, 2), child(2, 0, { phase: "Terminated" })]);
    expect(poll).toEqual({ get: [], listProfiles: ["po-1"], listAll: false });
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
    ...children(3, 10),
  ];

  it("under the default Retain policy nothing is terminated and the surplus is reported", () => {
    const plan = planOrder(input(order({ quantity: 40 }, { orders }), { children: kids() }));
    expect(ofType(plan.actions, "requestTermination")).toHaveLength(0);
    expect(cond(plan, "ScaleDownBlocked")).toMatchObject({ status: "True", reason: "SurplusRetained" });
    expect(plan.status.totals?.surplus).toBe(10);
  });

  it("under TerminateNeverInstalled the 10 newest never-installed profiles are terminated", () => {
    const plan = planOrder(
      input(order({ quantity: 40, scaleDownPolicy: "TerminateNeverInstalled" }, { orders }), { children: kids() }),
    );
    const terms = ofType(plan.actions, "requestTermination");
    expect(terms).toHaveLength(10);
    expect(terms.every((t) => t.reason === "ScaleDown")).toBe(true);
    const installed = new Set(children(1, 20).map((c) => c.name));
    expect(terms.some((t) => installed.has(t.profile))).toBe(false);
    const newest = [...kids()]
      .filter((c) => !c.everInstalled)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, 10)
      .map((c) => c.name);
    expect(terms.map((t) => t.profile).sort()).toEqual(newest.sort());
  });

  it("profiles already on their way out are not picked twice", () => {
    const k = kids();
    for (const c of k.slice(40)) c.terminateRequested = "ScaleDown";
    const plan = planOrder(
      input(order({ quantity: 40, scaleDownPolicy: "TerminateNeverInstalled" }, { orders }), { children: k }),
    );
    expect(ofType(plan.actions, "requestTermination")).toHaveLength(0);
  });

  it("drafts are cancelled first, and nothing is terminated when that is enough", () => {
    const o = order(
      { quantity: 20, scaleDownPolicy: "TerminateNeverInstalled" },
      { orders: [tracked(1, 20, "COMPLETED", { materialized: true }), tracked(2, 5, "DRAFT")] },
    );
    const plan = planOrder(input(o, { children: children(1, 20) }));
    expect(ofType(plan.actions, "cancelDraft").map((a) => a.profileOrderId)).toEqual(["po-2"]);
    expect(ofType(plan.actions, "requestTermination")).toHaveLength(0);
    expect(ofType(plan.actions, "confirmOrder")).toHaveLength(0);
  });
});

describe("planOrder: profiles deleted on their device", () => {
  const orders = [tracked(1, 2, "COMPLETED", { materialized: true })];
  const kids = () => [child(1, 0, { phase: "Deleted", everInstalled: true }), child(1, 1)];
  it.each([
    ["Report leaves the SIM alone (the profile's condition reports it)", "Report", []],
    ["Terminate asks for the SIM to be terminated and keeps the resource", "Terminate", ["DeletedOnDevice"]],
    ["Replace asks for the SIM to be terminated, to be replaced", "Replace", ["Replace"]],
  ] as const)("%s", (_name, policy, reasons) => {
    const plan = planOrder(input(order({ quantity: 2, onDeviceDeletion: policy }, { orders }), { children: kids() }));
    expect(ofType(plan.actions, "requestTermination").map((a) => a.reason)).toEqual(reasons);
    expect(plan.status.totals?.deletedOnDevice).toBe(1);
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });

  it("a Replace profile whose SIM is terminated is deleted, which frees its slot for the replacement", () => {
    const k = [child(1, 0, { phase: "Terminated", terminateRequested: "Replace" }), child(1, 1)];
    const plan = planOrder(input(order({ quantity: 2, onDeviceDeletion: "Replace" }, { orders }), { children: k }));
    expect(ofType(plan.actions, "deleteProfile").map((a) => a.profile)).toEqual([k[0]!.name]);
    expect(countSlots(orders, k.slice(1))).toBe(1);
  });

  it("a Terminate profile whose SIM is terminated keeps its slot: nothing is reordered", () => {
    const k = [child(1, 0, { phase: "Terminated", terminateRequested: "DeletedOnDevice" }), child(1, 1)];
    const plan = planOrder(input(order({ quantity: 2, onDeviceDeletion: "Terminate" }, { orders }), { children: k }));
    expect(ofType(plan.actions, "deleteProfile")).toHaveLength(0);
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
  });
});

describe("planOrder: what stops it", () => {
  it("a FAILED order stalls the resource with an event and blocks new orders until acknowledged", () => {
    const o = order({ quantity: 20 }, { orders: [tracked(1, 20, "IN_PROGRESS")] });
    const plan = planOrder(input(o, { soracomOrders: { "po-1": soracom(1, 20, "FAILED") } }));
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
    expect(cond(plan, "Stalled")).toMatchObject({ status: "True", reason: "BudgetExceeded" });
    expect(plan.events.map((e) => e.reason)).toContain("BudgetExceeded");
  });

  it("an exhausted spend budget orders nothing", () => {
    const plan = planOrder(input(order({ quantity: 5 }), { spend: { remaining: 0, limit: 100, windowMs: 24 * H } }));
    expect(ofType(plan.actions, "createOrder")).toHaveLength(0);
    expect(plan.intent).toBe(false);
  });

  it("dry run plans and reports but makes no mutating action and records no intent", () => {
    const base = input(order({ quantity: 45, confirmation: "Automatic" }, { orders: [tracked(1, 20, "DRAFT")] }));
    const plan = planOrder({ ...base, config: { ...base.config, dryRun: true } });
    expect(plan.actions.filter((a) => a.type !== "addFinalizer" && a.type !== "removeFinalizer")).toEqual([]);
    expect(plan.intent).toBe(false);
    expect(cond(plan, "DryRun")?.status).toBe("True");
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
    const plan = planOrder(input(o, { soracomOrders: { "po-1": soracom(1, 5, "IN_PROGRESS") } }));
    expect(cond(plan, "OrderStuck")).toMatchObject({ status: "True", reason: "InProgressTooLong" });
  });

  it("a new resource gets its finalizer before anything else", () => {
    const o = order({ quantity: 1 });
    o.metadata.finalizers = [];
    expect(planOrder(input(o)).actions[0]).toEqual({ type: "addFinalizer" });
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
    expect(planOrder(input(o, { listed: [] })).actions).toEqual([]);
    const shown = planOrder(input(o, { listed: [soracom(1, 5, "DRAFT")] }));
    expect(shown.actions.map((a) => a.type)).toEqual(["cancelDraft", "removeFinalizer"]);
  });
});
