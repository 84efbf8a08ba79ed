import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import type { OrderSummary } from "../../plugin/status-view.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { condition, decodeQr, useE2E } from "../support/e2e.js";
import { testClient } from "../support/soracom-sim.js";
import { buildAll, parseCsv, refresh, runPlugin } from "./plugin-support.js";

// The plugin against resources the real controller made from the simulator: no hand-written status.
const cluster = useCluster({ namespacePrefix: "plugin-controller" });
const e2e = useE2E(cluster);

beforeAll(async () => {
  await buildAll();
});

const esim = (...args: string[]) => runPlugin([...args, "-n", cluster.namespace], cluster.info.kubeconfigPath);

const provisioned = (n: number) => async () => {
  const profiles = await e2e.profiles();
  const ready = profiles.filter((p) => p.status?.simId && p.status.activationSecretRef?.name);
  return ready.length === n ? ready : undefined;
};

describe("kubectl esim with the real controller", () => {
  it("export matches the simulator field for field, and the QR code decodes to the activation code", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim);
    await e2e.applyOrder("sensors", { subscription: "planX3", speedClass: "s1.fast", quantity: 3 });
    const [first] = await eventually(provisioned(3), { what: "3 provisioned profiles" });
    await control.send("POST", `/devices/${first?.status?.iccid}/events`, { event: "installed" });
    await eventually(
      async () => (await e2e.profiles()).find((p) => p.status?.profileStatus === "INSTALLATION_SUCCEEDED"),
      { what: "the installation seen by the controller" },
    );

    const profileOrderId = first?.status?.profileOrderId ?? "";
    const world = await refresh(testClient(sim), profileOrderId);
    const time = (ms: number | undefined) =>
      ms === undefined ? "" : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
    const want = [...world.profiles]
      .sort((a, b) => a.iccid.localeCompare(b.iccid))
      .map((p) => [
        world.simIds.get(p.iccid) ?? "",
        p.imsi,
        p.subscription ?? "",
        p.smdpAddress,
        p.matchingId,
        p.activationCode,
        p.profileStatus,
        time(p.installedTime),
        time(p.lastModifiedTime),
      ]);
    const r = await esim("export", "sensors");
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(parseCsv(r.stdout).slice(1)).toEqual(want);
    expect(want.some((row) => row[6] === "INSTALLATION_SUCCEEDED" && row[7] !== "")).toBe(true);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plugin-controller-"));
    try {
      const target = world.profiles[0];
      const name = `sensors-${target?.iccid.toLowerCase()}`;
      const file = path.join(dir, "qr.png");
      expect((await esim("qr", name, "--png", file)).code).toBe(0);
      expect(decodeQr(fs.readFileSync(file))).toBe(target?.activationCode);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("approve confirms exactly the drafts it showed, and no other order's", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim);
    await e2e.applyOrder("bench", {
      subscription: "planX1",
      quantity: 3,
      maxProfilesPerOrder: 2,
      confirmation: "Manual",
    });
    await e2e.applyOrder("other", { subscription: "planX1", quantity: 1, confirmation: "Manual" });
    const pending = await eventually(
      async () => {
        const o = await e2e.order("bench");
        return o.status?.pendingApproval?.profileOrderIds?.length === 2 ? o.status.pendingApproval : undefined;
      },
      { what: "two drafts awaiting approval" },
    );
    const otherDraft = await eventually(
      async () => (await e2e.order("other")).status?.pendingApproval?.profileOrderIds?.[0],
      {
        what: "the other order's draft",
      },
    );

    const before = await esim("status", "bench");
    expect(before.stdout).toContain("WARNING AwaitingConfirmation/AwaitingApproval:");

    const r = await esim("approve", "bench", "--yes");
    expect(r.code).toBe(0);
    const shown = /: ([^\n]+)\n/.exec(r.stdout)?.[1]?.split(", ") ?? [];
    expect(r.stdout).toMatch(/^Approve 2 draft orders \(3 profiles of planX1\): /);
    expect(shown.sort()).toEqual([...(pending.profileOrderIds ?? [])].sort());

    await eventually(async () => condition(await e2e.order("bench"), "Ready")?.status === "True", {
      what: "bench Ready",
    });
    const confirmed = (await control.calls()).calls
      .filter((c) => c.operation === "confirmProfileOrder")
      .map((c) => c.path.split("/")[3]);
    expect(confirmed.sort()).toEqual(shown.sort());
    expect((await testClient(sim).getProfileOrder(otherDraft)).status).toBe("DRAFT");
  });

  it("status flags what the controller reports: a profile deleted on its device, and bad credentials", async () => {
    const { sim, control } = await e2e.simulator();
    await e2e.controller(sim);
    await e2e.applyOrder("devices", { subscription: "planX3", quantity: 1 });
    await e2e.applyOrder("locked", { subscription: "planX3", quantity: 1, credentialsRef: { name: "no-such-secret" } });
    const [p] = (await eventually(provisioned(1), { what: "a provisioned profile" })) as EsimProfile[];
    await control.send("POST", `/devices/${p?.status?.iccid}/events`, { event: "deleted" });
    await eventually(
      async () => condition(await e2e.profile(p?.metadata.name ?? ""), "DeletedOnDevice")?.status === "True",
      {
        what: "DeletedOnDevice on the profile",
      },
    );
    await eventually(async () => condition(await e2e.order("locked"), "Stalled")?.status === "True", {
      what: "the order with missing credentials Stalled",
    });

    const r = await esim("status", "-o", "json");
    expect(r.code).toBe(0);
    const orders = (JSON.parse(r.stdout) as { orders: OrderSummary[] }).orders;
    const devices = orders.find((o) => o.name === "devices");
    expect(devices?.warnings.map((w) => w.type)).toContain("DeletedOnDevice");
    expect(devices?.warnings.find((w) => w.type === "DeletedOnDevice")?.message).toContain(
      `1 profile(s) deleted on the device (${p?.metadata.name}): still billing`,
    );
    const locked = orders.find((o) => o.name === "locked");
    expect(locked?.warnings[0]).toMatchObject({ type: "Stalled", reason: "CredentialsNotFound", severity: "error" });
  });
});
