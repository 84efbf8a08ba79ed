import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { ORDER_FINALIZER } from "../../controller/api/vocabulary.js";
import { SpendLedger } from "../../controller/budget.js";
import { isConflict, kubeApiError } from "../../controller/kube/errors.js";
import type { EventRecorder } from "../../controller/kube/events.js";
import type { KubeClient, KubeRequest } from "../../controller/kube/rest.js";
import { silentLogger } from "../../controller/log.js";
import { createMetrics, OrderStatusTracker } from "../../controller/metrics.js";
import type { PlannerConfig } from "../../controller/order/model.js";
import { createOrderReconciler } from "../../controller/order/reconciler.js";
import type { SoracomClient } from "../../controller/soracom/index.js";
import { collect, type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";
import { FakeConfigMaps } from "./fake-configmaps.js";

// A new order's first finalizer write loses to someone's metadata patch (another tool's annotation). What
// the round charged to the spend budget must still be what Soracom is asked for: no intent recorded in a
// round whose creates then never go, to be ordered again under new tokens after its grace period.

const CONFIG: PlannerConfig = {
  maxQuantityPerResource: 1000,
  inProgressAlertAfterMs: 24 * 3_600_000,
  draftExpiryWarningMs: 2 * 3_600_000,
  // Short enough for a unit test, long enough that a busy machine still sends a create before its deadline.
  createGracePeriodMs: 2_000,
  soracomRequestTimeoutMs: 500,
  pollActiveMs: 50,
  pollStableMs: 60_000,
  dryRun: false,
};

const ORDER_PATH = "/apis/esim.soracom-operator.io/v1alpha1/namespaces/iot/esimprofileorders/fleet";

/**
 * FakeOrderApi stores one EsimProfileOrder like the apiserver does (writes guarded by resourceVersion,
 * 409 when stale) and serves the spend ledger's ConfigMap. `racePatches` metadata patches of someone
 * else land just before as many of our finalizer patches.
 */
class FakeOrderApi {
  readonly configMaps = new FakeConfigMaps();
  private rv = 1;
  racePatches = 1;
  order: EsimProfileOrder = {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfileOrder",
    metadata: { name: "fleet", namespace: "iot", uid: "uid-fleet", generation: 1, resourceVersion: "1" },
    spec: { subscription: "planX3", quantity: 45 },
  };

  request = async <T>(req: KubeRequest): Promise<T> => {
    if (req.path.includes("/configmaps")) return this.configMaps.request<T>(req);
    const method = req.method ?? "GET";
    if (method === "GET" && req.path === ORDER_PATH) return structuredClone(this.order) as T;
    const body = req.body as EsimProfileOrder;
    if (method === "PATCH" && req.path === ORDER_PATH && body.metadata.finalizers) {
      if (this.racePatches > 0) {
        this.racePatches -= 1;
        this.store({ ...this.order.metadata, annotations: { "example.com/touched": String(this.rv) } });
      }
      this.guard(body.metadata.resourceVersion);
      return this.store({ ...this.order.metadata, finalizers: body.metadata.finalizers }) as T;
    }
    if (method === "PUT" && req.path === `${ORDER_PATH}/status`) {
      this.guard(body.metadata.resourceVersion);
      return this.store(this.order.metadata, body.status) as T;
    }
    throw new Error(`unexpected ${method} ${req.path}`);
  };

  private guard(resourceVersion: string | undefined): void {
    if (resourceVersion !== this.order.metadata.resourceVersion) throw kubeApiError(409, { reason: "Conflict" });
  }

  private store(metadata: EsimProfileOrder["metadata"], status = this.order.status): EsimProfileOrder {
    this.rv += 1;
    this.order = {
      ...this.order,
      metadata: { ...metadata, resourceVersion: String(this.rv) },
      ...(status ? { status } : {}),
    };
    return structuredClone(this.order);
  }
}

let sim: Simulator;
let control: SimControl;
let soracom: SoracomClient;

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator());
  soracom = testClient(sim);
});

afterAll(async () => {
  await soracom.close();
  await sim.close();
});

/** rounds reconciles the order (a lost write requeues it, as the controller does) until it has no create in doubt. */
async function rounds(api: FakeOrderApi, spend: SpendLedger): Promise<void> {
  const metrics = createMetrics(new Registry());
  const reconcile = createOrderReconciler({
    kube: { request: api.request } as unknown as KubeClient,
    orders: { get: () => structuredClone(api.order), list: () => [structuredClone(api.order)] },
    profiles: { get: () => undefined, list: () => [] as EsimProfile[] },
    accountFor: async () => ({
      key: "account:default",
      client: soracom,
      credentials: { ok: true },
      spend,
      terminations: {
        check: () => ({ allowed: true, remaining: 0, limit: 0, windowMs: 3_600_000 }),
        consume: async () => false,
      },
      forget: () => undefined,
    }),
    admitProfiles: async () => ({ admitted: true }),
    events: { record: () => undefined } as unknown as EventRecorder,
    metrics,
    statusTracker: new OrderStatusTracker(metrics),
    config: CONFIG,
    logger: silentLogger,
  });
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    try {
      await reconcile("iot/fleet");
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    const tracked = api.order.status?.orders ?? [];
    const placed = tracked.filter((t) => t.profileOrderId).reduce((n, t) => n + t.quantity, 0);
    if (placed >= 45 && !tracked.some((t) => !t.profileOrderId && t.status === "Pending")) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the order did not place its 45 profiles: ${JSON.stringify(api.order.status?.orders)}`);
}

describe("a new order whose finalizer write loses to a concurrent patch", () => {
  it("charges the spend budget exactly what it orders at Soracom, and leaves no intent unsent", async () => {
    await control.reset();
    const api = new FakeOrderApi();
    const spend = new SpendLedger({
      kube: api.configMaps,
      namespace: "ops",
      name: "spend",
      limit: null,
      windowMs: 86_400_000,
    });
    await spend.load();
    await rounds(api, spend);

    expect(api.racePatches, "the finalizer write lost once").toBe(0);
    expect(api.order.metadata.finalizers).toEqual([ORDER_FINALIZER]);
    const atSoracom = await collect(soracom.listProfileOrders());
    const ordered = atSoracom.reduce((n, o) => n + o.quantity, 0);
    expect(await control.count("createProfileOrder")).toBe(3);
    expect(ordered).toBe(45);
    expect(spend.used(Date.now()), "profiles charged to the spend budget").toBe(ordered);
    expect(api.order.status?.orders?.filter((t) => t.status === "NotCreated")).toEqual([]);
  }, 30_000);
});
