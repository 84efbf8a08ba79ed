import { describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import { useCluster } from "../support/cluster.js";
import { eventually, metricValue } from "../support/controller-process.js";
import { condition, decodeQr, useE2E } from "../support/e2e.js";

const cluster = useCluster();
const e2e = useE2E(cluster);

const sorted = (xs: number[]) => [...xs].sort((a, b) => b - a);

describe("EsimProfileOrder end to end (real apiserver, simulator, controller process)", () => {
  it("quantity 45 becomes three orders (20, 20, 5), confirmed, and 45 profiles with activation Secrets whose QR decodes", async () => {
    const { sim, control } = await e2e.simulator();
    const ctl = await e2e.controller(sim);
    await e2e.applyOrder("fleet", { subscription: "planX3", quantity: 45 });

    const ready = await eventually(
      async () => {
        const o = await e2e.order("fleet");
        return condition(o, "Ready")?.status === "True" ? o : undefined;
      },
      { timeoutMs: 90_000, what: "order Ready" },
    );
    expect(sorted((ready.status?.orders ?? []).map((t) => t.quantity))).toEqual([20, 20, 5]);
    expect(ready.status?.orders?.every((t) => t.status === "COMPLETED" && t.confirmedTime)).toBe(true);
    expect(ready.status?.totals).toMatchObject({ ordered: 45, provisioned: 45 });
    expect(ready.status?.phase).toBe("Completed");
    expect(ready.status?.observedGeneration).toBe(ready.metadata.generation);

    const counts = (await control.calls()).counts;
    expect(counts.createProfileOrder).toBe(3);
    expect(counts.confirmProfileOrder).toBe(3);

    const profiles = await eventually(
      async () => {
        const ps = await e2e.profiles();
        return ps.length === 45 && ps.every((p) => p.status?.phase === "Registered" && p.status?.simId)
          ? ps
          : undefined;
      },
      { timeoutMs: 60_000, what: "45 profiles Registered with SIM IDs" },
    );
    const simState = (await control.state()) as {
      profiles?:
        | Record<string, { iccid: string; activationCode: string }>
        | Array<{ iccid: string; activationCode: string }>;
    };
    const simProfiles = Array.isArray(simState.profiles) ? simState.profiles : Object.values(simState.profiles ?? {});
    const codeByIccid = new Map(simProfiles.map((p) => [p.iccid, p.activationCode]));
    expect(codeByIccid.size).toBe(45);

    for (const p of profiles) {
      expect(p.status?.activationSecretRef?.name).toBe(`${p.metadata.name}-activation`);
      expect(JSON.stringify(p)).not.toContain("LPA:1$");
    }
    const secrets = (await cluster.core.listNamespacedSecret({ namespace: cluster.namespace })).items.filter((s) =>
      s.metadata?.name?.endsWith("-activation"),
    );
    expect(secrets).toHaveLength(45);
    for (const s of secrets) {
      const profile = profiles.find((p) => p.status?.activationSecretRef?.name === s.metadata?.name) as EsimProfile;
      const code = Buffer.from(s.data?.activationCode ?? "", "base64").toString();
      expect(code).toBe(codeByIccid.get(profile.status?.iccid ?? ""));
      expect(decodeQr(Buffer.from(s.data?.["qr.png"] ?? "", "base64"))).toBe(code);
      expect(s.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "EsimProfile", name: profile.metadata.name });
    }

    const wait = await e2e.kubectl(["wait", "--for=condition=Ready", "esimprofileorder/fleet", "--timeout=10s"]);
    expect(wait.code, wait.stderr).toBe(0);
    const columns = await e2e.kubectl(["get", "esimprofileorders"]);
    expect(columns.stdout).toMatch(
      /NAME\s+SUBSCRIPTION\s+DESIRED\s+PROVISIONED\s+ACTIVATED\s+PHASE\s+READY\s+REASON\s+AGE/,
    );
    expect(columns.stdout).toMatch(/fleet\s+planX3\s+45\s+45\s+0\s+Completed\s+True\s+Completed/);

    const metrics = await ctl.metrics();
    expect(
      metricValue(metrics, "controller_runtime_reconcile_total", {
        controller: "esimprofileorder",
        result: "requeue_after",
      }),
    ).toBeGreaterThan(0);
    expect(metricValue(metrics, "soracom_api_requests_total", { operation: "createProfileOrder", code: "201" })).toBe(
      3,
    );
    expect(metricValue(metrics, "soracom_esim_profiles_ordered_total", { namespace: cluster.namespace })).toBe(45);
    await eventually(
      async () =>
        metricValue(await ctl.metrics(), "soracom_esim_profiles", {
          namespace: cluster.namespace,
          phase: "Registered",
        }) === 45,
      { what: "profiles-by-phase gauge" },
    );
    // Bounded series: a COMPLETED order has no status series left (one per order in flight, not ever placed).
    const statusSeries = (m: string) =>
      m.split("\n").filter((l) => l.startsWith("soracom_esim_order_status_since_timestamp_seconds{")).length;
    const text = await eventually(
      async () => {
        const m = await ctl.metrics();
        return statusSeries(m) === 0 ? m : undefined;
      },
      {
        timeoutMs: 15_000,
        what: "no soracom_esim_order_status_since_timestamp_seconds series once the 3 orders are COMPLETED",
      },
    );
    expect(text).not.toContain("LPA:1$");

    // Every line the controller logged (debug level) is free of secrets: auth key, API keys, tokens,
    // activation codes, Matching IDs.
    const engineState = sim.engine.state;
    const secretValues = [
      "secret-simulator",
      ...engineState.tokens.flatMap((tk) => [tk.apiKey, tk.token]),
      ...Object.values(engineState.profiles).flatMap((p) => [`LPA:1$${p.smdpAddress}$${p.matchingId}`, p.matchingId]),
    ];
    expect(engineState.tokens.length).toBeGreaterThan(0);
    expect(secretValues.length).toBeGreaterThan(90);
    // Enough lines to mean something (one per Soracom call and more); fewer since SIMs are found in bulk.
    expect(ctl.logs.length).toBeGreaterThan(25);
    const logText = ctl.logs.join("\n");
    expect(secretValues.filter((s) => logText.includes(s))).toEqual([]);
    const eventText = JSON.stringify(await e2e.events());
    expect(secretValues.filter((s) => eventText.includes(s))).toEqual([]);
  });
});
