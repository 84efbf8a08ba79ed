import { describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import { useCluster } from "../support/cluster.js";
import { eventually, metricValue } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";

const cluster = useCluster();
const e2e = useE2E(cluster);

async function readyProfiles(name: string, n: number): Promise<EsimProfile[]> {
  await eventually(async () => condition(await e2e.order(name), "Ready")?.status === "True", {
    timeoutMs: 60_000,
    what: `${name} Ready`,
  });
  return eventually(
    async () => {
      const ps = (await e2e.profiles()).filter((p) => p.metadata.labels?.["esim.soracom-operator.io/order"] === name);
      return ps.length === n && ps.every((p) => p.status?.simId && p.status?.phase === "Registered") ? ps : undefined;
    },
    { what: `${n} profiles of ${name} registered` },
  );
}

const phaseOf = async (name: string) => (await e2e.profile(name)).status?.phase;

describe("what devices do shows in the profiles", () => {
  it("install, activation and deletion on the device show within one poll; Report keeps the SIM and says it still bills; steady state is one call per open order per poll", async () => {
    const { sim, control } = await e2e.simulator();
    const ctl = await e2e.controller(sim);
    await e2e.applyOrder("field", { subscription: "planX2", quantity: 25 });
    const [a, b, c] = await readyProfiles("field", 25);

    // Steady state: only listOrderedProfiles, one per open order (2 orders: 20 + 5) per poll.
    await control.clearCalls();
    await control.polls("listOrderedProfiles", 6); // three polls of each open order
    const steady = (await control.calls()).counts;
    const lists = steady.listOrderedProfiles ?? 0;
    expect(Object.keys(steady).filter((op) => op !== "listOrderedProfiles" && op !== "auth")).toEqual([]);
    expect(lists).toBeGreaterThanOrEqual(4);
    const perOrder: Record<string, number> = {};
    for (const x of (await control.calls()).calls) {
      if (x.operation === "listOrderedProfiles") perOrder[x.path] = (perOrder[x.path] ?? 0) + 1;
    }
    expect(Object.keys(perOrder)).toHaveLength(2);
    const [n1, n2] = Object.values(perOrder);
    expect(Math.abs((n1 ?? 0) - (n2 ?? 0))).toBeLessThanOrEqual(1);

    const t0 = Date.now();
    await control.send("POST", `/devices/${a!.status!.iccid}/events`, { event: "installed" });
    await control.send("POST", `/devices/${b!.status!.iccid}/events`, { event: "installed" });
    await control.send("POST", `/devices/${b!.status!.iccid}/events`, { event: "activated" });
    await control.send("POST", `/devices/${c!.status!.iccid}/events`, { event: "installed" });
    await control.send("POST", `/devices/${c!.status!.iccid}/events`, { event: "deleted" });
    await eventually(
      async () =>
        (await phaseOf(a!.metadata.name)) === "Installed" &&
        (await phaseOf(b!.metadata.name)) === "Activated" &&
        (await phaseOf(c!.metadata.name)) === "Deleted",
      { timeoutMs: 10_000, what: "phases Installed, Activated, Deleted" },
    );
    expect(Date.now() - t0).toBeLessThan(2_000 + 2_500); // one stable poll (2 s) plus the reconcile

    const deleted = await e2e.profile(c!.metadata.name);
    expect(condition(deleted, "DeletedOnDevice")).toMatchObject({
      status: "True",
      reason: "DeletedOnDeviceStillBilling",
    });
    expect(deleted.status?.installedTime).toBeTruthy();
    expect(
      (await e2e.events()).some((e) => e.reason === "DeletedOnDevice" && e.involvedObject?.name === c!.metadata.name),
    ).toBe(true);
    const order = await eventually(
      async () => {
        const o = await e2e.order("field");
        return o.status?.totals?.deletedOnDevice === 1 ? o : undefined;
      },
      { what: "order totals" },
    );
    expect(order.status?.totals).toMatchObject({ installed: 2, activated: 1, deletedOnDevice: 1, provisioned: 25 });
    await eventually(
      async () =>
        metricValue(await ctl.metrics(), "soracom_esim_profiles_deleted_on_device_billing", {
          namespace: cluster.namespace,
        }) === 1,
      { what: "billing metric" },
    );
    expect((await control.calls()).counts.terminateSim ?? 0).toBe(0);
  });

  it("Terminate terminates the SIM of a profile deleted on its device and keeps its slot; Replace terminates it and orders a replacement", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim);
    await e2e.applyOrder("term", { subscription: "planX2", quantity: 2, onDeviceDeletion: "Terminate" });
    await e2e.applyOrder("repl", { subscription: "planX2", quantity: 2, onDeviceDeletion: "Replace" });
    const [t1] = await readyProfiles("term", 2);
    const [r1] = await readyProfiles("repl", 2);
    const createsBefore = (await control.calls()).counts.createProfileOrder;
    expect(createsBefore).toBe(2);

    for (const p of [t1!, r1!]) {
      await control.send("POST", `/devices/${p.status!.iccid}/events`, { event: "installed" });
      await control.send("POST", `/devices/${p.status!.iccid}/events`, { event: "deleted" });
    }
    await eventually(async () => (await phaseOf(t1!.metadata.name)) === "Terminated", {
      timeoutMs: 30_000,
      what: "Terminate: SIM terminated, resource kept",
    });
    await eventually(async () => !(await e2e.profiles()).some((p) => p.metadata.name === r1!.metadata.name), {
      timeoutMs: 30_000,
      what: "Replace: resource deleted",
    });
    const replaced = await eventually(
      async () => {
        const o = await e2e.order("repl");
        return o.status?.orders?.length === 2 && condition(o, "Ready")?.status === "True" ? o : undefined;
      },
      { timeoutMs: 60_000, what: "replacement ordered and provisioned" },
    );
    expect(replaced.status?.orders?.[1]?.quantity).toBe(1);

    const counts = (await control.calls()).counts;
    expect(counts.terminateSim).toBe(2);
    expect(counts.createProfileOrder).toBe(3); // two orders + exactly one replacement
    const term = await e2e.order("term");
    expect(term.status?.totals).toMatchObject({ terminated: 1, provisioned: 1 });
    expect(term.status?.orders).toHaveLength(1);
  });
});
