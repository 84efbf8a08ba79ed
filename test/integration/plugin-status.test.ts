import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EsimProfileOrderStatus } from "../../controller/api/types.js";
import { ANNOTATIONS, DRAFT_LIFETIME_MS } from "../../controller/api/vocabulary.js";
import type { OrderedProfile, SoracomClient } from "../../controller/soracom/index.js";
import type { OrderSummary } from "../../plugin/status-view.js";
import { useCluster } from "../support/cluster.js";
import { type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";
import { buildPlugin, condition, orderAtSimulator, refresh, runPlugin, Writer } from "./plugin-support.js";

// kubectl esim status against a real apiserver: every warning case, each built from a situation
// produced at the simulator (a FAILED order, one held IN_PROGRESS, an old draft, a profile the
// device deleted), with the status written the way the controller writes it.
const cluster = useCluster({ namespacePrefix: "plugin-status" });
let sim: Simulator;
let control: SimControl;
let client: SoracomClient;
let writer: Writer;

beforeAll(async () => {
  await buildPlugin();
  ({ sim, control } = await startTestSimulator());
  client = testClient(sim);
  writer = new Writer(cluster);
});

afterAll(async () => {
  writer?.close();
  await sim?.close();
});

const spec = { subscription: "planX3" as const, quantity: 2 };
const tracked = (id: string, status: string, quantity = 2) => ({
  sequence: 1,
  token: `tok-${id}`,
  profileOrderId: id,
  quantity,
  status,
});

/** situations writes one order per warning case into the test's namespace. */
async function situations(ns: string): Promise<void> {
  // A Soracom order that FAILED: the order is Stalled until someone acknowledges it.
  const failed = await orderAtSimulator(client, control, { subscription: "planX3", quantity: 2 }, false);
  await client.confirmProfileOrder(failed.order.profileOrderId);
  await control.send("POST", `/orders/${failed.order.profileOrderId}/force`, { status: "FAILED" });
  const failedNow = await client.getProfileOrder(failed.order.profileOrderId);
  await writer.order(ns, "failed", spec, {
    phase: "Failed",
    orders: [tracked(failedNow.profileOrderId, failedNow.status)],
    conditions: [
      condition(
        "Stalled",
        "OrderFailed",
        `Soracom order ${failedNow.profileOrderId} FAILED; no new order is created until a person acknowledges it: kubectl esim ack failed (the annotation ${ANNOTATIONS.acknowledgeFailed}=${failedNow.profileOrderId}).`,
      ),
    ],
  });

  // The spend budget and bad credentials stall an order before anything is ordered.
  await writer.order(ns, "budget", spec, {
    phase: "Stalled",
    conditions: [condition("Stalled", "BudgetExceeded", "The spend budget of 100 profiles per 24h is used up.")],
  });
  await writer.order(ns, "credentials", spec, {
    phase: "Stalled",
    conditions: [condition("Stalled", "CredentialsInvalid", 'Soracom rejected the credentials in Secret "soracom".')],
  });

  // An order held IN_PROGRESS for more than a day of simulated time.
  const stuck = await orderAtSimulator(client, control, { subscription: "planX3", quantity: 2 }, false);
  await client.confirmProfileOrder(stuck.order.profileOrderId);
  await control.send("POST", `/orders/${stuck.order.profileOrderId}/force`, { hold: true });
  await control.advance(25 * 3600_000);
  const stuckNow = await client.getProfileOrder(stuck.order.profileOrderId);
  await writer.order(ns, "stuck", spec, {
    phase: "In Progress",
    orders: [tracked(stuckNow.profileOrderId, stuckNow.status)],
    conditions: [
      condition(
        "OrderStuck",
        "InProgressTooLong",
        `Soracom order(s) ${stuckNow.profileOrderId} have been In Progress for more than 24h.`,
      ),
    ],
  });

  // A draft 23 h old: it awaits approval and expires within the hour.
  const draft = await orderAtSimulator(client, control, { subscription: "planX3", quantity: 2 }, false);
  const { now } = await control.clock();
  await control.advance(23 * 3600_000);
  const expires = new Date(Date.now() + (draft.order.orderedTime + DRAFT_LIFETIME_MS - (now + 23 * 3600_000)));
  await writer.order(
    ns,
    "expiring",
    { ...spec, confirmation: "Manual" },
    {
      phase: "Draft",
      orders: [tracked(draft.order.profileOrderId, "DRAFT")],
      totals: { drafts: 2 },
      pendingApproval: {
        profileOrderIds: [draft.order.profileOrderId],
        quantity: 2,
        expiresTime: expires.toISOString(),
      },
      conditions: [
        condition(
          "AwaitingConfirmation",
          "AwaitingApproval",
          `1 draft order(s) (2 profiles of planX3) await approval: ${draft.order.profileOrderId}.`,
        ),
        condition(
          "DraftExpiring",
          "DraftExpiresSoon",
          `Draft order(s) ${draft.order.profileOrderId} expire at Soracom within 120 minutes unless approved.`,
        ),
      ],
    },
  );

  // Completed profiles: the device deleted one (still billing); another waits for the termination budget.
  const done = await orderAtSimulator(client, control, { subscription: "planX3", quantity: 2 });
  const [gone, waiting] = done.profiles as [OrderedProfile, OrderedProfile];
  await control.send("POST", `/devices/${gone.iccid}/events`, { event: "deleted" });
  const after = await refresh(client, done.order.profileOrderId);
  const order = await writer.order(ns, "devices", spec, {
    phase: "Completed",
    orders: [tracked(done.order.profileOrderId, "COMPLETED")],
    totals: { ordered: 2, provisioned: 2, installed: 1, deletedOnDevice: 1 },
  });
  const goneNow = after.profiles.find((p) => p.iccid === gone.iccid) as OrderedProfile;
  await writer.profile(order, goneNow, after.simIds.get(gone.iccid) ?? "", {
    phase: "Deleted",
    conditions: [condition("DeletedOnDevice", "DeletedOnDeviceStillBilling", "The device deleted this profile.")],
  });
  await writer.profile(order, waiting, after.simIds.get(waiting.iccid) ?? "", {
    conditions: [
      condition("TerminationsPaused", "TerminationBudgetExhausted", "Terminations are paused: the budget is used up."),
    ],
  });

  // A healthy order, for contrast.
  await writer.order(ns, "healthy", spec, {
    phase: "Completed",
    totals: { ordered: 2, provisioned: 2, installed: 2, activated: 1 },
    conditions: [condition("Ready", "Completed", "All 2 profiles provisioned.")],
  });
}

describe("kubectl esim status", () => {
  it("flags each warning case, per order, in JSON and in the table", async () => {
    await situations(cluster.namespace);
    const r = await runPlugin(["status", "-n", cluster.namespace, "-o", "json"], cluster.info.kubeconfigPath);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const orders = (JSON.parse(r.stdout) as { orders: OrderSummary[] }).orders;
    const flags = Object.fromEntries(orders.map((o) => [o.name, o.warnings.map((w) => `${w.type}/${w.reason}`)]));

    expect(flags).toEqual({
      budget: ["Stalled/BudgetExceeded"],
      credentials: ["Stalled/CredentialsInvalid"],
      devices: ["DeletedOnDevice/DeletedOnDeviceStillBilling", "TerminationsPaused/TerminationBudgetExhausted"],
      expiring: ["DraftExpiring/DraftExpiresSoon", "AwaitingConfirmation/AwaitingApproval"],
      failed: ["Stalled/OrderFailed"],
      healthy: [],
      stuck: ["OrderStuck/InProgressTooLong"],
    });
    const devices = orders.find((o) => o.name === "devices");
    expect(devices?.warnings[0]?.message).toContain("1 profile(s) deleted on the device");
    expect(devices?.warnings[0]?.message).toContain("still billing");
    const expiring = orders.find((o) => o.name === "expiring");
    expect(expiring?.warnings[0]?.message).toMatch(/\(expires in (59m|1h 0m)\)$/);
    expect(expiring?.warnings[1]?.message).toContain(`Run: kubectl esim approve expiring -n ${cluster.namespace}`);

    const table = await runPlugin(["status", "-n", cluster.namespace], cluster.info.kubeconfigPath);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("  ERROR   Stalled/OrderFailed: Soracom order");
    expect(table.stdout).toContain("  WARNING OrderStuck/InProgressTooLong:");
    expect(table.stdout).toContain("ACTIVATED      1  [##########..........]  50%");
  });

  it("one order by name; yaml output; an unknown order exits 4", async () => {
    await writer.order(
      cluster.namespace,
      "solo",
      { subscription: "planX1", quantity: 4 },
      {
        phase: "In Progress",
        totals: { ordered: 4, provisioned: 2 } satisfies EsimProfileOrderStatus["totals"],
      },
    );
    const yaml = await runPlugin(
      ["status", "solo", "-n", cluster.namespace, "-o", "yaml"],
      cluster.info.kubeconfigPath,
    );
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toContain("  - namespace: ");
    expect(yaml.stdout).toContain("    provisioned: 2\n");

    const missing = await runPlugin(["status", "nope", "-n", cluster.namespace], cluster.info.kubeconfigPath);
    expect(missing.code).toBe(4);
  });

  it("someone who may read orders but not profiles still gets the orders, with a note", async () => {
    await writer.order(cluster.namespace, "solo", { subscription: "planX1", quantity: 1 });
    const ns = cluster.namespace;
    await cluster.rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "orders-only" },
        rules: [{ apiGroups: ["esim.soracom-operator.io"], resources: ["esimprofileorders"], verbs: ["get", "list"] }],
      },
    });
    await cluster.rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "orders-only" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "orders-only" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: cluster.info.user.name }],
      },
    });
    const r = await runPlugin(["status", "-n", ns], cluster.info.userKubeconfigPath);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ORDER        solo");
    expect(r.stderr).toContain(`profile warnings left out: no permission to list esimprofiles in namespace "${ns}"`);
  });
});
