import type { ObjectMeta } from "../kube/object.js";
import type { OwnerReference } from "./types.js";
import { GROUP, ORDER_KIND } from "./vocabulary.js";

/**
 * ownerOrder is the one answer to "is this profile owned by an EsimProfileOrder, and which": the owner
 * reference of kind EsimProfileOrder in this API group. A profile without one adopts an existing SIM.
 */
export function ownerOrder(profile: { metadata: ObjectMeta }): OwnerReference | undefined {
  return (profile.metadata.ownerReferences as OwnerReference[] | undefined)?.find(
    (o) => o.kind === ORDER_KIND && String(o.apiVersion).startsWith(`${GROUP}/`),
  );
}
