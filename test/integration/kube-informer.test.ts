import { afterEach, describe, expect, it } from "vitest";
import { Informer } from "../../controller/kube/informer.js";
import type { KubeObject } from "../../controller/kube/object.js";
import { type KubeApi, KubeClient } from "../../controller/kube/rest.js";
import { createLogger } from "../../controller/log.js";
import { useCluster } from "../support/cluster.js";

// The informer against a real kube-apiserver: events, label selectors, and the recoveries it exists
// for (apiserver restart, expired resourceVersion after compaction, a watch gone quiet).
const cluster = useCluster();

/** Spy wraps a client and counts lists and watches, so a test can tell a relist from a re-watch. */
function spy(client: KubeClient) {
  const counts = { lists: 0, watches: 0 };
  const api: KubeApi = {
    request: (req) => {
      counts.lists += 1;
      return client.request(req);
    },
    watch: (...args) => {
      counts.watches += 1;
      return client.watch(...args);
    },
  };
  return { api, counts };
}

async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const informers: Array<{ stop(): Promise<void> }> = [];
const clients: KubeClient[] = [];
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
  for (const c of clients.splice(0)) c.close();
});

/** ours: not the CA ConfigMap kube-controller-manager publishes into every namespace. */
const ours = (o: KubeObject) => o.metadata.name !== "kube-root-ca.crt";

function start<T extends KubeObject>(
  api: KubeApi,
  resource: { plural: string; labelSelector?: string },
  extra: { watchdogMs?: number } = {},
) {
  const informer = new Informer<T>({
    client: api,
    resource: { group: "", version: "v1", plural: resource.plural, namespace: cluster.namespace },
    ...(resource.labelSelector ? { labelSelector: resource.labelSelector } : {}),
    backoffInitialMs: 200,
    ...(process.env.DEBUG_INFORMER ? { logger: createLogger({ level: "debug" }) } : {}),
    backoffMaxMs: 2000,
    ...extra,
  });
  const events: string[] = [];
  informer.addHandler({
    add: (o) => ours(o) && events.push(`add ${o.metadata.name}`),
    update: (a, b) => {
      if (ours(b) && a.metadata.resourceVersion !== b.metadata.resourceVersion)
        events.push(`update ${b.metadata.name}`);
    },
    delete: (o) => ours(o) && events.push(`delete ${o.metadata.name}`),
  });
  informers.push(informer);
  informer.start();
  return { informer, events };
}

function newClient(): KubeClient {
  const client = new KubeClient(cluster.kc);
  clients.push(client);
  return client;
}

