import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EsimProfileOrder } from "../../controller/api/types.js";
import { ANNOTATIONS, DRAFT_LIFETIME_MS } from "../../controller/api/vocabulary.js";
import type { SoracomClient } from "../../controller/soracom/index.js";
import { useCluster } from "../support/cluster.js";
import { type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";
import { buildPlugin, condition, orderAtSimulator, runPlugin, Writer } from "./plugin-support.js";

// kubectl esim approve against a real apiserver: the drafts it shows are real simulator drafts, and
// the annotation it writes must name exactly those, merged with what was there.
const cluster = useCluster({ namespacePrefix: "plugin-approve" });
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

/** manualOrder makes two drafts at the simulator (2 + 1 profiles) and an order awaiting their approval. */
async function manualOrder(annotations: Record<string, string> = {}) {
  const req = { subscription: "planX3", speedClass: "s1.fast" };
  const a = await orderAtSimulator(client, control, { ...req, quantity: 2 }, false);
  const b = await orderAtSimulator(client, control, { ...req, quantity: 1 }, false);
  const ids = [a.order.profileOrderId, b.order.profileOrderId];
  const order = await writer.order(
    cluster.namespace,
    "sensors",
    { subscription: "planX3", speedClass: "s1.fast", quantity: 3, confirmation: "Manual", maxProfilesPerOrder: 2 },
    {
      phase: "Draft",
      totals: { drafts: 3 },
      pendingApproval: {
        profileOrderIds: ids,
        quantity: 3,
        expiresTime: new Date(a.order.orderedTime + DRAFT_LIFETIME_MS).toISOString(),
      },
      conditions: [
        condition("AwaitingConfirmation", "AwaitingApproval", `2 draft order(s) await approval: ${ids.join(", ")}.`),
      ],
    },
    annotations,
  );
  return { ids, order };
}

async function annotation(): Promise<string | undefined> {
  const o = (await cluster.custom.getNamespacedCustomObject({
    group: "esim.soracom-operator.io",
    version: "v1alpha1",
    namespace: cluster.namespace,
    plural: "esimprofileorders",
    name: "sensors",
  })) as EsimProfileOrder;
  return o.metadata.annotations?.[ANNOTATIONS.approveOrders];
}

const approve = (...args: string[]) =>
  runPlugin(["approve", "sensors", "-n", cluster.namespace, ...args], cluster.info.kubeconfigPath);

describe("kubectl esim approve", () => {
  it("shows what will be spent and annotates exactly the drafts shown", async () => {
    const { ids } = await manualOrder();
    const r = await approve("--yes");

    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `Approve 2 draft orders (3 profiles of planX3, speed class s1.fast): ${ids.join(", ")}\n`,
    );
    expect(r.stdout).toContain(`Approved: ${ANNOTATIONS.approveOrders}=${ids.join(",")}\n`);
    expect(await annotation()).toBe(ids.join(","));
    // Nothing was confirmed at Soracom by the plugin itself: that is the controller's job.
    for (const id of ids) expect((await client.getProfileOrder(id)).status).toBe("DRAFT");
  });

  it("keeps IDs already in the annotation and adds only the new ones", async () => {
    const { ids } = await manualOrder({ [ANNOTATIONS.approveOrders]: "20260101000000000" });
    const r = await approve("--yes");
    expect(r.code).toBe(0);
    expect(await annotation()).toBe(["20260101000000000", ...ids].join(","));
  });

  it("without a terminal and without --yes it refuses (exit 2) and changes nothing", async () => {
    await manualOrder();
    const r = await approve();
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("Approve 2 draft orders");
    expect(r.stderr).toContain("refusing to approve without --yes: stdin is not a terminal");
    expect(await annotation()).toBeUndefined();
  });

  it("--dry-run shows and changes nothing", async () => {
    await manualOrder();
    const r = await approve("--dry-run");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Dry run: nothing changed.");
    expect(await annotation()).toBeUndefined();
  });

  it("with nothing pending it says so and exits 0", async () => {
    await writer.order(cluster.namespace, "sensors", { subscription: "planX3", quantity: 1, confirmation: "Manual" });
    const r = await approve("--yes");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(`Nothing to approve: ${cluster.namespace}/sensors has no draft orders awaiting approval.\n`);
  });

  it("a user who may read but not patch orders is told which verb was refused (exit 1)", async () => {
    await manualOrder();
    await writer.grantReadWithoutSecrets(cluster.namespace, cluster.info.user.name, ["get", "list"]);
    const r = await runPlugin(
      ["approve", "sensors", "-n", cluster.namespace, "--yes"],
      cluster.info.userKubeconfigPath,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no permission to patch esimprofileorders in namespace "${cluster.namespace}"`);
    expect(await annotation()).toBeUndefined();
  });
});
