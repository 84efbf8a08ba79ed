import { reasonOf } from "../answers.js";
import { formatDuration } from "../api/duration.js";
import type { Condition, EsimProfileOrderStatus, OrderTotals } from "../api/types.js";
import { CONDITIONS, DRAFT_LIFETIME_MS, EVENTS, type OrderPhase, REASONS } from "../api/vocabulary.js";
import { type ConditionInput, setConditions, setOwnedConditions, toKubeTime } from "../kube/status.js";
import { refusalEvent } from "./answers.js";
import { accountOf } from "./binding.js";
import type { Draft, Finding } from "./draft.js";
import { type ChildProfile, KNOWN_STATUSES, type OrderPlan, RELEASED, type TrackedOrder } from "./model.js";
import { approvedDrafts, countSlots } from "./slots.js";

/**
 * The condition types an order's status carries: Ready always, the others only while True (kstatus reads
 * an absent Reconciling or Stalled as not so), so none stands False without a reason and a message.
 */
const ORDER_CONDITIONS: readonly string[] = [
  CONDITIONS.ready,
  CONDITIONS.reconciling,
  CONDITIONS.stalled,
  CONDITIONS.awaitingConfirmation,
  CONDITIONS.draftExpiring,
  CONDITIONS.orderStuck,
  CONDITIONS.scaleDownBlocked,
  CONDITIONS.profileListShort,
  CONDITIONS.terminationsPaused,
  "DryRun",
];

/**
 * summarise turns a guarded draft into the order's next status: totals, phase, kstatus conditions
 * (Ready, Reconciling, Stalled) and the domain conditions, and when to look again. Pure.
 */
export function summarise(d: Draft): OrderPlan {
  const { input, spec, orders } = d;
  const { now, config } = input;
  const generation = input.order.metadata.generation ?? 0;
  const totals = computeTotals(orders, input.children, d.surplus);
  const approved = new Set(approvedDrafts(input.order.metadata.annotations, spec, orders).map((t) => t.profileOrderId));
  const awaiting =
    spec.confirmation === "Manual" ? orders.filter((t) => t.status === "DRAFT" && !approved.has(t.profileOrderId)) : [];
  const inFlight = orders.some(
    (t) => !RELEASED.has(t.status ?? "") && t.status !== "COMPLETED" && !awaiting.includes(t),
  );
  const unmaterialized = orders.some((t) => t.status === "COMPLETED" && !t.materialized);
  const stalled = stalledFinding(d);
  const deficit = spec.quantity - countSlots(orders, input.children);
  const terminating = d.requests.some((r) => !r.terminated);
  const refused = refusalFinding(d);
  const done = !inFlight && !unmaterialized && deficit <= 0 && awaiting.length === 0 && !terminating && !refused;
  const ready = done && !stalled && !d.paused;
  const progress = refused ?? progressOf(orders, awaiting.length > 0, unmaterialized, terminating);

  const conds: ConditionInput[] = [
    readyCondition(ready, d, stalled, progress, totals.provisioned ?? 0),
    ...(!ready && !stalled && !d.paused
      ? [{ type: CONDITIONS.reconciling, status: "True" as const, ...progress }]
      : []),
    ...(stalled ? [{ type: CONDITIONS.stalled, status: "True" as const, ...stalled }] : []),
    ...domainConditions(d, awaiting, totals),
  ];
  if (config.dryRun) conds.push(dryRunCondition(d));
  const conditions = setOwnedConditions(
    input.order.status?.conditions as Condition[] | undefined,
    conds.map((c) => ({ ...c, observedGeneration: generation })),
    ORDER_CONDITIONS,
    now,
  );
  const account = accountOf(input, orders, d.requests);
  const status: EsimProfileOrderStatus = {
    observedGeneration: generation,
    ...(account ? { account } : {}),
    phase: phaseOf(orders, { paused: d.paused, stalled, ready, awaiting: awaiting.length > 0 }),
    conditions,
    orders,
    totals,
    ...(d.requests.length > 0 ? { terminations: d.requests } : {}),
    ...(awaiting.length > 0 ? { pendingApproval: pendingApproval(awaiting, now) } : {}),
  };
  return {
    status,
    intent: d.intent,
    spend: d.spend,
    actions: d.actions,
    events: d.events,
    requeueAfterMs: requeueAfter(d, { ready, inFlight: inFlight || !!refused, stalled, awaiting, terminating }),
    ...(d.refused.length > 0 ? { refused: d.refused } : {}),
  };
}

