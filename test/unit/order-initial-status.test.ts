import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { initialStatus } from "../../controller/order/initial-status.js";
import { buildProfile } from "../../controller/order/profiles.js";
import { planProfile } from "../../controller/profile/plan.js";
import { ownedStatusOf, simFields, statusPatch } from "../../controller/profile/status.js";
import type { OrderedProfile, Sim } from "../../controller/soracom/types.js";

const NOW = Date.parse("2026-11-26T12:00:00Z");
const ORDER = {
  apiVersion: "esim.soracom-operator.io/v1alpha1",
  kind: "EsimProfileOrder",
  metadata: { name: "fleet", namespace: "iot", uid: "uid-order" },
  spec: { subscription: "planX3", quantity: 20 },
  status: { orders: [{ sequence: 1, token: "t1", profileOrderId: "po-1", quantity: 20, status: "COMPLETED" }] },
} as EsimProfileOrder;
const ORDERED: OrderedProfile = {
  profileOrderId: "po-1",
  iccid: "8981100000000000012",
  imsi: "440100000000012",
  matchingId: "M1",
  smdpAddress: "smdp.example",
  activationCode: "LPA:1$smdp.example$M1",
  profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
  createdTime: NOW,
  lastModifiedTime: NOW,
};
const SIM = {
  simId: "8942310000000000012",
  status: "ready",
  speedClass: "s1.standard",
  terminationEnabled: false,
} as Sim;

/** created is the profile as the apiserver answers its create: generation 1, no status. */
function created(order: EsimProfileOrder = ORDER): EsimProfile {
  const p = buildProfile(order, ORDERED);
  return { ...p, metadata: { ...p.metadata, uid: "uid-p", generation: 1, resourceVersion: "1" } };
}

const soracom = (sim?: Sim) => ({
  ...(sim ? simFields(sim, undefined) : {}),
  iccid: ORDERED.iccid,
  imsi: ORDERED.imsi,
  profileOrderId: ORDERED.profileOrderId,
  profileStatus: ORDERED.profileStatus,
  lastModifiedTime: "2026-11-26T12:00:00Z",
  installedTime: null,
  activationSecretRef: { name: "x-activation" },
});

describe("initialStatus: a new profile's first status in one write", () => {
  it("a profile whose SIM the bulk search found is Ready, Registered and observed in that write", () => {
    const s = initialStatus(created(), soracom(SIM), NOW, ORDER) as Record<string, unknown>;
    expect(s).toMatchObject({ phase: "Registered", observedGeneration: 1, simId: SIM.simId, profileOrderId: "po-1" });
    const conditions = (s.conditions as Array<{ type: string; status: string }>).map((c) => `${c.type}=${c.status}`);
    expect(conditions).toEqual(expect.arrayContaining(["Ready=True", "SimSynced=True"]));
  });

  it("leaves the profile reconciler nothing to write afterwards (no second status write)", () => {
    const profile = created();
    const status = initialStatus(profile, soracom(SIM), NOW, ORDER);
    const stored = { ...profile, status: { ...status, installedTime: undefined } } as EsimProfile;
    const plan = planProfile({
      profile: stored,
      now: NOW + 5_000,
      terminationBudget: { allowed: true, remaining: 20, limit: 20, windowMs: 3_600_000 },
      dryRun: false,
      order: ORDER,
    });
    expect(plan.actions).toEqual([]);
    expect(statusPatch(ownedStatusOf(stored), plan.status ?? {}, false)).toBeUndefined();
  });

  it("a profile whose SIM the search did not show gets only Soracom's part (its reconciler looks the SIM up)", () => {
    expect(initialStatus(created(), soracom(), NOW, ORDER)).toEqual(soracom());
  });

  it("a profile whose template asks for SIM changes gets only Soracom's part (its reconciler reads the SIM first)", () => {
    const order = {
      ...ORDER,
      spec: { ...ORDER.spec, profileTemplate: { spec: { sim: { speedClass: "s1.fast" } } } },
    } as EsimProfileOrder;
    expect(initialStatus(created(order), soracom(SIM), NOW, order)).toEqual(soracom(SIM));
  });
});
