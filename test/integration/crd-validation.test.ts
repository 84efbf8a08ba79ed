import { describe, expect, it } from "vitest";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";

const cluster = useCluster();
const kube = new KubeClient(cluster.kc);

const orders = () =>
  resourcePath({ group: GROUP, version: VERSION, plural: "esimprofileorders", namespace: cluster.namespace });
const profiles = () =>
  resourcePath({ group: GROUP, version: VERSION, plural: "esimprofiles", namespace: cluster.namespace });

async function create(
  path: string,
  kind: string,
  name: string,
  spec: unknown,
): Promise<{ status: number; message: string }> {
  try {
    await kube.request({
      method: "POST",
      path,
      query: { fieldValidation: "Strict" },
      body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, spec },
    });
    return { status: 201, message: "" };
  } catch (err) {
    const e = err as { statusCode?: number; status?: number; message: string };
    return { status: e.statusCode ?? e.status ?? 0, message: e.message };
  }
}

const good = { subscription: "planX3", quantity: 5 };

// Each row: what is wrong, the spec, words the apiserver's message must contain, and the status
// (422 Invalid from validation; 400 BadRequest when strict decoding meets an unknown field).
const badOrders: Array<[string, Record<string, unknown>, string, number?]> = [
  ["a negative quantity", { ...good, quantity: -1 }, "greater than or equal to 0"],
  ["a quantity that is not a number", { ...good, quantity: "ten" }, "spec.quantity"],
  ["a quantity above the schema's ceiling", { ...good, quantity: 100001 }, "less than or equal to 100000"],
  ["an unknown plan", { ...good, subscription: "plan-XYZ" }, "Unsupported value"],
  ["no subscription", { quantity: 5 }, "spec.subscription: Required value"],
  ["no quantity", { subscription: "planX3" }, "spec.quantity: Required value"],
  [
    "s1.8xfast outside plan-US",
    { ...good, subscription: "planX1", speedClass: "s1.8xfast" },
    "s1.8xfast is only available with subscription plan-US",
  ],
  ["an unknown speed class", { ...good, speedClass: "s1.warp" }, "Unsupported value"],
  [
    "X3-5MB outside planX3",
    { ...good, subscription: "planP1", bundles: ["X3-5MB"] },
    "X3-5MB is only available with subscription planX3",
  ],
  [
    "a US bundle outside plan-US",
    { ...good, bundles: ["US-1GB"] },
    "US-* bundles are only available with subscription plan-US",
  ],
  ["two bundles", { ...good, subscription: "plan-US", bundles: ["US-1GB", "US-3GB"] }, "must have at most 1 item"],
  ["an unknown bundle", { ...good, bundles: ["X3-50MB"] }, "Unsupported value"],
  ["more than 20 profiles per order", { ...good, maxProfilesPerOrder: 21 }, "less than or equal to 20"],
  ["zero profiles per order", { ...good, maxProfilesPerOrder: 0 }, "greater than or equal to 1"],
  ["an unknown confirmation mode", { ...good, confirmation: "Sometimes" }, "Unsupported value"],
  [
    "approvedQuantity with Automatic confirmation",
    { ...good, approvedQuantity: 5 },
    "approvedQuantity is only meaningful with confirmation: Manual",
  ],
  ["an unknown scale-down policy", { ...good, scaleDownPolicy: "TerminateAll" }, "Unsupported value"],
  ["an unknown device-deletion policy", { ...good, onDeviceDeletion: "Ignore" }, "Unsupported value"],
  ["a credentialsRef without a name", { ...good, credentialsRef: {} }, "spec.credentialsRef.name: Required value"],
  [
    "a credentialsRef naming another namespace",
    { ...good, credentialsRef: { name: "creds", namespace: "other" } },
    'unknown field "spec.credentialsRef.namespace"',
    400,
  ],
  [
    "a template with an unknown SIM status",
    { ...good, profileTemplate: { spec: { sim: { status: "running" } } } },
    "Unsupported value",
  ],
];

const badProfiles: Array<[string, Record<string, unknown>, string]> = [
  ["no identity at all", { deletionPolicy: "Retain" }, "needs at least one of simId, iccid or imsi"],
  ["an ICCID with letters", { iccid: "89ABC" }, "spec.iccid in body should match"],
  ["an IMSI too short", { imsi: "1234" }, "spec.imsi in body should match"],
  ["an unknown deletion policy", { iccid: "8942310000000000001", deletionPolicy: "Delete" }, "Unsupported value"],
  ["an unknown desired SIM status", { iccid: "8942310000000000001", sim: { status: "running" } }, "Unsupported value"],
];

