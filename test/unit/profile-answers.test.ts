import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder, EsimProfileSpec } from "../../controller/api/types.js";
import { API_VERSION, ORDER_KIND, PROFILE_FINALIZER, PROFILE_KIND } from "../../controller/api/vocabulary.js";
import { classifyFailure } from "../../controller/profile/failure.js";
import { planProfile } from "../../controller/profile/plan.js";
import type { SimOps } from "../../controller/profile/ports.js";
import { createProfileReconciler } from "../../controller/profile/reconciler.js";
import { SoracomError, type SoracomErrorCodeValue } from "../../controller/soracom/errors.js";
import { createSoracomClient, type SoracomClient } from "../../controller/soracom/index.js";
import type { Sim } from "../../controller/soracom/types.js";
import { type Simulator, startSimulator } from "../../simulator/index.js";
import { FakeBudget, FakeEvents, FakeMetrics, ProfileStore } from "./profile-fakes.js";
import { control, type Json } from "./simulator-http.js";

/**
 * A SIM found for an EsimProfile must be the SIM it names (issue 23, defect 2). The lookups answer with
 * another SIM of the same account (what a misrouted proxy or a vendor bug would do); the profile is then
 * deleted under Terminate. Judged from the simulator's own record: no SIM is terminated, none is changed,
 * and the profile shows why. The real client runs against the in-process simulator over loopback.
 */

const NOW = Date.parse("2026-12-01T12:00:00Z");
type SimIds = { simId: string; iccid: string; imsi: string };

function profile(spec: EsimProfileSpec): EsimProfile {
  return {
    apiVersion: API_VERSION,
    kind: PROFILE_KIND,
    metadata: {
      name: "legacy",
      namespace: "iot",
      uid: "uid-legacy",
      resourceVersion: "1",
      generation: 1,
      finalizers: [PROFILE_FINALIZER],
    },
    spec: { deletionPolicy: "Terminate", ...spec },
  };
}

describe("a SIM found by IMSI, ICCID or SIM ID is acted on only when it carries what the profile names", () => {
  let sim: Simulator;
  let client: SoracomClient;
  let named: SimIds;
  let other: SimIds;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0 });
    client = createSoracomClient({
      endpoint: sim.url,
      credentials: { authKeyId: "keyId-simulator", authKey: "secret-simulator" },
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 5 },
      requestsPerSecond: 1000,
    });
  });
  afterAll(async () => {
    await client?.close();
    await sim?.close();
  });
  const newSim = async (): Promise<SimIds> => {
    const created = (await control(sim, "POST", "/sims", { subscription: "plan01s" })).body;
    const iccid = created.activeProfileId as string;
    return { simId: created.simId, iccid, imsi: created.profiles[iccid].primaryImsi };
  };
  beforeEach(async () => {
    await control(sim, "POST", "/reset");
    named = await newSim();
    other = await newSim();
    await control(sim, "DELETE", "/calls");
  });
  const counts = async (): Promise<Record<string, number>> => {
    const all = (await control(sim, "GET", "/calls")).body.counts as Record<string, number>;
    delete all.auth;
    return all;
  };
  const simsNow = async (): Promise<Json[]> => (await control(sim, "GET", "/state")).body.sims as Json[];

  /** Each row: how the profile names its SIM, and the lookup that answers with the other SIM. */
  const rows: Array<[string, (ids: SimIds) => EsimProfileSpec, (ops: SimOps) => SimOps]> = [
    [
      "GET /subscribers/{imsi} names another SIM's ID",
      (s) => ({ imsi: s.imsi }),
      (ops) => ({
        ...ops,
        resolveSimId: async () => other.simId,
      }),
    ],
    [
      "the ICCID search finds another SIM",
      (s) => ({ iccid: s.iccid }),
      (ops) => ({
        ...ops,
        findSimExact: async () => (await ops.getSim(other.simId)) as Sim,
      }),
    ],
    [
      "GET /sims/{id} answers with another SIM",
      (s) => ({ simId: s.simId, imsi: s.imsi }),
      (ops) => ({
        ...ops,
        getSim: (id: string) => ops.getSim(id === named.simId ? other.simId : id),
      }),
    ],
  ];

  for (const [what, specOf, corrupt] of rows) {
    it(`${what}: nothing is terminated or changed, and the profile shows the refusal`, async () => {
      const statesBefore = await simsNow();
      const store = new ProfileStore();
      const events = new FakeEvents();
      const bound = Object.fromEntries(
        Object.entries(client).map(([k, v]) => [k, typeof v === "function" ? v.bind(client) : v]),
      ) as unknown as SimOps;
      const ops = corrupt(bound);
      const reconciler = createProfileReconciler({
        profiles: store,
        authorityFor: async () => ({
          adoption: true,
          terminateAdopted: true,
          terminations: new FakeBudget(),
          sim: async () => ops,
        }),
        status: store,
        finalizers: store,
        events,
        metrics: new FakeMetrics(),
        clock: { now: () => NOW },
        dryRun: false,
      });
      const p = profile({ ...specOf(named), sim: { status: "suspended" } });
      store.put(p);
      for (let i = 0; i < 3; i++) await reconciler.reconcile("iot/legacy").catch(() => undefined);
      // Deleted under Terminate: its SIM is the one it names, and only that one may be terminated.
      store.update("iot/legacy", (stored) => {
        stored.metadata.deletionTimestamp = new Date(NOW).toISOString();
        stored.metadata.generation = 2;
      });
      for (let i = 0; i < 3; i++) await reconciler.reconcile("iot/legacy").catch(() => undefined);

      const calls = await counts();
      expect(calls.terminateSim ?? 0).toBe(0);
      expect(calls.enableSimTermination ?? 0).toBe(0);
      expect(calls.suspendSim ?? 0).toBe(0);
      expect(await simsNow()).toEqual(statesBefore);
      const after = store.get("iot", "legacy");
      expect(after?.status?.simId).not.toBe(other.simId);
      expect(after?.metadata.finalizers).toEqual([PROFILE_FINALIZER]);
      const ready = after?.status?.conditions?.find((c) => c.type === "Ready");
      expect(ready).toMatchObject({ status: "False", reason: "SoracomAnswerInvalid" });
      expect(events.reasons()).toContain("SoracomAnswerInvalid");
    });
  }
});

