import { describe, expect, it } from "vitest";
import type { TrackedOrder } from "../../controller/api/types.js";
import type { ChildProfile } from "../../controller/order/model.js";
import { PollPacer, type PollRequest } from "../../controller/order/pacing.js";
import type { OrderedProfile, ProfileOrder } from "../../controller/soracom/types.js";

const ACTIVE = 5_000;
const STABLE = 300_000;
const T0 = Date.parse("2026-11-26T12:00:00Z");

const tracked = (id: string, status: string, materialized = true): TrackedOrder => ({
  sequence: 1,
  token: `t-${id}`,
  quantity: 20,
  status,
  profileOrderId: id,
  materialized,
});

const child = (profileOrderId: string, over: Partial<ChildProfile> = {}): ChildProfile => ({
  name: `p-${profileOrderId}`,
  profileOrderId,
  createdAt: T0,
  phase: "Registered",
  everInstalled: false,
  deleting: false,
  hasActivationSecret: true,
  ...over,
});

interface Case {
  orders: TrackedOrder[];
  children?: ChildProfile[];
  poll: PollRequest;
  /** Observations before the question: [kind, id, ms after T0, profiles listed (default 20)]. */
  seen?: Array<["order" | "profiles", string, number, number?]>;
  /** When the question is asked, in ms after T0. */
  at: number;
  due: Partial<PollRequest>;
}

const soracomOrder = (profileOrderId: string, status: string): ProfileOrder => ({
  profileOrderId,
  subscription: "planX3",
  quantity: 20,
  status: status as ProfileOrder["status"],
  orderedTime: T0,
});

const orderedProfiles = (profileOrderId: string, n: number): OrderedProfile[] =>
  Array.from({ length: n }, (_, i) => ({
    profileOrderId,
    iccid: `898110000000000${String(i).padStart(4, "0")}`,
    imsi: `4401000000${String(i).padStart(5, "0")}`,
    matchingId: `M${i}`,
    smdpAddress: "smdp.example",
    activationCode: `LPA:1$smdp.example$M${i}`,
    profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
    createdTime: T0,
    lastModifiedTime: T0,
  }));

const none: PollRequest = { get: [], listProfiles: [], listAll: false };

const CASES: Record<string, Case> = {
  "an order never seen (a fresh start) is due at once": {
    orders: [tracked("A", "CONFIRMED")],
    poll: { ...none, get: ["A"] },
    at: 0,
    due: { get: ["A"] },
  },
  "an order seen a moment ago (a profile changed meanwhile) is not asked about again": {
    orders: [tracked("A", "CONFIRMED")],
    poll: { ...none, get: ["A"] },
    seen: [["order", "A", 0]],
    at: 100,
    due: { get: [] },
  },
  "an order in flight is due again after (most of) the active interval": {
    orders: [tracked("A", "IN_PROGRESS")],
    poll: { ...none, get: ["A"] },
    seen: [["order", "A", 0]],
    at: ACTIVE,
    due: { get: ["A"] },
  },
  "a timer that fires a hair early still finds the poll due": {
    orders: [tracked("A", "IN_PROGRESS")],
    poll: { ...none, get: ["A"] },
    seen: [["order", "A", 0]],
    at: ACTIVE - 10,
    due: { get: ["A"] },
  },
  "a completed order's profiles are listed once per stable interval, not per active one": {
    orders: [tracked("A", "COMPLETED")],
    poll: { ...none, listProfiles: ["A"] },
    seen: [["profiles", "A", 0]],
    at: ACTIVE * 2,
    due: { listProfiles: [] },
  },
  "a completed order's profiles are due after the stable interval": {
    orders: [tracked("A", "COMPLETED")],
    poll: { ...none, listProfiles: ["A"] },
    seen: [["profiles", "A", 0]],
    at: STABLE,
    due: { listProfiles: ["A"] },
  },
  "a completed order never listed (a fresh start) is listed at once": {
    orders: [tracked("A", "COMPLETED", false)],
    poll: { ...none, listProfiles: ["A"] },
    at: 0,
    due: { listProfiles: ["A"] },
  },
  "an order being materialized from a complete list is not listed again (the list is reused)": {
    orders: [tracked("A", "COMPLETED", false)],
    poll: { ...none, listProfiles: ["A"] },
    seen: [["profiles", "A", 0, 20]],
    at: 10,
    due: { listProfiles: [] },
  },
  "an order being materialized whose last list was short of its quantity is listed again": {
    orders: [tracked("A", "COMPLETED", false)],
    poll: { ...none, listProfiles: ["A"] },
    seen: [["profiles", "A", 0, 19]],
    at: 10,
    due: { listProfiles: ["A"] },
  },
  "a live profile whose activation Secret is missing gets its order listed at once (to rebuild the Secret)": {
    orders: [tracked("A", "COMPLETED")],
    children: [child("A", { hasActivationSecret: false })],
    poll: { ...none, listProfiles: ["A"] },
    seen: [["profiles", "A", 0]],
    at: 10,
    due: { listProfiles: ["A"] },
  },
  "listing every order (a create's outcome is unknown) is never held back": {
    orders: [],
    poll: { ...none, listAll: true },
    at: 0,
    due: { listAll: true },
  },
  "a GET and a list of the same order are paced separately": {
    orders: [tracked("A", "COMPLETED", false), tracked("B", "CONFIRMED")],
    poll: { get: ["B"], listProfiles: ["A"], listAll: false },
    seen: [["profiles", "B", 0]],
    at: 10,
    due: { get: ["B"], listProfiles: ["A"] },
  },
};

