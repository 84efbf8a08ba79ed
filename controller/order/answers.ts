import { type Refusal, reasonOf } from "../answers.js";
import {
  OPERATOR_ORDER_STATES,
  type OperatorOrderState,
  SORACOM_ORDER_STATUSES,
  type SoracomOrderStatus,
} from "../api/vocabulary.js";
import type { OrderedProfile, ProfileOrder } from "../soracom/types.js";
import type { PlannedEvent, TrackedOrder } from "./model.js";

/**
 * What an answer about a Soracom order must be before anything is recorded or decided from it. Pure.
 * The vendor's state machine is DRAFT → CONFIRMED → IN_PROGRESS → COMPLETED | FAILED: nothing goes back,
 * and a poll may miss a step. The quantity of an order never changes. An answer that fails any check is
 * refused whole: the tracked order stays as it was.
 */

/** vendorStatus is the answer's status when it is one of the vendor's, else Unknown (never an operator word). */
export function vendorStatus(raw: unknown): SoracomOrderStatus | "Unknown" {
  return (SORACOM_ORDER_STATUSES as readonly unknown[]).includes(raw) ? (raw as SoracomOrderStatus) : "Unknown";
}

/** isOperatorState: one of the operator's own states (Pending, NotCreated, Expired, Cancelled, Rejected). */
export function isOperatorState(status: string | undefined): status is OperatorOrderState {
  return (OPERATOR_ORDER_STATES as readonly string[]).includes(status ?? "");
}

/** STEP is each vendor status's place in the state machine; COMPLETED and FAILED are both the end. */
const STEP: Record<SoracomOrderStatus, number> = { DRAFT: 0, CONFIRMED: 1, IN_PROGRESS: 2, COMPLETED: 3, FAILED: 3 };

/**
 * transitionAllowed: from what status the order has recorded to what Soracom says now. The same status, or
 * forward. A Pending intent (no ID yet) may be found in any status; an order the operator released
 * (NotCreated, Expired, Cancelled, Rejected) is never brought back by an answer. A status recorded by an
 * earlier version that neither side knows may move to any vendor status.
 */
export function transitionAllowed(from: string | undefined, to: SoracomOrderStatus): boolean {
  if (from === undefined || from === "Pending") return true;
  if (isOperatorState(from)) return false;
  const known = vendorStatus(from);
  if (known === "Unknown") return true;
  return to === known || STEP[to] > STEP[known];
}

const isTime = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;

/**
 * checkOrderAnswer is the refusal of an answer about `tracked` (a GET, a list entry found by token, a create
 * or confirm answer), or undefined when it may be recorded. `id` is the order asked about, when one was.
 */
export function checkOrderAnswer(tracked: TrackedOrder, o: ProfileOrder, id?: string): Refusal | undefined {
  const name = tracked.profileOrderId ?? id ?? `of sequence ${tracked.sequence}`;
  const refuse = (cause: Refusal["cause"], why: string): Refusal => ({
    cause,
    message: `Soracom's answer about order ${name} was refused: ${why}; nothing was recorded or decided from it.`,
  });
  if (typeof o !== "object" || o === null) return refuse("WrongOrder", "it is not an order");
  const expected = tracked.profileOrderId ?? id;
  if (typeof o.profileOrderId !== "string" || o.profileOrderId === "" || (expected && o.profileOrderId !== expected))
    return refuse("WrongOrder", `it is about order ${JSON.stringify(o.profileOrderId ?? null).slice(0, 60)}`);
  const status = vendorStatus(o.status);
  if (status === "Unknown")
    return refuse("UnknownStatus", `status ${JSON.stringify(o.status ?? null).slice(0, 40)} is not a Soracom status`);
  if (!transitionAllowed(tracked.status, status))
    return refuse("ImpossibleTransition", `Soracom cannot move an order from ${tracked.status} to ${status}`);
  if (!Number.isInteger(o.quantity) || o.quantity <= 0 || o.quantity !== tracked.quantity)
    return refuse(
      "QuantityMismatch",
      `quantity ${JSON.stringify(o.quantity ?? null).slice(0, 20)} is not the ${tracked.quantity} ordered`,
    );
  const times = [o.orderedTime, o.confirmedTime ?? 1, o.completedTime ?? 1];
  if (!times.every(isTime)) return refuse("WrongOrder", "its times are not times");
  return undefined;
}

/**
 * checkProfileList is the refusal of a COMPLETED order's profile list, or undefined: never more profiles
 * than were ordered, each ICCID once, each of this order.
 */
export function checkProfileList(tracked: TrackedOrder, list: readonly OrderedProfile[]): Refusal | undefined {
  const id = tracked.profileOrderId;
  const why = !Array.isArray(list)
    ? "it is not a list"
    : list.length > tracked.quantity
      ? `it lists ${list.length} profiles for ${tracked.quantity} ordered`
      : list.some((p) => typeof p?.iccid !== "string" || p.iccid === "" || p.profileOrderId !== id)
        ? "it lists a profile without an ICCID or of another order"
        : new Set(list.map((p) => p.iccid)).size !== list.length
          ? "it lists an ICCID twice"
          : undefined;
  if (!why) return undefined;
  return {
    cause: "ProfileListInvalid",
    message: `Soracom's profile list of order ${id} was refused: ${why}; no EsimProfile was made from it.`,
  };
}

/** refusalEvent is the Warning Event of one refused answer. */
export function refusalEvent(r: Refusal): PlannedEvent {
  return { type: "Warning", reason: reasonOf(r), message: r.message };
}
