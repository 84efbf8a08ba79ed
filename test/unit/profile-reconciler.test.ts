import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileSpec } from "../../controller/api/types.js";
import { API_VERSION, CONDITIONS, PROFILE_FINALIZER, PROFILE_KIND } from "../../controller/api/vocabulary.js";
import { CredentialsError } from "../../controller/credentials.js";
import { KubeConflictError } from "../../controller/kube/errors.js";
import { PAUSED_RETRY_MS } from "../../controller/profile/plan.js";
import type { ProfileReconcilerDeps, SimOps } from "../../controller/profile/ports.js";
import { createProfileReconciler } from "../../controller/profile/reconciler.js";
import { SoracomError, SoracomErrorCode } from "../../controller/soracom/errors.js";
import { createSoracomClient, type SoracomClient } from "../../controller/soracom/index.js";
import { type Simulator, startSimulator } from "../../simulator/index.js";
import { FakeBudget, FakeEvents, FakeMetrics, FakeSims, ProfileStore, refused } from "./profile-fakes.js";
import { control, type Json } from "./simulator-http.js";

/**
 * The reconcile loop end to end: the real Soracom client against the in-process simulator over
 * loopback (call counts read from the simulator's own log), and fakes for the Kubernetes side.
 */

const KEY = "iot/legacy";

function adopted(spec: EsimProfileSpec): EsimProfile {
  return {
    apiVersion: API_VERSION,
    kind: PROFILE_KIND,
    metadata: { name: "legacy", namespace: "iot", uid: "uid-legacy", resourceVersion: "1", generation: 1 },
    spec,
  };
}

interface Rig {
  store: ProfileStore;
  events: FakeEvents;
  budget: FakeBudget;
  metrics: FakeMetrics;
  deps: ProfileReconcilerDeps;
  reconcile: () => Promise<{ requeueAfterMs?: number }>;
}

function rig(ops: SimOps | (() => SimOps), over: Partial<ProfileReconcilerDeps> = {}): Rig {
  const store = new ProfileStore();
  const events = new FakeEvents();
  const budget = new FakeBudget();
  const metrics = new FakeMetrics();
  const deps: ProfileReconcilerDeps = {
    profiles: store,
    authorityFor: async () => ({
      adoption: true,
      terminateAdopted: true,
      terminations: budget,
      sim: async () => (typeof ops === "function" ? ops() : ops),
    }),
    status: store,
    finalizers: store,
    events,
    metrics,
    clock: { now: () => Date.parse("2026-03-01T12:00:00Z") },
    dryRun: false,
    ...over,
  };
  const reconciler = createProfileReconciler(deps);
  return { store, events, budget, metrics, deps, reconcile: () => reconciler.reconcile(KEY) };
}

