import { describe, expect, it } from "vitest";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { MAX_ICCID_LENGTH, MAX_ORDER_NAME, profileName } from "../../controller/order/profiles.js";
import { activationSecretName } from "../../controller/order/secret.js";
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

  it("an order's account may change until its first intent is recorded, then only back to status.account (CEL over status)", async () => {
    await create(orders(), "EsimProfileOrder", "accounted", { ...good, accountRef: { name: "team-a" } });
    await create(orders(), "EsimProfileOrder", "defaulted", good);
    const patch = async (path: string, body: unknown, contentType = "application/merge-patch+json") => {
      try {
        await kube.request({ method: "PATCH", path, contentType, body });
        return "";
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(await patch(`${orders()}/accounted`, { spec: { accountRef: { name: "team-b" } } })).toBe("");
    // The controller records a create's intent, no ID yet (the create may be in flight): the account is bound.
    const token = { sequence: 1, token: "t-1", quantity: 5, status: "Pending" };
    const intent = { status: { account: "team-b", orders: [token] } };
    expect(await patch(`${orders()}/accounted/status`, intent)).toBe("");
    expect(await patch(`${orders()}/accounted`, { spec: { accountRef: { name: "team-a" } } })).toContain(
      "spec.accountRef is immutable once the order has recorded an intent",
    );
    expect(await patch(`${orders()}/accounted`, { spec: { accountRef: null } })).toContain("immutable");
    expect(await patch(`${orders()}/accounted`, { spec: { quantity: 7 } })).toBe("");
    // Soracom answered: still bound.
    const answered = { status: { orders: [{ ...token, profileOrderId: "po-1", status: "DRAFT" }] } };
    expect(await patch(`${orders()}/accounted/status`, answered)).toBe("");
    expect(await patch(`${orders()}/accounted`, { spec: { accountRef: { name: "team-a" } } })).toContain("immutable");
    // An order naming no account, bound to the default account: naming that very account is going back.
    expect(await patch(`${orders()}/defaulted/status`, { status: { account: "default", orders: [token] } })).toBe("");
    expect(await patch(`${orders()}/defaulted`, { spec: { accountRef: { name: "team-a" } } })).toContain("immutable");
    expect(await patch(`${orders()}/defaulted`, { spec: { accountRef: { name: "default" } } })).toBe("");
  });

  it("an order's name leaves room for every name derived from it, checked at create", async () => {
    const name = (n: number) => `o${"x".repeat(n - 2)}o`;
    const refused = await create(orders(), "EsimProfileOrder", name(MAX_ORDER_NAME + 1), good);
    expect(refused.status).toBe(422);
    expect(refused.message).toContain(`name is at most ${MAX_ORDER_NAME} characters`);
    expect((await create(orders(), "EsimProfileOrder", name(MAX_ORDER_NAME), good)).status).toBe(201);
    // What the order will create under the longest ICCID the profile CRD takes is taken, for real.
    const iccid = `${"8".repeat(MAX_ICCID_LENGTH - 1)}F`;
    const profile = profileName(name(MAX_ORDER_NAME), iccid);
    expect((await create(profiles(), "EsimProfile", profile, { iccid })).status).toBe(201);
    const secret = await kube.request<{ metadata: { name: string } }>({
      method: "POST",
      path: `/api/v1/namespaces/${cluster.namespace}/secrets`,
      body: { apiVersion: "v1", kind: "Secret", metadata: { name: activationSecretName(profile) } },
    });
    expect(secret.metadata.name).toHaveLength(253);
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
