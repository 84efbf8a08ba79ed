import { splitList } from "../api/annotations.js";
import type { EsimProfileOrderSpec } from "../api/types.js";
import { ANNOTATIONS } from "../api/vocabulary.js";
import { type ChildProfile, RELEASED, type TrackedOrder } from "./model.js";

/**
 * Counting what an EsimProfileOrder holds, and which drafts may be confirmed. Pure. These counts decide
 * how much is ordered, so they fail closed: whatever is not known to be released holds its places.
 */

/** Spec with the CRD defaults applied (the apiserver applies them too; unit tests may not). */
export type DefaultedSpec = Required<
  Pick<EsimProfileOrderSpec, "maxProfilesPerOrder" | "confirmation" | "scaleDownPolicy" | "onDeviceDeletion" | "paused">
> &
  EsimProfileOrderSpec;

export function withDefaults(spec: EsimProfileOrderSpec): DefaultedSpec {
  return {
    ...spec,
    maxProfilesPerOrder: spec.maxProfilesPerOrder ?? 20,
    confirmation: spec.confirmation ?? "Automatic",
    scaleDownPolicy: spec.scaleDownPolicy ?? "Retain",
    onDeviceDeletion: spec.onDeviceDeletion ?? "Report",
    paused: spec.paused ?? false,
  };
}

const grouped = new WeakMap<readonly ChildProfile[], Map<string | undefined, ChildProfile[]>>();

/**
 * childrenOfOrder are the children created for one Soracom order, grouped once per children array: an
 * order of 10,000 profiles has 500 Soracom orders, and filtering every child for each made rounds quadratic.
 */
export function childrenOfOrder(children: readonly ChildProfile[], profileOrderId: string | undefined): ChildProfile[] {
  let byOrder = grouped.get(children);
  if (!byOrder) {
    byOrder = new Map();
    for (const c of children) {
      const list = byOrder.get(c.profileOrderId);
      if (list) list.push(c);
      else byOrder.set(c.profileOrderId, [c]);
    }
    grouped.set(children, byOrder);
  }
  return byOrder.get(profileOrderId) ?? [];
}

/**
 * countSlots counts the profiles the order holds toward spec.quantity: every EsimProfile it created that
 * still exists (a terminated record and one being deleted included), plus every profile of a Soracom
 * order whose profiles are not all accounted for. A COMPLETED order not yet materialized holds what is
 * neither made nor deleted (a short list's missing profiles included); a released order holds nothing;
 * any other status, an unknown one included, holds its whole quantity.
 */
export function countSlots(orders: readonly TrackedOrder[], children: readonly ChildProfile[]): number {
  let slots = children.length;
  for (const t of orders) {
    const status = t.status ?? "Pending";
    if (RELEASED.has(status)) continue;
    if (status !== "COMPLETED") {
      slots += t.quantity;
      continue;
    }
    if (t.materialized) continue;
    const made = childrenOfOrder(children, t.profileOrderId);
    const present = new Set(made.map((c) => c.iccid));
    const deleted = (t.deletedProfiles ?? []).filter((iccid) => !present.has(iccid)).length;
    slots += Math.max(0, t.quantity - made.length - deleted);
  }
  return slots;
}

/** approvedDrafts lists the drafts that may be confirmed: all under Automatic, approved ones under Manual. */
export function approvedDrafts(
  annotations: Record<string, string> | undefined,
  spec: DefaultedSpec,
  orders: readonly TrackedOrder[],
): TrackedOrder[] {
  const drafts = orders.filter((t) => t.status === "DRAFT" && t.profileOrderId).sort((a, b) => a.sequence - b.sequence);
  if (spec.confirmation === "Automatic") return drafts;
  const byAnnotation = new Set(splitList(annotations?.[ANNOTATIONS.approveOrders]));
  let budget = (spec.approvedQuantity ?? 0) - confirmedQuantity(orders);
  return drafts.filter((d) => {
    if (byAnnotation.has(d.profileOrderId!)) return true;
    if (d.quantity <= budget) {
      budget -= d.quantity;
      return true;
    }
    return false;
  });
}

function confirmedQuantity(orders: readonly TrackedOrder[]): number {
  return orders
    .filter((t) => ["CONFIRMED", "IN_PROGRESS", "COMPLETED", "FAILED"].includes(t.status ?? ""))
    .reduce((n, t) => n + t.quantity, 0);
}
