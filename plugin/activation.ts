import type { V1Secret } from "@kubernetes/client-node";
import type { EsimProfile } from "../controller/api/types.js";
import { ACTIVATION_SECRET } from "../controller/api/vocabulary.js";
import type { Cluster } from "./cluster.js";
import type { ActivationData } from "./columns.js";
import { ForbiddenError, NotFoundError } from "./errors.js";

/** ActivationRead is a profile's activation data, or why it could not be read (a sentence). */
export type ActivationRead =
  | { ok: true; activation: ActivationData }
  | { ok: false; code: "NoSecretYet" | "Forbidden" | "SecretNotFound" | "NotActivationSecret"; problem: string };

const decode = (secret: V1Secret, key: string): string | undefined => {
  const b64 = secret.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
};

/**
 * activationFromSecret decodes an activation Secret. A Secret of another type is refused: status is
 * only a pointer, and the plugin must never print some other Secret's contents.
 */
export function activationFromSecret(secret: V1Secret): ActivationRead {
  if (secret.type !== ACTIVATION_SECRET.type) {
    return {
      ok: false,
      code: "NotActivationSecret",
      problem: `Secret "${secret.metadata?.name}" is of type "${secret.type}", not ${ACTIVATION_SECRET.type}`,
    };
  }
  const k = ACTIVATION_SECRET.keys;
  const activation: ActivationData = {};
  const code = decode(secret, k.activationCode);
  const smdp = decode(secret, k.smdpAddress);
  const matching = decode(secret, k.matchingId);
  if (code !== undefined) activation.activationCode = code;
  if (smdp !== undefined) activation.smdpAddress = smdp;
  if (matching !== undefined) activation.matchingId = matching;
  return { ok: true, activation };
}

/**
 * readActivation reads a profile's activation Secret where RBAC allows. A 403 or a missing Secret is
 * an answer (the row is left empty and reported), not a failure of the whole command.
 */
export async function readActivation(cluster: Cluster, profile: EsimProfile): Promise<ActivationRead> {
  const name = profile.status?.activationSecretRef?.name;
  const namespace = profile.metadata.namespace ?? "";
  if (!name) {
    return {
      ok: false,
      code: "NoSecretYet",
      problem: "no activation Secret yet (status.activationSecretRef is empty)",
    };
  }
  try {
    return activationFromSecret(await cluster.getSecret(namespace, name));
  } catch (err) {
    if (err instanceof ForbiddenError) return { ok: false, code: "Forbidden", problem: err.message };
    if (err instanceof NotFoundError) {
      return { ok: false, code: "SecretNotFound", problem: `activation Secret "${name}" not found` };
    }
    throw err;
  }
}
