import type { Refusal } from "../answers.js";
import type { EsimProfileOrderStatus } from "../api/types.js";
import { CONDITIONS, EVENTS, REASONS, type TerminationReason } from "../api/vocabulary.js";
import { setCondition, toKubeTime } from "../kube/status.js";
import type { ProfileOrder } from "../soracom/types.js";
import { checkOrderAnswer, refusalEvent } from "./answers.js";
import type { PlannedEvent, TerminationRequest, TrackedOrder } from "./model.js";
import { withSoracom } from "./track.js";

/**
 * What the executor reports back, and how it is written into the planned status: each result changes
 * exactly the entry it is about (which sequence got which Soracom order, a confirm sent, a SIM
 * terminated). Mechanical, nothing is decided again here; pure, so the bookkeeping is unit-tested.
 */
export type ActionResult =
  | { type: "created"; sequence: number; order: ProfileOrder }
  | { type: "createUnknown"; sequence: number; message: string }
  | { type: "createRejected"; sequence: number; code: string; message: string }
  | { type: "confirmed"; profileOrderId: string; order: ProfileOrder }
  | { type: "confirmUnknown"; profileOrderId: string; message: string }
  | { type: "cancelled"; profileOrderId: string }
  | { type: "terminated"; profile: string; simId: string; reason: TerminationReason }
  | { type: "terminateUnknown"; profile: string; simId: string; reason: TerminationReason; message: string }
  | { type: "terminationRefused"; profile: string; simId: string; reason: TerminationReason }
  | { type: "failed"; action: string; message: string };

type Recorder = (
  s: EsimProfileOrderStatus,
  r: never,
  ctx: { now: number; generation: number },
) => { status: EsimProfileOrderStatus; event?: PlannedEvent; refused?: Refusal };

/**
 * answerOf records a create's or confirm's answer into the entry it is about, when the answer passes the
 * checks every answer does (answers.ts); refused, the entry stays (`keep`) and the refusal is reported.
 */
function answerOf(
  s: EsimProfileOrderStatus,
  match: (t: TrackedOrder) => boolean,
  o: ProfileOrder,
  now: number,
  keep: (t: TrackedOrder) => TrackedOrder,
): { status: EsimProfileOrderStatus; refused?: Refusal } {
  const t = (s.orders ?? []).find(match);
  const refused = t ? checkOrderAnswer(t, o, t.profileOrderId) : undefined;
  if (refused) return { status: orders(s, (x) => (x === t ? keep(x) : x)), refused };
  return { status: orders(s, (x) => (x === t ? withSoracom(x, o, now) : x)) };
}

const orders = (s: EsimProfileOrderStatus, fn: (t: TrackedOrder) => TrackedOrder): EsimProfileOrderStatus => ({
  ...s,
  orders: (s.orders ?? []).map(fn),
});
const requests = (
  s: EsimProfileOrderStatus,
  profile: string,
  fn: (r: TerminationRequest) => TerminationRequest,
): EsimProfileOrderStatus => ({
  ...s,
  ...(s.terminations ? { terminations: s.terminations.map((r) => (r.profile === profile ? fn(r) : r)) } : {}),
});

