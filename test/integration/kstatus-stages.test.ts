import { afterAll, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { resourcePath } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";
import { type ArgoHealth, argocd36, argocdHealth, argocdHealthBin, kstatus, kstatusBin } from "../support/ecosystem.js";
import { requireToolInCi } from "../unit/chart-support.js";

// Live objects at each stage of their life, on the real apiserver with the real controller and the simulator,
// judged by the ecosystem's own code: kstatus (sigs.k8s.io/cli-utils v0.37.2, what Flux and kpt wait with)
// and Argo CD (v3.2.12's application controller with deploy/argocd/argocd-cm.yaml; 3.6+ by its deletion rule).
// Each stage is checked against what README.md ("Status follows kstatus") and docs/argocd.md promise, and
// the table is printed at the end of the run.
const cluster = useCluster({ namespacePrefix: "kstatus" });
const e2e = useE2E(cluster);

type Live = EsimProfileOrder | EsimProfile;
interface Promised {
  kstatus: string;
  /** Argo CD up to 3.5 (what v3.2.12's controller shows). */
  argocd: string;
  /** Argo CD 3.6+, when it differs (objects being deleted). */
  argocd36?: string;
  /** The start of the Argo CD message (the condition's reason), when the stage has one. */
  reason?: string;
}
const rows: string[] = [];
afterAll(() => {
  if (rows.length === 0) return;
  process.stdout.write(
    `\nkstatus and Argo CD on live objects:\n| kind | stage | kstatus | Argo CD ≤3.5 | Argo CD 3.6+ |\n| --- | --- | --- | --- | --- |\n${rows.join("\n")}\n`,
  );
});

/** judge asks kstatus and Argo CD about a live object, checks the promise and adds a row to the table. */
function judge(stage: string, obj: Live, want: Promised): { k: { status: string; message: string }; a: ArgoHealth } {
  const [k] = kstatus(obj);
  const [a] = argocdHealth([obj]);
  const [open] = argocdHealth([obj], { useOpenLibs: true });
  if (!k || !a || !open) throw new Error("no answer from kstatus or argocd-health");
  const v36 = argocd36(obj, a);
  rows.push(
    `| ${obj.kind} | ${stage} | ${k.status}: ${k.message} | ${a.controller.status}: ${a.controller.message} | ${v36.status}: ${v36.message} |`,
  );
  expect(k.error, `${stage}: kstatus error`).toBeUndefined();
  expect({ stage, kstatus: k.status }).toEqual({ stage, kstatus: want.kstatus });
  expect({ stage, argocd: a.controller.status }).toEqual({ stage, argocd: want.argocd });
  expect({ stage, argocd36: v36.status }).toEqual({ stage, argocd36: want.argocd36 ?? want.argocd });
  if (want.reason) expect(v36.message, stage).toMatch(new RegExp(`^${want.reason}: `));
  // useOpenLibs changes nothing for these scripts.
  expect(open.controller, `${stage}: useOpenLibs`).toEqual(a.controller);
  return { k, a };
}

async function order(name: string): Promise<EsimProfileOrder> {
  return e2e.order(name);
}

async function orderWhere(name: string, what: string, ok: (o: EsimProfileOrder) => boolean) {
  return eventually(
    async () => {
      const o = await order(name);
      return ok(o) ? o : undefined;
    },
    { timeoutMs: 60_000, what: `${name}: ${what}` },
  );
}

async function profileWhere(name: string, what: string, ok: (p: EsimProfile) => boolean) {
  return eventually(
    async () => {
      const p = await e2e.profile(name);
      return ok(p) ? p : undefined;
    },
    { timeoutMs: 60_000, what: `${name}: ${what}` },
  );
}

const isTrue = (o: Live, type: string) => condition(o, type)?.status === "True";
const soracomOrder = (o: EsimProfileOrder) => o.status?.orders?.[0];

describe("the Go helpers are built (CI builds them)", () => {
  it("kstatus is built, or the run is not CI", (ctx) => requireToolInCi("kstatus", kstatusBin, ctx));
  it("argocd-health is built, or the run is not CI", (ctx) => requireToolInCi("argocd-health", argocdHealthBin, ctx));
});

describe.skipIf(!kstatusBin || !argocdHealthBin)("kstatus and Argo CD at each stage", () => {
  it("a freshly applied EsimProfileOrder is InProgress until the controller has observed it", async () => {
    // No controller runs yet: whatever the apiserver serves now is what a `kubectl apply` + wait sees first.
    const created = await e2e.applyOrder("fresh", { subscription: "planX1", quantity: 1 });
    const fresh = await order("fresh");
    const { k } = judge("freshly applied", fresh, { kstatus: "InProgress", argocd: "Progressing" });
    expect(k.message).toBe("EsimProfileOrder generation is 1, but latest observed generation is 0");
    // The apiserver's own answers: the create response, a GET and a LIST all carry the CRD's status default.
    expect(created.status).toEqual({ observedGeneration: 0 });
    expect(fresh.metadata.generation).toBe(1);
    expect(fresh.status).toEqual({ observedGeneration: 0 });
    const listed = await e2e.kubectl(["get", "esimprofileorders", "-o", "json"]);
    expect(kstatus(JSON.parse(listed.stdout)).map((r) => r.status)).toEqual(["InProgress"]);
    // Control: the same object as an apiserver without the default serves it is Current to kstatus at once.
    const { status: _defaulted, ...bare } = fresh;
    expect(kstatus(bare)[0]?.status).toBe("Current");

    // Once the controller has looked, kstatus follows its conditions.
    const { sim } = await e2e.simulator();
    await e2e.controller(sim);
    const observed = await orderWhere("fresh", "observed", (o) => o.status?.observedGeneration === 1);
    expect(kstatus(observed)[0]?.message).not.toContain("latest observed generation");
  });

  it("an EsimProfileOrder: ordering, failed, draft awaiting approval, completed, deleting", async () => {
    const { sim, control } = await e2e.simulator({ inProgressDelayMs: 120_000 });
    await e2e.applyOrder("sensors", { subscription: "planX3", quantity: 2 });
    await e2e.applyOrder("doomed", { subscription: "planX1", quantity: 1 });
    await e2e.applyOrder("bench", { subscription: "planX1", quantity: 1, confirmation: "Manual" });
    const ctl = await e2e.controller(sim);

    const ordering = await orderWhere("sensors", "IN_PROGRESS", (o) => soracomOrder(o)?.status === "IN_PROGRESS");
    judge("ordering (Soracom order IN_PROGRESS)", ordering, { kstatus: "InProgress", argocd: "Progressing" });

    const doomedId = (await orderWhere("doomed", "IN_PROGRESS", (o) => soracomOrder(o)?.status === "IN_PROGRESS"))
      .status?.orders?.[0]?.profileOrderId;
    await control.send("POST", `/orders/${doomedId}/force`, { status: "FAILED" });
    const failed = await orderWhere("doomed", "Stalled", (o) => isTrue(o, "Stalled"));
    judge("failed (Soracom order FAILED)", failed, { kstatus: "Failed", argocd: "Degraded", reason: "OrderFailed" });

    const awaiting = await orderWhere("bench", "AwaitingConfirmation", (o) => isTrue(o, "AwaitingConfirmation"));
    judge("draft awaiting approval", awaiting, {
      kstatus: "InProgress",
      argocd: "Suspended",
      reason: "AwaitingApproval",
    });

    await control.send("POST", `/orders/${soracomOrder(ordering)?.profileOrderId}/force`, { status: "COMPLETED" });
    const completed = await orderWhere("sensors", "Ready", (o) => isTrue(o, "Ready"));
    judge("completed", completed, { kstatus: "Current", argocd: "Healthy", reason: "Completed" });

    // A profile of that order deleted on its device (onDeviceDeletion Report): its SIM still bills.
    const [gone] = (await e2e.profiles()).filter(
      (p) => p.metadata.labels?.["esim.soracom-operator.io/order"] === "sensors",
    );
    await control.send("POST", `/devices/${gone?.status?.iccid}/events`, { event: "installed" });
    await control.send("POST", `/devices/${gone?.status?.iccid}/events`, { event: "deleted" });
    const deletedOnDevice = await profileWhere(gone?.metadata.name ?? "", "DeletedOnDevice", (p) =>
      isTrue(p, "DeletedOnDevice"),
    );
    // The two disagree, as documented: the SIM is in its declared state (Ready=True, kstatus Current), and
    // Argo CD shows the bill nobody wants (Degraded), as does the SoracomEsimProfileDeletedOnDeviceStillBilling alert.
    judge("deleted on its device, still billing", deletedOnDevice, {
      kstatus: "Current",
      argocd: "Degraded",
      reason: "DeletedOnDeviceStillBilling",
    });

    // Deleting: with the controller stopped, the finalizer holds the order as it would while drafts are cancelled.
    await ctl.stop();
    await e2e.kube.request({
      method: "DELETE",
      path: resourcePath(
        { group: GROUP, version: VERSION, plural: "esimprofileorders", namespace: cluster.namespace },
        "bench",
      ),
    });
    const deleting = await orderWhere("bench", "deletionTimestamp", (o) => !!o.metadata.deletionTimestamp);
    judge("deleting (finalizer held)", deleting, {
      kstatus: "Terminating",
      argocd: "Progressing",
      argocd36: "Progressing",
      reason: "Deleting",
    });
    // The controller lets it go: the draft is cancelled and the finalizer removed.
    await e2e.controller(sim);
    await eventually(async () => (await e2e.kubectl(["get", "esimprofileorder", "bench"])).code !== 0, {
      timeoutMs: 60_000,
      what: "bench deleted",
    });
  });

  it("an EsimProfileOrder over the spend budget", async () => {
    const { sim } = await e2e.simulator();
    await e2e.controller(sim, { args: ["--spend-budget", "1"] });
    await e2e.applyOrder("greedy", { subscription: "planX1", quantity: 2, maxProfilesPerOrder: 2 });
    const over = await orderWhere("greedy", "Stalled", (o) => isTrue(o, "Stalled"));
    judge("over the spend budget", over, { kstatus: "Failed", argocd: "Degraded", reason: "BudgetExceeded" });
  });

  it("an EsimProfile: freshly applied, Ready, SIM not found, deleting, termination paused while deleting", async () => {
    const { sim, control } = await e2e.simulator();
    const iccidOf = (s: Record<string, unknown>) =>
      (s.iccid as string) ?? Object.keys((s.profiles as Record<string, unknown>) ?? {})[0];
    const [kept, ended, held] = [await control.createSim(), await control.createSim(), await control.createSim()];
    const adopt = (name: string, iccid: string, deletionPolicy: string) =>
      e2e.kube.request<EsimProfile>({
        method: "POST",
        path: resourcePath({ group: GROUP, version: VERSION, plural: "esimprofiles", namespace: cluster.namespace }),
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: "EsimProfile",
          metadata: { name },
          spec: { iccid, deletionPolicy },
        },
      });
    const created = await adopt("gateway", iccidOf(kept), "Retain");
    expect(created.status).toEqual({ observedGeneration: 0 });
    await adopt("ghost", "8942310000000099990", "Retain");
    await adopt("ended", iccidOf(ended), "Terminate");
    await adopt("held", iccidOf(held), "Terminate");

    const fresh = await e2e.profile("gateway");
    expect(fresh.status).toEqual({ observedGeneration: 0 });
    const { k } = judge("freshly applied", fresh, { kstatus: "InProgress", argocd: "Progressing" });
    expect(k.message).toBe("EsimProfile generation is 1, but latest observed generation is 0");

    // A termination budget of 0: a deletion under Terminate waits for a person.
    const ctl = await e2e.controller(sim, { args: ["--termination-budget", "0"] });
    const ready = await profileWhere("gateway", "Ready", (p) => isTrue(p, "Ready"));
    judge("Ready (SIM found, in its declared state)", ready, { kstatus: "Current", argocd: "Healthy" });

    const ghost = await profileWhere("ghost", "Stalled", (p) => isTrue(p, "Stalled"));
    judge("SIM not found", ghost, { kstatus: "Failed", argocd: "Degraded", reason: "SimNotFound" });

    await profileWhere("held", "managed", (p) => isTrue(p, "Ready"));
    await e2e.deleteProfile("held");
    const paused = await profileWhere("held", "TerminationsPaused", (p) => isTrue(p, "TerminationsPaused"));
    judge("deleting, termination paused by the budget", paused, {
      kstatus: "Terminating",
      argocd: "Progressing",
      argocd36: "Suspended",
      reason: "TerminationBudgetExhausted",
    });

    await profileWhere("ended", "managed", (p) => isTrue(p, "Ready"));
    await ctl.stop();
    await e2e.deleteProfile("ended");
    const deleting = await profileWhere("ended", "deletionTimestamp", (p) => !!p.metadata.deletionTimestamp);
    judge("deleting (finalizer held)", deleting, {
      kstatus: "Terminating",
      argocd: "Progressing",
      argocd36: "Progressing",
      reason: "Deleting",
    });
  });
});
