import { describe, expect, it } from "vitest";
import { GROUP, PROFILE_FINALIZER, VERSION } from "../../controller/api/vocabulary.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { type Safety, useSafety } from "../support/safety-harness.js";
import { useSafetySummary } from "../support/safety-summary.js";
import type { SimControl } from "../support/soracom-sim.js";

// Crash safety at every step: the controller process SIGKILLs itself at a named point of the order or
// termination flow (controller/crashpoints.ts), is started again without it, and must converge with no
// duplicate order, no blind second create, confirm or terminate, and nothing lost.
const FILE = "safety-crashpoints";
const cluster = useCluster();
const h = useSafety(cluster, FILE);
useSafetySummary(FILE);

const ORDER_POINTS = [
  "before-intent",
  "before-create",
  "after-create",
  "before-confirm",
  "after-confirm",
  "before-materialize",
] as const;
const TERMINATE_POINTS = ["before-terminate", "after-terminate"] as const;

describe("crash points of the order flow (quantity 45: orders of 20, 20 and 5)", () => {
  for (const point of ORDER_POINTS) {
    it(`SIGKILL at ${point}, restart: converges with exactly 3 creates and 3 confirms, no duplicate`, async () => {
      const started = Date.now();
      const { sim, control } = await h.simulator({ listVisibilityDelayMs: 500 });
      const first = await h.spawn(sim, { crashAt: point });
      await h.applyOrder("fleet", { subscription: "planX3", quantity: 45 });
      await h.waitDeath(first);
      const before = (await control.calls()).counts;

      await h.spawn(sim);
      await h.ready("fleet");
      await h.materialized("fleet", 45);
      const counts = (await control.calls()).counts;
      expect(counts.createProfileOrder, "creates (never repeated blindly)").toBe(3);
      expect(counts.confirmProfileOrder, "confirms (looked at before confirming)").toBe(3);
      await h.finish(control, `order flow: SIGKILL at ${point}`, {
        started,
        faults: 1,
        note: `${before.createProfileOrder ?? 0} create(s), ${before.confirmProfileOrder ?? 0} confirm(s) before the crash`,
      });
    });
  }
});

/** adoptTerminating declares an EsimProfile for a standalone SIM with deletionPolicy Terminate and waits until it is managed. */
async function adoptTerminating(s: Safety, control: SimControl, name: string): Promise<string> {
  const created = await control.createSim({ subscription: "planX3" });
  await s.cluster.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: s.cluster.namespace,
    plural: "esimprofiles",
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "EsimProfile",
      metadata: { name },
      spec: { simId: created.simId, deletionPolicy: "Terminate" },
    },
  });
  await eventually(
    async () => {
      const p = await s.profile(name);
      return p.metadata.finalizers?.includes(PROFILE_FINALIZER) && p.status?.simId === created.simId;
    },
    { what: `${name} managed (finalizer, SIM ID)` },
  );
  return created.simId;
}

async function gone(s: Safety, name: string): Promise<boolean> {
  try {
    await s.profile(name);
    return false;
  } catch {
    return true;
  }
}

describe("crash points of the termination flow (an EsimProfile with deletionPolicy Terminate is deleted)", () => {
  for (const point of TERMINATE_POINTS) {
    it(`SIGKILL at ${point}, restart: the SIM is terminated exactly once and the resource goes`, async () => {
      const started = Date.now();
      const { sim, control } = await h.simulator();
      const first = await h.spawn(sim, { crashAt: point });
      const simId = await adoptTerminating(h, control, "device-1");
      await h.deleteProfile("device-1");
      await h.waitDeath(first);
      const before = (await control.calls()).counts.terminateSim ?? 0;
      expect(before).toBe(point === "before-terminate" ? 0 : 1);

      await h.spawn(sim);
      await eventually(() => gone(h, "device-1"), { what: "device-1 deleted" });
      const state = (await control.state()) as { sims: Array<{ simId: string; status: string }> };
      expect(state.sims.find((x) => x.simId === simId)?.status).toBe("terminated");
      const terminates = (await control.calls()).calls.filter((c) => c.operation === "terminateSim");
      expect(
        terminates.filter((c) => c.status === 200),
        "terminate calls that succeeded",
      ).toHaveLength(1);
      expect(terminates, "terminate calls (never repeated blindly)").toHaveLength(1);
      const ledger = await h.cluster.core.readNamespacedConfigMap({
        namespace: h.cluster.namespace,
        name: "soracom-esim-operator-termination-ledger",
      });
      const entries = JSON.parse(ledger.data?.ledger ?? "[]") as Array<{ s: string }>;
      expect(
        entries.map((e) => e.s),
        "the ledger counts the SIM once",
      ).toEqual([simId]);
      await h.finish(control, `termination flow: SIGKILL at ${point}`, {
        started,
        faults: 1,
        note: `${before} terminate call(s) before the crash`,
      });
    });
  }
});
