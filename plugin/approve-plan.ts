import { splitList } from "../controller/api/annotations.js";
import type { EsimProfileOrder } from "../controller/api/types.js";
import { ANNOTATIONS } from "../controller/api/vocabulary.js";
import { planText } from "./status-view.js";

/** ApprovalPlan is what `kubectl esim approve` shows and then writes: exactly the drafts pending now. */
export interface ApprovalPlan {
  /** The draft profileOrderIds shown to the person; the annotation gains exactly these. */
  ids: string[];
  quantity: number;
  plan: string;
  expiresTime?: string;
  /** Of `ids`, those the annotation already lists (a previous approve the controller has not acted on). */
  alreadyApproved: string[];
}

/** planApproval reads status.pendingApproval; undefined when nothing waits for approval. */
export function planApproval(order: EsimProfileOrder): ApprovalPlan | undefined {
  const pending = order.status?.pendingApproval;
  const ids = [...new Set(pending?.profileOrderIds ?? [])];
  if (ids.length === 0) return undefined;
  const approved = new Set(splitList(order.metadata.annotations?.[ANNOTATIONS.approveOrders]));
  const plan: ApprovalPlan = {
    ids,
    quantity: pending?.quantity ?? 0,
    plan: planText(order.spec),
    alreadyApproved: ids.filter((id) => approved.has(id)),
  };
  if (pending?.expiresTime) plan.expiresTime = pending.expiresTime;
  return plan;
}

/** approvalSentence: "Approve 2 draft orders (25 profiles of planX3, speed class s1.fast): id1, id2". */
export function approvalSentence(plan: ApprovalPlan): string {
  const orders = plan.ids.length === 1 ? "1 draft order" : `${plan.ids.length} draft orders`;
  const profiles = plan.quantity === 1 ? "1 profile" : `${plan.quantity} profiles`;
  return `Approve ${orders} (${profiles} of ${plan.plan}): ${plan.ids.join(", ")}`;
}

/**
 * mergeApproved is the new annotation value: the IDs already there, then the approved ones not yet
 * there. Order is kept so repeated approvals do not churn the object; nothing is ever removed.
 */
export function mergeApproved(existing: string | undefined, ids: readonly string[]): string {
  const merged = splitList(existing);
  for (const id of ids) if (!merged.includes(id)) merged.push(id);
  return merged.join(",");
}