/** RECORDERS: one line of bookkeeping per kind of result. */
const RECORDERS: { [K in ActionResult["type"]]: Recorder } = {
  created: (s, r: Extract<ActionResult, { type: "created" }>, { now }) => {
    // A create answer that cannot be trusted leaves the intent Pending: it is looked up by its token.
    const recorded = answerOf(
      s,
      (t) => t.sequence === r.sequence,
      r.order,
      now,
      (t) => t,
    );
    if (recorded.refused) return { ...recorded, event: refusalEvent(recorded.refused) };
    return {
      status: recorded.status,
      event: {
        type: "Normal",
        reason: EVENTS.OrderCreated,
        message: `Created Soracom order ${r.order.profileOrderId} for ${r.order.quantity} ${r.order.subscription} profiles (DRAFT, sequence ${r.sequence}).`,
      },
    };
  },
  createUnknown: (s, r: Extract<ActionResult, { type: "createUnknown" }>) => ({
    status: s,
    event: {
      type: "Warning",
      reason: EVENTS.SoracomError,
      message: `The outcome of creating the order of sequence ${r.sequence} is unknown (${r.message}); it will be looked up by its token, never ordered twice.`,
    },
  }),
  createRejected: (s, r: Extract<ActionResult, { type: "createRejected" }>, { now, generation }) => ({
    status: {
      ...orders(s, (t) => (t.sequence === r.sequence ? { ...t, status: "Rejected" } : t)),
      conditions: setCondition(
        s.conditions as never,
        {
          type: CONDITIONS.stalled,
          status: "True",
          reason: REASONS.SoracomRejected,
          message: `Soracom refused the order (${r.code}: ${r.message}); change the spec to retry.`,
          observedGeneration: generation,
        },
        now,
      ),
    },
    event: {
      type: "Warning",
      reason: EVENTS.SoracomError,
      message: `Soracom refused the order of sequence ${r.sequence}: ${r.code}: ${r.message}`,
    },
  }),
  confirmed: (s, r: Extract<ActionResult, { type: "confirmed" }>, { now }) => {
    // A confirm answer that cannot be trusted: the order may be confirmed; it is read before anything else.
    const id = r.profileOrderId;
    const sent = (t: TrackedOrder) => ({ ...t, confirmRequestedTime: toKubeTime(now) });
    const recorded = answerOf(s, (t) => t.profileOrderId === id, r.order, now, sent);
    if (recorded.refused) return { ...recorded, event: refusalEvent(recorded.refused) };
    return {
      status: recorded.status,
      event: {
        type: "Normal",
        reason: EVENTS.OrderConfirmed,
        message: `Confirmed Soracom order ${id} (${r.order.quantity} profiles): it is now billed and cannot be cancelled.`,
      },
    };
  },
  confirmUnknown: (s, r: Extract<ActionResult, { type: "confirmUnknown" }>, { now }) => ({
    status: orders(s, (t) =>
      t.profileOrderId === r.profileOrderId ? { ...t, confirmRequestedTime: toKubeTime(now) } : t,
    ),
    event: {
      type: "Warning",
      reason: EVENTS.SoracomError,
      message: `The outcome of confirming order ${r.profileOrderId} is unknown (${r.message}); it is read again before any other confirm.`,
    },
  }),
  cancelled: (s, r: Extract<ActionResult, { type: "cancelled" }>) => ({
    status: orders(s, (t) => (t.profileOrderId === r.profileOrderId ? { ...t, status: "Cancelled" } : t)),
    event: { type: "Normal", reason: EVENTS.DraftCancelled, message: `Cancelled draft order ${r.profileOrderId}.` },
  }),
  terminated: (s, r: Extract<ActionResult, { type: "terminated" }>, { now }) => ({
    status: requests(s, r.profile, (q) => ({ ...q, terminated: true, attemptedTime: toKubeTime(now) })),
    event: {
      type: "Normal",
      reason: EVENTS.SimTerminated,
      message: `SIM ${r.simId} of EsimProfile ${r.profile} terminated (${r.reason}).`,
    },
  }),
  terminateUnknown: (s, r: Extract<ActionResult, { type: "terminateUnknown" }>, { now }) => ({
    status: requests(s, r.profile, (q) => ({ ...q, attemptedTime: toKubeTime(now) })),
    event: {
      type: "Warning",
      reason: EVENTS.SoracomError,
      message: `The outcome of terminating SIM ${r.simId} is unknown (${r.message}); the SIM is read again before anything else.`,
    },
  }),
  terminationRefused: (s) => ({ status: s }),
  failed: (s, r: Extract<ActionResult, { type: "failed" }>) => ({
    status: s,
    event: { type: "Warning", reason: EVENTS.SoracomError, message: `${r.action} failed: ${r.message}` },
  }),
};

/** recordResults writes the executor's results into the planned status and lists the Events to record. */
export function recordResults(
  planned: EsimProfileOrderStatus,
  results: readonly ActionResult[],
  now: number,
  generation: number,
): { status: EsimProfileOrderStatus; events: PlannedEvent[]; refused: Refusal[] } {
  let status = planned;
  const events: PlannedEvent[] = [];
  const refused: Refusal[] = [];
  for (const r of results) {
    const out = RECORDERS[r.type](status, r as never, { now, generation });
    status = out.status;
    if (out.event) events.push(out.event);
    if (out.refused) refused.push(out.refused);
  }
  return { status, events, refused };
}