describe("Informer on a real apiserver", () => {
  it("mirrors ConfigMaps: add, update and delete reach the cache and the handlers", async () => {
    const namespace = cluster.namespace;
    await cluster.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "before" }, data: { v: "1" } },
    });
    const { informer, events } = start<KubeObject & { data?: Record<string, string> }>(newClient(), {
      plural: "configmaps",
    });
    expect(await informer.waitForSync(30_000)).toBe(true);
    expect(informer.get(namespace, "before")?.data).toEqual({ v: "1" });
    expect(informer.get(namespace, "before")?.metadata.managedFields).toBeUndefined();
    expect(informer.get(namespace, "before")).toMatchObject({ apiVersion: "v1", kind: "ConfigMap" });

    await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "new" }, data: { v: "1" } } });
    await cluster.core.replaceNamespacedConfigMap({
      namespace,
      name: "before",
      body: { metadata: { name: "before" }, data: { v: "2" } },
    });
    await cluster.core.deleteNamespacedConfigMap({ namespace, name: "new" });

    await eventually("the delete", () => events.includes("delete new"));
    expect(events).toEqual(["add before", "add new", "update before", "delete new"]);
    expect(informer.get(namespace, "before")?.data).toEqual({ v: "2" });
    expect(informer.get(namespace, "new")).toBeUndefined();
    expect(
      informer
        .list(namespace)
        .filter(ours)
        .map((o) => o.metadata.name),
    ).toEqual(["before"]);
  });

  it("mirrors only the Secrets its label selector picks, and drops one that stops matching", async () => {
    const namespace = cluster.namespace;
    const label = { "esim.soracom-operator.io/component": "activation" };
    await cluster.core.createNamespacedSecret({ namespace, body: { metadata: { name: "picked", labels: label } } });
    await cluster.core.createNamespacedSecret({ namespace, body: { metadata: { name: "ignored" } } });
    const { informer, events } = start(newClient(), {
      plural: "secrets",
      labelSelector: "esim.soracom-operator.io/component=activation",
    });
    expect(await informer.waitForSync(30_000)).toBe(true);
    expect(informer.list().map((o) => o.metadata.name)).toEqual(["picked"]);

    await cluster.core.createNamespacedSecret({ namespace, body: { metadata: { name: "later", labels: label } } });
    await cluster.core.patchNamespacedSecret({
      namespace,
      name: "picked",
      body: [{ op: "remove", path: "/metadata/labels" }],
    });
    await eventually("picked leaving the selection", () => events.includes("delete picked"));
    expect(informer.list().map((o) => o.metadata.name)).toEqual(["later"]);
  });

  it("keeps working across an apiserver restart, without losing changes made after it", async () => {
    const namespace = cluster.namespace;
    const { api, counts } = spy(newClient());
    const { informer, events } = start(api, { plural: "configmaps" });
    expect(await informer.waitForSync(30_000)).toBe(true);
    const watchesBefore = counts.watches;

    await cluster.controlPlane.restartApiserver();
    await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "after-restart" } } });

    await eventually("the ConfigMap made after the restart", () => informer.get(namespace, "after-restart"));
    expect(counts.watches).toBeGreaterThan(watchesBefore);
    expect(events).toContain("add after-restart");
  });

  it("relists after its resourceVersion expired (etcd compaction) and reports what changed meanwhile", async () => {
    const namespace = cluster.namespace;
    for (const name of ["kept", "doomed"]) {
      await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name } } });
    }
    const { api, counts } = spy(newClient());
    const { informer, events } = start(api, { plural: "configmaps" });
    expect(await informer.waitForSync(30_000)).toBe(true);

    // While the informer is away, objects change and etcd's history is compacted away: resuming from
    // the old resourceVersion must get 410, relist, and turn the difference into events.
    await informer.stop();
    await cluster.core.deleteNamespacedConfigMap({ namespace, name: "doomed" });
    await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "born" } } });
    await cluster.controlPlane.forceWatchExpiry();
    const listsBefore = counts.lists;
    informer.start();

    await eventually("the relist", () => informer.get(namespace, "born"));
    expect(counts.lists).toBeGreaterThan(listsBefore);
    expect(events).toContain("delete doomed");
    expect(events).toContain("add born");
    expect(
      informer
        .list(namespace)
        .filter(ours)
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["born", "kept"]);

    // And it is watching again: a change after the relist arrives as an event.
    await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "after-relist" } } });
    await eventually("a change after the relist", () => events.includes("add after-relist"));
  });

  it("survives a forced watch expiry while running", async () => {
    const namespace = cluster.namespace;
    const { informer, events } = start(newClient(), { plural: "configmaps" });
    expect(await informer.waitForSync(30_000)).toBe(true);

    await cluster.controlPlane.forceWatchExpiry();
    await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "after-expiry" } } });

    await eventually("the ConfigMap made after the expiry", () => events.includes("add after-expiry"));
  });

  it("restarts a quiet watch when the watchdog fires, and still sees later changes", async () => {
    const namespace = cluster.namespace;
    const { api, counts } = spy(newClient());
    const { informer, events } = start(api, { plural: "configmaps" }, { watchdogMs: 1500 });
    expect(await informer.waitForSync(30_000)).toBe(true);

    await eventually("a watchdog restart", () => counts.watches >= 3, 20_000);
    expect(counts.lists).toBe(1); // restarts re-watch from the last resourceVersion, no relist
    await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "after-watchdog" } } });
    await eventually("the change after the restarts", () => events.includes("add after-watchdog"));
  });
});
