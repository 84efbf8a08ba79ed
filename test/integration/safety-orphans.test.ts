import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ORDER_FINALIZER } from "../../controller/api/vocabulary.js";
import { orderDescription, orderToken } from "../../controller/order/tokens.js";
import { useCluster } from "../support/cluster.js";
import { eventually, metricValue } from "../support/controller-process.js";
import { type Space, useSafety } from "../support/safety-harness.js";
import { isMutating } from "../support/safety-invariants.js";
import { useSafetySummary } from "../support/safety-summary.js";
import { testClient } from "../support/soracom-sim.js";

// Orphans: Soracom orders carrying this operator's token whose EsimProfileOrder is gone. The sweep runs
// at start and every --orphan-sweep-interval: a DRAFT orphan is cancelled (reported only in dry run), any
// other is reported and never confirmed; an order of a resource that exists (even one whose status does
// not list it yet), an order without the token, and an order of a namespace the controller does not
// watch are left alone.
const FILE = "safety-orphans";
const cluster = useCluster();
const h = useSafety(cluster, FILE);
useSafetySummary(FILE);

const SWEEP = ["--orphan-sweep-interval", "1s", "--soracom-requests-per-second", "200"];

/**
 * The world every orphan test starts from, built while no controller runs, in a namespace with a short
 * name: the description keeps namespace/name whole, so the resource that takes an orphan's name can be told.
 */
async function world(sp: Space) {
  // Confirmed orders stay CONFIRMED for the whole test: nothing moves unless the operator moves it.
  const { sim, control } = await h.simulator({ confirmDelayMs: 600_000 });
  const client = testClient(sim);
  const ns = sp.namespace;

  // 1. A resource whose finalizer was removed by hand while the controller was down: its DRAFT is an orphan.
  const first = await sp.spawn(sim, { args: SWEEP });
  await sp.applyOrder("gone", { subscription: "planX3", quantity: 5, confirmation: "Manual" });
  await eventually(async () => (await sp.order("gone")).status?.orders?.[0]?.status === "DRAFT", {
    what: "gone's draft",
  });
  await first.proc?.stop();
  await sp.patchOrder("gone", { metadata: { finalizers: null } });
  await h.kube.request({
    method: "DELETE",
    path: `/apis/esim.soracom-operator.io/v1alpha1/namespaces/${ns}/esimprofileorders/gone`,
  });
  const goneDraft = (await control.state()) as { orders: Array<{ profileOrderId: string }> };
  const goneDraftId = goneDraft.orders[0]!.profileOrderId;
  // Its name is taken again by a new resource (paused, so it orders nothing): it hears about the orphan.
  await sp.applyOrder("gone", { subscription: "planX3", quantity: 1, paused: true });

  // 2. A confirmed order of a resource that no longer exists: reported, never touched.
  const lost = await client.createProfileOrder({
    subscription: "planX3",
    quantity: 3,
    description: orderDescription(orderToken(randomUUID(), 1), ns, "deleted-long-ago"),
  });
  await client.confirmProfileOrder(lost.profileOrderId);

  // 3. An order of a resource that exists but whose status does not list it yet: the adoption path.
  const waiting = await sp.applyOrder("waiting", { subscription: "planX3", quantity: 2, paused: true });
  const adoptable = await client.createProfileOrder({
    subscription: "planX3",
    quantity: 2,
    description: orderDescription(orderToken(waiting.metadata.uid ?? "", 1), ns, "waiting"),
  });
  // 4. Someone's own order, and 5. an orphan of a namespace this controller does not watch.
  const manual = await client.createProfileOrder({ subscription: "planX3", quantity: 1, description: "lab spares" });
  const elsewhere = await client.createProfileOrder({
    subscription: "planX3",
    quantity: 1,
    description: orderDescription(orderToken(randomUUID(), 1), "another-team", "fleet"),
  });
  await client.close();
  return {
    sim,
    control,
    since: (await control.clock()).now,
    goneDraftId,
    lostId: lost.profileOrderId,
    untouched: [adoptable.profileOrderId, manual.profileOrderId, elsewhere.profileOrderId],
  };
}

