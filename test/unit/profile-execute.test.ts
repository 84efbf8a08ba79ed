import { describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import { API_VERSION, PROFILE_FINALIZER, PROFILE_KIND } from "../../controller/api/vocabulary.js";
import type { ProfileAction } from "../../controller/profile/actions.js";
import { executeProfileActions, ProfileActionError, ReconcileAbortedError } from "../../controller/profile/execute.js";
import { SoracomNetworkError, SoracomOutcomeUnknownError } from "../../controller/soracom/errors.js";
import type { Sim } from "../../controller/soracom/types.js";
import { FakeBudget, FakeEvents, FakeFinalizers, FakeMetrics, FakeSims, refused } from "./profile-fakes.js";

const SIM_ID = "8942310022000012345";

const profile: EsimProfile = {
  apiVersion: API_VERSION,
  kind: PROFILE_KIND,
  metadata: { name: "fleet-1", namespace: "iot", uid: "u1", resourceVersion: "10", finalizers: [PROFILE_FINALIZER] },
  spec: { imsi: "295050900000001", deletionPolicy: "Terminate" },
};

const simOf = (over: Partial<Sim> = {}): Sim => ({
  simId: SIM_ID,
  status: "active",
  terminationEnabled: false,
  ...over,
});

function world(sim: Sim = simOf()) {
  const journal: string[] = [];
  const sims = new FakeSims(journal).add(sim);
  const budget = new FakeBudget(journal);
  const events = new FakeEvents();
  const finalizers = new FakeFinalizers();
  const metrics = new FakeMetrics();
  const run = (actions: ProfileAction[]) =>
    executeProfileActions(profile, actions, { sim: sims, finalizers, events, terminationBudget: budget, metrics });
  return { journal, sims, budget, events, finalizers, metrics, run };
}

const TERMINATE: ProfileAction[] = [
  { type: "terminateSim", simId: SIM_ID, reason: "ResourceDeleted", enable: true },
  { type: "removeFinalizer" },
];
/** The same, for a SIM read with termination already enabled. */
const TERMINATE_ENABLED: ProfileAction[] = [
  { type: "terminateSim", simId: SIM_ID, reason: "ResourceDeleted", enable: false },
  { type: "removeFinalizer" },
];

async function failure(p: Promise<unknown>): Promise<ProfileActionError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProfileActionError);
  return err as ProfileActionError;
}

describe("executeProfileActions: termination", () => {
  it("consumes the budget first, then lifts protection, terminates once, then removes the finalizer", async () => {
    const w = world();
    const result = await w.run(TERMINATE);
    expect(w.journal).toEqual(["consume", "enableSimTermination", "terminateSim"]);
    expect(w.budget.consumed).toEqual([SIM_ID]);
    expect(w.finalizers.calls).toEqual([`remove ${PROFILE_FINALIZER}`]);
    expect(w.sims.sims.get(SIM_ID)?.status).toBe("terminated");
    expect(result.terminated).toEqual({ simId: SIM_ID, reason: "ResourceDeleted" });
    expect(w.events.reasons()).toEqual(["TerminationEnabled", "SimTerminated"]);
    expect(w.metrics.terminated).toEqual([["iot", "ResourceDeleted"]]);
    expect(result.profile.metadata.finalizers).toEqual([]);
  });

  it("a lost terminate answer is not retried: one call, budget consumed once, finalizer kept", async () => {
    const w = world(simOf({ terminationEnabled: true }));
    const lost = new SoracomOutcomeUnknownError(
      "terminateSim",
      new SoracomNetworkError("terminateSim", "reset", { requestSent: true }),
    );
    w.sims.failNext("terminateSim", lost, { applied: true });
    const err = await failure(
      w.run([{ type: "terminateSim", simId: SIM_ID, reason: "ResourceDeleted", enable: false }]),
    );
    expect(err.cause).toBe(lost);
    expect(err.action.type).toBe("terminateSim");
    expect(w.sims.count("terminateSim")).toBe(1);
    expect(w.sims.count("getSim")).toBe(0);
    expect(w.budget.consumed).toEqual([SIM_ID]);
    expect(w.finalizers.calls).toEqual([]);
    expect(w.metrics.terminated).toEqual([]);
  });

  it("'termination not enabled' lifts protection and tries once more, consuming the budget once", async () => {
    const w = world(simOf({ terminationEnabled: false }));
    // The plan saw termination enabled, but someone protected the SIM since.
    const result = await w.run([{ type: "terminateSim", simId: SIM_ID, reason: "ScaleDown", enable: false }]);
    expect(w.journal).toEqual(["consume", "terminateSim", "getSim", "enableSimTermination", "terminateSim"]);
    expect(w.budget.consumed).toEqual([SIM_ID]);
    expect(result.terminated?.reason).toBe("ScaleDown");
    expect(w.events.reasons()).toEqual(["TerminationEnabled", "SimTerminated"]);
  });

  it("a second refusal after lifting protection fails, without a third try", async () => {
    const w = world(simOf({ terminationEnabled: false }));
    w.sims.failNext("terminateSim", refused("terminateSim", "SEM0003"));
    w.sims.failNext("terminateSim", refused("terminateSim", "SEM0003"));
    const err = await failure(
      w.run([{ type: "terminateSim", simId: SIM_ID, reason: "ResourceDeleted", enable: false }]),
    );
    expect(err.action.type).toBe("terminateSim");
    expect(w.sims.count("terminateSim")).toBe(2);
    expect(w.budget.consumed).toEqual([SIM_ID]);
  });

  it("'already terminated' is success", async () => {
    const w = world(simOf({ status: "terminated", terminationEnabled: true }));
    const result = await w.run(TERMINATE_ENABLED);
    expect(w.journal).toEqual(["consume", "terminateSim", "getSim"]);
    expect(result.terminated).toEqual({ simId: SIM_ID, reason: "ResourceDeleted" });
    expect(w.finalizers.calls).toEqual([`remove ${PROFILE_FINALIZER}`]);
  });

  it("another refusal of a SIM whose termination is enabled fails at once", async () => {
    const w = world(simOf({ terminationEnabled: true }));
    w.sims.failNext("terminateSim", refused("terminateSim", "COM0008"));
    await failure(w.run(TERMINATE_ENABLED));
    expect(w.journal).toEqual(["consume", "terminateSim", "getSim"]);
  });

  it("a budget that cannot be recorded stops the terminate call", async () => {
    const w = world(simOf({ terminationEnabled: true }));
    w.budget.failWith = new Error("ledger unavailable");
    await failure(w.run(TERMINATE_ENABLED));
    expect(w.sims.count("terminateSim")).toBe(0);
  });

  it("a budget that refuses leaves the SIM's protection as it is (the ledger goes before the lift)", async () => {
    const w = world(simOf({ terminationEnabled: false }));
    w.budget.failWith = new Error("refused: terminations are paused");
    await failure(w.run(TERMINATE));
    expect(w.sims.count("enableSimTermination")).toBe(0);
    expect(w.sims.count("terminateSim")).toBe(0);
  });
});