/**
 * refusalFinding is what Reconciling (and Ready) say while Soracom's answers are refused: retried, not
 * Stalled, since a bad answer usually passes. Each new refusal is also a Warning Event. It is shown until
 * a round reads from Soracom and refuses nothing; a round that read nothing keeps what the last one said.
 */
function refusalFinding(d: Draft): Finding | undefined {
  if (d.refused.length > 0) {
    const first = d.refused[0]!;
    const more = d.refused.length > 1 ? ` (${d.refused.length - 1} more answer(s) refused this round.)` : "";
    const finding = { reason: reasonOf(first), message: `${first.message}${more}` };
    const before = d.input.order.status?.conditions?.find((c) => c.type === CONDITIONS.reconciling);
    if (before?.message !== finding.message) d.events.push(refusalEvent(first));
    return finding;
  }
  const v = d.input.soracom;
  const readNothing = !v || (Object.keys(v.orders).length === 0 && Object.keys(v.profiles).length === 0 && !v.listed);
  const before = d.input.order.status?.conditions?.find((c) => c.type === CONDITIONS.reconciling);
  const wasRefused = before?.reason === REASONS.SoracomAnswerInvalid || before?.reason === REASONS.SoracomLimitReached;
  return readNothing && wasRefused && before?.status === "True"
    ? { reason: before.reason, message: before.message }
    : undefined;
}

/** stalledFinding: what needs a person or a spec change, most specific first. */
function stalledFinding(d: Draft): Finding | undefined {
  if (d.stalled) return d.stalled;
  if (d.blocked) return d.blocked;
  const unknown = d.orders.filter((t) => !KNOWN_STATUSES.has(t.status ?? "Pending"));
  if (unknown.length > 0) {
    return {
      reason: REASONS.UnknownOrderStatus,
      message: `Soracom reports order(s) ${unknown.map((t) => `${t.profileOrderId} as ${t.status}`).join(", ")}, a status this operator does not know; their profiles are counted as ordered and nothing is ordered in their place. Upgrade the operator or ask Soracom support.`,
    };
  }
  if (d.budgetNote) return { reason: REASONS.BudgetExceeded, message: d.budgetNote };
  return undefined;
}

function readyCondition(
  ready: boolean,
  d: Draft,
  stalled: Finding | undefined,
  progress: Finding,
  provisioned: number,
): ConditionInput {
  if (ready) {
    return {
      type: CONDITIONS.ready,
      status: "True",
      reason: REASONS.Completed,
      message: `${provisioned} profiles provisioned for a desired quantity of ${d.spec.quantity}.`,
    };
  }
  if (d.paused)
    return {
      type: CONDITIONS.ready,
      status: "False",
      reason: REASONS.Paused,
      message: "Reconciliation is paused (spec.paused).",
    };
  return { type: CONDITIONS.ready, status: "False", ...(stalled ?? progress) };
}

function dryRunCondition(d: Draft): ConditionInput {
  const message = d.wouldDo.length
    ? `Dry run: nothing is changed in Soracom; would ${d.wouldDo.join("; ")}.`
    : "Dry run: nothing is changed in Soracom; nothing to do there now.";
  // Said once per change, like any transition.
  if (d.input.order.status?.conditions?.find((c) => c.type === "DryRun")?.message !== message)
    d.events.push({ type: "Normal", reason: REASONS.DryRun, message });
  return { type: "DryRun", status: "True", reason: REASONS.DryRun, message };
}

function pendingApproval(awaiting: TrackedOrder[], now: number) {
  return {
    profileOrderIds: awaiting.map((t) => t.profileOrderId!),
    quantity: awaiting.reduce((n, t) => n + t.quantity, 0),
    expiresTime: toKubeTime(
      Math.min(...awaiting.map((t) => Date.parse(t.orderedTime ?? toKubeTime(now)) + DRAFT_LIFETIME_MS)),
    ),
  };
}

