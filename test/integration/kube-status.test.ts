import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeConflictError } from "../../controller/kube/errors.js";
import { EventRecorder } from "../../controller/kube/events.js";
import type { KubeObject } from "../../controller/kube/object.js";
import { Controller } from "../../controller/kube/reconciler.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import {
  addFinalizer,
  type Condition,
  removeFinalizer,
  setCondition,
  updateStatus,
} from "../../controller/kube/status.js";
import { useCluster } from "../support/cluster.js";

// Status writes, finalizers and events against a real apiserver, on a small CRD of this test's own
// (status subresource on), so the operator's CRDs can evolve without touching these tests.
const cluster = useCluster();
const GROUP = "kubetest.soracom-operator.io";
const KIND = { group: GROUP, version: "v1", plural: "widgets" };
type Widget = KubeObject & {
  spec?: { size?: number };
  status?: { conditions?: Condition[]; observedGeneration?: number };
};

let client: KubeClient;

beforeAll(async () => {
  client = new KubeClient(cluster.kc);
  await installWidgetCrd(client);
});
afterAll(() => client.close());

async function installWidgetCrd(c: KubeClient): Promise<void> {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `widgets.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: "Widget", listKind: "WidgetList", plural: "widgets", singular: "widget" },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", properties: { size: { type: "integer" } } },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  };
  try {
    await c.request({ method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body: crd });
  } catch (err) {
    if (!(err instanceof KubeConflictError)) throw err; // another file of this run installed it
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await c.request({ path: resourcePath(KIND) });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function createWidget(name: string): Promise<Widget> {
  return client.request<Widget>({
    method: "POST",
    path: resourcePath({ ...KIND, namespace: cluster.namespace }),
    body: { apiVersion: `${GROUP}/v1`, kind: "Widget", metadata: { name }, spec: { size: 1 } },
  });
}

function readWidget(name: string): Promise<Widget> {
  return client.request<Widget>({ path: resourcePath({ ...KIND, namespace: cluster.namespace }, name) });
}

describe("updateStatus", () => {
  it("writes the status subresource, and a stale resourceVersion gets a Conflict", async () => {
    const widget = await createWidget("w1");
    const conditions = setCondition(
      undefined,
      { type: "Ready", status: "True", reason: "Completed", observedGeneration: 1 },
      Date.now(),
    );
    const written = await updateStatus(client, KIND, widget, { observedGeneration: 1, conditions });
    expect(written.status).toEqual({ observedGeneration: 1, conditions });
    expect(written.metadata.resourceVersion).not.toBe(widget.metadata.resourceVersion);
    expect(written.spec).toEqual({ size: 1 });

    const stale = updateStatus(client, KIND, widget, { observedGeneration: 0 });
    await expect(stale).rejects.toBeInstanceOf(KubeConflictError);
    await expect(stale).rejects.toMatchObject({ code: "KUBE_CONFLICT", status: 409 });
    expect((await readWidget("w1")).status?.observedGeneration).toBe(1);
  });

  it("a Conflict in a reconcile is a quiet requeue, and the retry with a fresh read succeeds", async () => {
    const widget = await createWidget("w2");
    await updateStatus(client, KIND, widget, { observedGeneration: 1 }); // someone else wrote first
    const registry = new Registry();
    let attempts = 0;
    const controller = new Controller({
      name: "widget",
      registry,
      reconcile: async (key) => {
        attempts += 1;
        // The first attempt works from a stale copy, as a reconcile does when its cache lags behind.
        const current = attempts === 1 ? widget : await readWidget(key.split("/")[1]!);
        await updateStatus(client, KIND, current, { observedGeneration: 2 });
        return {};
      },
    });
    const running = controller.start();
    controller.enqueue(`${cluster.namespace}/w2`);
    const deadline = Date.now() + 10_000;
    while ((await readWidget("w2")).status?.observedGeneration !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await controller.stop();
    await running;
    const text = await registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_total{controller="widget",result="requeue"} 1');
    expect(text).toContain('controller_runtime_reconcile_total{controller="widget",result="success"} 1');
    expect(text).toContain('controller_runtime_reconcile_errors_total{controller="widget"} 0');
  });
});

describe("finalizers", () => {
  it("adds and removes a finalizer once, guarded by resourceVersion", async () => {
    const widget = await createWidget("w3");
    const withFinalizer = await addFinalizer(client, KIND, widget, "kubetest.soracom-operator.io/cleanup");
    expect(withFinalizer.metadata.finalizers).toEqual(["kubetest.soracom-operator.io/cleanup"]);
    expect(await addFinalizer(client, KIND, withFinalizer, "kubetest.soracom-operator.io/cleanup")).toBe(withFinalizer);

    // Writing from the copy read before the finalizer was added must not drop it silently.
    await expect(addFinalizer(client, KIND, widget, "kubetest.soracom-operator.io/other")).rejects.toBeInstanceOf(
      KubeConflictError,
    );

    const removed = await removeFinalizer(client, KIND, withFinalizer, "kubetest.soracom-operator.io/cleanup");
    expect(removed.metadata.finalizers ?? []).toEqual([]);
    expect((await readWidget("w3")).metadata.finalizers ?? []).toEqual([]);
  });
});

describe("EventRecorder", () => {
  it("writes core/v1 Events, aggregates identical ones and scrubs activation codes", async () => {
    const widget = await createWidget("w4");
    const recorder = new EventRecorder({ client, component: "soracom-esim-operator", instance: "pod-a" });
    recorder.record(widget, "Normal", "OrderCreated", "Created Soracom order OP1.");
    recorder.record(widget, "Normal", "OrderCreated", "Created Soracom order OP1.");
    recorder.record(widget, "Warning", "ProvisioningFailed", "Profile LPA:1$smdp.example$SECRET-MATCHING-ID failed.");
    await recorder.flush();

    const list = await client.request<{ items: Array<Record<string, unknown>> }>({
      path: `/api/v1/namespaces/${cluster.namespace}/events`,
    });
    const events = list.items
      .map((e) => ({ reason: e.reason, type: e.type, count: e.count, message: e.message, involved: e.involvedObject }))
      .sort((a, b) => String(a.reason).localeCompare(String(b.reason)));
    expect(events).toEqual([
      {
        reason: "OrderCreated",
        type: "Normal",
        count: 2,
        message: "Created Soracom order OP1.",
        involved: {
          apiVersion: `${GROUP}/v1`,
          kind: "Widget",
          name: "w4",
          namespace: cluster.namespace,
          uid: widget.metadata.uid,
          resourceVersion: widget.metadata.resourceVersion,
        },
      },
      expect.objectContaining({ reason: "ProvisioningFailed", type: "Warning", count: 1 }),
    ]);
    expect(JSON.stringify(list)).not.toContain("SECRET-MATCHING-ID");
  });
});
