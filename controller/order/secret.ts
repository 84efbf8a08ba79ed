import type { V1Secret } from "@kubernetes/client-node";
import { qrPng } from "../api/qrpng.js";
import type { EsimProfile } from "../api/types.js";
import {
  ACTIVATION_SECRET,
  API_VERSION,
  LABELS,
  MANAGER_NAME,
  PROFILE_KIND,
  PROFILE_PLURAL,
} from "../api/vocabulary.js";
import { isConflict, isForbidden } from "../kube/errors.js";
import { type KubeApi, METADATA_ONLY } from "../kube/rest.js";
import type { OrderedProfile } from "../soracom/types.js";
import { labelValue, withoutTracking } from "./profiles.js";

/**
 * The activation Secret of a profile: the activation code, SM-DP+ address, matching ID and a QR code
 * PNG of the activation code, the only place they are ever stored. Owned by the EsimProfile, so it goes
 * when the profile goes. The order reconciler creates it.
 */

/** ActivationSecretError: the Secret cannot be built (stable `code`). */
export class ActivationSecretError extends Error {
  readonly code = "ACTIVATION_SECRET_NO_OWNER";
  override name = "ActivationSecretError";
}

/** activationSecretName is `<profile>-activation`. */
export function activationSecretName(profileName: string): string {
  return `${profileName}${ACTIVATION_SECRET.suffix}`;
}

/**
 * buildActivationSecret is the Secret for a profile and its ordered profile. The profile's own labels
 * are carried over (a team's labels help select Secrets) except GitOps tracking keys: a Secret Argo CD
 * believes it owns would be pruned. No annotation is copied.
 */
export function buildActivationSecret(profile: EsimProfile, op: OrderedProfile): V1Secret {
  const name = profile.metadata.name;
  const uid = profile.metadata.uid;
  if (!uid) throw new ActivationSecretError(`EsimProfile ${name} has no uid yet: create it before its Secret`);
  const png = qrPng(op.activationCode);
  const k = ACTIVATION_SECRET.keys;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: activationSecretName(name),
      namespace: profile.metadata.namespace,
      labels: {
        ...withoutTracking(profile.metadata.labels),
        [LABELS.profile]: labelValue(name),
        [LABELS.managedBy]: MANAGER_NAME,
      },
      ownerReferences: [
        { apiVersion: API_VERSION, kind: PROFILE_KIND, name, uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    type: ACTIVATION_SECRET.type,
    data: {
      [k.activationCode]: base64(op.activationCode),
      [k.smdpAddress]: base64(op.smdpAddress),
      [k.matchingId]: base64(op.matchingId),
      [k.qrPng]: png.toString("base64"),
    },
  };
}

/** ActivationSecretRef is the record of the Secret the controller made: its name and UID (profile status). */
export interface ActivationSecretRef {
  name: string;
  uid: string;
}

/**
 * ActivationSecretOutcome: the Secret the controller made (created now, or recorded earlier with this
 * UID), or why an existing Secret of that name is not used.
 */
export type ActivationSecretOutcome = { ref: ActivationSecretRef } | { refused: string };

/**
 * ensureActivationSecret creates the profile's activation Secret and answers with its UID, to be recorded
 * in the profile's status. A Secret of that name that is already there is used only when it is the one the
 * status records (same UID): a tenant may create `<profile>-activation` first, with labels and owner
 * references copied from ours, and the activation code a person then installs would be theirs. A record
 * with a name and no UID was written before UIDs were recorded, by this controller after it created the
 * Secret: that one is taken as ours once. Anything else is refused, with a message saying what to do.
 */
export async function ensureActivationSecret(
  kube: Pick<KubeApi, "request">,
  profile: EsimProfile,
  op: OrderedProfile,
): Promise<ActivationSecretOutcome> {
  const secret = buildActivationSecret(profile, op);
  const name = secret.metadata?.name ?? "";
  const base = `/api/v1/namespaces/${encodeURIComponent(profile.metadata.namespace ?? "")}/secrets`;
  try {
    // Metadata only in the answer: the echo would carry the activation code and QR code.
    const made = await kube.request<{ metadata: { uid?: string } }>({
      method: "POST",
      path: base,
      body: secret,
      accept: METADATA_ONLY.watch,
    });
    return { ref: { name, uid: made.metadata.uid ?? "" } };
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  let uid: string;
  try {
    const existing = await kube.request<{ metadata: { uid?: string } }>({
      path: `${base}/${encodeURIComponent(name)}`,
      accept: METADATA_ONLY.watch,
    });
    uid = existing.metadata.uid ?? "";
  } catch (err) {
    if (!isForbidden(err)) throw err;
    return unreadable(kube, profile, name);
  }
  const recorded = profile.status?.activationSecretRef as Partial<ActivationSecretRef> | undefined;
  if (recorded?.name === name && (recorded.uid === uid || recorded.uid === undefined)) return { ref: { name, uid } };
  return { refused: notOurs(profile, name, "was not created by the controller") };
}

/**
 * unreadable decides with the chart's default RBAC (Secrets: create only), where the Secret that is there
 * cannot be read: the profile's own record, read fresh (the cache may not have it yet), is the only proof
 * the controller made it. Without one, it may be a tenant's: refused.
 */
async function unreadable(
  kube: Pick<KubeApi, "request">,
  profile: EsimProfile,
  name: string,
): Promise<ActivationSecretOutcome> {
  const ns = encodeURIComponent(profile.metadata.namespace ?? "");
  const fresh = await kube.request<EsimProfile>({
    path: `/apis/${API_VERSION}/namespaces/${ns}/${PROFILE_PLURAL}/${encodeURIComponent(profile.metadata.name ?? "")}`,
  });
  const recorded = fresh.status?.activationSecretRef as Partial<ActivationSecretRef> | undefined;
  if (fresh.metadata.uid === profile.metadata.uid && recorded?.name === name && recorded.uid) {
    return { ref: { name, uid: recorded.uid } };
  }
  return {
    refused: notOurs(
      profile,
      name,
      "is not recorded as made by the controller (which may create Secrets here, not read them)",
    ),
  };
}

function notOurs(profile: EsimProfile, name: string, why: string): string {
  return (
    `The Secret ${profile.metadata.namespace}/${name} already exists and ${why}, so the activation code is not written to it and it is not recorded as this profile's. ` +
    `Delete it (kubectl delete secret -n ${profile.metadata.namespace} ${name}); the controller then creates the real one.`
  );
}

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
