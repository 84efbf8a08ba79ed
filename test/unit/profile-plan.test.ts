import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder, EsimProfileSpec, EsimProfileStatus } from "../../controller/api/types.js";
import {
  API_VERSION,
  CONDITIONS,
  ORDER_KIND,
  PROFILE_FINALIZER,
  PROFILE_KIND,
  RETIRED_ANNOTATIONS,
} from "../../controller/api/vocabulary.js";
import type { ProfileAction } from "../../controller/profile/actions.js";
import {
  DELETION_RECORD_RETRY_MS,
  formatDuration,
  ORDER_RECORD_GRACE_MS,
  PAUSED_RETRY_MS,
  type PlanInput,
  type ProfilePlan,
  pausedMessage,
  planProfile,
  SIM_LOOKUP_RETRY_MS,
  STALLED_RETRY_MS,
} from "../../controller/profile/plan.js";
import type { TerminationBudgetStatus } from "../../controller/profile/ports.js";
import { statusPatch } from "../../controller/profile/status.js";
import type { Sim } from "../../controller/soracom/types.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const EARLIER = "2026-03-01T10:00:00Z";
const SIM_ID = "8942310022000012345";
const ICCID = "8942310022000012345";
const IMSI = "295050900000001";
const PROFILE_ORDER_ID = "PO-1";

/** The order of orderProfile(), as the cache shows it: its status tracks the Soracom order its profiles came from. */
const ORDER: EsimProfileOrder = {
  apiVersion: API_VERSION,
  kind: ORDER_KIND,
  metadata: { name: "fleet", namespace: "iot", uid: "uid-order" },
  spec: { subscription: "planX3", quantity: 1 },
  status: {
    orders: [{ sequence: 1, token: "t1", profileOrderId: PROFILE_ORDER_ID, quantity: 1, status: "COMPLETED" }],
  },
};

const BUDGET_OK: TerminationBudgetStatus = {
  allowed: true,
  remaining: 19,
  limit: 20,
  windowMs: 3_600_000,
};
const RESUME =
  "kubectl annotate configmap -n ops esim-termination-ledger esim.soracom-operator.io/resume-terminations=p1 --overwrite";
const BUDGET_OUT: TerminationBudgetStatus = {
  allowed: false,
  remaining: 0,
  limit: 20,
  windowMs: 3_600_000,
  paused: { id: "p1", since: NOW - 12 * 60_000, resume: RESUME },
};

type Mod = (p: EsimProfile) => void;

/** A steady order-created profile: SIM known, synced at generation 1, activated on its device. */
function orderProfile(...mods: Mod[]): EsimProfile {
  const p: EsimProfile = {
    apiVersion: API_VERSION,
    kind: PROFILE_KIND,
    metadata: {
      name: `fleet-${ICCID}`,
      namespace: "iot",
      uid: "uid-profile",
      resourceVersion: "7",
      creationTimestamp: "2026-03-01T11:59:30Z",
      generation: 1,
      finalizers: [PROFILE_FINALIZER],
      ownerReferences: [
        { apiVersion: API_VERSION, kind: ORDER_KIND, name: "fleet", uid: "uid-order", controller: true },
      ],
    },
    spec: { iccid: ICCID, imsi: IMSI, deletionPolicy: "Terminate" },
    status: {
      observedGeneration: 1,
      phase: "Activated",
      profileStatus: "ACTIVATION_SUCCEEDED",
      profileOrderId: PROFILE_ORDER_ID,
      activationSecretRef: { name: `fleet-${ICCID}-activation`, uid: "uid-secret" },
      iccid: ICCID,
      imsi: IMSI,
      simId: SIM_ID,
      simStatus: "active",
      terminationEnabled: false,
      conditions: [cond(CONDITIONS.ready, "True", "Completed", 1), cond(CONDITIONS.simSynced, "True", "Synced", 1)],
    },
  };
  for (const mod of mods) mod(p);
  return p;
}

/** A profile a user declared to adopt an existing SIM: no owner, no deletionPolicy, nothing resolved yet. */
function adoptedProfile(spec: EsimProfileSpec, ...mods: Mod[]): EsimProfile {
  const p: EsimProfile = {
    apiVersion: API_VERSION,
    kind: PROFILE_KIND,
    metadata: { name: "legacy", namespace: "iot", uid: "uid-adopted", resourceVersion: "3", generation: 1 },
    spec,
  };
  for (const mod of mods) mod(p);
  return p;
}

function cond(type: string, status: "True" | "False", reason: string, generation: number) {
  return { type, status, reason, message: "", observedGeneration: generation, lastTransitionTime: EARLIER };
}

