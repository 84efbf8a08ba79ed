import type { Condition, EsimProfileOrder } from "../api/types.js";
import { CONDITIONS, REASONS } from "../api/vocabulary.js";

/** Warning is one thing in an order a person may need to act on. */
export interface Warning {
  /** The condition type it comes from (or the field, for totals). */
  type: string;
  reason: string;
  severity: "error" | "warning";
  message: string;
}

function trueCondition(order: EsimProfileOrder, type: string): Condition | undefined {
  return order.status?.conditions?.find((c) => c.type === type && c.status === "True");
}

/** durationText says "1h 5m" / "12m" / "30s": enough precision to decide whether to hurry. */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

type Check = (order: EsimProfileOrder, now: Date) => Warning | undefined;

/** fromCondition turns a True condition into a warning that keeps the controller's own message. */
const fromCondition =
  (type: string, severity: Warning["severity"], hint?: (order: EsimProfileOrder, now: Date) => string): Check =>
  (order, now) => {
    const c = trueCondition(order, type);
    if (!c) return undefined;
    const extra = hint?.(order, now);
    return { type, reason: c.reason, severity, message: extra ? `${c.message} ${extra}`.trim() : c.message };
  };

const approveHint = (order: EsimProfileOrder) =>
  `Run: kubectl esim approve ${order.metadata.name} -n ${order.metadata.namespace}`;

const expiryHint = (order: EsimProfileOrder, now: Date) => {
  const expires = order.status?.pendingApproval?.expiresTime;
  if (!expires) return "";
  const left = Date.parse(expires) - now.getTime();
  return left > 0 ? `(expires in ${durationText(left)})` : "(expired)";
};

/**
 * deletedOnDevice: the controller's DeletedOnDevice condition, or a non-zero count in totals when the
 * condition is missing (an older controller, or a status written before the condition). Either way
 * the SIMs still bill until they are terminated.
 */
const deletedOnDevice: Check = (order) => {
  const c = trueCondition(order, CONDITIONS.deletedOnDevice);
  const count = order.status?.totals?.deletedOnDevice ?? 0;
  if (!c && count <= 0) return undefined;
  const who = count > 0 ? `${count} profile(s) deleted on the device` : "Profiles deleted on the device";
  const billing = `${who}: still billing until their SIMs are terminated (see spec.onDeviceDeletion).`;
  return {
    type: CONDITIONS.deletedOnDevice,
    reason: c?.reason ?? REASONS.DeletedOnDeviceStillBilling,
    severity: "warning",
    message: c ? `${c.message} ${billing}` : billing,
  };
};

/** stale: the controller has not yet looked at the latest spec, so everything below may be old. */
const stale: Check = (order) => {
  const observed = order.status?.observedGeneration;
  const generation = order.metadata.generation;
  if (observed === undefined || generation === undefined || observed >= generation) return undefined;
  return {
    type: "ObservedGeneration",
    reason: "StatusOutdated",
    severity: "warning",
    message: `Status describes generation ${observed}, the spec is at ${generation}: the controller has not caught up yet.`,
  };
};

/**
 * CHECKS, in the order they are shown (most urgent first). Each line is one situation a person may
 * need to act on; the controller's condition message is kept, with a hint when one helps.
 */
const CHECKS: readonly Check[] = [
  // Stalled: OrderFailed, BudgetExceeded, CredentialsNotFound/Invalid, SoracomRejected: needs a human.
  fromCondition(CONDITIONS.stalled, "error"),
  // A Soracom order has been IN_PROGRESS longer than the alert threshold.
  fromCondition(CONDITIONS.orderStuck, "warning"),
  // A draft will be cancelled by Soracom soon unless confirmed.
  fromCondition(CONDITIONS.draftExpiring, "warning", expiryHint),
  // Manual confirmation: drafts wait for a person.
  fromCondition(CONDITIONS.awaitingConfirmation, "warning", approveHint),
  // Profiles deleted on a device keep billing until their SIMs are terminated.
  deletedOnDevice,
  // The termination budget is spent: terminations wait.
  fromCondition(CONDITIONS.terminationsPaused, "warning"),
  // Lowering quantity left profiles in place (Retain, or installed ones).
  fromCondition(CONDITIONS.scaleDownBlocked, "warning"),
  stale,
];

/** orderWarnings lists what needs attention in an order, most urgent first. Pure: the clock is passed in. */
export function orderWarnings(order: EsimProfileOrder, now: Date): Warning[] {
  return CHECKS.map((check) => check(order, now)).filter((w): w is Warning => w !== undefined);
}
