import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import {
  API_VERSION,
  GITOPS_TRACKING_KEYS,
  LABELS,
  MANAGER_NAME,
  ORDER_KIND,
  PROFILE_FINALIZER,
  PROFILE_KIND,
} from "../api/vocabulary.js";
import type { OrderedProfile } from "../soracom/types.js";

/**
 * What an order creates for each ordered profile. Pure. Labels and annotations come from the order's
 * profileTemplate, without GitOps tracking keys: Argo CD must never think it owns a profile, or a prune
 * would delete it and terminate its SIM.
 */

/** profileName is the EsimProfile's name for a profile of an order: stable, so a create is idempotent. */
export function profileName(orderName: string, iccid: string): string {
  return `${orderName}-${iccid.toLowerCase()}`.slice(0, 253);
}

/** withoutTracking drops GitOps tracking labels/annotations from a map. */
export function withoutTracking(map: Record<string, string> | undefined): Record<string, string> {
  const tracked = new Set<string>(GITOPS_TRACKING_KEYS);
  return Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !tracked.has(k)));
}

/** buildProfile is the EsimProfile an order creates for one of its ordered profiles. */
export function buildProfile(order: EsimProfileOrder, p: OrderedProfile): EsimProfile {
  const tpl = order.spec.profileTemplate;
  const name = order.metadata.name ?? "";
  return {
    apiVersion: API_VERSION,
    kind: PROFILE_KIND,
    metadata: {
      name: profileName(name, p.iccid),
      namespace: order.metadata.namespace,
      labels: {
        ...withoutTracking(tpl?.metadata?.labels),
        [LABELS.managedBy]: MANAGER_NAME,
        [LABELS.order]: name.slice(0, 63),
        [LABELS.profileOrderId]: p.profileOrderId.slice(0, 63),
      },
      annotations: withoutTracking(tpl?.metadata?.annotations),
      finalizers: [PROFILE_FINALIZER],
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: ORDER_KIND,
          name,
          uid: order.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      iccid: p.iccid,
      imsi: p.imsi,
      deletionPolicy: tpl?.spec?.deletionPolicy ?? "Terminate",
      ...(tpl?.spec?.sim ? { sim: tpl.spec.sim } : {}),
      ...(order.spec.accountRef ? { accountRef: order.spec.accountRef } : {}),
      ...(order.spec.credentialsRef ? { credentialsRef: order.spec.credentialsRef } : {}),
    },
  };
}