const conditionsOf = (p: EsimProfile | undefined) =>
  Object.fromEntries((p?.status?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

const deleteIt = (policy: "Terminate" | "Retain") => (p: EsimProfile) => {
  p.spec.deletionPolicy = policy;
  p.metadata.generation = (p.metadata.generation ?? 1) + 1;
  p.metadata.deletionTimestamp = "2026-03-01T12:00:00Z";
};

describe("profile reconciler against the simulator", () => {
  let sim: Simulator;
  let client: SoracomClient;
  let simRecord: { simId: string; iccid: string; imsi: string };

  beforeAll(async () => {
    sim = await startSimulator({ port: 0 });
    client = createSoracomClient({
      endpoint: sim.url,
      credentials: { authKeyId: "keyId-simulator", authKey: "secret-simulator" },
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
      requestsPerSecond: 1000,
    });
  });
  afterAll(async () => {
    await client?.close();
    await sim?.close();
  });
  beforeEach(async () => {
    await control(sim, "POST", "/reset");
    const created = (await control(sim, "POST", "/sims", { subscription: "plan01s" })).body;
    const iccid = created.activeProfileId as string;
    simRecord = { simId: created.simId, iccid, imsi: created.profiles[iccid].primaryImsi };
    await control(sim, "DELETE", "/calls");
  });

  const counts = async (): Promise<Record<string, number>> => {
    const counts = (await control(sim, "GET", "/calls")).body.counts as Record<string, number>;
    delete counts.auth;
    return counts;
  };
  const simNow = async (): Promise<Json> =>
    ((await control(sim, "GET", "/state")).body.sims as Json[]).find((s) => s.simId === simRecord.simId);

  /** adoptAndSync adopts the SIM by ICCID with a desired state and returns the rig after the first round. */
  async function adoptAndSync(): Promise<Rig> {
    const r = rig(client);
    r.store.put(
      adopted({
        iccid: simRecord.iccid,
        sim: { status: "active", speedClass: "s1.fast", tags: { site: "osaka" }, groupId: "grp-1" },
      }),
    );
    expect(await r.reconcile()).toEqual({});
    await control(sim, "DELETE", "/calls");
    return r;
  }

  it("adopts a SIM found by ICCID and applies its desired state; steady state then makes no call", async () => {
    const r = rig(client);
    r.store.put(
      adopted({
        iccid: simRecord.iccid,
        sim: { status: "active", speedClass: "s1.fast", tags: { site: "osaka" }, groupId: "grp-1" },
      }),
    );
    expect(await r.reconcile()).toEqual({});
    // The search finds the SIM; it is then read by its ID and must carry the ICCID before anything is done.
    expect(await counts()).toEqual({
      searchSims: 1,
      getSim: 1,
      activateSim: 1,
      updateSimSpeedClass: 1,
      putSimTags: 1,
      setSimGroup: 1,
    });
    expect(await simNow()).toMatchObject({ status: "active", speedClass: "s1.fast", groupId: "grp-1" });
    const stored = r.store.get("iot", "legacy");
    expect(stored?.metadata.finalizers).toEqual([PROFILE_FINALIZER]);
    expect(stored?.status).toMatchObject({
      phase: "Registered",
      simId: simRecord.simId,
      iccid: simRecord.iccid,
      imsi: simRecord.imsi,
      simStatus: "active",
      groupId: "grp-1",
      observedGeneration: 1,
    });
    expect(conditionsOf(stored)).toEqual({ Ready: "True/Completed", SimSynced: "True/Synced" });
    expect(r.events.reasons()).toEqual(["SimUpdated"]);

    await control(sim, "DELETE", "/calls");
    const patches = r.store.patches.length;
    for (let i = 0; i < 3; i++) expect(await r.reconcile()).toEqual({});
    expect(await counts()).toEqual({});
    expect(r.store.patches.length).toBe(patches);
  });

  it("a spec change reads the SIM once and makes only the call that differs", async () => {
    const r = await adoptAndSync();
    r.store.update(KEY, (p) => {
      p.spec.sim = { ...p.spec.sim, status: "inactive" };
      p.metadata.generation = 2;
    });
    await r.reconcile();
    expect(await counts()).toEqual({ getSim: 1, deactivateSim: 1 });
    expect(r.store.get("iot", "legacy")?.status).toMatchObject({ simStatus: "inactive", observedGeneration: 2 });
  });

  it("deleting a Terminate profile calls enable-termination and terminate once each, then lets it go", async () => {
    const r = await adoptAndSync();
    r.store.update(KEY, deleteIt("Terminate"));
    expect(await r.reconcile()).toEqual({});
    expect(await counts()).toEqual({ getSim: 1, enableSimTermination: 1, terminateSim: 1 });
    expect((await simNow()).status).toBe("terminated");
    expect(r.store.get("iot", "legacy")).toBeUndefined();
    expect(r.budget.consumed).toEqual([simRecord.simId]);
    expect(r.metrics.terminated).toEqual([["iot", "ResourceDeleted"]]);
  });

  it("deleting a Retain profile leaves the SIM alone", async () => {
    const r = await adoptAndSync();
    r.store.update(KEY, deleteIt("Retain"));
    await r.reconcile();
    expect(await counts()).toEqual({});
    expect((await simNow()).status).toBe("active");
    expect(r.store.get("iot", "legacy")).toBeUndefined();
    expect(r.events.reasons()).toContain("SimRetained");
  });

  it("a lost terminate answer is resolved by reading the SIM, never by a second terminate", async () => {
    const r = await adoptAndSync();
    r.store.update(KEY, deleteIt("Terminate"));
    await control(sim, "POST", "/faults", { operation: "terminateSim", count: 1, kind: "drop-response" });
    const first = await r.reconcile();
    expect(first.requeueAfterMs).toBeGreaterThan(0);
    const stored = r.store.get("iot", "legacy");
    expect(stored?.status?.phase).toBe("Terminating");
    expect(conditionsOf(stored)).toMatchObject({ Reconciling: "True/Terminating", Ready: "False/Terminating" });

    expect(await r.reconcile()).toEqual({});
    expect(await counts()).toEqual({ getSim: 2, enableSimTermination: 1, terminateSim: 1 });
    expect(r.store.get("iot", "legacy")).toBeUndefined();
    expect(r.budget.consumed).toEqual([simRecord.simId]);
    expect(r.metrics.terminated).toEqual([["iot", "ResourceDeleted"]]);
  });

  it("paused terminations terminate nothing, read nothing, and say how a person resumes them", async () => {
    const r = await adoptAndSync();
    const paused = { id: "p1", since: Date.now(), resume: "kubectl annotate configmap -n ops term x=p1" };
    r.budget.status = { allowed: false, remaining: 0, limit: 20, windowMs: 3_600_000, paused };
    const before = await counts();
    r.store.update(KEY, deleteIt("Terminate"));
    expect(await r.reconcile()).toEqual({ requeueAfterMs: PAUSED_RETRY_MS });
    expect(await counts()).toEqual(before);
    const stored = r.store.get("iot", "legacy");
    expect(conditionsOf(stored)).toMatchObject({ TerminationsPaused: "True/TerminationBudgetExhausted" });
    expect(stored?.metadata.finalizers).toEqual([PROFILE_FINALIZER]);
    await r.reconcile();
    expect(r.events.reasons().filter((e) => e === "TerminationsPaused")).toHaveLength(1);
  });

  it("dry run: the simulator's log holds no mutating call", async () => {
    const r = rig(client, { dryRun: true });
    r.store.put(adopted({ imsi: simRecord.imsi, deletionPolicy: "Terminate", sim: { status: "suspended" } }));
    await r.reconcile();
    r.store.update(KEY, (p) => {
      p.metadata.deletionTimestamp = "2026-03-01T12:00:00Z";
    });
    await r.reconcile();
    expect(Object.keys(await counts()).sort()).toEqual(["getSim", "getSubscriber"]);
    expect((await simNow()).status).toBe("ready");
    const stored = r.store.get("iot", "legacy");
    expect(stored?.metadata.finalizers).toEqual([PROFILE_FINALIZER]);
    expect(stored?.status?.conditions?.find((c) => c.type === CONDITIONS.reconciling)?.message).toContain(
      "dry run: would terminate",
    );
  });

  it("refused credentials are Stalled with CredentialsInvalid, not a crash", async () => {
    const bad = createSoracomClient({
      endpoint: sim.url,
      credentials: { authKeyId: "keyId-simulator", authKey: "wrong" },
      retry: { maxRetries: 0 },
    });
    try {
      const r = rig(bad);
      r.store.put(adopted({ simId: simRecord.simId }));
      expect(await r.reconcile()).toEqual({ requeueAfterMs: 60_000 });
      expect(conditionsOf(r.store.get("iot", "legacy"))).toEqual({
        Ready: "False/CredentialsInvalid",
        Stalled: "True/CredentialsInvalid",
      });
    } finally {
      await bad.close();
    }
  });
});

describe("profile reconciler failure paths (fake Soracom)", () => {
  const SIM_ID = "8942310022000099999";

  it("a missing credentials Secret is Stalled CredentialsNotFound, with one event however often it is seen", async () => {
    const r = rig(() => {
      throw new CredentialsError("CredentialsNotFound", 'Secret "soracom" not found in namespace iot');
    });
    r.store.put(adopted({ simId: SIM_ID, credentialsRef: { name: "soracom" } }));
    expect(await r.reconcile()).toEqual({ requeueAfterMs: 60_000 });
    await r.reconcile();
    expect(conditionsOf(r.store.get("iot", "legacy"))).toEqual({
      Ready: "False/CredentialsNotFound",
      Stalled: "True/CredentialsNotFound",
    });
    expect(r.events.reasons()).toEqual(["CredentialsError"]);
  });

  it("a conflict on the status write goes back to the queue as a conflict", async () => {
    const sims = new FakeSims().add({ simId: SIM_ID, status: "active" });
    const r = rig(sims);
    r.store.put(adopted({ simId: SIM_ID }));
    const conflict = new KubeConflictError(409, { reason: "Conflict" });
    r.store.statusFailures.push(conflict);
    await expect(r.reconcile()).rejects.toBe(conflict);
    expect(await r.reconcile()).toEqual({});
    expect(r.store.get("iot", "legacy")?.status?.simId).toBe(SIM_ID);
  });

  it("a refused change is Stalled SoracomRejected with SimSynced False, and one event", async () => {
    const sims = new FakeSims().add({ simId: SIM_ID, status: "active", speedClass: "s1.standard" });
    const r = rig(sims);
    r.store.put(adopted({ simId: SIM_ID, sim: { speedClass: "s1.8xfast" } }));
    sims.failNext("updateSimSpeedClass", refused("updateSimSpeedClass", "SEM0005"));
    expect(await r.reconcile()).toEqual({ requeueAfterMs: 10 * 60_000 });
    const stored = r.store.get("iot", "legacy");
    expect(conditionsOf(stored)).toEqual({
      Ready: "False/SoracomRejected",
      Stalled: "True/SoracomRejected",
      SimSynced: "False/SyncFailed",
    });
    expect(stored?.status?.simId).toBe(SIM_ID);
    expect(r.events.reasons()).toEqual(["SoracomError"]);
  });

  it("a terminated SIM is shown as Terminated and asked nothing", async () => {
    const sims = new FakeSims().add({ simId: SIM_ID, status: "terminated" });
    const r = rig(sims);
    r.store.put(adopted({ simId: SIM_ID, sim: { speedClass: "s1.fast" } }));
    await r.reconcile();
    await r.reconcile();
    expect(sims.ops()).toEqual(["getSim"]);
    expect(r.store.get("iot", "legacy")?.status?.phase).toBe("Terminated");
  });

  it("an error that is not Soracom's goes back to the queue and writes nothing", async () => {
    const sims = new FakeSims().add({ simId: SIM_ID, status: "active" });
    const r = rig(sims);
    r.store.put(adopted({ simId: SIM_ID }));
    const bug = new Error("apiserver hiccup");
    sims.failNext("getSim", bug);
    await expect(r.reconcile()).rejects.toBe(bug);
    expect(r.store.patches).toEqual([]);
  });

  it("several SIMs carrying one ICCID is Stalled: a person must name the SIM", async () => {
    const sims = new FakeSims();
    sims.failNext(
      "findSimExact",
      new SoracomError(SoracomErrorCode.ambiguous, "searchSims", "2 SIMs carry the same identifier"),
    );
    const r = rig(sims);
    r.store.put(adopted({ iccid: "8942310022000012345" }));
    expect(await r.reconcile()).toEqual({ requeueAfterMs: 10 * 60_000 });
    expect(conditionsOf(r.store.get("iot", "legacy"))).toEqual({
      Ready: "False/SimNotFound",
      Stalled: "True/SimNotFound",
    });
  });

  it("a stopping controller (lost leadership) starts no Soracom change and writes nothing", async () => {
    const sims = new FakeSims().add({ simId: SIM_ID, status: "active", terminationEnabled: true });
    const r = rig(sims);
    r.store.put(adopted({ simId: SIM_ID, deletionPolicy: "Terminate" }));
    await r.reconcile();
    r.store.update(KEY, deleteIt("Terminate"));
    const writes = r.store.patches.length;
    const stop = new AbortController();
    stop.abort();
    expect(await createProfileReconciler(r.deps).reconcile(KEY, stop.signal)).toEqual({});
    expect(sims.ops()).toEqual(["getSim", "getSim"]);
    expect(r.budget.consumed).toEqual([]);
    expect(r.store.patches.length).toBe(writes);
  });

  it("a status that did not change is not written again", async () => {
    const sims = new FakeSims().add({ simId: SIM_ID, status: "active" });
    const r = rig(sims);
    r.store.put(adopted({ simId: SIM_ID }));
    await r.reconcile();
    const writes = r.store.patches.length;
    await r.reconcile();
    await r.reconcile();
    expect(r.store.patches.length).toBe(writes);
    expect(sims.ops()).toEqual(["getSim"]);
  });
});
