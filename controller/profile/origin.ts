import { ownerOrder } from "../api/owner.js";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";

/**
 * Where a profile's authority comes from. A profile an order made may act on its SIM as the order's
 * (terminate it when deleted under Terminate, whatever the account's adoption rules); every other profile
 * adopts, under its account's adoption rules. ownerReferences, labels and names are the tenant's to write,
 * so they prove nothing: only the controller's own record does (docs/security.md, "Authority").
 */

/**
 * isOrderChild: the profile is a child `order` made. All of these must hold, each from state a tenant
 * cannot write or cannot change once bound:
 * - the order is the owner the profile names (same UID) in the profile's namespace;
 * - the order's status (controller-written) tracks the Soracom order the profile's status names, and that
 *   profileOrderId, ICCID and IMSI in the profile's status were written by the order's executor when it
 *   made the profile (status is the controller's alone: no tenant role writes it);
 * - the profile's spec names exactly that ICCID and IMSI and no SIM ID (an order never sets one; spec
 *   identifiers are immutable), so the SIM acted on is the one the order bought;
 * - it acts through the order's account (spec.accountRef is immutable on both).
 */
export function isOrderChild(profile: EsimProfile, order: EsimProfileOrder | undefined): boolean {
  const ref = ownerOrder(profile);
  if (!ref) return false;
  // The order is gone (deleted before its children, as a background delete or a namespace deletion does):
  // the profile's own record, written only by an order's executor, is what is left of the order's.
  if (!order) return madeByAnOrder(profile);
  if (!order.metadata.uid || order.metadata.uid !== ref.uid) return false;
  if (order.metadata.namespace !== profile.metadata.namespace) return false;
  const id = profile.status?.profileOrderId;
  if (!id || !order.status?.orders?.some((t) => t.profileOrderId === id)) return false;
  if (!madeByAnOrder(profile)) return false;
  return (profile.spec.accountRef?.name ?? "") === (order.spec.accountRef?.name ?? "");
}

/**
 * madeByAnOrder: the profile's status carries a Soracom order's record (profileOrderId, ICCID, IMSI), which
 * only an order's executor writes when it makes the profile, and its spec names exactly that ICCID and IMSI
 * and no SIM ID, so the SIM it acts on is one an order bought (its account is its immutable accountRef).
 */
function madeByAnOrder(profile: EsimProfile): boolean {
  const { spec, status } = profile;
  if (!status?.profileOrderId || !status.iccid || spec.iccid !== status.iccid) return false;
  if ((spec.imsi ?? "") !== (status.imsi ?? "")) return false;
  return spec.simId === undefined;
}