describe("planProfile refuses a SIM read that does not carry the identifiers the profile names", () => {
  const sim = (iccid: string, imsi: string): Sim => ({
    simId: "sim-b",
    status: "active",
    terminationEnabled: true,
    profiles: { [iccid]: { iccid, primaryImsi: imsi, subscribers: { [imsi]: { imsi } } } },
  });
  // A child its order made and recorded (profile/origin.ts): the spec names the ICCID and IMSI in status.
  const deleting = (status: NonNullable<EsimProfile["status"]>): EsimProfile => ({
    ...profile({ iccid: status.iccid, imsi: status.imsi }),
    metadata: {
      name: "p",
      namespace: "iot",
      uid: "u",
      generation: 2,
      finalizers: [PROFILE_FINALIZER],
      deletionTimestamp: new Date(NOW).toISOString(),
      ownerReferences: [
        { apiVersion: API_VERSION, kind: "EsimProfileOrder", name: "fleet", uid: "o", controller: true },
      ],
    },
    status: { profileOrderId: "po-1", ...status },
  });
  const order: EsimProfileOrder = {
    apiVersion: API_VERSION,
    kind: ORDER_KIND,
    metadata: { name: "fleet", namespace: "iot", uid: "o" },
    spec: { subscription: "planX3", quantity: 1 },
    status: { orders: [{ sequence: 1, token: "t1", profileOrderId: "po-1", quantity: 1, status: "COMPLETED" }] },
  };
  const budget = { allowed: true, remaining: 20, limit: 20, windowMs: 3_600_000 } as const;
  const planWith = (p: EsimProfile, read: Sim) =>
    planProfile({ profile: p, order, sim: read, now: NOW, terminationBudget: budget, dryRun: false });

  it("an order-created profile whose recorded SIM ID now reads as another SIM terminates nothing", () => {
    const p = deleting({ simId: "sim-b", iccid: "8981A", imsi: "44010A", profileStatus: "INSTALLATION_SUCCEEDED" });
    const plan = planWith(p, sim("8981B", "44010B"));
    expect(plan.actions).toEqual([]);
    expect(plan.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ reason: "SoracomAnswerInvalid" });
    expect(plan.events.map((e) => e.reason)).toEqual(["SoracomAnswerInvalid"]);
  });

  it("the same SIM carrying the recorded identifiers is terminated (the control)", () => {
    const p = deleting({ simId: "sim-b", iccid: "8981B", imsi: "44010B", profileStatus: "INSTALLATION_SUCCEEDED" });
    const plan = planWith(p, sim("8981B", "44010B"));
    expect(plan.actions.map((a) => a.type)).toContain("terminateSim");
  });
});

describe("the client's refusals take the one failure path: Reconciling with a reason, a Warning, backoff", () => {
  const rows: Array<[string, string, string]> = [
    ["an invalid answer", "SORACOM_ERR_INVALID_RESPONSE", "SoracomAnswerInvalid"],
    ["an answer about another object", "SORACOM_ERR_MISMATCH", "SoracomAnswerInvalid"],
    ["too many pages", "SORACOM_ERR_TOO_MANY_PAGES", "SoracomLimitReached"],
    ["an answer too large", "SORACOM_ERR_RESPONSE_TOO_LARGE", "SoracomLimitReached"],
    ["a call's deadline", "SORACOM_ERR_DEADLINE", "SoracomLimitReached"],
  ];
  for (const [what, code, reason] of rows) {
    it(what, () => {
      const err = new SoracomError(code as SoracomErrorCodeValue, "getSim", `getSim: ${what}`);
      const failure = classifyFailure(err, undefined);
      expect(failure).toMatchObject({ stalled: false, reason, event: { type: "Warning", reason } });
      // No requeue time: the error goes back to the queue, which backs off.
      expect(failure?.requeueAfterMs).toBeUndefined();
    });
  }
});