const withSim =
  (sim: NonNullable<EsimProfileSpec["sim"]>): Mod =>
  (p) => {
    p.spec.sim = sim;
    p.metadata.generation = (p.metadata.generation ?? 1) + 1;
  };
const withStatus =
  (status: Partial<EsimProfileStatus>): Mod =>
  (p) => {
    p.status = { ...p.status, ...status };
  };
const withCondition =
  (type: string, status: "True" | "False", reason: string): Mod =>
  (p) => {
    const others = (p.status?.conditions ?? []).filter((c) => c.type !== type);
    p.status = { ...p.status, conditions: [...others, cond(type, status, reason, p.metadata.generation ?? 1)] };
  };
const deleting: Mod = (p) => {
  p.metadata.deletionTimestamp = "2026-03-01T11:59:00Z";
};
const policy =
  (deletionPolicy: "Terminate" | "Retain" | undefined): Mod =>
  (p) => {
    p.spec.deletionPolicy = deletionPolicy;
  };
const annotated =
  (key: string, value: string): Mod =>
  (p) => {
    p.metadata.annotations = { ...p.metadata.annotations, [key]: value };
  };
const noFinalizer: Mod = (p) => {
  p.metadata.finalizers = [];
};
const unresolved: Mod = (p) => {
  if (p.status) p.status.simId = undefined;
  p.status = { ...p.status, conditions: [] };
};

function sim(over: Partial<Sim> = {}): Sim {
  return {
    simId: SIM_ID,
    status: "active",
    speedClass: "s1.standard",
    tags: { name: "" },
    terminationEnabled: false,
    moduleType: "profilePackage",
    profiles: { [ICCID]: { iccid: ICCID, primaryImsi: IMSI, subscribers: { [IMSI]: { imsi: IMSI } } } },
    ...over,
  };
}

/** input gives a profile with an owner reference its order from the "cache" (the plan decides if it is a child). */
function input(profile: EsimProfile, over: Partial<PlanInput> = {}): PlanInput {
  const owned = profile.metadata.ownerReferences?.some((r) => r.uid === ORDER.metadata.uid);
  return {
    profile,
    now: NOW,
    terminationBudget: BUDGET_OK,
    dryRun: false,
    ...(owned ? { order: ORDER } : {}),
    ...over,
  };
}

