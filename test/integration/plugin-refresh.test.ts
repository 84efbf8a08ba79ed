import { beforeAll, describe, expect, it } from "vitest";
import { ANNOTATIONS } from "../../controller/api/vocabulary.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";
import { testClient } from "../support/soracom-sim.js";
import { buildAll, runPlugin } from "./plugin-support.js";

// kubectl esim refresh against the real controller and the simulator: a poll now, judged from the
// simulator's call log. The stable poll is 10 minutes here, so anything seen sooner came from the refresh.
const cluster = useCluster({ namespacePrefix: "plugin-refresh" });
const e2e = useE2E(cluster);

beforeAll(async () => {
  await buildAll();
});

const esim = (...args: string[]) => runPlugin([...args, "-n", cluster.namespace], cluster.info.kubeconfigPath);
const SLOW = ["--poll-interval-stable", "10m"];
/** What a refresh may cause: reads. Anything else (a create, confirm, terminate, delete, SIM update) fails. */
const READS = new Set(["auth", "listOrderedProfiles", "getProfileOrder", "listProfileOrders", "getSim", "searchSims"]);
const notReads = (counts: Record<string, number>) => Object.keys(counts).filter((op) => !READS.has(op));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("kubectl esim refresh", () => {
  it("shows a device event at once instead of at the next stable poll, polls once per value, and only reads", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim, { args: SLOW });
    await e2e.applyOrder("field", { subscription: "planX3", quantity: 1 });
    await eventually(async () => condition(await e2e.order("field"), "Ready")?.status === "True", {
      timeoutMs: 60_000,
      what: "field Ready",
    });
    const [profile] = await eventually(
      async () => {
        const ps = await e2e.profiles();
        return ps.length === 1 && ps[0]?.status?.iccid ? ps : undefined;
      },
      { what: "its profile" },
    );
    const name = profile?.metadata.name ?? "";
    await sleep(1_000); // the order's last reads of its materializing round are done
    await control.clearCalls();
    await control.send("POST", `/devices/${profile?.status?.iccid}/events`, { event: "deleted" });
    await sleep(2_000);
    expect((await e2e.profile(name)).status?.phase).not.toBe("Deleted"); // the stable poll is 10 minutes away

    const r = await esim("refresh", name);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    await eventually(async () => (await e2e.profile(name)).status?.phase === "Deleted", {
      timeoutMs: 10_000,
      what: "the deletion on the device seen after the refresh",
    });
    const order = await eventually(
      async () => {
        const o = await e2e.order("field");
        const asked = o.metadata.annotations?.[ANNOTATIONS.requestedAt];
        return asked && o.status?.lastHandledRequestedAt === asked ? o : undefined;
      },
      { what: "status.lastHandledRequestedAt" },
    );
    expect(
      (await e2e.events()).some((e) => e.reason === "RefreshRequested" && e.involvedObject?.name === "field"),
    ).toBe(true);
    const afterRefresh = (await control.calls()).counts;
    expect(afterRefresh.listOrderedProfiles ?? 0).toBeGreaterThanOrEqual(1);

    // The same value again (the order reconciled for another reason) asks nothing more.
    await e2e.patchOrder("field", { metadata: { labels: { touched: "yes" } } });
    await sleep(3_000);
    const later = (await control.calls()).counts;
    expect(later.listOrderedProfiles ?? 0).toBe(afterRefresh.listOrderedProfiles ?? 0);
    expect(notReads(later)).toEqual([]);
    expect(order.status?.lastHandledRequestedAt).toBe(order.metadata.annotations?.[ANNOTATIONS.requestedAt]);
  });

  it("a refresh of an order awaiting approval confirms nothing", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim, { args: SLOW });
    await e2e.applyOrder("bench", { subscription: "planX1", quantity: 2, confirmation: "Manual" });
    const draft = await eventually(
      async () => (await e2e.order("bench")).status?.pendingApproval?.profileOrderIds?.[0],
      { what: "a draft awaiting approval" },
    );
    await control.clearCalls();
    expect((await esim("refresh", "bench")).code).toBe(0);
    await eventually(
      async () => {
        const o = await e2e.order("bench");
        return o.status?.lastHandledRequestedAt === o.metadata.annotations?.[ANNOTATIONS.requestedAt];
      },
      { what: "the refresh handled" },
    );
    await sleep(2_000);
    const counts = (await control.calls()).counts;
    expect(notReads(counts)).toEqual([]);
    expect((await testClient(sim).getProfileOrder(draft)).status).toBe("DRAFT");
    expect((await e2e.order("bench")).status?.pendingApproval?.profileOrderIds).toEqual([draft]);
  });
});
