import { afterEach, describe, expect, it } from "vitest";
import { Informer } from "../../controller/kube/informer.js";
import type { KubeObject } from "../../controller/kube/object.js";
import { KubeClient } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { useE2E } from "../support/e2e.js";

/**
 * Activation Secrets are cached as metadata only (PartialObjectMetadata): the controller knows they
 * exist and whose they are, never their activation codes, and does not parse them at 10,000 Secrets.
 */

const cluster = useCluster();
const e2e = useE2E(cluster);
const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe("activation Secrets cached as metadata only", () => {
  it("a metadata-only informer sees a Secret's name, labels and deletion, and none of its data", async () => {
    const namespace = cluster.namespace;
    const labels = { "esim.soracom-operator.io/profile": "p1" };
    await cluster.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: "p1-activation", labels },
        data: { activationCode: Buffer.from("LPA:1$x$y").toString("base64") },
      },
    });
    const client = new KubeClient(cluster.kc);
    const informer = new Informer<KubeObject>({
      client,
      resource: { group: "", version: "v1", plural: "secrets", namespace },
      metadataOnly: true,
    });
    const deleted: string[] = [];
    informer.addHandler({ delete: (o) => deleted.push(o.metadata.name) });
    informer.start();
    stops.push(
      () => informer.stop(),
      () => client.close(),
    );
    expect(await informer.waitForSync(30_000)).toBe(true);

    const cached = informer.get(namespace, "p1-activation");
    expect(cached?.metadata.labels).toEqual(labels);
    expect(cached?.kind).toBe("PartialObjectMetadata");
    expect(JSON.stringify(cached)).not.toContain("activationCode");
    expect(JSON.stringify(cached)).not.toContain(Buffer.from("LPA:1$x$y").toString("base64"));

    await cluster.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: "p2-activation" }, data: { k: "dg==" } },
    });
    await eventually(async () => informer.get(namespace, "p2-activation")?.metadata.name === "p2-activation", {
      what: "the watched add",
    });
    expect(JSON.stringify(informer.get(namespace, "p2-activation"))).not.toContain("dg==");
    await cluster.core.deleteNamespacedSecret({ namespace, name: "p1-activation" });
    await eventually(async () => deleted.includes("p1-activation"), { what: "the watched delete" });
  });

  it("watching activation Secrets (--watch-activation-secrets), the controller rebuilds a deleted one from Soracom's list", async () => {
    const { sim } = await e2e.simulator();
    await e2e.controller(sim, { args: ["--watch-activation-secrets"] });
    await e2e.applyOrder("fleet", { subscription: "planX3", quantity: 2 });
    const names = await eventually(
      async () => {
        const ps = await e2e.profiles();
        const ready = ps.filter((p) => p.status?.activationSecretRef?.name);
        return ready.length === 2 ? ready.map((p) => p.status?.activationSecretRef?.name ?? "") : undefined;
      },
      { timeoutMs: 60_000, what: "2 profiles with activation Secrets" },
    );
    const before = await cluster.core.readNamespacedSecret({ namespace: cluster.namespace, name: names[0]! });
    await cluster.core.deleteNamespacedSecret({ namespace: cluster.namespace, name: names[0]! });
    const after = await eventually(
      async () => {
        const s = await cluster.core.readNamespacedSecret({ namespace: cluster.namespace, name: names[0]! });
        return s.metadata?.uid !== before.metadata?.uid ? s : undefined;
      },
      { timeoutMs: 30_000, what: "the Secret created again" },
    );
    expect(after.data?.activationCode).toBe(before.data?.activationCode);
  });
});
