import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlPlane } from "../controlplane/fixture.js";
import { leftoversOf } from "../controlplane/leftovers.js";
import { useCluster } from "../support/cluster.js";
import { openWatch, openWatchRetrying, type WatchEvent, type WatchSession } from "../support/watch.js";

// Restarts and expired watches: what the controller's informers must live through. The apiserver's
// watch cache shapes what a client sees, so both configurations are shown: the shared control plane
// (cache on, as in every real cluster) and a private one with the cache off (watches served by etcd).
const GROUP = "esim.soracom-operator.io";
const VERSION = "v1alpha1";
const PLURAL = "esimprofileorders";

const cluster = useCluster();

/** Orders makes and changes EsimProfileOrders in one namespace of one apiserver. */
function ordersIn(kc: KubeConfig, namespace: string) {
  const api = kc.makeApiClient(CustomObjectsApi);
  const where = { group: GROUP, version: VERSION, plural: PLURAL, namespace };
  return {
    path: `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
    create: async (name: string): Promise<string> => {
      const body = {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "EsimProfileOrder",
        metadata: { name },
        spec: { subscription: "planX3", quantity: 1 },
      };
      const created = await api.createNamespacedCustomObject({ ...where, body });
      return created.metadata.resourceVersion;
    },
    label: async (name: string, step: string): Promise<string> => {
      const patch = [{ op: "add", path: "/metadata/labels", value: { step } }];
      const patched = await api.patchNamespacedCustomObject({ ...where, name, body: patch });
      return patched.metadata.resourceVersion;
    },
    list: async (): Promise<{ resourceVersion: string; steps: Record<string, string | undefined> }> => {
      const list = await api.listNamespacedCustomObject(where);
      const steps = Object.fromEntries(
        (list.items as WatchEvent["object"][]).map((o) => [o.metadata?.name ?? "", o.metadata?.labels?.step]),
      );
      return { resourceVersion: list.metadata.resourceVersion, steps };
    },
  };
}

const modified = (name: string, step: string) => (e: WatchEvent) =>
  e.type === "MODIFIED" && e.object.metadata?.name === name && e.object.metadata.labels?.step === step;
const notBookmark = (e: WatchEvent) => e.type !== "BOOKMARK";

describe("restarts on the shared control plane (watch cache on)", () => {
  it("a watch survives an apiserver restart: re-watch from the last resourceVersion, relisting only on 410", async ({
    annotate,
  }) => {
    const orders = ordersIn(cluster.kc, cluster.namespace);
    const first = await openWatch(cluster.kc, orders.path, await orders.create("a"));
    await orders.label("a", "before");
    const lastSeen = (await first.next(modified("a", "before"))).object.metadata?.resourceVersion ?? "";

    await cluster.controlPlane.restartApiserver();
    await expect(first.ended).resolves.toBeDefined(); // the stream ended with the old apiserver
    await orders.label("a", "after-restart");

    // The new apiserver's watch cache starts at the current revision: the last resourceVersion is
    // served if the cache reaches back to it, else the answer is 410 and an informer relists.
    let { session } = await openWatchRetrying(cluster.kc, orders.path, lastSeen);
    const answer = await session.next(notBookmark);
    if (answer.type === "ERROR") {
      expect(answer.object.code).toBe(410);
      const relisted = await orders.list();
      expect(relisted.steps.a).toBe("after-restart");
      ({ session } = await openWatchRetrying(cluster.kc, orders.path, relisted.resourceVersion));
      await annotate("the new watch cache did not reach back to the last resourceVersion: 410, relisted");
    } else {
      expect(answer).toMatchObject({
        type: "MODIFIED",
        object: { metadata: { name: "a", labels: { step: "after-restart" } } },
      });
    }

    await orders.label("a", "after-rewatch");
    await expect(session.next(modified("a", "after-rewatch"))).resolves.toBeDefined();
    session.stop();
  });

  it("after forceWatchExpiry a re-watch from an earlier resourceVersion gets 410 Expired", async () => {
    const orders = ordersIn(cluster.kc, cluster.namespace);
    const old = await orders.create("b");

    await cluster.controlPlane.forceWatchExpiry();

    const { session } = await openWatchRetrying(cluster.kc, orders.path, old);
    const answer = await session.next(notBookmark);
    expect(answer).toMatchObject({ type: "ERROR", object: { code: 410, reason: "Expired" } });
    session.stop();
  });

  it("serves again after an etcd restart, with the data kept", async () => {
    const orders = ordersIn(cluster.kc, cluster.namespace);
    await orders.create("c");

    await cluster.controlPlane.restartEtcd();

    expect((await orders.list()).steps).toHaveProperty("c");
  });
});

describe("a private control plane with the watch cache off (watches served by etcd)", () => {
  let cp: ControlPlane;
  let kc: KubeConfig;
  let namespace: string;
  let session: WatchSession | undefined;

  beforeAll(async () => {
    cp = await ControlPlane.start({ watchCache: false, log: () => {} });
    kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    namespace = await cp.createNamespace("private");
  });
  afterAll(async () => {
    session?.stop();
    if (!cp) return;
    const [dir, pids] = [cp.dir, cp.pids];
    await cp.stop();
    expect(leftoversOf(dir, pids)).toEqual([]);
  });

  it("re-watch from the last resourceVersion after an apiserver restart delivers the change made meanwhile", async () => {
    const orders = ordersIn(kc, namespace);
    const lastSeen = await orders.create("d");

    await cp.restartApiserver();
    await orders.label("d", "during-outage");

    ({ session } = await openWatchRetrying(kc, orders.path, lastSeen));
    await expect(session.next(notBookmark)).resolves.toMatchObject({
      type: "MODIFIED",
      object: { metadata: { name: "d", labels: { step: "during-outage" } } },
    });
    session.stop();
  });

  it("an etcd compaction alone expires a watch from an older resourceVersion (410)", async () => {
    const orders = ordersIn(kc, namespace);
    const old = await orders.create("e");
    await orders.label("e", "changed"); // history for the compaction to drop

    await cp.compactEtcd();

    ({ session } = await openWatchRetrying(kc, orders.path, old));
    await expect(session.next(notBookmark)).resolves.toMatchObject({ type: "ERROR", object: { code: 410 } });
    session.stop();
  });
});
