import { describe, expect, it } from "vitest";
import type { EsimProfileOrder } from "../../controller/api/types.js";
import { kubeApiError } from "../../controller/kube/errors.js";
import type { KubeRequest } from "../../controller/kube/rest.js";
import { admitProfiles, recentAdmissions } from "../../controller/order/admission.js";
import { planInputsOf } from "../../controller/order/observe.js";
import { MAX_ICCID_LENGTH, profileName } from "../../controller/order/profiles.js";
import { activationSecretName } from "../../controller/order/secret.js";

// Before an order buys profiles, a dry-run create of the EsimProfile it would make: the apiserver's answer
// decides whether anything may be bought, read by status and cause, never by message text.
const order: EsimProfileOrder = {
  apiVersion: "esim.soracom-operator.io/v1alpha1",
  kind: "EsimProfileOrder",
  metadata: { name: "fleet", namespace: "iot", uid: "u-1", generation: 3 },
  spec: { subscription: "planX3", quantity: 5, profileTemplate: { metadata: { labels: { team: "a" } } } },
};

function fakeKube(answer: () => unknown) {
  const sent: KubeRequest[] = [];
  return {
    sent,
    kube: {
      request: async <T>(req: KubeRequest): Promise<T> => {
        sent.push(req);
        const a = answer();
        if (a instanceof Error) throw a;
        return a as T;
      },
    },
  };
}

const terminating = () =>
  kubeApiError(403, {
    reason: "Forbidden",
    message:
      'esimprofiles "x" is forbidden: unable to create new content in namespace iot because it is being terminated',
    details: { causes: [{ reason: "NamespaceTerminating", message: "namespace iot is being terminated" }] },
  });

describe("admitProfiles", () => {
  it("dry-runs the profile and its activation Secret under the exact names they will have", async () => {
    const { kube, sent } = fakeKube(() => ({ metadata: { uid: "dry-uid" } }));
    expect(await admitProfiles(kube, order)).toEqual({ admitted: true });
    expect(sent).toHaveLength(2);
    const [profileReq, secretReq] = sent as [KubeRequest, KubeRequest];
    expect(profileReq).toMatchObject({ method: "POST", query: { dryRun: "All" } });
    expect(profileReq.path).toBe("/apis/esim.soracom-operator.io/v1alpha1/namespaces/iot/esimprofiles");
    const body = profileReq.body as { metadata: Record<string, unknown>; spec: { iccid: string } };
    // The longest ICCID the CRD takes, so every real name is at most as long.
    expect(body.spec.iccid).toHaveLength(MAX_ICCID_LENGTH);
    expect(body.metadata.name).toBe(profileName("fleet", body.spec.iccid));
    expect(body.metadata.generateName).toBeUndefined();
    expect(body.metadata.labels).toMatchObject({ team: "a" });
    expect(body.metadata.ownerReferences).toMatchObject([{ uid: "u-1", controller: true }]);
    expect(secretReq).toMatchObject({ method: "POST", query: { dryRun: "All" } });
    expect(secretReq.path).toBe("/api/v1/namespaces/iot/secrets");
    const secret = secretReq.body as { metadata: { name: string; ownerReferences: Array<{ uid: string }> } };
    expect(secret.metadata.name).toBe(activationSecretName(profileName("fleet", body.spec.iccid)));
    expect(secret.metadata.ownerReferences).toMatchObject([{ uid: "dry-uid" }]);
  });

  it("a refused activation Secret refuses the order: nothing is bought that cannot be recorded", async () => {
    let n = 0;
    const tooLong = () =>
      ++n === 1 ? {} : kubeApiError(422, { reason: "Invalid", message: "metadata.name: must be no more than 253" });
    expect(await admitProfiles(fakeKube(tooLong).kube, order)).toMatchObject({
      admitted: false,
      reason: "ProfilesNotAdmitted",
    });
  });

  it("a namespace being deleted is NamespaceTerminating; any other refusal is ProfilesNotAdmitted", async () => {
    expect(await admitProfiles(fakeKube(terminating).kube, order)).toMatchObject({
      admitted: false,
      reason: "NamespaceTerminating",
      message: expect.stringContaining("Namespace iot is being deleted"),
    });
    const invalid = () => kubeApiError(422, { reason: "Invalid", message: "spec.sim.speedClass: Unsupported value" });
    expect(await admitProfiles(fakeKube(invalid).kube, order)).toMatchObject({
      admitted: false,
      reason: "ProfilesNotAdmitted",
      message: expect.stringContaining("422: spec.sim.speedClass: Unsupported value"),
    });
  });

  it("an apiserver that cannot answer fails the round: nothing is decided from it", async () => {
    await expect(admitProfiles(fakeKube(() => kubeApiError(503, {})).kube, order)).rejects.toThrow();
    await expect(admitProfiles(fakeKube(() => kubeApiError(429, {})).kube, order)).rejects.toThrow();
  });
});

describe("recentAdmissions", () => {
  it("remembers an admission for its TTL per order generation, and never a refusal", async () => {
    let t = 0;
    let answer: () => unknown = () => ({});
    const { kube, sent } = fakeKube(() => answer());
    const admit = recentAdmissions(kube, 2_000, () => t);
    await admit(order);
    t = 1_500;
    await admit(order);
    expect(sent).toHaveLength(2);
    await admit({ ...order, metadata: { ...order.metadata, generation: 4 } });
    expect(sent).toHaveLength(4);
    t = 2_100;
    answer = terminating;
    expect(await admit(order)).toMatchObject({ admitted: false, reason: "NamespaceTerminating" });
    expect(await admit(order)).toMatchObject({ admitted: false });
    expect(sent).toHaveLength(6);
  });
});

describe("planInputsOf: what a status write conflict may be rebased over", () => {
  const base = { ...order, metadata: { ...order.metadata, annotations: { "example.com/touched": "1" } } };
  const withAnnotations = (a: Record<string, string>) => ({ ...base, metadata: { ...base.metadata, annotations: a } });

  it("another tool's annotation changes nothing the planner reads; ours, the spec or the status do", () => {
    expect(planInputsOf(withAnnotations({ "example.com/touched": "2" }))).toEqual(planInputsOf(base));
    expect(planInputsOf(withAnnotations({ "esim.soracom-operator.io/approve-orders": "po-1" }))).not.toEqual(
      planInputsOf(base),
    );
    expect(planInputsOf({ ...base, spec: { ...base.spec, quantity: 6 } })).not.toEqual(planInputsOf(base));
    expect(planInputsOf({ ...base, status: { orders: [] } })).not.toEqual(planInputsOf(base));
    expect(
      planInputsOf({ ...base, metadata: { ...base.metadata, deletionTimestamp: "2026-12-04T00:00:00Z" } }),
    ).not.toEqual(planInputsOf(base));
  });
});