function requeueAfter(
  d: Draft,
  s: { ready: boolean; inFlight: boolean; stalled?: Finding; awaiting: TrackedOrder[]; terminating: boolean },
): number {
  const { now, config } = d.input;
  const quiet =
    s.ready || d.paused || (s.stalled && !s.inFlight) || (s.awaiting.length > 0 && !s.inFlight && !s.terminating);
  let after = quiet ? config.pollStableMs : config.pollActiveMs;
  if (d.graceEndsAt !== undefined) after = Math.min(after, Math.max(1_000, d.graceEndsAt - now));
  if (d.recheckSoon) after = Math.min(after, 1_000);
  for (const t of s.awaiting) {
    const warnAt = Date.parse(t.orderedTime ?? "") + DRAFT_LIFETIME_MS - config.draftExpiryWarningMs;
    if (warnAt > now) after = Math.min(after, warnAt - now + 1_000);
  }
  return after;
}

function progressOf(orders: TrackedOrder[], awaiting: boolean, unmaterialized: boolean, terminating: boolean): Finding {
  const count = (s: string) => orders.filter((t) => t.status === s).length;
  if (count("Pending") > 0)
    return { reason: REASONS.Ordering, message: `${count("Pending")} Soracom order(s) being created.` };
  if (awaiting)
    return {
      reason: REASONS.AwaitingApproval,
      message: "Draft orders await approval (spec.approvedQuantity or `kubectl esim approve`).",
    };
  if (count("DRAFT") > 0)
    return { reason: REASONS.Confirming, message: `${count("DRAFT")} draft order(s) being confirmed.` };
  if (count("CONFIRMED") + count("IN_PROGRESS") > 0)
    return {
      reason: REASONS.InProgress,
      message: `${count("CONFIRMED") + count("IN_PROGRESS")} Soracom order(s) Confirmed or In Progress.`,
    };
  if (unmaterialized) return { reason: REASONS.Provisioning, message: "Creating EsimProfiles for completed orders." };
  if (terminating) return { reason: REASONS.Terminating, message: "Terminating SIMs the order's policies asked for." };
  return { reason: REASONS.Ordering, message: "Ordering the missing profiles." };
}

function domainConditions(d: Draft, awaiting: TrackedOrder[], totals: OrderTotals): ConditionInput[] {
  const { spec, orders, input } = d;
  const { now, config } = input;
  const out: Array<ConditionInput | undefined> = [];
  out.push(
    awaiting.length > 0
      ? {
          type: CONDITIONS.awaitingConfirmation,
          status: "True",
          reason: REASONS.AwaitingApproval,
          message: `${awaiting.length} draft order(s) (${awaiting.reduce((n, t) => n + t.quantity, 0)} profiles of ${spec.subscription}) await approval: ${awaiting.map((t) => t.profileOrderId).join(", ")}.`,
        }
      : undefined,
  );
  const expiring = awaiting.filter(
    (t) => Date.parse(t.orderedTime ?? "") + DRAFT_LIFETIME_MS - now < config.draftExpiryWarningMs,
  );
  out.push(
    expiring.length > 0
      ? {
          type: CONDITIONS.draftExpiring,
          status: "True",
          reason: REASONS.DraftExpiresSoon,
          message: `Draft order(s) ${expiring.map((t) => t.profileOrderId).join(", ")} expire at Soracom within ${formatDuration(config.draftExpiryWarningMs)} unless approved.`,
        }
      : undefined,
  );
  const stuck = orders.filter(
    (t) =>
      t.status === "IN_PROGRESS" && now - Date.parse(t.statusSince ?? toKubeTime(now)) > config.inProgressAlertAfterMs,
  );
  out.push(
    stuck.length > 0
      ? {
          type: CONDITIONS.orderStuck,
          status: "True",
          reason: REASONS.InProgressTooLong,
          message: `Soracom order(s) ${stuck.map((t) => t.profileOrderId).join(", ")} have been In Progress for more than ${formatDuration(config.inProgressAlertAfterMs)}; the vendor advises contacting support.`,
        }
      : undefined,
  );
  const surplus = totals.surplus ?? 0;
  out.push(
    surplus > 0 && spec.scaleDownPolicy === "Retain"
      ? {
          type: CONDITIONS.scaleDownBlocked,
          status: "True",
          reason: REASONS.SurplusRetained,
          message: `${surplus} profile(s) above the desired quantity are kept: scaleDownPolicy is Retain, so nothing is terminated. Delete EsimProfiles by hand or set scaleDownPolicy: TerminateNeverInstalled.`,
        }
      : undefined,
  );
  out.push(shortCondition(d));
  out.push(
    d.terminationsWaiting
      ? {
          type: CONDITIONS.terminationsPaused,
          status: "True",
          reason: REASONS.TerminationBudgetExhausted,
          message: d.terminationsWaiting,
        }
      : undefined,
  );
  return out.filter((c): c is ConditionInput => c !== undefined);
}

