import { describe, expect, it } from "vitest";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { resourcePath } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";
import { eventually, reconciledAfterTouches } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";

const cluster = useCluster();
const e2e = useE2E(cluster);

type SimRecord = {
  simId: string;
  status: string;
  speedClass?: string;
  groupId?: string;
  tags?: Record<string, string>;
  terminationEnabled?: boolean;
  profiles?: Record<string, unknown>;
};

async function simById(
  control: { state(): Promise<Record<string, unknown>> },
  simId: string,
): Promise<SimRecord | undefined> {
  const sims = (await control.state()).sims as Record<string, SimRecord> | SimRecord[] | undefined;
  const list = Array.isArray(sims) ? sims : Object.values(sims ?? {});
  return list.find((s) => s.simId === simId);
}

describe("EsimProfile lifecycle", () => {
  it("deleting a Terminate profile enables termination and terminates its SIM once each", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim);
    await e2e.applyOrder("small", { subscription: "planX3", quantity: 2 });
    const [p] = await eventually(
      async () => {
        const ps = await e2e.profiles();
        return ps.length === 2 && ps.every((x) => x.status?.simId && x.status.phase === "Registered") ? ps : undefined;
      },
      { timeoutMs: 60_000, what: "2 profiles" },
    );
    expect(p!.spec.deletionPolicy).toBe("Terminate");
    // Deleted once the order is Ready (both profiles recorded), so this tests deletion alone; a profile
    // deleted before that is not made again either, unless the controller restarted (docs/safety.md).
    await eventually(async () => condition(await e2e.order("small"), "Ready")?.status === "True", {
      timeoutMs: 30_000,
      what: "order Ready",
    });
    await control.clearCalls();
    await e2e.deleteProfile(p!.metadata.name);
    await eventually(async () => !(await e2e.profiles()).some((x) => x.metadata.name === p!.metadata.name), {
      timeoutMs: 30_000,
      what: "profile gone",
      explain: async () => {
        const left = (await e2e.profiles()).find((x) => x.metadata.name === p!.metadata.name);
        const calls = (await control.calls()).calls.map((c) => `${c.operation} ${c.status ?? ""}`);
        return JSON.stringify({
          recreated: left ? left.metadata.uid !== p!.metadata.uid : undefined,
          metadata: left && {
            deletionTimestamp: left.metadata.deletionTimestamp,
            finalizers: left.metadata.finalizers,
          },
          status: left?.status && { phase: left.status.phase, conditions: left.status.conditions },
          soracomCalls: calls,
        });
      },
    });
    const calls = (await control.calls()).calls.filter((c) => c.path.includes(p!.status!.simId!));
    expect(calls.filter((c) => c.operation === "enableSimTermination")).toHaveLength(1);
    expect(calls.filter((c) => c.operation === "terminateSim")).toHaveLength(1);
    expect((await simById(control, p!.status!.simId!))?.status).toBe("terminated");
    const events = await e2e.events();
    expect(events.some((e) => e.reason === "SimTerminated" && e.involvedObject?.name === p!.metadata.name)).toBe(true);
  });

  it("an adopted SIM is found by ICCID, its desired state applied and kept, and deleting it under Retain leaves the SIM alone", async () => {
    const { sim, control } = await e2e.simulator();
    const existing = await control.createSim({ subscription: "plan01s" });
    const iccid = (existing.iccid as string) ?? Object.keys((existing.profiles as Record<string, unknown>) ?? {})[0];
    const ctl = await e2e.controller(sim);
    await e2e.kube.request({
      method: "POST",
      path: resourcePath({ group: GROUP, version: VERSION, plural: "esimprofiles", namespace: cluster.namespace }),
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "EsimProfile",
        metadata: { name: "gateway-7" },
        spec: { iccid, sim: { status: "active", speedClass: "s1.fast", tags: { site: "osaka" }, groupId: "grp-1" } },
      },
    });
    const adopted = await eventually(
      async () => {
        const p = await e2e.profile("gateway-7");
        return condition(p, "Ready")?.status === "True" && p.status?.simStatus === "active" ? p : undefined;
      },
      { timeoutMs: 30_000, what: "adopted profile Ready and active" },
    );
    expect(adopted.status?.simId).toBe(existing.simId);
    expect(condition(adopted, "SimSynced")?.status).toBe("True");
    const simNow = await simById(control, existing.simId);
    expect(simNow).toMatchObject({ status: "active", speedClass: "s1.fast", groupId: "grp-1" });
    expect(simNow?.tags?.site).toBe("osaka");

    // Steady state: nothing more is called for it, however often it is reconciled (each touch is one).
    await control.clearCalls();
    await reconciledAfterTouches(ctl, "esimprofile", (v) =>
      e2e.kube.request({
        method: "PATCH",
        path: `${resourcePath({ group: GROUP, version: VERSION, plural: "esimprofiles", namespace: cluster.namespace })}/gateway-7`,
        contentType: "application/merge-patch+json",
        body: { metadata: { annotations: { "test.example/touch": v } } },
      }),
    );
    expect((await control.calls()).calls.filter((c) => c.path.includes(existing.simId))).toEqual([]);

    await e2e.deleteProfile("gateway-7");
    await eventually(async () => !(await e2e.profiles()).some((p) => p.metadata.name === "gateway-7"), {
      what: "adopted profile gone",
    });
    const calls = (await control.calls()).calls.filter((c) => c.path.includes(existing.simId));
    expect(calls.filter((c) => c.method !== "GET")).toEqual([]);
    expect((await simById(control, existing.simId))?.status).toBe("active");
  });
});
