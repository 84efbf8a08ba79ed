import jsQR from "jsqr";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import {
  ACTIVATION_SECRET,
  API_VERSION,
  GITOPS_TRACKING_KEYS,
  LABELS,
  MANAGER_NAME,
  PROFILE_KIND,
} from "../../controller/api/vocabulary.js";
import { kubeApiError } from "../../controller/kube/errors.js";
import { type KubeRequest, METADATA_ONLY } from "../../controller/kube/rest.js";
import { ActivationSecretError, buildActivationSecret, ensureActivationSecret } from "../../controller/order/secret.js";
import type { OrderedProfile } from "../../controller/soracom/types.js";

const ordered: OrderedProfile = {
  profileOrderId: "PO-0001",
  iccid: "8942310022000012345",
  imsi: "295050900000001",
  matchingId: "ABCD-1234-EFGH-5678",
  smdpAddress: "smdp.example.soracom.io",
  activationCode: "LPA:1$smdp.example.soracom.io$ABCD-1234-EFGH-5678",
  profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
  createdTime: 1_770_000_000_000,
  lastModifiedTime: 1_770_000_000_000,
};

/** A profile carrying every GitOps tracking key, as a careless template could give it. */
const tracked = Object.fromEntries(GITOPS_TRACKING_KEYS.map((k) => [k, "fleet-app"]));
const profile: EsimProfile = {
  apiVersion: API_VERSION,
  kind: PROFILE_KIND,
  metadata: {
    name: "fleet-8942310022000012345",
    namespace: "iot",
    uid: "uid-profile-1",
    labels: { ...tracked, team: "devices", [LABELS.order]: "fleet" },
    annotations: { ...tracked, note: "hello" },
  },
  spec: { iccid: ordered.iccid, imsi: ordered.imsi, deletionPolicy: "Terminate" },
};

const decode = (b64: string | undefined) => Buffer.from(b64 ?? "", "base64");

