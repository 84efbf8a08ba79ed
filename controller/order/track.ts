import type { Refusal } from "../answers.js";
import { formatWindow } from "../api/duration.js";
import { ANNOTATIONS, DRAFT_LIFETIME_MS, EVENTS } from "../api/vocabulary.js";
import { toKubeTime } from "../kube/status.js";
import type { ProfileOrder } from "../soracom/types.js";
import { checkOrderAnswer } from "./answers.js";
import type { OrderInput, PlannedEvent, SoracomView, TrackedOrder } from "./model.js";
import { descriptionHasToken } from "./tokens.js";

/**
 * Bringing the tracked orders in status up to date with what Soracom said this round: adopting orders
 * whose create outcome was unknown, following status changes, noticing drafts that expired. Pure. Every
 * answer is checked first (answers.ts); one that fails is refused: the order stays as it was recorded.
 */

const EXPIRY_SKEW_MS = 60 * 60_000;

const ms = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);

/** TrackResult is the updated list and when the earliest uncertain create's grace period ends. */
export interface TrackResult {
  orders: TrackedOrder[];
  events: PlannedEvent[];
  /** Earliest time a Pending order's grace period ends (to requeue then). */
  graceEndsAt?: number;
  /** Answers refused this round (each changed nothing). */
  refusals: Refusal[];
}

/**
 * trackOrders applies this round's reads to status.orders. A create whose outcome is unknown stays
 * Pending while it may still show up; once a list read after its grace period ended does not show it,
 * it did not happen: NotCreated. What is still missing then is planned like any other create, against
 * the quantity in force now (a create is never sent again on the strength of an old intent).
 */
export function trackOrders(input: OrderInput, current = input.order.status?.orders ?? []): TrackResult {
  const out: TrackResult = { orders: [], events: [], refusals: [] };
  const read = input.soracom;
  out.orders = current.map((tracked) => {
    if (!tracked.profileOrderId) return findCreated(input, tracked, out);
    if (!read || !(tracked.profileOrderId in read.orders)) return tracked;
    const seen = read.orders[tracked.profileOrderId];
    if (!seen) return vanished(tracked, read, input.now, out);
    const refused = checkOrderAnswer(tracked, seen, tracked.profileOrderId);
    if (refused) {
      out.refusals.push(refused);
      return tracked;
    }
    const next = withSoracom(tracked, seen, input.now);
    out.events.push(...transitionEvents(tracked, next));
    return next;
  });
  return out;
}

/**
 * findCreated looks for an intent whose create outcome is unknown in this round's list, by its token. A
 * listed order carrying the token that fails its checks is refused, and the intent stays Pending: it
 * exists, so it is never concluded absent.
 */
function findCreated(input: OrderInput, tracked: TrackedOrder, out: TrackResult): TrackedOrder {
  const read = input.soracom;
  const found = adopt(tracked, read?.listed);
  if (found) {
    const refused = checkOrderAnswer(tracked, found);
    if (refused) {
      out.refusals.push(refused);
      return tracked;
    }
    out.events.push({
      type: "Normal",
      reason: EVENTS.OrderAdopted,
      message: `Found Soracom order ${found.profileOrderId} (${found.quantity} profiles, ${found.status}) created for sequence ${tracked.sequence}; adopted it instead of ordering again.`,
    });
    return withSoracom(tracked, found, input.now);
  }
  if (tracked.status !== "Pending" || !read?.listed) return tracked;
  const ends = (ms(tracked.createRequestedTime) ?? input.now) + input.config.createGracePeriodMs;
  if ((read.listedAt ?? input.now) < ends) {
    out.graceEndsAt = Math.min(out.graceEndsAt ?? ends, ends);
    return tracked;
  }
  out.events.push({
    type: "Warning",
    reason: EVENTS.OrderNotCreated,
    message: `The create of sequence ${tracked.sequence} (${tracked.quantity} profiles) did not happen: Soracom does not list it ${formatWindow(input.config.createGracePeriodMs)} after it was sent. Profiles still missing are ordered anew against the quantity wanted now.`,
  });
  return { ...tracked, status: "NotCreated", statusSince: toKubeTime(input.now) };
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

/**
 * vanished handles a tracked order Soracom answered 404 for. Only a DRAFT can go (the vendor drops it after
 * 24 h, or someone cancelled it), and only on two answers that agree: the GET's 404 and a list of this
 * round (observe.ts lists after a 404) that does not show it either. A draft a confirm was sent for may
 * be confirmed; a confirmed order cannot disappear. Those keep their places, and the 404 is refused.
 */
function vanished(tracked: TrackedOrder, read: SoracomView, now: number, out: TrackResult): TrackedOrder {
  const id = tracked.profileOrderId;
  const refuse = (why: string) => {
    out.refusals.push({
      cause: "OrderVanished",
      message: `Soracom answered that order ${id} does not exist, but ${why}; its ${tracked.quantity} profiles keep their places.`,
    });
    return tracked;
  };
  if (tracked.status !== "DRAFT") return refuse(`it was ${tracked.status}, and a confirmed order cannot disappear`);
  if (tracked.confirmRequestedTime) return refuse("a confirm was sent for it, so it may be confirmed");
  if (!read.listed) return tracked; // no list this round to agree with the 404: look again
  if (read.listed.some((o) => o?.profileOrderId === id)) return refuse("Soracom's list of orders still shows it");
  // The vendor drops drafts 24 h after ordering. An hour of tolerance absorbs clock skew between this
  // controller and Soracom; a draft gone much earlier was cancelled by someone else.
  const expired = (ms(tracked.orderedTime) ?? now) + DRAFT_LIFETIME_MS <= now + EXPIRY_SKEW_MS;
  out.events.push({
    type: "Warning",
    reason: EVENTS.DraftExpired,
    message: expired
      ? `Draft order ${id} (${tracked.quantity} profiles) expired unconfirmed at Soracom after 24 hours.`
      : `Draft order ${id} (${tracked.quantity} profiles) was cancelled outside the operator.`,
  });
  return { ...tracked, status: expired ? "Expired" : "Cancelled", statusSince: toKubeTime(now) };
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
        message: `Soracom order ${id} (${after.quantity} profiles) FAILED. Contact Soracom support, then acknowledge it to resume ordering: kubectl esim ack on this order (the annotation ${ANNOTATIONS.acknowledgeFailed}=${id}).`,
      },
    ];
  }
  return [];
}
