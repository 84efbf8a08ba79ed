import { createHash } from "node:crypto";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import {
  ACTIVATION_SECRET,
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

/** The longest ICCID an EsimProfile takes (its CRD pattern: 18 to 21 digits, then an optional F). */
export const MAX_ICCID_LENGTH = 22;
/** The longest EsimProfile name whose `<profile>-activation` Secret name still fits in 253 characters. */
export const MAX_PROFILE_NAME = 253 - ACTIVATION_SECRET.suffix.length;
/**
 * The longest EsimProfileOrder name whose derived names all fit as they are: `<order>-<iccid>` and
 * `<order>-<iccid>-activation`. The CRD refuses longer names at create (its rule on metadata.name).
 */
export const MAX_ORDER_NAME = MAX_PROFILE_NAME - 1 - MAX_ICCID_LENGTH;

/**
 * profileName is the EsimProfile's name for a profile of an order: stable, so a create is idempotent.
 * `<order>-<iccid>`; a name too long for its activation Secret (an order older than the CRD's name
 * limit) keeps the ICCID whole and shortens the order's part, with a hash of it, so names never collide.
 */
export function profileName(orderName: string, iccid: string): string {
  const id = iccid.toLowerCase();
  const full = `${orderName}-${id}`;
  if (full.length <= MAX_PROFILE_NAME) return full;
  const hash = createHash("sha256").update(orderName).digest("hex").slice(0, 10);
  const head = orderName.slice(0, MAX_PROFILE_NAME - id.length - hash.length - 2).replace(/[^a-z0-9]+$/, "");
  return `${head}-${hash}-${id}`;
}

/** labelValue fits a name into a label value (63 characters, ending alphanumeric). */
export function labelValue(name: string): string {
  return name.slice(0, 63).replace(/[^A-Za-z0-9]+$/, "");
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
        [LABELS.order]: labelValue(name),
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
