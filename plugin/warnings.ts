import type { Condition, EsimProfile, EsimProfileOrder } from "../controller/api/types.js";
import { CONDITIONS, REASONS } from "../controller/api/vocabulary.js";

/** Warning is one thing in an order a person may need to act on. */
export interface Warning {
  /** The condition type it comes from (ObservedGeneration for a status behind its spec). */
  type: string;
  reason: string;
  severity: "error" | "warning";
  message: string;
}

/** WarningInput is an order, the EsimProfiles it created (for their conditions), and the clock. */
export interface WarningInput {
  order: EsimProfileOrder;
  profiles: readonly EsimProfile[];
  now: Date;
}

function trueCondition(obj: EsimProfileOrder | EsimProfile, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type && c.status === "True");
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

/** names lists up to three profile names, then how many more: enough to find them with kubectl. */
function names(profiles: readonly EsimProfile[]): string {
  const shown = profiles.slice(0, 3).map((p) => p.metadata.name);
  return profiles.length > 3 ? `${shown.join(", ")} and ${profiles.length - 3} more` : shown.join(", ");
}

type Check = (input: WarningInput) => Warning | undefined;

/** fromOrder turns a True condition of the order into a warning that keeps the controller's message. */
const fromOrder =
  (type: string, severity: Warning["severity"], hint?: (input: WarningInput) => string): Check =>
  (input) => {
    const c = trueCondition(input.order, type);
    if (!c) return undefined;
    const extra = hint?.(input);
    return { type, reason: c.reason, severity, message: extra ? `${c.message} ${extra}` : c.message };
  };

/** fromProfiles: a condition True on some of the order's profiles, counted and named, with the first message. */
const fromProfiles =
  (type: string, severity: Warning["severity"]): Check =>
  ({ profiles }) => {
    const hit = profiles.filter((p) => trueCondition(p, type));
    const first = hit[0] && trueCondition(hit[0], type);
    if (!first) return undefined;
    return {
      type,
      reason: first.reason,
      severity,
      message: `${hit.length} profile(s) (${names(hit)}): ${first.message}`,
    };
  };

const approveHint = ({ order }: WarningInput) =>
  `Run: kubectl esim approve ${order.metadata.name} -n ${order.metadata.namespace}`;

const expiryHint = ({ order, now }: WarningInput) => {
  const expires = order.status?.pendingApproval?.expiresTime;
  if (!expires) return "";
  const left = Date.parse(expires) - now.getTime();
  return left > 0 ? `(expires in ${durationText(left)})` : "(expired)";
};

/** stalled: the order's own Stalled condition, else Stalled profiles (e.g. SimNotFound, bad credentials). */
const stalled: Check = (input) =>
  fromOrder(CONDITIONS.stalled, "error")(input) ?? fromProfiles(CONDITIONS.stalled, "error")(input);

/**
 * deletedOnDevice: profiles whose DeletedOnDevice condition is True (the controller sets it per
 * profile), or a count in the order's totals (or an order condition) when the profiles say nothing.
 * Either way those SIMs still bill until they are terminated.
 */
const deletedOnDevice: Check = ({ order, profiles }) => {
  const hit = profiles.filter((p) => trueCondition(p, CONDITIONS.deletedOnDevice));
  const onOrder = trueCondition(order, CONDITIONS.deletedOnDevice);
  const count = Math.max(hit.length, order.status?.totals?.deletedOnDevice ?? 0);
  if (count === 0 && !onOrder) return undefined;
  const who = count > 0 ? `${count} profile(s) deleted on the device` : "Profiles deleted on the device";
  const which = hit.length > 0 ? ` (${names(hit)})` : "";
  return {
    type: CONDITIONS.deletedOnDevice,
    reason: onOrder?.reason ?? REASONS.DeletedOnDeviceStillBilling,
    severity: "warning",
    message: `${who}${which}: still billing until their SIMs are terminated (see spec.onDeviceDeletion).`,
  };
};

/** terminationsPaused: on the order, or on the profiles waiting for the termination budget. */
const terminationsPaused: Check = (input) =>
  fromOrder(CONDITIONS.terminationsPaused, "warning")(input) ??
  fromProfiles(CONDITIONS.terminationsPaused, "warning")(input);

/** stale: the controller has not yet looked at the latest spec, so everything below may be old. */
const stale: Check = ({ order }) => {
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
  stalled,
  // A Soracom order has been IN_PROGRESS longer than the alert threshold.
  fromOrder(CONDITIONS.orderStuck, "warning"),
  // A draft will be cancelled by Soracom soon unless confirmed.
  fromOrder(CONDITIONS.draftExpiring, "warning", expiryHint),
  // Manual confirmation: drafts wait for a person.
  fromOrder(CONDITIONS.awaitingConfirmation, "warning", approveHint),
  // Profiles deleted on a device keep billing until their SIMs are terminated.
  deletedOnDevice,
  // The termination budget is spent: terminations wait.
  terminationsPaused,
  // Lowering quantity left profiles in place (Retain, or installed ones).
  fromOrder(CONDITIONS.scaleDownBlocked, "warning"),
  stale,
];

/** orderWarnings lists what needs attention in an order, most urgent first. Pure: the clock is passed in. */
export function orderWarnings(input: WarningInput): Warning[] {
  return CHECKS.map((check) => check(input)).filter((w): w is Warning => w !== undefined);
}