describe("the apiserver refuses bad input with clear messages", () => {
  it.each(badOrders)("EsimProfileOrder with %s", async (_what, spec, words, status = 422) => {
    const res = await create(orders(), "EsimProfileOrder", "bad", spec);
    expect(res.status).toBe(status);
    expect(res.message).toContain(words);
  });

  it.each(badProfiles)("EsimProfile with %s", async (_what, spec, words) => {
    const res = await create(profiles(), "EsimProfile", "bad", spec);
    expect(res.status).toBe(422);
    expect(res.message).toContain(words);
  });

  it("a good order is accepted, with the schema's defaults applied", async () => {
    expect((await create(orders(), "EsimProfileOrder", "good", good)).status).toBe(201);
    const stored = await kube.request<{ spec: Record<string, unknown> }>({ path: `${orders()}/good` });
    expect(stored.spec).toMatchObject({
      maxProfilesPerOrder: 20,
      confirmation: "Automatic",
      scaleDownPolicy: "Retain",
      onDeviceDeletion: "Report",
      paused: false,
    });
  });

  it("an order's subscription, speed class and bundles cannot be changed; its quantity can", async () => {
    await create(orders(), "EsimProfileOrder", "fixed", { subscription: "planX3", quantity: 1, bundles: ["X3-5MB"] });
    const patch = async (spec: unknown) => {
      try {
        await kube.request({
          method: "PATCH",
          path: `${orders()}/fixed`,
          contentType: "application/merge-patch+json",
          body: { spec },
        });
        return "";
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(await patch({ subscription: "planX2" })).toContain("subscription is immutable");
    expect(await patch({ bundles: [] })).toContain("bundles are immutable");
    expect(await patch({ speedClass: "s1.fast" })).toContain("speedClass is immutable");
    expect(await patch({ quantity: 3 })).toBe("");
  });

  it("an order's account may change until a Soracom order exists, then never (CEL over status)", async () => {
    await create(orders(), "EsimProfileOrder", "accounted", { ...good, accountRef: { name: "team-a" } });
    const patch = async (path: string, body: unknown, contentType = "application/merge-patch+json") => {
      try {
        await kube.request({ method: "PATCH", path, contentType, body });
        return "";
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(await patch(`${orders()}/accounted`, { spec: { accountRef: { name: "team-b" } } })).toBe("");
    // A create's intent, no ID yet: still free to change.
    const token = { sequence: 1, token: "t-1", quantity: 5, status: "Pending" };
    expect(await patch(`${orders()}/accounted/status`, { status: { orders: [token] } })).toBe("");
    expect(await patch(`${orders()}/accounted`, { spec: { accountRef: { name: "team-a" } } })).toBe("");
    // Soracom answered: the order's money belongs to that account now.
    expect(
      await patch(`${orders()}/accounted/status`, {
        status: { orders: [{ ...token, profileOrderId: "po-1", status: "DRAFT" }] },
      }),
    ).toBe("");
    expect(await patch(`${orders()}/accounted`, { spec: { accountRef: { name: "team-b" } } })).toContain(
      "spec.accountRef is immutable once a Soracom order exists",
    );
    expect(await patch(`${orders()}/accounted`, { spec: { accountRef: null } })).toContain("immutable");
    expect(await patch(`${orders()}/accounted`, { spec: { quantity: 7 } })).toBe("");
  });

  it("a profile's account cannot be changed, added or removed", async () => {
    await create(profiles(), "EsimProfile", "in-account", { iccid: "8942310000000000009", accountRef: { name: "a" } });
    const patch = async (spec: unknown) => {
      try {
        await kube.request({
          method: "PATCH",
          path: `${profiles()}/in-account`,
          contentType: "application/merge-patch+json",
          body: { spec },
        });
        return "";
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(await patch({ accountRef: { name: "b" } })).toContain("accountRef is immutable");
    expect(await patch({ accountRef: null })).toContain("accountRef is immutable");
  });

  it("a profile's identity cannot be changed once set", async () => {
    await create(profiles(), "EsimProfile", "adopted", { iccid: "8942310000000000001" });
    let message = "";
    try {
      await kube.request({
        method: "PATCH",
        path: `${profiles()}/adopted`,
        contentType: "application/merge-patch+json",
        body: { spec: { iccid: "8942310000000000002" } },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("iccid is immutable");
  });
});
