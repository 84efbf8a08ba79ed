import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { API_VERSION, GITOPS_TRACKING_KEYS } from "../../controller/api/vocabulary.js";
import { buildProfile } from "../../controller/order/profiles.js";
import { buildActivationSecret } from "../../controller/order/secret.js";
import type { OrderedProfile } from "../../controller/soracom/types.js";

// Argo CD decides what an Application owns by a tracking label or annotation. If an EsimProfile or an
// activation Secret the controller creates carried one (copied from the order or from its
// profileTemplate), Argo CD would see an object that is not in Git and prune it: the profile's finalizer
// would then terminate a SIM. These tests hand the builders every tracking key there is and check that
// none comes out.

/** Argo CD's tracking keys, written down here independently of the controller's own list. */
const ARGO_CD_TRACKING = {
  labels: ["app.kubernetes.io/instance", "argocd.argoproj.io/instance"],
  annotations: ["argocd.argoproj.io/tracking-id", "argocd.argoproj.io/instance"],
};
/** Annotations that make sense only on the object in Git (waves, hooks, sync options, kubectl's memory). */
const GIT_ONLY_ANNOTATIONS = [
  "argocd.argoproj.io/sync-wave",
  "argocd.argoproj.io/hook",
  "argocd.argoproj.io/sync-options",
  "kubectl.kubernetes.io/last-applied-configuration",
];
const ALL_TRACKING = [
  ...new Set([
    ...ARGO_CD_TRACKING.labels,
    ...ARGO_CD_TRACKING.annotations,
    ...GIT_ONLY_ANNOTATIONS,
    ...GITOPS_TRACKING_KEYS,
  ]),
];
const everyKey = (value: string) => Object.fromEntries(ALL_TRACKING.map((k) => [k, value]));

const ordered: OrderedProfile = {
  profileOrderId: "PO-1",
  iccid: "8942310022000000011",
  imsi: "295050000000011",
  matchingId: "MATCH-11",
  smdpAddress: "smdp.example.com",
  activationCode: "LPA:1$smdp.example.com$MATCH-11",
  profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
  createdTime: 1_767_000_000_000,
  lastModifiedTime: 1_767_000_000_000,
};

function orderWith(
  metadata: Partial<EsimProfileOrder["metadata"]>,
  template?: Record<string, unknown>,
): EsimProfileOrder {
  return {
    apiVersion: API_VERSION,
    kind: "EsimProfileOrder",
    metadata: { name: "sensors", namespace: "fleet", uid: "uid-order", generation: 1, ...metadata },
    spec: { subscription: "planX3", quantity: 1, ...(template ? { profileTemplate: template } : {}) },
  };
}

const keysOf = (o: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }) => [
  ...Object.keys(o.metadata?.labels ?? {}),
  ...Object.keys(o.metadata?.annotations ?? {}),
];

describe("the controller's list of tracking keys", () => {
  it("covers every Argo CD tracking label and annotation and every Git-only annotation", () => {
    for (const key of [...ARGO_CD_TRACKING.labels, ...ARGO_CD_TRACKING.annotations, ...GIT_ONLY_ANNOTATIONS]) {
      expect(GITOPS_TRACKING_KEYS as readonly string[]).toContain(key);
    }
  });
});

describe("EsimProfiles an order creates (buildProfile) carry no tracking key", () => {
  const cases: Record<string, EsimProfileOrder> = {
    "an order synced by Argo CD (tracking keys on the order itself)": orderWith({
      labels: { "app.kubernetes.io/instance": "esim-orders", team: "iot" },
      annotations: {
        "argocd.argoproj.io/tracking-id": "esim-orders:esim.soracom-operator.io/EsimProfileOrder:fleet/sensors",
        "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
        "argocd.argoproj.io/sync-wave": "1",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
      },
    }),
    "a profileTemplate that copies every tracking key into labels and annotations": orderWith(
      {},
      { metadata: { labels: { ...everyKey("esim-orders"), app: "sensors" }, annotations: everyKey("x") } },
    ),
    "both at once": orderWith(
      { labels: everyKey("esim-orders"), annotations: everyKey("esim-orders") },
      { metadata: { labels: everyKey("esim-orders"), annotations: everyKey("esim-orders") } },
    ),
  };
  for (const [name, order] of Object.entries(cases)) {
    it(name, () => {
      const profile = buildProfile(order, ordered);
      expect(keysOf(profile).filter((k) => ALL_TRACKING.includes(k))).toEqual([]);
    });
  }

  it("keeps the team's own labels and annotations from the template", () => {
    const profile = buildProfile(
      orderWith(
        {},
        { metadata: { labels: { ...everyKey("x"), app: "sensors" }, annotations: { ...everyKey("x"), owner: "iot" } } },
      ),
      ordered,
    );
    expect(profile.metadata.labels).toMatchObject({ app: "sensors" });
    expect(profile.metadata.annotations).toEqual({ owner: "iot" });
  });
});

describe("activation Secrets (buildActivationSecret) carry no tracking key", () => {
  const profileWith = (labels: Record<string, string>, annotations: Record<string, string>): EsimProfile => ({
    apiVersion: API_VERSION,
    kind: "EsimProfile",
    metadata: { name: "lab-gateway", namespace: "fleet", uid: "uid-profile", labels, annotations },
    spec: { iccid: ordered.iccid },
  });
  const cases: Record<string, EsimProfile> = {
    "a profile an order created": buildProfile(orderWith({}, { metadata: { labels: { app: "sensors" } } }), ordered),
    "an adopted profile declared in Git and synced by Argo CD (tracking keys on the profile)": profileWith(
      { ...everyKey("esim-adopted"), site: "lab" },
      everyKey("esim-adopted"),
    ),
  };
  for (const [name, profile] of Object.entries(cases)) {
    it(name, async () => {
      const secret = buildActivationSecret({ ...profile, metadata: { ...profile.metadata, uid: "uid" } }, ordered);
      expect(keysOf(secret).filter((k) => ALL_TRACKING.includes(k))).toEqual([]);
      expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "EsimProfile", controller: true });
    });
  }
});