async function statuses(control: { state(): Promise<Record<string, unknown>> }): Promise<Record<string, string>> {
  const s = (await control.state()) as { orders: Array<{ profileOrderId: string; status: string }> };
  return Object.fromEntries(s.orders.map((o) => [o.profileOrderId, o.status]));
}

describe("orphan orders", () => {
  it("the sweep cancels a DRAFT orphan, reports a confirmed one, and leaves adoption, foreign and unwatched orders alone", async () => {
    const started = Date.now();
    const sp = await h.lane("orphans");
    const w = await world(sp);
    const inc = await sp.spawn(w.sim, { args: SWEEP });
    await eventually(async () => !((w.goneDraftId in (await statuses(w.control))) as boolean), {
      what: "the DRAFT orphan cancelled",
    });
    const text = await eventually(
      async () => {
        const m = await inc.proc!.metrics();
        return metricValue(m, "soracom_esim_orphan_orders", { status: "CONFIRMED" }) === 1 ? m : undefined;
      },
      { what: "soracom_esim_orphan_orders{status=CONFIRMED} 1" },
    );
    expect(metricValue(text, "soracom_esim_orphan_orders", { status: "DRAFT" })).toBeUndefined();

    // A few more sweeps: nothing else is touched, the confirmed orphan is never confirmed or cancelled again.
    await w.control.polls("listProfileOrders", 3);
    const now = await statuses(w.control);
    expect(now[w.lostId]).toBe("CONFIRMED");
    for (const id of w.untouched) expect(now[id], `order ${id}`).toBe("DRAFT");
    const mutating = (await w.control.calls()).calls.filter((c) => c.at >= w.since && isMutating(c));
    expect(mutating.map((c) => `${c.operation} ${c.status}`)).toEqual(["deleteProfileOrder 204"]);

    const warnings = inc.proc!.logs.filter((l) => l.includes("no longer exists"));
    expect(warnings.some((l) => l.includes(w.goneDraftId) && l.includes("cancelled"))).toBe(true);
    expect(
      warnings.filter((l) => l.includes(w.lostId)),
      "one warning per orphan, not one per sweep",
    ).toHaveLength(1);
    expect(inc.proc!.logs.join("\n")).not.toContain("secret-simulator");
    await eventually(
      async () =>
        (await sp.events()).some(
          (e) => e.reason === "OrphanOrder" && e.involvedObject?.name === "gone" && e.message?.includes(w.goneDraftId),
        ),
      { what: "an OrphanOrder Event on the resource that took the name" },
    );
    expect((await sp.order("waiting")).metadata.finalizers ?? []).toContain(ORDER_FINALIZER);
    await sp.finish(w.control, "orphans: DRAFT cancelled, confirmed reported, others left alone", {
      started,
      faults: 2,
      invariants: { converged: [], ignore: ["waiting"] },
    });
  });

  it("in dry run a DRAFT orphan is only reported", async () => {
    const started = Date.now();
    const sp = await h.lane("orphans");
    const w = await world(sp);
    const inc = await sp.spawn(w.sim, { args: [...SWEEP, "--dry-run"] });
    await eventually(
      async () => metricValue(await inc.proc!.metrics(), "soracom_esim_orphan_orders", { status: "DRAFT" }) === 1,
      { what: "soracom_esim_orphan_orders{status=DRAFT} 1" },
    );
    await w.control.polls("listProfileOrders", 3); // more sweeps, each of which could have cancelled it
    expect((await statuses(w.control))[w.goneDraftId]).toBe("DRAFT");
    await sp.finish(w.control, "orphans in dry run: reported only", {
      started,
      faults: 2,
      dryRun: { since: w.since },
      invariants: { converged: [], ignore: ["waiting"] },
    });
  });
});
