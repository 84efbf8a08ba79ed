import { describe, expect, it, onTestFinished } from "vitest";
import { ANNOTATIONS } from "../../controller/api/vocabulary.js";
import { useCluster } from "../support/cluster.js";
import { eventually, metricValue } from "../support/controller-process.js";
import { condition, lendAccount, useE2E } from "../support/e2e.js";

const cluster = useCluster();
const e2e = useE2E(cluster);

type SimOrder = { profileOrderId: string; quantity: number; status: string; description?: string };
async function simOrders(control: { state(): Promise<Record<string, unknown>> }): Promise<SimOrder[]> {
  const orders = (await control.state()).orders as Record<string, SimOrder> | SimOrder[] | undefined;
  return Array.isArray(orders) ? orders : Object.values(orders ?? {});
}

describe("when things go wrong", () => {
  it("a FAILED order gives Stalled, an Event and a metric, and nothing more is ordered", async () => {
    const { sim, control } = await e2e.simulator({ inProgressDelayMs: 60_000 });
    const ctl = await e2e.controller(sim);
    await e2e.applyOrder("doomed", { subscription: "planX1", quantity: 3 });
    const id = await eventually(
      async () => {
        const t = (await e2e.order("doomed")).status?.orders?.[0];
        return t?.status === "IN_PROGRESS" ? t.profileOrderId : undefined;
      },
      { what: "order In Progress" },
    );
    await control.send("POST", `/orders/${id}/force`, { status: "FAILED" });
    const stalled = await eventually(
      async () => {
        const o = await e2e.order("doomed");
        return condition(o, "Stalled")?.status === "True" ? o : undefined;
      },
      { what: "Stalled" },
    );
    expect(condition(stalled, "Stalled")?.reason).toBe("OrderFailed");
    expect(stalled.status?.phase).toBe("Failed");
    expect(
      (await e2e.events()).some((e) => e.reason === "OrderFailed" && e.type === "Warning" && e.message?.includes(id!)),
    ).toBe(true);
    expect(metricValue(await ctl.metrics(), "soracom_esim_orders_failed_total", { namespace: cluster.namespace })).toBe(
      1,
    );
    expect(
      metricValue(await ctl.metrics(), "soracom_esim_order_status_since_timestamp_seconds", {
        profile_order_id: id!,
        status: "FAILED",
      }),
    ).toBeGreaterThan(0);
    expect((await control.calls()).counts.createProfileOrder).toBe(1);

    // Acknowledged: the series goes (the alert resolves) and ordering resumes for the missing profiles.
    await e2e.patchOrder("doomed", { metadata: { annotations: { [ANNOTATIONS.acknowledgeFailed]: id } } });
    await eventually(
      async () =>
        metricValue(await ctl.metrics(), "soracom_esim_order_status_since_timestamp_seconds", {
          profile_order_id: id!,
          status: "FAILED",
        }) === undefined,
      { what: "FAILED series dropped after acknowledgement" },
    );
    await eventually(async () => ((await control.calls()).counts.createProfileOrder ?? 0) === 2, {
      what: "a new order after acknowledgement",
    });
  });

  it("an order kept In Progress past the threshold shows in a condition and a metric", async () => {
    const { sim, control } = await e2e.simulator();
    const ctl = await e2e.controller(sim, { args: ["--in-progress-alert-after", "2s"] });
    await e2e.applyOrder("slow", { subscription: "planX1", quantity: 1 });
    const id = await eventually(async () => (await e2e.order("slow")).status?.orders?.[0]?.profileOrderId, {
      what: "order created",
    });
    await control.send("POST", `/orders/${id}/force`, { hold: true });
    const stuck = await eventually(
      async () => {
        const o = await e2e.order("slow");
        return condition(o, "OrderStuck")?.status === "True" ? o : undefined;
      },
      { timeoutMs: 30_000, what: "OrderStuck" },
    );
    expect(condition(stuck, "OrderStuck")?.reason).toBe("InProgressTooLong");
    const since = metricValue(await ctl.metrics(), "soracom_esim_order_status_since_timestamp_seconds", {
      profile_order_id: id!,
      status: "IN_PROGRESS",
    });
    expect(since).toBeGreaterThan(0);
    expect(Date.now() / 1000 - since!).toBeGreaterThan(2);
  });

  it("a missing or wrong credentials Secret gives Stalled with a clear reason, no crash, and recovers when fixed", async () => {
    const { sim, control } = await e2e.simulator();
    // The admin's account names a Secret of the operator's namespace (here the test's) that is not there yet.
    const account = await lendAccount(e2e.kube, { namespace: cluster.namespace, secret: "soracom", endpoint: sim.url });
    onTestFinished(account.remove);
    const ctl = await e2e.controller(sim, { credentials: null });
    await e2e.applyOrder("creds", { subscription: "planX1", quantity: 1, accountRef: { name: account.name } });
    const missing = await eventually(
      async () => {
        const o = await e2e.order("creds");
        return condition(o, "Stalled")?.status === "True" ? o : undefined;
      },
      { what: "Stalled CredentialsNotFound" },
    );
    expect(condition(missing, "Stalled")).toMatchObject({ reason: "CredentialsNotFound" });
    expect(condition(missing, "Stalled")?.message).toContain(`${cluster.namespace}/soracom does not exist`);

    await cluster.core.createNamespacedSecret({
      namespace: cluster.namespace,
      body: {
        metadata: { name: "soracom" },
        stringData: { authKeyId: "keyId-simulator", authKey: "secret-wrong-7c1e" },
      },
    });
    const wrong = await eventually(
      async () => {
        const o = await e2e.order("creds");
        return condition(o, "Stalled")?.reason === "CredentialsInvalid" ? o : undefined;
      },
      { timeoutMs: 60_000, what: "Stalled CredentialsInvalid" },
    );
    // The refused key appears nowhere (the account's name, in status.account, is the test's title).
    expect(JSON.stringify(wrong.status)).not.toContain("secret-wrong-7c1e");
    expect((await fetch(`${ctl.url}/healthz`)).status).toBe(200);
    expect((await control.calls()).counts.createProfileOrder ?? 0).toBe(0);

    await cluster.core.patchNamespacedSecret({
      namespace: cluster.namespace,
      name: "soracom",
      body: [{ op: "replace", path: "/data/authKey", value: Buffer.from("secret-simulator").toString("base64") }],
    });
    await eventually(async () => condition(await e2e.order("creds"), "Ready")?.status === "True", {
      timeoutMs: 90_000,
      what: "Ready after the Secret is fixed",
    });
    expect(ctl.child.exitCode).toBeNull();
  });

  it("a controller killed in the middle of an order converges after restart with no duplicate order", async () => {
    const { sim, control } = await e2e.simulator({ listVisibilityDelayMs: 1_000 });
    const first = await e2e.controller(sim);
    const order = await e2e.applyOrder("crash", { subscription: "planX3", quantity: 45 });
    await eventually(async () => ((await control.calls()).counts.createProfileOrder ?? 0) >= 2, {
      what: "orders being created",
    });
    await first.kill();
    await e2e.controller(sim);
    const done = await eventually(
      async () => {
        const o = await e2e.order("crash");
        return condition(o, "Ready")?.status === "True" ? o : undefined;
      },
      { timeoutMs: 90_000, what: "Ready after restart" },
    );
    const mine = (await simOrders(control)).filter((o) => o.description?.includes(order.metadata.uid!));
    expect(mine.map((o) => o.quantity).sort((a, b) => b - a)).toEqual([20, 20, 5]);
    expect(new Set(mine.map((o) => o.description?.split(" ")[0])).size).toBe(3);
    expect(done.status?.orders?.map((t) => t.profileOrderId).sort()).toEqual(mine.map((o) => o.profileOrderId).sort());
    expect(done.status?.totals?.provisioned).toBe(45);
  });
});