/** summary is what the tables compare, as whole values: actions, phase, conditions, events, requeue. */
function summary(plan: ProfilePlan) {
  return {
    actions: plan.actions,
    phase: plan.status?.phase,
    conditions: Object.fromEntries((plan.status?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`])),
    events: plan.events.map((e) => e.reason),
    requeueAfterMs: plan.requeueAfterMs,
  };
}

const READY = { Ready: "True/Completed", SimSynced: "True/Synced" };

interface Case {
  in: PlanInput;
  want: ReturnType<typeof summary>;
}

function runTable(cases: Record<string, Case>) {
  for (const [sentence, c] of Object.entries(cases)) {
    it(sentence, () => {
      expect(summary(planProfile(c.in))).toEqual(c.want);
    });
  }
}

const none = { actions: [] as ProfileAction[], events: [] as string[], requeueAfterMs: undefined };

describe("planProfile: steady state and SIM lookup", () => {
  runTable({
    "a synced profile at its generation makes no Soracom call at all": {
      in: input(orderProfile()),
      want: { ...none, phase: "Activated", conditions: READY },
    },
    "an order-created profile the order has not recorded yet waits for that write, with no Soracom call": {
      in: input(
        orderProfile((p) => {
          p.status = undefined;
        }),
      ),
      want: { ...none, phase: undefined, conditions: {}, requeueAfterMs: ORDER_RECORD_GRACE_MS - 30_000 },
    },
    "an order-created profile the order has not recorded yet still gets its finalizer first": {
      in: input(
        orderProfile(noFinalizer, (p) => {
          p.status = undefined;
        }),
      ),
      want: {
        ...none,
        actions: [{ type: "addFinalizer" }],
        phase: undefined,
        conditions: {},
        requeueAfterMs: ORDER_RECORD_GRACE_MS - 30_000,
      },
    },
    "an order-created profile's unknown SIM ID is resolved by its IMSI": {
      in: input(orderProfile(unresolved)),
      want: {
        ...none,
        actions: [{ type: "resolveSim", by: { imsi: IMSI } }],
        phase: undefined,
        conditions: {},
      },
    },
    "an adopted profile naming a SIM ID reads that SIM": {
      in: input(adoptedProfile({ simId: SIM_ID })),
      want: { ...none, actions: [{ type: "getSim", simId: SIM_ID }], phase: undefined, conditions: {} },
    },
    "an adopted profile naming only an ICCID is resolved by the ICCID": {
      in: input(adoptedProfile({ iccid: ICCID })),
      want: { ...none, actions: [{ type: "resolveSim", by: { iccid: ICCID } }], phase: undefined, conditions: {} },
    },
    "an adopted profile naming an IMSI and an ICCID is resolved by the IMSI (exact, not the search index)": {
      in: input(adoptedProfile({ iccid: ICCID, imsi: IMSI })),
      want: { ...none, actions: [{ type: "resolveSim", by: { imsi: IMSI } }], phase: undefined, conditions: {} },
    },
    "an adopted SIM once found is Registered, gets the finalizer, and is Ready": {
      in: input(adoptedProfile({ iccid: ICCID }), { sim: sim() }),
      want: { ...none, actions: [{ type: "addFinalizer" }], phase: "Registered", conditions: READY },
    },
    "an order-created SIM not yet visible in Soracom is waited for (Reconciling), soon again": {
      in: input(orderProfile(unresolved), { sim: "NotFound" }),
      want: {
        ...none,
        phase: "Activated",
        conditions: { Reconciling: "True/Provisioning", Ready: "False/Provisioning" },
        requeueAfterMs: SIM_LOOKUP_RETRY_MS,
      },
    },
    "an adopted SIM that does not exist is Stalled SimNotFound and looked for again slowly": {
      in: input(adoptedProfile({ imsi: IMSI }), { sim: "NotFound" }),
      want: {
        ...none,
        actions: [{ type: "addFinalizer" }],
        phase: "Pending",
        conditions: { Stalled: "True/SimNotFound", Ready: "False/SimNotFound" },
        requeueAfterMs: STALLED_RETRY_MS,
      },
    },
    "a steady profile missing the finalizer gets it, still without a Soracom call": {
      in: input(orderProfile(noFinalizer)),
      want: { ...none, actions: [{ type: "addFinalizer" }], phase: "Activated", conditions: READY },
    },
    "the phase follows Soracom's profileStatus": {
      in: input(orderProfile(withStatus({ profileStatus: "INSTALLATION_SUCCEEDED" }))),
      want: { ...none, phase: "Installed", conditions: READY },
    },
  });
});

describe("planProfile: desired SIM state (spec.sim)", () => {
  const changed = (desired: NonNullable<EsimProfileSpec["sim"]>, current: Partial<Sim> = {}) =>
    input(orderProfile(withSim(desired)), { sim: sim(current) });
  const applies = (...actions: ProfileAction[]) => ({ ...none, actions, phase: "Activated", conditions: READY });
  runTable({
    "a spec change is applied only after reading the SIM": {
      in: input(orderProfile(withSim({ status: "inactive" }))),
      want: { ...none, actions: [{ type: "getSim", simId: SIM_ID }], phase: undefined, conditions: {} },
    },
    "a spec change that asks nothing of the SIM needs no read": {
      in: input(orderProfile(withSim({}))),
      want: { ...none, phase: "Activated", conditions: READY },
    },
    "status active on an inactive SIM activates it": {
      in: changed({ status: "active" }, { status: "inactive" }),
      want: applies({ type: "activateSim", simId: SIM_ID }),
    },
    "status inactive on an active SIM deactivates it": {
      in: changed({ status: "inactive" }),
      want: applies({ type: "deactivateSim", simId: SIM_ID }),
    },
    "status standby sets it to standby": {
      in: changed({ status: "standby" }, { status: "ready" }),
      want: applies({ type: "setSimToStandby", simId: SIM_ID }),
    },
    "status suspended suspends it": {
      in: changed({ status: "suspended" }),
      want: applies({ type: "suspendSim", simId: SIM_ID }),
    },
    "a different speed class is updated": {
      in: changed({ speedClass: "s1.fast" }),
      want: applies({ type: "updateSimSpeedClass", simId: SIM_ID, speedClass: "s1.fast" }),
    },
    "only the tags whose value differs are put; others are left alone": {
      in: changed({ tags: { env: "prod", site: "osaka" } }, { tags: { name: "x", env: "prod", site: "tokyo" } }),
      want: applies({ type: "putSimTags", simId: SIM_ID, tags: [{ tagName: "site", tagValue: "osaka" }] }),
    },
    "a groupId moves the SIM to that group": {
      in: changed({ groupId: "grp-2" }, { groupId: "grp-1" }),
      want: applies({ type: "setSimGroup", simId: SIM_ID, groupId: "grp-2" }),
    },
    "an empty groupId takes a grouped SIM out of its group": {
      in: changed({ groupId: "" }, { groupId: "grp-1" }),
      want: applies({ type: "unsetSimGroup", simId: SIM_ID }),
    },
    "an empty groupId on a SIM in no group changes nothing": {
      in: changed({ groupId: "" }),
      want: applies(),
    },
    "termination protection on a SIM whose termination is enabled disables termination": {
      in: changed({ terminationProtection: true }, { terminationEnabled: true }),
      want: applies({ type: "disableSimTermination", simId: SIM_ID }),
    },
    "termination protection off on a protected SIM enables termination": {
      in: changed({ terminationProtection: false }, { terminationEnabled: false }),
      want: applies({ type: "enableSimTermination", simId: SIM_ID }),
    },
    "several differences give the minimal calls, in a fixed order": {
      in: changed({ status: "active", speedClass: "s1.slow", groupId: "g" }, { status: "inactive" }),
      want: applies(
        { type: "activateSim", simId: SIM_ID },
        { type: "updateSimSpeedClass", simId: SIM_ID, speedClass: "s1.slow" },
        { type: "setSimGroup", simId: SIM_ID, groupId: "g" },
      ),
    },
    "a SIM already as desired needs no call and is marked synced": {
      in: changed({ status: "active", speedClass: "s1.standard", tags: { name: "" }, terminationProtection: true }),
      want: applies(),
    },
    "dry run reports the changes it would make and makes none": {
      in: { ...changed({ status: "inactive" }), dryRun: true },
      want: {
        ...none,
        phase: "Activated",
        conditions: { Ready: "False/DryRun", SimSynced: "False/DryRun" },
        events: ["DryRun"],
      },
    },
    "a paused order's profile makes no change even with differences": {
      in: { ...changed({ status: "inactive" }), paused: true },
      want: { ...none, phase: "Activated", conditions: { Ready: "False/Paused", SimSynced: "True/Synced" } },
    },
  });

  it("the status after the calls shows the SIM as they leave it, at the new generation", () => {
    const plan = planProfile(changed({ status: "inactive", groupId: "g" }));
    expect(plan.status).toMatchObject({ simStatus: "inactive", groupId: "g", observedGeneration: 2 });
    expect(plan.baseStatus).toMatchObject({ simStatus: "active", observedGeneration: 2 });
    expect(plan.baseStatus?.groupId).toBeUndefined();
  });
});

describe("planProfile: deletion and termination", () => {
  const gone = (...mods: Mod[]) => orderProfile(deleting, ...mods);
  runTable({
    "deleting a Terminate profile reads the SIM before anything irreversible": {
      in: input(gone()),
      want: { ...none, actions: [{ type: "getSim", simId: SIM_ID }], phase: undefined, conditions: {} },
    },
    "deleting a Terminate profile lifts protection, terminates, then lets the resource go": {
      in: input(gone(), { sim: sim({ terminationEnabled: false }) }),
      want: {
        ...none,
        actions: [
          { type: "terminateSim", simId: SIM_ID, reason: "ResourceDeleted", enable: true },
          { type: "removeFinalizer" },
        ],
        phase: "Terminated",
        conditions: { Ready: "False/Terminating" },
      },
    },
    "a SIM whose termination is already enabled is terminated without enabling again": {
      in: input(gone(), { sim: sim({ terminationEnabled: true }) }),
      want: {
        ...none,
        actions: [
          { type: "terminateSim", simId: SIM_ID, reason: "ResourceDeleted", enable: false },
          { type: "removeFinalizer" },
        ],
        phase: "Terminated",
        conditions: { Ready: "False/Terminating" },
      },
    },
    "a SIM already terminated only has the finalizer removed": {
      in: input(gone(), { sim: sim({ status: "terminated" }) }),
      want: {
        ...none,
        actions: [{ type: "removeFinalizer" }],
        phase: "Terminated",
        conditions: { Ready: "False/Terminating" },
      },
    },
    "a SIM recorded as terminated needs no read to let the resource go": {
      in: input(gone(withStatus({ simStatus: "terminated", phase: "Terminated" }))),
      want: {
        ...none,
        actions: [{ type: "removeFinalizer" }],
        phase: "Terminated",
        conditions: { Ready: "False/Terminating" },
      },
    },
    "deleting a Retain profile removes the finalizer and makes no Soracom call": {
      in: input(gone(policy("Retain"))),
      want: {
        ...none,
        actions: [{ type: "removeFinalizer" }],
        phase: undefined,
        conditions: {},
        events: ["SimRetained"],
      },
    },
    "an adopted profile without deletionPolicy is retained on deletion": {
      in: input(adoptedProfile({ simId: SIM_ID }, deleting, (p) => (p.metadata.finalizers = [PROFILE_FINALIZER]))),
      want: {
        ...none,
        actions: [{ type: "removeFinalizer" }],
        phase: undefined,
        conditions: {},
        events: ["SimRetained"],
      },
    },
    "a paused order's profile keeps its finalizer even under Retain": {
      in: input(gone(policy("Retain")), { paused: true }),
      want: { ...none, phase: "Activated", conditions: { Ready: "False/Paused" } },
    },
    "a deleted profile without our finalizer needs nothing": {
      in: input(gone(noFinalizer)),
      want: { ...none, phase: undefined, conditions: {} },
    },
    "paused terminations wait for a person, say so once, and read nothing": {
      in: input(gone(), { terminationBudget: BUDGET_OUT }),
      want: {
        ...none,
        phase: "Terminating",
        conditions: {
          Ready: "False/Terminating",
          Reconciling: "True/Terminating",
          TerminationsPaused: "True/TerminationBudgetExhausted",
        },
        events: ["TerminationsPaused"],
        requeueAfterMs: PAUSED_RETRY_MS,
      },
    },
    "a termination pause already reported records no second event": {
      in: input(gone(withCondition(CONDITIONS.terminationsPaused, "True", "TerminationBudgetExhausted")), {
        terminationBudget: BUDGET_OUT,
      }),
      want: {
        ...none,
        phase: "Terminating",
        conditions: {
          Ready: "False/Terminating",
          Reconciling: "True/Terminating",
          TerminationsPaused: "True/TerminationBudgetExhausted",
        },
        requeueAfterMs: PAUSED_RETRY_MS,
      },
    },
    "regression (defect 2): the retired budget-override annotation on the profile lifts nothing": {
      in: input(gone(annotated(RETIRED_ANNOTATIONS.terminationBudgetOverride, "true")), {
        terminationBudget: BUDGET_OUT,
      }),
      want: {
        ...none,
        phase: "Terminating",
        conditions: {
          Ready: "False/Terminating",
          Reconciling: "True/Terminating",
          TerminationsPaused: "True/TerminationBudgetExhausted",
        },
        events: ["TerminationsPaused"],
        requeueAfterMs: PAUSED_RETRY_MS,
      },
    },
    "deleted before its order recorded the deletion: the finalizer stays and nothing is read or sent": {
      in: input(gone(), { deletionRecorded: false }),
      want: {
        ...none,
        phase: "Activated",
        conditions: { Ready: "False/WaitingForOrder", Reconciling: "True/WaitingForOrder" },
        requeueAfterMs: DELETION_RECORD_RETRY_MS,
      },
    },
    "dry run says it would terminate, keeps the finalizer and calls nothing": {
      in: input(gone(), { sim: sim(), dryRun: true }),
      want: {
        ...none,
        phase: "Terminating",
        conditions: { Ready: "False/DryRun", Reconciling: "True/DryRun" },
        events: ["DryRun"],
        requeueAfterMs: 5 * 60_000,
      },
    },
    "a SIM that cannot be found keeps the finalizer and needs a person": {
      in: input(gone(), { sim: "NotFound" }),
      want: {
        ...none,
        phase: "Activated",
        conditions: { Ready: "False/SimNotFound", Stalled: "True/SimNotFound" },
        requeueAfterMs: STALLED_RETRY_MS,
      },
    },
    "a SIM found terminated after a lost terminate answer is confirmed and reported": {
      in: input(gone(withStatus({ phase: "Terminating" })), { sim: sim({ status: "terminated" }) }),
      want: {
        ...none,
        actions: [{ type: "removeFinalizer" }],
        phase: "Terminated",
        conditions: { Ready: "False/Terminating" },
        events: ["SimTerminated"],
      },
    },
  });

  it("a lost terminate answer is counted once it is confirmed", () => {
    const plan = planProfile(
      input(orderProfile(deleting, withStatus({ phase: "Terminating" })), { sim: sim({ status: "terminated" }) }),
    );
    expect(plan.confirmedTermination).toBe("ResourceDeleted");
  });

  it("the status written if terminate fails says Terminating, not Terminated", () => {
    const plan = planProfile(input(orderProfile(deleting), { sim: sim() }));
    expect(plan.baseStatus?.phase).toBe("Terminating");
    expect(plan.status?.simStatus).toBe("terminated");
    expect(plan.baseStatus?.simStatus).toBe("active");
  });
});

describe("planProfile: deleted on the device", () => {
  const deleted = withStatus({ profileStatus: "DELETION_SUCCEEDED" });
  runTable({
    "a profile the device deleted reports DeletedOnDevice (still billing) and an event": {
      in: input(orderProfile(deleted)),
      want: {
        ...none,
        phase: "Deleted",
        conditions: { ...READY, DeletedOnDevice: "True/DeletedOnDeviceStillBilling" },
        events: ["DeletedOnDevice"],
      },
    },
    "a device deletion already reported records no second event": {
      in: input(
        orderProfile(deleted, withCondition(CONDITIONS.deletedOnDevice, "True", "DeletedOnDeviceStillBilling")),
      ),
      want: {
        ...none,
        phase: "Deleted",
        conditions: { ...READY, DeletedOnDevice: "True/DeletedOnDeviceStillBilling" },
      },
    },
    "the condition goes once the profile is installed again": {
      in: input(orderProfile(withCondition(CONDITIONS.deletedOnDevice, "True", "DeletedOnDeviceStillBilling"))),
      want: { ...none, phase: "Activated", conditions: READY },
    },
  });
});

describe("conditions and status writes", () => {
  it("every condition carries the generation; an unchanged status keeps its transition time", () => {
    const plan = planProfile(input(orderProfile()));
    for (const c of plan.status?.conditions ?? []) {
      expect(c.observedGeneration).toBe(1);
      expect(c.lastTransitionTime).toBe(EARLIER);
    }
    expect(plan.status?.observedGeneration).toBe(1);
  });

  it("planning again over the status just written changes nothing, so nothing is written", () => {
    const p = orderProfile(withSim({ status: "inactive" }));
    const first = planProfile(input(p, { sim: sim() }));
    const written: EsimProfile = { ...p, status: { ...p.status, ...first.status } };
    const again = planProfile(input(written, { now: NOW + 60_000 }));
    expect(again.actions).toEqual([]);
    expect(statusPatch(written.status ?? {}, again.status ?? {}, false)).toBeUndefined();
  });

  it("a field the SIM no longer has is removed with null; identity is written only for adopted profiles", () => {
    const patch = statusPatch(
      { groupId: "g", iccid: "1", phase: "Activated" },
      { iccid: "2", phase: "Activated" },
      false,
    );
    expect(patch).toEqual({ groupId: null });
    expect(statusPatch({ iccid: "1" }, { iccid: "2" }, true)).toEqual({ iccid: "2" });
  });

  it("an adopted SIM's ICCID and IMSI come from the SIM", () => {
    const plan = planProfile(input(adoptedProfile({ simId: SIM_ID }), { sim: sim() }));
    expect(plan.status).toMatchObject({ simId: SIM_ID, iccid: ICCID, imsi: IMSI, simStatus: "active" });
  });
});

describe("planProfile: nothing a namespace user writes on an EsimProfile terminates its SIM", () => {
  const retired = Object.values(RETIRED_ANNOTATIONS);
  const profiles: Record<string, EsimProfile> = {
    "an order-created profile": orderProfile(),
    "an adopted profile under Retain": adoptedProfile({ simId: SIM_ID }, policy("Retain")),
    "an adopted profile under Terminate": adoptedProfile({ simId: SIM_ID }, policy("Terminate")),
  };
  for (const [what, base] of Object.entries(profiles)) {
    for (const value of ["Replace", "ScaleDown", "true", "anything"]) {
      it(`regression (defect 2): ${what} annotated with the retired keys = "${value}" is not terminated`, () => {
        const p = structuredClone(base);
        p.metadata.annotations = Object.fromEntries(retired.map((k) => [k, value]));
        for (const s of [undefined, sim({ terminationEnabled: true })]) {
          const plan = planProfile(input(p, s ? { sim: s } : {}));
          expect(plan.actions.map((a) => a.type)).not.toContain("terminateSim");
          expect(plan.actions.map((a) => a.type)).not.toContain("enableSimTermination");
          expect(plan.status?.phase).not.toBe("Terminating");
        }
      });
    }
  }
});

describe("planProfile: what the profile's account allows", () => {
  const withFinalizer = (p: EsimProfile) => {
    p.metadata.finalizers = [PROFILE_FINALIZER];
  };
  const adopted = (...mods: Mod[]) =>
    adoptedProfile({ simId: SIM_ID, deletionPolicy: "Terminate" }, withFinalizer, ...mods);
  const refused = { reason: "NamespaceNotAllowed", message: "SoracomAccount iot does not select namespace lab" };
  const types = (plan: ProfilePlan) => plan.actions.map((a) => a.type);

  it("a namespace its account does not select is Stalled with the account's reason, and nothing is read or sent", () => {
    const plan = planProfile(input(adopted(), { authority: { refused, adoption: false, terminateAdopted: false } }));
    expect(types(plan)).toEqual([]);
    expect(summary(plan).conditions).toMatchObject({ Stalled: "True/NamespaceNotAllowed" });
  });

  it("the same refusal keeps a Terminate deletion waiting (nothing may be terminated), but lets a Retain one go", () => {
    const gone = (policy: "Terminate" | "Retain") =>
      planProfile(
        input(
          adopted(deleting, (p) => (p.spec.deletionPolicy = policy)),
          { authority: { refused, adoption: true, terminateAdopted: true } },
        ),
      );
    expect(types(gone("Terminate"))).toEqual([]);
    expect(types(gone("Retain"))).toEqual(["removeFinalizer"]);
  });

  it("adopting without an account that allows it: Stalled AdoptionNotAllowed, no call; its deletion leaves the SIM alone", () => {
    const plan = planProfile(input(adopted(), { sim: sim(), authority: { adoption: false, terminateAdopted: true } }));
    expect(types(plan)).toEqual([]);
    expect(summary(plan).conditions).toMatchObject({ Stalled: "True/AdoptionNotAllowed" });
    const gone = planProfile(
      input(adopted(deleting), { sim: sim(), authority: { adoption: false, terminateAdopted: true } }),
    );
    expect(types(gone)).toEqual(["removeFinalizer"]);
  });

  it("deleting an adopted SIM under Terminate, where the account forbids terminating adopted SIMs, retains it", () => {
    const plan = planProfile(
      input(adopted(deleting), { sim: sim(), authority: { adoption: true, terminateAdopted: false } }),
    );
    expect(types(plan)).toEqual(["removeFinalizer"]);
    expect(plan.events[0]?.message).toContain("does not allow terminating adopted SIMs");
    // The same for a profile an order created would terminate: the rule is about adopted SIMs only.
    const ordered = planProfile(
      input(orderProfile(deleting), {
        sim: sim({ terminationEnabled: true }),
        authority: { adoption: true, terminateAdopted: false },
      }),
    );
    expect(types(ordered)).toContain("terminateSim");
  });

  it("a SIM held by another, older EsimProfile: never acted on; a deletion lets go without touching it", () => {
    const authority = { adoption: true, terminateAdopted: true, heldBy: "team-a/gateway" };
    const plan = planProfile(
      input(
        adopted((p) => (p.spec.sim = { status: "suspended" })),
        { sim: sim(), authority },
      ),
    );
    expect(types(plan)).toEqual([]);
    expect(summary(plan).conditions).toMatchObject({ Stalled: "True/SimHeldElsewhere" });
    const gone = planProfile(input(adopted(deleting), { sim: sim(), authority }));
    expect(types(gone)).toEqual(["removeFinalizer"]);
    expect(gone.events[0]?.message).toContain("team-a/gateway");
  });
});

describe("pausedMessage", () => {
  it("says how many per window, since when, and the command a person runs to resume", () => {
    const message = pausedMessage(SIM_ID, BUDGET_OUT);
    expect(message).toContain("of 20 per 1h");
    expect(message).toContain("paused since 2026-03-01T11:48:00Z");
    expect(message).toContain(RESUME);
  });

  it("names where the termination budget is set (the account's spec, not a controller flag), window as written", () => {
    const source = "SoracomAccount iot spec.budgets.termination";
    const message = pausedMessage(SIM_ID, { ...BUDGET_OUT, windowMs: 5_400_000, source });
    expect(message).toContain(`of 20 per 1h30m, set in ${source}, was used up`);
  });

  const durations: Record<string, [number, string]> = {
    "seconds under a minute": [45_000, "45s"],
    "whole minutes, rounded up": [61_000, "2m"],
    "whole hours": [3_600_000, "1h"],
    "hours and minutes": [5_400_000, "1h30m"],
  };
  for (const [sentence, [ms, want]] of Object.entries(durations)) {
    it(`formatDuration: ${sentence}`, () => expect(formatDuration(ms)).toBe(want));
  }
});

describe("planProfile: only the order's own record makes a profile its child (issue 24, defect 1)", () => {
  // A profile that names the order as owner, as a tenant can write it: everything else about it varies.
  const forged = (...mods: Mod[]) => orderProfile(deleting, ...mods);
  const cases: Record<string, { profile: EsimProfile; order?: EsimProfileOrder }> = {
    "no profileOrderId in its status (the order never materialized it)": {
      profile: forged((p) => {
        p.spec = { simId: SIM_ID, deletionPolicy: "Terminate" };
        p.status = { simId: SIM_ID, simStatus: "active" };
      }),
    },
    "its status names a Soracom order that its order's status does not track": {
      profile: forged(withStatus({ profileOrderId: "PO-OTHER" })),
    },
    "it names the order's profile but also a SIM ID (an order never sets one)": {
      profile: forged((p) => {
        p.spec = { ...p.spec, simId: "8942310022000099999" };
      }),
    },
    "its spec names another ICCID than the one the order recorded": {
      profile: forged((p) => {
        p.spec = { ...p.spec, iccid: "8942310022000099999" };
      }),
    },
    "its spec names another IMSI than the one the order recorded": {
      profile: forged((p) => {
        p.spec = { ...p.spec, imsi: "295050900099999" };
      }),
    },
    "it acts through another account than its order": {
      profile: forged((p) => {
        p.spec = { ...p.spec, accountRef: { name: "team-b" } };
      }),
    },
    "the owner reference has another UID and its status no order's record": {
      profile: forged((p) => {
        p.metadata.ownerReferences = [{ apiVersion: API_VERSION, kind: ORDER_KIND, name: "fleet", uid: "uid-gone" }];
        p.status = { simId: SIM_ID, simStatus: "active" };
      }),
    },
    "its order is in another namespace": {
      profile: forged(),
      order: { ...ORDER, metadata: { ...ORDER.metadata, namespace: "team-b" } },
    },
  };
  const noAdoption = { adoption: false, terminateAdopted: false };
  const unprotected = sim({ terminationEnabled: false });
  const types = (plan: ProfilePlan) => plan.actions.map((a) => a.type);

  for (const [sentence, c] of Object.entries(cases)) {
    it(`regression: deleted under Terminate, ${sentence}: an adoption, so with adoption off its SIM is left alone`, () => {
      const over = c.order ? { order: c.order } : {};
      for (const s of [undefined, unprotected]) {
        const plan = planProfile(input(c.profile, { ...over, authority: noAdoption, ...(s ? { sim: s } : {}) }));
        expect(types(plan)).toEqual(["removeFinalizer"]);
        expect(plan.events.map((e) => e.reason)).toEqual(["SimRetained"]);
      }
      // Adoption on, terminating adopted SIMs off: retained by the account, still nothing sent.
      const retained = planProfile(
        input(c.profile, { ...over, sim: unprotected, authority: { adoption: true, terminateAdopted: false } }),
      );
      expect(types(retained)).toEqual(["removeFinalizer"]);
    });
  }

  it("the control: the order's own recorded child, deleted under Terminate, is terminated whatever adoption allows", () => {
    const plan = planProfile(input(orderProfile(deleting), { sim: unprotected, authority: noAdoption }));
    expect(types(plan)).toEqual(["terminateSim", "removeFinalizer"]);
  });

  it("a child whose order is gone (deleted first, as GC and namespace deletion do) is still a child by its own record", () => {
    const orphan = orderProfile(deleting, (p) => {
      p.metadata.ownerReferences = [{ apiVersion: API_VERSION, kind: ORDER_KIND, name: "fleet", uid: "uid-gone" }];
    });
    const plan = planProfile(input(orphan, { sim: unprotected, authority: noAdoption }));
    expect(types(plan)).toEqual(["terminateSim", "removeFinalizer"]);
  });

  it("an unrecorded profile naming an existing order waits a short while for the order's write, then is an adoption", () => {
    const fresh = orderProfile((p) => {
      p.spec = { simId: SIM_ID, deletionPolicy: "Terminate" };
      p.status = undefined;
    });
    const waiting = planProfile(input(fresh, { authority: noAdoption }));
    expect(types(waiting)).toEqual([]);
    expect(waiting.status).toBeUndefined();
    const later = planProfile(input(fresh, { authority: noAdoption, now: NOW + ORDER_RECORD_GRACE_MS }));
    expect(summary(later).conditions).toMatchObject({ Stalled: "True/AdoptionNotAllowed" });
  });
});

describe("planProfile: an activation Secret the controller did not make (issue 24, defect 7)", () => {
  it("regression: a recorded child whose order refused a pre-existing Secret says so, and what to do", () => {
    const refused = orderProfile((p) => {
      if (p.status) p.status.activationSecretRef = undefined;
    });
    const plan = planProfile(input(refused));
    const c = plan.status?.conditions?.find((x) => x.type === "ActivationSecretNotOwned");
    expect(c).toMatchObject({ status: "True", reason: "SecretNotCreatedByController" });
    expect(c?.message).toContain(`kubectl delete secret -n iot fleet-${ICCID}-activation`);
    // Once the order records the Secret it made, the condition goes.
    const fixed = planProfile(input(orderProfile(), { now: NOW + 1 }));
    expect(fixed.status?.conditions?.map((x) => x.type)).not.toContain("ActivationSecretNotOwned");
  });
});