describe("PollPacer: Soracom is asked about an order once per poll, however often the order is reconciled", () => {
  for (const [sentence, c] of Object.entries(CASES)) {
    it(sentence, () => {
      const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
      for (const [kind, id, ms, listed = 20] of c.seen ?? []) {
        if (kind === "order") pacer.sawOrder(soracomOrder(id, "CONFIRMED"), T0 + ms);
        else pacer.sawProfiles(id, orderedProfiles(id, listed), T0 + ms);
      }
      expect(pacer.due(c.poll, c.orders, c.children ?? [], T0 + c.at)).toEqual({ ...none, ...c.due });
    });
  }
});

describe("PollPacer: what Soracom said last stands in for a poll that is not due", () => {
  it("keeps the latest answer of each order (a confirm whose status write failed is not confirmed again)", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    expect(pacer.lastSeen("A")).toBeUndefined();
    pacer.sawOrder(soracomOrder("A", "DRAFT"), T0);
    pacer.sawOrder(soracomOrder("A", "CONFIRMED"), T0 + 10);
    expect(pacer.lastSeen("A")?.status).toBe("CONFIRMED");
  });

  it("does not ask again about an order Soracom said is COMPLETED, even when a stale status says CONFIRMED", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    pacer.sawOrder(soracomOrder("A", "COMPLETED"), T0);
    expect(pacer.due({ ...none, get: ["A"] }, [tracked("A", "CONFIRMED")], [], T0 + ACTIVE * 10).get).toEqual([]);
    expect(pacer.lastSeen("A")?.status).toBe("COMPLETED");
  });

  it("once it saw an order materialized, does not list it at once again when a stale status says it is not", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    pacer.sawProfiles("A", orderedProfiles("A", 20), T0);
    pacer.due({ ...none, listProfiles: ["A"] }, [tracked("A", "COMPLETED", true)], [], T0 + 1);
    const stale = pacer.due({ ...none, listProfiles: ["A"] }, [tracked("A", "COMPLETED", false)], [], T0 + 2);
    expect(stale.listProfiles).toEqual([]);
    pacer.sawProfiles("A", orderedProfiles("A", 20), T0 + STABLE);
    expect(pacer.lastProfiles("A")).toBeUndefined(); // a stable poll's list of a materialized order is not kept
  });

  it("remembers a 404 as null (a vanished draft)", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    pacer.sawMissing("A", T0);
    expect(pacer.lastSeen("A")).toBeNull();
    expect(pacer.due({ ...none, get: ["A"] }, [tracked("A", "DRAFT")], [], T0 + 1).get).toEqual([]);
  });

  it("keeps the list of an order's profiles while it is materialized, and drops it (activation codes) after", () => {
    const pacer = new PollPacer({ pollActiveMs: ACTIVE, pollStableMs: STABLE });
    expect(pacer.lastProfiles("A")).toBeUndefined();
    pacer.sawProfiles("A", orderedProfiles("A", 20), T0);
    pacer.due({ ...none, listProfiles: ["A"] }, [tracked("A", "COMPLETED", false)], [], T0 + 1);
    expect(pacer.lastProfiles("A")).toHaveLength(20);
    const later = pacer.due({ ...none, listProfiles: ["A"] }, [tracked("A", "COMPLETED", true)], [], T0 + 2);
    expect(pacer.lastProfiles("A")).toBeUndefined();
    expect(later.listProfiles).toEqual([]); // still paced by when it was listed
  });
});