describe("buildActivationSecret", () => {
  it("holds the activation code, SM-DP+ address and matching ID under the agreed keys and type", async () => {
    const secret = buildActivationSecret(profile, ordered);
    const k = ACTIVATION_SECRET.keys;
    expect(secret.metadata?.name).toBe("fleet-8942310022000012345-activation");
    expect(secret.metadata?.namespace).toBe("iot");
    expect(secret.type).toBe(ACTIVATION_SECRET.type);
    expect(decode(secret.data?.[k.activationCode]).toString()).toBe(ordered.activationCode);
    expect(decode(secret.data?.[k.smdpAddress]).toString()).toBe(ordered.smdpAddress);
    expect(decode(secret.data?.[k.matchingId]).toString()).toBe(ordered.matchingId);
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(Object.values(k).sort());
  });

  it("qr.png is a PNG whose QR code decodes to the activation code", async () => {
    const secret = buildActivationSecret(profile, ordered);
    const png = PNG.sync.read(decode(secret.data?.[ACTIVATION_SECRET.keys.qrPng]));
    const qr = jsQR.default(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(qr?.data).toBe(ordered.activationCode);
  });

  it("never copies GitOps tracking labels or any annotation, even when the profile carries them", async () => {
    const secret = buildActivationSecret(profile, ordered);
    const labels = secret.metadata?.labels ?? {};
    for (const key of GITOPS_TRACKING_KEYS) expect(labels).not.toHaveProperty(key);
    expect(labels).toEqual({
      team: "devices",
      [LABELS.order]: "fleet",
      [LABELS.profile]: "fleet-8942310022000012345",
      [LABELS.managedBy]: MANAGER_NAME,
    });
    expect(secret.metadata?.annotations).toBeUndefined();
  });

  it("is owned by its EsimProfile as controller, so it goes when the profile goes", async () => {
    const secret = buildActivationSecret(profile, ordered);
    expect(secret.metadata?.ownerReferences).toEqual([
      {
        apiVersion: API_VERSION,
        kind: PROFILE_KIND,
        name: profile.metadata.name,
        uid: "uid-profile-1",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it("a profile name longer than a label value is cut to a valid label value", async () => {
    const long = { ...profile, metadata: { ...profile.metadata, name: `${"a".repeat(62)}-${ordered.iccid}` } };
    const secret = buildActivationSecret(long, ordered);
    const value = secret.metadata?.labels?.[LABELS.profile] ?? "";
    expect(value).toBe("a".repeat(62));
    expect(secret.metadata?.name).toBe(`${long.metadata.name}-activation`);
  });

  it("refuses a profile without a uid: an owner reference needs one", async () => {
    const unsaved = { ...profile, metadata: { ...profile.metadata, uid: undefined } };
    expect(() => buildActivationSecret(unsaved, ordered)).toThrow(ActivationSecretError);
  });
});

describe("ensureActivationSecret (issue 24, defect 7)", () => {
  /** A fake apiserver: a Secret of the name exists already (by `existingUid`) or not. */
  function apiserver(existingUid?: string) {
    const seen: KubeRequest[] = [];
    return {
      seen,
      request: async <T>(req: KubeRequest): Promise<T> => {
        seen.push(req);
        if (req.method === "POST") {
          if (existingUid) throw kubeApiError(409, { reason: "AlreadyExists" });
          return { metadata: { uid: "uid-made" } } as T;
        }
        if (!existingUid) throw kubeApiError(404, { reason: "NotFound" });
        return { metadata: { uid: existingUid } } as T;
      },
    };
  }
  const name = `${profile.metadata.name}-activation`;
  const recording = (ref: { name: string; uid?: string }): EsimProfile => ({
    ...profile,
    status: { activationSecretRef: ref },
  });

  it("records the UID of the Secret it creates, asking for metadata only (no activation code in any answer)", async () => {
    const api = apiserver();
    expect(await ensureActivationSecret(api, profile, ordered)).toEqual({ ref: { name, uid: "uid-made" } });
    expect(api.seen.every((r) => r.accept === METADATA_ONLY.watch)).toBe(true);
  });

  it("regression: a Secret a tenant created first under that name is refused, with what to do", async () => {
    // Whatever labels or owner references the tenant copied, nothing the status records names it.
    const outcome = await ensureActivationSecret(apiserver("uid-tenant"), profile, ordered);
    expect(outcome).toEqual({ refused: expect.stringContaining(`kubectl delete secret -n iot ${name}`) });
    // Recorded with another UID (ours was deleted and replaced): refused too.
    const replaced = await ensureActivationSecret(
      apiserver("uid-tenant"),
      recording({ name, uid: "uid-made" }),
      ordered,
    );
    expect("refused" in replaced).toBe(true);
  });

  it("the Secret the status records (a retried sync) is used, as is one recorded before UIDs were", async () => {
    const again = await ensureActivationSecret(apiserver("uid-made"), recording({ name, uid: "uid-made" }), ordered);
    expect(again).toEqual({ ref: { name, uid: "uid-made" } });
    const legacy = await ensureActivationSecret(apiserver("uid-old"), recording({ name }), ordered);
    expect(legacy).toEqual({ ref: { name, uid: "uid-old" } });
  });

  // The chart grants Secrets create only (docs/security.md): the Secret that is there cannot be read. Found
  // by running the controller under the chart's identity: a retried sync looped on 403 Forbidden.
  function createOnly(fresh: EsimProfile) {
    const seen: KubeRequest[] = [];
    return {
      seen,
      request: async <T>(req: KubeRequest): Promise<T> => {
        seen.push(req);
        if (req.method === "POST") throw kubeApiError(409, { reason: "AlreadyExists" });
        if (req.path.includes("/secrets/")) throw kubeApiError(403, { reason: "Forbidden" });
        if (req.path.endsWith(`/esimprofiles/${profile.metadata.name}`)) return fresh as T;
        throw new Error(`unexpected ${req.path}`);
      },
    };
  }

  it("regression: with create-only RBAC, the Secret the profile's fresh record names is used (a stale cache)", async () => {
    const api = createOnly(recording({ name, uid: "uid-made" }));
    expect(await ensureActivationSecret(api, profile, ordered)).toEqual({ ref: { name, uid: "uid-made" } });
    expect(api.seen.map((r) => r.method ?? "GET")).toEqual(["POST", "GET", "GET"]);
  });

  it("with create-only RBAC, a Secret no record names (a tenant's, or a crash before the record) is refused", async () => {
    for (const fresh of [profile, recording({ name }), recording({ name: "other-activation", uid: "uid-made" })]) {
      const outcome = await ensureActivationSecret(createOnly(fresh), profile, ordered);
      expect(outcome).toEqual({ refused: expect.stringContaining(`kubectl delete secret -n iot ${name}`) });
    }
    // A profile of the same name made again (another UID) does not lend its record.
    const other = { ...recording({ name, uid: "uid-made" }), metadata: { ...profile.metadata, uid: "another" } };
    expect("refused" in (await ensureActivationSecret(createOnly(other), profile, ordered))).toBe(true);
  });
});
