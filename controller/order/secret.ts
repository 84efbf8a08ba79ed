import type { V1Secret } from "@kubernetes/client-node";
import { qrPng } from "../api/qrpng.js";
import type { EsimProfile } from "../api/types.js";
import { ACTIVATION_SECRET, API_VERSION, LABELS, MANAGER_NAME, PROFILE_KIND } from "../api/vocabulary.js";
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

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
