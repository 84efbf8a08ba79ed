import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import { PROFILE_REF, REASONS } from "../api/vocabulary.js";
import { KubeApiError } from "../kube/errors.js";
import { type KubeApi, resourcePath } from "../kube/rest.js";
import type { OrderedProfile } from "../soracom/types.js";
import type { Admission } from "./model.js";
import { buildProfile, MAX_ICCID_LENGTH } from "./profiles.js";
import { buildActivationSecret } from "./secret.js";

/**
 * Before an order buys profiles, the apiserver is asked (dry-run creates: nothing is stored) whether it
 * would take the EsimProfile the order makes for each of them and that profile's activation Secret, under
 * the names they will have (for the longest ICCID). A namespace being deleted refuses them, as does a
 * template its schema or an admission policy rejects, a name too long, or RBAC that denies the
 * controller: each would leave bought profiles that can never be recorded. Only a definite refusal
 * blocks; an apiserver that cannot answer (5xx, 429, the network) fails the round, and nothing is
 * created either way.
 */

/** A profile as Soracom might list it, shaped to pass the CRD's patterns, with the longest ICCID; never stored. */
const PROBE: OrderedProfile = {
  profileOrderId: "admission-probe",
  iccid: `${"8".repeat(MAX_ICCID_LENGTH - 1)}F`,
  imsi: "000000000000000",
  matchingId: "ADMISSION-PROBE",
  smdpAddress: "smdp.example.invalid",
  activationCode: "LPA:1$smdp.example.invalid$ADMISSION-PROBE",
  profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
  createdTime: 0,
  lastModifiedTime: 0,
};

const PROBE_UID = "00000000-0000-0000-0000-000000000000";

export async function admitProfiles(kube: Pick<KubeApi, "request">, order: EsimProfileOrder): Promise<Admission> {
  const ns = order.metadata.namespace ?? "";
  const profile = buildProfile(order, PROBE);
  try {
    const made = await kube.request<Partial<EsimProfile> | undefined>({
      method: "POST",
      path: resourcePath({ ...PROFILE_REF, namespace: ns }),
      query: { dryRun: "All" },
      body: profile,
    });
    // The Secret is owned by the profile: the dry run's answer carries the uid it would have had.
    const uid = made?.metadata?.uid ?? PROBE_UID;
    await kube.request({
      method: "POST",
      path: `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets`,
      query: { dryRun: "All" },
      body: buildActivationSecret({ ...profile, metadata: { ...profile.metadata, uid } }, PROBE),
      discardBody: true,
    });
    return { admitted: true };
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.status >= 500 || err.status === 429) throw err;
    if (err.causes.includes("NamespaceTerminating"))
      return {
        admitted: false,
        reason: REASONS.NamespaceTerminating,
        message: `Namespace ${ns} is being deleted: nothing is ordered, since the EsimProfiles an order buys could not be created there.`,
      };
    return {
      admitted: false,
      reason: REASONS.ProfilesNotAdmitted,
      message: `The apiserver refuses the EsimProfiles or activation Secrets this order would create (${err.status}: ${err.message}); nothing is ordered until it accepts them.`,
    };
  }
}

/**
 * recentAdmissions answers admitProfiles, and remembers an "admitted" answer for `ttlMs` per order and
 * generation: a round retried after a status write conflict does not pay the round trip again, keeping
 * the time from the cached object to its status write short. A refusal is never remembered.
 */
export function recentAdmissions(
  kube: Pick<KubeApi, "request">,
  ttlMs: number,
  now: () => number = Date.now,
): (order: EsimProfileOrder) => Promise<Admission> {
  const admitted = new Map<string, number>();
  return async (order) => {
    const key = `${order.metadata.uid}/${order.metadata.generation}`;
    const at = admitted.get(key);
    if (at !== undefined && now() - at < ttlMs) return { admitted: true };
    const answer = await admitProfiles(kube, order);
    if (answer.admitted) admitted.set(key, now());
    else admitted.delete(key);
    if (admitted.size > 10_000) for (const [k, t] of admitted) if (now() - t >= ttlMs) admitted.delete(k);
    return answer;
  };
}
