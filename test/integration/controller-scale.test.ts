import { describe, expect, it } from "vitest";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";

const cluster = useCluster();
const e2e = useE2E(cluster);

async function readyWith(name: string, check: (o: Awaited<ReturnType<typeof e2e.order>>) => boolean, what: string) {
  return eventually(
    async () => {
      const o = await e2e.order(name);
      return condition(o, "Ready")?.status === "True" &&
        o.status?.observedGeneration === o.metadata.generation &&
        check(o)
        ? o
        : undefined;
    },
    { timeoutMs: 90_000, what },
  );
}

describe("changing the quantity", () => {
  it("raising 45 to 50 orders exactly 5 more; lowering to 40 terminates nothing by default; the scale-down policy terminates 10 never-installed profiles", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim);
    await e2e.applyOrder("fleet", { subscription: "plan01s", quantity: 45 });
    await readyWith("fleet", (o) => o.status?.totals?.provisioned === 45, "45 provisioned");

    await e2e.patchOrder("fleet", { spec: { quantity: 50 } });
    const at50 = await readyWith("fleet", (o) => o.status?.totals?.provisioned === 50, "50 provisioned");
    expect((at50.status?.orders ?? []).map((t) => t.quantity)).toEqual([20, 20, 5, 5]);
    const creates = (await control.calls()).calls.filter((c) => c.operation === "createProfileOrder");
    expect(creates).toHaveLength(4);

    // Some profiles reach devices: they must never be picked by the scale-down policy.
    const profiles = await eventually(
      async () => {
        const ps = await e2e.profiles();
        return ps.length === 50 && ps.every((p) => p.status?.simId) ? ps : undefined;
      },
      { what: "50 profiles with SIM IDs" },
    );
    const installed = profiles.slice(0, 30).map((p) => p.status!.iccid!);
    for (const iccid of installed) await control.send("POST", `/devices/${iccid}/events`, { event: "installed" });
    await eventually(async () => (await e2e.order("fleet")).status?.totals?.installed === 30, { what: "30 installed" });

    await control.clearCalls();
    await e2e.patchOrder("fleet", { spec: { quantity: 40 } });
    const retained = await eventually(
      async () => {
        const o = await e2e.order("fleet");
        return o.status?.observedGeneration === o.metadata.generation &&
          condition(o, "ScaleDownBlocked")?.status === "True"
          ? o
          : undefined;
      },
      { what: "ScaleDownBlocked" },
    );
    expect(condition(retained, "ScaleDownBlocked")?.message).toContain(
      "10 profile(s) above the desired quantity are kept",
    );
    expect(retained.status?.totals?.surplus).toBe(10);
    await control.polls("listOrderedProfiles", 3); // a few polls: still nothing terminated
    expect((await control.calls()).counts.terminateSim ?? 0).toBe(0);
    expect(await e2e.profiles()).toHaveLength(50);

    await e2e.patchOrder("fleet", { spec: { scaleDownPolicy: "TerminateNeverInstalled" } });
    const after = await eventually(
      async () => {
        const ps = await e2e.profiles();
        return ps.length === 40 ? ps : undefined;
      },
      { timeoutMs: 60_000, what: "40 profiles left" },
    );
    const counts = (await control.calls()).counts;
    expect(counts.terminateSim).toBe(10);
    expect(counts.enableSimTermination).toBe(10);
    expect(counts.createProfileOrder ?? 0).toBe(0);
    const left = new Set(after.map((p) => p.status?.iccid));
    expect(installed.every((i) => left.has(i))).toBe(true);
    await readyWith(
      "fleet",
      (o) => o.status?.totals?.provisioned === 40 && (o.status?.totals?.surplus ?? 0) === 0,
      "40 provisioned, no surplus",
    );
  });
});
