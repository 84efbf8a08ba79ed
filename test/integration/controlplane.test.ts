import { ApiException, CustomObjectsApi } from "@kubernetes/client-node";
import { describe, expect, it, vi } from "vitest";
import { useCluster } from "../support/cluster.js";

// Proof that the integration suite runs against a real apiserver: each behaviour below is one a fake
// would quietly get wrong, and one the controller depends on.
const GROUP = "esim.soracom-operator.io";
const VERSION = "v1alpha1";
const PLURAL = "esimprofileorders";

const cluster = useCluster();

interface Order {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    resourceVersion?: string;
    finalizers?: string[];
    deletionTimestamp?: string;
    generation?: number;
  };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

function order(name: string, spec: Record<string, unknown>): Order {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: "EsimProfileOrder", metadata: { name }, spec };
}

function ref(name: string) {
  return { group: GROUP, version: VERSION, plural: PLURAL, namespace: cluster.namespace, name };
}

async function create(body: Order): Promise<Order> {
  return cluster.custom.createNamespacedCustomObject({ ...ref(body.metadata.name), body });
}

async function get(name: string): Promise<Order> {
  return cluster.custom.getNamespacedCustomObject(ref(name));
}

/** refusal awaits a request that must fail and returns the apiserver's status code and Status body. */
async function refusal(
  request: Promise<unknown>,
): Promise<{ code: number; status: { reason?: string; message?: string } }> {
  try {
    await request;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
    return { code: err.code, status: body };
  }
  throw new Error("the apiserver accepted a request it should have refused");
}

describe("the integration control plane is a real kube-apiserver", () => {
  it("refuses an EsimProfileOrder with quantity -1 through the CRD's schema", async () => {
    const { code, status } = await refusal(create(order("negative", { subscription: "planX3", quantity: -1 })));

    expect(code).toBe(422);
    expect(status.reason).toBe("Invalid");
    expect(status.message).toContain("spec.quantity");
  });

  it("refuses speedClass s1.8xfast without plan-US through the CRD's CEL rule", async () => {
    const spec = { subscription: "planX3", quantity: 1, speedClass: "s1.8xfast" };
    const { code, status } = await refusal(create(order("too-fast", spec)));

    expect(code).toBe(422);
    expect(status.message).toContain("speedClass s1.8xfast is only available with subscription plan-US");
  });

  it("applies the schema's defaults on create", async () => {
    const created = await create(order("defaults", { subscription: "planX3", quantity: 2 }));

    expect(created.spec).toMatchObject({
      maxProfilesPerOrder: 20,
      confirmation: "Automatic",
      scaleDownPolicy: "Retain",
    });
  });

  it("keeps an object with a finalizer until the finalizer is removed", async () => {
    const body = order("held", { subscription: "planX3", quantity: 1 });
    body.metadata.finalizers = ["esim.soracom-operator.io/test-hold"];
    await create(body);

    await cluster.custom.deleteNamespacedCustomObject(ref("held"));
    const held = await get("held");
    expect(held.metadata.deletionTimestamp).toBeTruthy();

    held.metadata.finalizers = [];
    await cluster.custom.replaceNamespacedCustomObject({ ...ref("held"), body: held });
    const gone = await refusal(get("held"));
    expect(gone.code).toBe(404);
  });

  it("answers 409 Conflict to an update carrying a stale resourceVersion", async () => {
    const created = await create(order("contended", { subscription: "planX3", quantity: 1 }));
    await cluster.custom.replaceNamespacedCustomObject({
      ...ref("contended"),
      body: { ...created, spec: { ...created.spec, quantity: 2 } },
    });

    const stale = { ...created, spec: { ...created.spec, quantity: 3 } }; // still the first resourceVersion
    const { code, status } = await refusal(
      cluster.custom.replaceNamespacedCustomObject({ ...ref("contended"), body: stale }),
    );

    expect(code).toBe(409);
    expect(status.reason).toBe("Conflict");
    expect((await get("contended")).spec.quantity).toBe(2);
  });

  it("keeps status apart from spec: the status subresource neither takes spec nor bumps generation", async () => {
    const created = await create(order("status-apart", { subscription: "planX3", quantity: 1 }));
    const written = await cluster.custom.replaceNamespacedCustomObjectStatus({
      ...ref("status-apart"),
      body: { ...created, spec: { ...created.spec, quantity: 9 }, status: { phase: "Pending" } },
    });

    expect(written.status).toEqual({ phase: "Pending" });
    expect(written.spec.quantity).toBe(1);
    expect(written.metadata.generation).toBe(created.metadata.generation);
  });

  it("enforces RBAC: the unprivileged user is forbidden until a RoleBinding allows it", async () => {
    const asUser = cluster.userKubeConfig().makeApiClient(CustomObjectsApi);
    const list = () =>
      asUser.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: cluster.namespace,
      });
    expect((await refusal(list())).code).toBe(403);

    const namespace = cluster.namespace;
    await cluster.rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: "order-reader" },
        rules: [{ apiGroups: [GROUP], resources: [PLURAL], verbs: ["get", "list", "watch"] }],
      },
    });
    await cluster.rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "order-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "order-reader" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: cluster.info.user.name }],
      },
    });

    // The authorizer learns of the binding through its informer: a moment later, not at once.
    await expect(vi.waitFor(list, { timeout: 10_000, interval: 100 })).resolves.toMatchObject({ items: [] });
  });
});
