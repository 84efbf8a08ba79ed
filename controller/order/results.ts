import type { EsimProfileOrderStatus } from "../api/types.js";
import { CONDITIONS, EVENTS, REASONS } from "../api/vocabulary.js";
import { setCondition } from "../kube/status.js";
import type { ProfileOrder } from "../soracom/types.js";
import type { PlannedEvent } from "./model.js";
import { withSoracom } from "./track.js";

/**
 * What the executor reports back, and how it changes the status the planner proposed. Pure, so the
 * money-relevant bookkeeping (which sequence got which Soracom order) is unit-tested without I/O.
 */
export type ActionResult =
  | { type: "created"; sequence: number; order: ProfileOrder }
  | { type: "createUnknown"; sequence: number; message: string }
  | { type: "createRejected"; sequence: number; code: string; message: string }
  | { type: "confirmed"; order: ProfileOrder }
  | { type: "cancelled"; profileOrderId: string }
  | { type: "failed"; action: string; message: string };

/** applyResults folds the executor's results into the planned status and lists the Events to record. */
export function applyResults(
  planned: EsimProfileOrderStatus,
  results: readonly ActionResult[],
  now: number,
  generation: number,
): { status: EsimProfileOrderStatus; events: PlannedEvent[] } {
  let status = planned;
  const events: PlannedEvent[] = [];
  const update = (
    match: (t: NonNullable<EsimProfileOrderStatus["orders"]>[number]) => boolean,
    order: ProfileOrder,
  ) => {
    status = { ...status, orders: (status.orders ?? []).map((t) => (match(t) ? withSoracom(t, order, now) : t)) };
  };
  for (const r of results) {
    switch (r.type) {
      case "created":
        update((t) => t.sequence === r.sequence, r.order);
        events.push({
          type: "Normal",
          reason: EVENTS.OrderCreated,
          message: `Created Soracom order ${r.order.profileOrderId} for ${r.order.quantity} ${r.order.subscription} profiles (DRAFT, sequence ${r.sequence}).`,
        });
        break;
      case "createUnknown":
        events.push({
          type: "Warning",
          reason: EVENTS.SoracomError,
          message: `The outcome of creating the order of sequence ${r.sequence} is unknown (${r.message}); it will be looked up by its token, never ordered twice.`,
        });
        break;
      case "createRejected":
        status = {
          ...status,
          orders: (status.orders ?? []).map((t) => (t.sequence === r.sequence ? { ...t, status: "Rejected" } : t)),
          conditions: setCondition(
            status.conditions as never,
            {
              type: CONDITIONS.stalled,
              status: "True",
              reason: REASONS.SoracomRejected,
              message: `Soracom refused the order (${r.code}: ${r.message}); change the spec to retry.`,
              observedGeneration: generation,
            },
            now,
          ),
        };
        events.push({
          type: "Warning",
          reason: EVENTS.SoracomError,
          message: `Soracom refused the order of sequence ${r.sequence}: ${r.code}: ${r.message}`,
        });
        break;
      case "confirmed":
        update((t) => t.profileOrderId === r.order.profileOrderId, r.order);
        events.push({
          type: "Normal",
          reason: EVENTS.OrderConfirmed,
          message: `Confirmed Soracom order ${r.order.profileOrderId} (${r.order.quantity} profiles): it is now billed and cannot be cancelled.`,
        });
        break;
      case "cancelled":
        status = {
          ...status,
          orders: (status.orders ?? []).map((t) =>
            t.profileOrderId === r.profileOrderId ? { ...t, status: "Cancelled" } : t,
          ),
        };
        events.push({
          type: "Normal",
          reason: EVENTS.DraftCancelled,
          message: `Cancelled draft order ${r.profileOrderId}.`,
        });
        break;
      case "failed":
        events.push({ type: "Warning", reason: EVENTS.SoracomError, message: `${r.action} failed: ${r.message}` });
        break;
    }
  }
  return { status, events };
}
