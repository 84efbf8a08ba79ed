import { ANNOTATIONS, DRAFT_LIFETIME_MS, EVENTS } from "../api/vocabulary.js";
import { toKubeTime } from "../kube/status.js";
import type { ProfileOrder } from "../soracom/types.js";
import type { OrderInput, PlannedEvent, TrackedOrder } from "./model.js";
import { descriptionHasToken } from "./tokens.js";

/**
 * Bringing the tracked orders in status up to date with what Soracom said this round: adopting orders
 * whose create outcome was unknown, following status changes, noticing drafts that expired. Pure.
 */

const EXPIRY_SKEW_MS = 60 * 60_000;

const ms = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);

/** TrackResult is the updated list plus what needs doing about orders whose create is uncertain. */
export interface TrackResult {
  orders: TrackedOrder[];
  events: PlannedEvent[];
  /** Pending orders whose grace period has passed without the order showing up: create again. */
  recreate: TrackedOrder[];
  /** Earliest time a Pending order's grace period ends (to requeue then). */
  graceEndsAt?: number;
}

/** trackOrders applies this round's observations to status.orders. */
export function trackOrders(input: OrderInput): TrackResult {
  const events: PlannedEvent[] = [];
  const recreate: TrackedOrder[] = [];
  let graceEndsAt: number | undefined;
  const orders = (input.order.status?.orders ?? []).map((tracked) => {
    if (!tracked.profileOrderId) {
      const found = adopt(tracked, input.listed);
      if (found) {
        events.push({
          type: "Normal",
          reason: EVENTS.OrderAdopted,
          message: `Found Soracom order ${found.profileOrderId} (${found.quantity} profiles, ${found.status}) created for sequence ${tracked.sequence}; adopted it instead of ordering again.`,
        });
        return withSoracom(tracked, found, input.now);
      }
      if (tracked.status === "Pending" && input.listed) {
        const ends = (ms(tracked.createRequestedTime) ?? input.now) + input.config.createGracePeriodMs;
        if ((input.listedAt ?? input.now) >= ends) recreate.push(tracked);
        else graceEndsAt = Math.min(graceEndsAt ?? ends, ends);
      }
      return tracked;
    }
    if (!(tracked.profileOrderId in input.soracomOrders)) return tracked;
    const seen = input.soracomOrders[tracked.profileOrderId];
    if (seen) {
      const next = withSoracom(tracked, seen, input.now);
      events.push(...transitionEvents(tracked, next));
      return next;
    }
    return vanished(tracked, input.now, events);
  });
  return { orders, events, recreate, graceEndsAt };
}

/** adopt finds, among the listed orders, the one created with this tracked order's token. */
function adopt(tracked: TrackedOrder, listed: ProfileOrder[] | undefined): ProfileOrder | undefined {
  return listed?.find((o) => descriptionHasToken(o.description, tracked.token));
}

/** withSoracom copies Soracom's view into a tracked order, stamping statusSince when the status changes. */
export function withSoracom(tracked: TrackedOrder, o: ProfileOrder, now: number): TrackedOrder {
  const changed = tracked.status !== o.status;
  return {
    ...tracked,
    profileOrderId: o.profileOrderId,
    quantity: o.quantity,
    status: o.status,
    orderedTime: toKubeTime(o.orderedTime),
    ...(o.confirmedTime ? { confirmedTime: toKubeTime(o.confirmedTime) } : {}),
    ...(o.completedTime ? { completedTime: toKubeTime(o.completedTime) } : {}),
    statusSince: changed || !tracked.statusSince ? toKubeTime(statusEnteredAt(o, now)) : tracked.statusSince,
  };
}

/** statusEnteredAt is Soracom's own time for the status when it has one, else now (first seen). */
function statusEnteredAt(o: ProfileOrder, now: number): number {
  if (o.status === "DRAFT") return o.orderedTime;
  if (o.status === "CONFIRMED" && o.confirmedTime) return o.confirmedTime;
  if (o.status === "COMPLETED" && o.completedTime) return o.completedTime;
  return now;
}

/** vanished handles a tracked order Soracom no longer knows (404). */
function vanished(tracked: TrackedOrder, now: number, events: PlannedEvent[]): TrackedOrder {
  if (tracked.status === "DRAFT") {
    // The vendor drops drafts 24 h after ordering. An hour of tolerance absorbs clock skew between this
    // controller and Soracom; a draft gone much earlier was cancelled by someone else.
    const expired = (ms(tracked.orderedTime) ?? now) + DRAFT_LIFETIME_MS <= now + EXPIRY_SKEW_MS;
    events.push({
      type: "Warning",
      reason: EVENTS.DraftExpired,
      message: expired
        ? `Draft order ${tracked.profileOrderId} (${tracked.quantity} profiles) expired unconfirmed at Soracom after 24 hours.`
        : `Draft order ${tracked.profileOrderId} (${tracked.quantity} profiles) was cancelled outside the operator.`,
    });
    return { ...tracked, status: expired ? "Expired" : "Cancelled", statusSince: toKubeTime(now) };
  }
  return tracked; // a confirmed order cannot disappear; keep what we know and let the next poll retry
}

/** transitionEvents are the Events for a status change that a person should see. */
function transitionEvents(before: TrackedOrder, after: TrackedOrder): PlannedEvent[] {
  if (before.status === after.status) return [];
  const id = after.profileOrderId;
  if (after.status === "COMPLETED") {
    return [
      {
        type: "Normal",
        reason: EVENTS.OrderCompleted,
        message: `Soracom order ${id} completed (${after.quantity} profiles).`,
      },
    ];
  }
  if (after.status === "FAILED") {
    return [
      {
        type: "Warning",
        reason: EVENTS.OrderFailed,
        message: `Soracom order ${id} (${after.quantity} profiles) FAILED. Contact Soracom support; annotate the order with ${ANNOTATIONS.acknowledgeFailed}=${id} to resume ordering.`,
      },
    ];
  }
  return [];
}