describe("executeProfileActions: SIM changes and finalizers", () => {
  it("runs the changes in order and records one SimUpdated event naming them", async () => {
    const w = world();
    await w.run([
      { type: "addFinalizer" },
      { type: "deactivateSim", simId: SIM_ID },
      { type: "updateSimSpeedClass", simId: SIM_ID, speedClass: "s1.fast" },
      { type: "putSimTags", simId: SIM_ID, tags: [{ tagName: "site", tagValue: "osaka" }] },
      { type: "setSimGroup", simId: SIM_ID, groupId: "g1" },
      { type: "enableSimTermination", simId: SIM_ID },
    ]);
    expect(w.sims.ops()).toEqual([
      "deactivateSim",
      "updateSimSpeedClass",
      "putSimTags",
      "setSimGroup",
      "enableSimTermination",
    ]);
    expect(w.sims.sims.get(SIM_ID)).toMatchObject({
      status: "inactive",
      speedClass: "s1.fast",
      tags: { site: "osaka" },
      groupId: "g1",
      terminationEnabled: true,
    });
    expect(w.events.events).toEqual([
      {
        type: "Normal",
        reason: "SimUpdated",
        message: `SIM ${SIM_ID} updated: deactivateSim, updateSimSpeedClass(s1.fast), putSimTags(site), setSimGroup(g1), enableSimTermination.`,
      },
    ]);
    expect(w.budget.consumed).toEqual([]);
  });

  it("stops at the first failure and still reports the changes made before it", async () => {
    const w = world();
    w.sims.failNext("updateSimSpeedClass", refused("updateSimSpeedClass", "SEM0005"));
    const err = await failure(
      w.run([
        { type: "deactivateSim", simId: SIM_ID },
        { type: "updateSimSpeedClass", simId: SIM_ID, speedClass: "s1.8xfast" },
        { type: "unsetSimGroup", simId: SIM_ID },
      ]),
    );
    expect(err.done).toEqual([{ type: "deactivateSim", simId: SIM_ID }]);
    expect(w.sims.ops()).toEqual(["deactivateSim", "updateSimSpeedClass"]);
    expect(w.events.events[0]?.message).toBe(`SIM ${SIM_ID} updated: deactivateSim.`);
  });

  it("threads the profile a finalizer write returns to the writes after it", async () => {
    const w = world();
    const result = await w.run([{ type: "addFinalizer" }]);
    expect(result.profile.metadata.resourceVersion).toBe("11");
  });

  it("refuses a read action: reads are observed, then planned again", async () => {
    const w = world();
    const err = await failure(w.run([{ type: "getSim", simId: SIM_ID }]));
    expect(err.cause).toBeInstanceOf(TypeError);
  });
});

describe("executeProfileActions: lost leadership", () => {
  it("starts no action once the controller is stopping", async () => {
    const w = world(simOf({ terminationEnabled: true }));
    const stop = new AbortController();
    stop.abort();
    const err = await failure(
      executeProfileActions(profile, TERMINATE_ENABLED, {
        sim: w.sims,
        finalizers: w.finalizers,
        events: w.events,
        terminationBudget: w.budget,
        signal: stop.signal,
      }),
    );
    expect(err.cause).toBeInstanceOf(ReconcileAbortedError);
    expect(w.journal).toEqual([]);
  });
});