/** shortCondition reports COMPLETED orders listing fewer profiles than ordered, once as an Event too. */
function shortCondition(d: Draft): ConditionInput | undefined {
  if (d.short.length === 0) return undefined;
  const list = d.short.map((t) => `${t.profileOrderId} lists ${t.listedQuantity ?? 0} of ${t.quantity}`).join(", ");
  const ids = d.short.map((t) => t.profileOrderId).join(",");
  const message = `Soracom order(s) ${list} profiles. The missing profiles keep their places and are not ordered again until a person has looked (ask Soracom support, then annotate the order with esim.soracom-operator.io/acknowledge-short=${ids}).`;
  const before = d.input.order.status?.conditions?.find((c) => c.type === CONDITIONS.profileListShort);
  if (before?.status !== "True" || before.message !== message)
    d.events.push({ type: "Warning", reason: EVENTS.ShortProfileList, message });
  return { type: CONDITIONS.profileListShort, status: "True", reason: REASONS.ShortProfileList, message };
}

function computeTotals(orders: TrackedOrder[], children: readonly ChildProfile[], surplus: number): OrderTotals {
  const sum = (pred: (t: TrackedOrder) => boolean) => orders.filter(pred).reduce((n, t) => n + t.quantity, 0);
  const count = (pred: (c: ChildProfile) => boolean) => children.filter(pred).length;
  return {
    ordered: sum((t) => ["CONFIRMED", "IN_PROGRESS", "COMPLETED"].includes(t.status ?? "")),
    drafts: sum((t) => t.status === "DRAFT"),
    provisioned: count((c) => c.phase !== "Terminated"),
    installed: count((c) => c.everInstalled && c.phase !== "Terminated" && c.phase !== "Deleted"),
    activated: count((c) => c.phase === "Activated"),
    deletedOnDevice: count((c) => c.phase === "Deleted"),
    terminated: count((c) => c.phase === "Terminated"),
    surplus,
  };
}

function phaseOf(
  orders: TrackedOrder[],
  s: { paused: boolean; stalled?: Finding; ready: boolean; awaiting: boolean },
): OrderPhase {
  if (s.paused) return "Paused";
  if (s.stalled) return s.stalled.reason === REASONS.OrderFailed ? "Failed" : "Stalled";
  if (s.ready) return "Completed";
  const has = (st: string) => orders.some((t) => t.status === st);
  if (has("Pending")) return "Pending";
  if (s.awaiting || has("DRAFT")) return "Draft";
  if (has("CONFIRMED")) return "Confirmed";
  return "In Progress";
}

/**
 * refusedStatus is the status of a round that ended on a refused answer or a bound reached (the client's
 * error): what was recorded stays, Ready is False and Reconciling True with the refusal; the round is
 * tried again with backoff. Stalled is left as it was.
 */
export function refusedStatus(
  status: EsimProfileOrderStatus | undefined,
  finding: Finding,
  generation: number,
  now: number,
): EsimProfileOrderStatus {
  const conds: ConditionInput[] = [
    { type: CONDITIONS.ready, status: "False", ...finding, observedGeneration: generation },
    { type: CONDITIONS.reconciling, status: "True", ...finding, observedGeneration: generation },
  ];
  return { ...(status ?? {}), conditions: setConditions(status?.conditions as Condition[] | undefined, conds, now) };
}
