import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SoracomClient } from "../../controller/soracom/index.js";
import { useCluster } from "../support/cluster.js";
import { type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";
import {
  buildPlugin,
  orderAtSimulator,
  parseCsv,
  refresh,
  runPlugin,
  type SoracomOrder,
  Writer,
} from "./plugin-support.js";

// kubectl esim export against a real apiserver, with profiles whose every value comes from the
// simulator through the Soracom client, written to the cluster the way the controller writes them.
const cluster = useCluster({ namespacePrefix: "plugin-export" });
let sim: Simulator;
let control: SimControl;
let client: SoracomClient;
let writer: Writer;
let world: SoracomOrder;

beforeAll(async () => {
  await buildPlugin();
  ({ sim, control } = await startTestSimulator());
  client = testClient(sim);
  writer = new Writer(cluster);
  const ordered = await orderAtSimulator(client, control, {
    subscription: "planX3",
    quantity: 3,
    speedClass: "s1.fast",
  });
  // One profile installed on a device, so Installed Time and Profile Status differ between rows.
  const first = ordered.profiles[0]?.iccid;
  await control.send("POST", `/devices/${first}/events`, { event: "installed" });
  world = await refresh(client, ordered.order.profileOrderId);
});

afterAll(async () => {
  writer?.close();
  await sim?.close();
});

async function materialize(namespace: string, name = "sensors") {
  const order = await writer.order(
    namespace,
    name,
    { subscription: "planX3", speedClass: "s1.fast", quantity: 3 },
    { phase: "Completed", totals: { ordered: 3, provisioned: 3 } },
  );
  for (const p of world.profiles) await writer.profile(order, p, world.simIds.get(p.iccid) ?? "");
  return order;
}

/** consoleRows is what the console's CSV would hold for the simulator's profiles, sorted like the plugin. */
function consoleRows(): string[][] {
  // The controller stores Soracom's millisecond times as Kubernetes times: whole seconds, UTC.
  const iso = (ms: number | undefined) =>
    ms === undefined ? "" : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
  return [...world.profiles]
    .sort((a, b) => a.iccid.localeCompare(b.iccid))
    .map((p) => [
      world.simIds.get(p.iccid) ?? "",
      p.imsi,
      p.subscription ?? "",
      p.smdpAddress,
      p.matchingId,
      p.activationCode,
      p.profileStatus,
      iso(p.installedTime),
      iso(p.lastModifiedTime),
    ]);
}

const HEADER = [
  "SIM ID",
  "IMSI",
  "Subscription",
  "SM-DP",
  "Matching ID",
  "Activation Code",
  "Profile Status",
  "Installed Time",
  "Last Modified Time",
];

describe("kubectl esim export", () => {
  it("the CSV matches the simulator's data field for field", async () => {
    await materialize(cluster.namespace);
    const r = await runPlugin(["export", "sensors", "-n", cluster.namespace], cluster.info.kubeconfigPath);

    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(world.profiles).toHaveLength(3);
    expect(world.profiles.some((p) => p.installedTime !== undefined)).toBe(true);
    expect(parseCsv(r.stdout)).toEqual([HEADER, ...consoleRows()]);
    expect(r.stdout.endsWith("\r\n")).toBe(true);
  });

  it("--columns picks and orders columns by name; an unknown name exits 2 listing the valid ones", async () => {
    await materialize(cluster.namespace);
    const r = await runPlugin(
      ["export", "sensors", "-n", cluster.namespace, "--columns", "iccid,ACTIVATION CODE"],
      cluster.info.kubeconfigPath,
    );
    const want = [...world.profiles]
      .sort((a, b) => a.iccid.localeCompare(b.iccid))
      .map((p) => [p.iccid, p.activationCode]);
    expect(parseCsv(r.stdout)).toEqual([["ICCID", "Activation Code"], ...want]);

    const bad = await runPlugin(
      ["export", "-n", cluster.namespace, "--columns", "ICCID,EID"],
      cluster.info.kubeconfigPath,
    );
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain('unknown column "EID"; valid names: SIM ID, IMSI, Subscription, SM-DP');
  });

  it("-A exports every namespace; the Namespace column tells them apart", async () => {
    const other = `${cluster.namespace}-b`;
    await cluster.core.createNamespace({ body: { metadata: { name: other } } });
    await materialize(cluster.namespace, "alpha");
    await materialize(other, "beta");
    const r = await runPlugin(["export", "-A", "--columns", "Namespace,Profile,ICCID"], cluster.info.kubeconfigPath);
    const mine = parseCsv(r.stdout).filter((row) => row[0] === cluster.namespace || row[0] === other);

    expect(r.code).toBe(0);
    expect(mine.map((row) => row[0])).toEqual([...Array(3).fill(cluster.namespace), ...Array(3).fill(other)]);
    expect(mine.map((row) => row[1]?.split("-")[0])).toEqual([...Array(3).fill("alpha"), ...Array(3).fill("beta")]);
  });

  it("a user who may not read Secrets gets the other columns, exit 3, and a note naming each line", async () => {
    await materialize(cluster.namespace);
    await writer.grantReadWithoutSecrets(cluster.namespace, cluster.info.user.name);
    const r = await runPlugin(["export", "sensors", "-n", cluster.namespace], cluster.info.userKubeconfigPath);

    expect(r.code).toBe(3);
    const blanked = consoleRows().map((row) => [...row.slice(0, 3), "", "", "", ...row.slice(6)]);
    expect(parseCsv(r.stdout)).toEqual([HEADER, ...blanked]);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe("kubectl-esim: 3 of 3 rows have empty SM-DP, Matching ID and Activation Code cells:");
    for (const [i, p] of [...world.profiles].sort((a, b) => a.iccid.localeCompare(b.iccid)).entries()) {
      expect(lines[i + 1]).toContain(`line ${i + 2} (${cluster.namespace}/sensors-${p.iccid.toLowerCase()}):`);
      expect(lines[i + 1]).toContain(`no permission to get secrets in namespace "${cluster.namespace}"`);
    }
    expect(r.stderr).not.toContain("LPA:1$");
  });

  it("the same user may still export the columns that need no Secret, exit 0", async () => {
    await materialize(cluster.namespace);
    await writer.grantReadWithoutSecrets(cluster.namespace, cluster.info.user.name);
    const r = await runPlugin(
      ["export", "sensors", "-n", cluster.namespace, "--columns", "ICCID,Profile Status"],
      cluster.info.userKubeconfigPath,
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(parseCsv(r.stdout)).toHaveLength(4);
  });

  it("a user with no permission at all is told which verb on which resource was refused (exit 1)", async () => {
    const r = await runPlugin(["export", "-n", cluster.namespace], cluster.info.userKubeconfigPath);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`kubectl-esim: no permission to list esimprofiles in namespace "${cluster.namespace}"`);
  });

  it("an order that does not exist exits 4", async () => {
    const r = await runPlugin(["export", "nope", "-n", cluster.namespace], cluster.info.kubeconfigPath);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`kubectl-esim: EsimProfileOrder "nope" not found in namespace "${cluster.namespace}"\n`);
  });
});
