import type { Condition, EsimProfileOrderSpec, EsimProfileOrderStatus, OrderTotals } from "../api/types.js";
import {
  ANNOTATIONS,
  CONDITIONS,
  DRAFT_LIFETIME_MS,
  EVENTS,
  ORDER_FINALIZER,
  type OrderPhase,
  REASONS,
} from "../api/vocabulary.js";
import { type ConditionInput, setConditions, toKubeTime } from "../kube/status.js";
import type { CreateProfileOrderRequest, OrderBundle, OrderSpeedClass } from "../soracom/types.js";
import {
  type ChildProfile,
  IN_FLIGHT,
  type OrderAction,
  type OrderInput,
  type OrderPlan,
  type PlannedEvent,
  type TrackedOrder,
} from "./model.js";
import { orderDescription, orderToken } from "./tokens.js";
import { trackOrders } from "./track.js";

/**
 * planOrder decides, from what was observed, the actions for one EsimProfileOrder and its next status.
 * Pure: no I/O, the clock comes in `input.now`. The order of the steps matters and each is a small
 * function below: follow Soracom, materialize profiles, apply device-deletion and scale-down policies,
 * order what is missing (within budgets), confirm drafts, then summarise into conditions.
 */
export function planOrder(input: OrderInput): OrderPlan {
  const { order } = input;
  const spec = withDefaults(order.spec);
  const actions: OrderAction[] = [];
  const hasFinalizer = (order.metadata.finalizers ?? []).includes(ORDER_FINALIZER);
  if (order.metadata.deletionTimestamp) return planDeletion(input);
  if (!hasFinalizer) actions.push({ type: "addFinalizer" });

  if (spec.paused) return summarise(input, spec, order.status?.orders ?? [], actions, [], { paused: true });
  if (!input.credentials.ok) {
    const { reason, message } = input.credentials;
    return summarise(input, spec, order.status?.orders ?? [], actions, [], { stalled: { reason, message } });
  }

  const tracked = trackOrders(input);
  const events = [...tracked.events];
  let orders = tracked.orders;
  let intent = false;

  // Creates whose outcome stayed unknown past the grace period did not happen: create again, same token.
  const wouldDo: string[] = [];
  for (const t of tracked.recreate) {
    if (input.config.dryRun) {
      wouldDo.push(`create again the order of sequence ${t.sequence} (${t.quantity} profiles)`);
      continue;
    }
    orders = replaceSeq(orders, t.sequence, {
      ...t,
      createRequestedTime: toKubeTime(input.now),
      createAttempts: (t.createAttempts ?? 1) + 1,
    });
    actions.push(createAction(input, spec, t.sequence, t.quantity));
    intent = true;
  }

  orders = materialize(input, orders, actions);
  applyDeviceDeletionPolicy(input, spec, actions);

  const slots = countSlots(orders, input.children);
  const surplus = slots - spec.quantity;
  if (surplus > 0) orders = scaleDown(input, spec, orders, surplus, actions);

  const blocked = creationBlocked(input, spec, orders);
  if (blocked?.reason === REASONS.BudgetExceeded && !stalledAlready(input, blocked.message))
    events.push({ type: "Warning", reason: EVENTS.BudgetExceeded, message: blocked.message });
  let budgetNote: string | undefined;
  if (surplus < 0 && !blocked) {
    const r = orderMissing(input, spec, orders, -surplus, actions);
    orders = r.orders;
    intent ||= r.created;
    budgetNote = r.budgetNote;
    if (r.wouldOrder) wouldDo.push(r.wouldOrder);
    if (r.budgetNote) events.push({ type: "Warning", reason: EVENTS.BudgetExceeded, message: r.budgetNote });
  }

  confirmDrafts(input, spec, orders, actions);
  if (input.config.dryRun) {
    const drafts = approvedDrafts(input, spec, orders).map((d) => d.profileOrderId);
    if (drafts.length > 0) wouldDo.push(`confirm draft order(s) ${drafts.join(", ")}`);
  }
  return summarise(input, spec, orders, actions, events, {
    wouldDo,
    intent,
    graceEndsAt: tracked.graceEndsAt,
    blocked,
    budgetNote,
    surplus: Math.max(0, surplus),
  });
}

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

/**
 * ordersToPoll says which Soracom calls observe must make: GET each order still moving, list the
 * profiles of each COMPLETED order that still has live profiles, and list every order when a create's
 * outcome is unknown. In steady state this is one call per open order.
 */
export function ordersToPoll(orders: readonly TrackedOrder[], children: readonly ChildProfile[]) {
  const get: string[] = [];
  const listProfiles: string[] = [];
  for (const t of orders) {
    if (!t.profileOrderId) continue;
    if (t.status === "COMPLETED") {
      const live = childrenOfOrder(children, t.profileOrderId).some((c) => c.phase !== "Terminated");
      if (!t.materialized || live) listProfiles.push(t.profileOrderId);
    } else if (IN_FLIGHT.has(t.status ?? "")) get.push(t.profileOrderId);
  }
  return { get, listProfiles, listAll: orders.some((t) => !t.profileOrderId && t.status === "Pending") };
}

const grouped = new WeakMap<readonly ChildProfile[], Map<string | undefined, ChildProfile[]>>();

/**
 * childrenOfOrder are the children created for one Soracom order. The children are grouped once per
 * input: an order of 10,000 profiles has 500 Soracom orders, and filtering every child for each of them
 * made each round quadratic.
 */
function childrenOfOrder(children: readonly ChildProfile[], profileOrderId: string | undefined): ChildProfile[] {
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

function replaceSeq(orders: TrackedOrder[], seq: number, next: TrackedOrder): TrackedOrder[] {
  return orders.map((o) => (o.sequence === seq ? next : o));
}

function createAction(input: OrderInput, spec: DefaultedSpec, sequence: number, quantity: number): OrderAction {
  const uid = input.order.metadata.uid ?? "";
  const token = orderToken(uid, sequence);
  const request: CreateProfileOrderRequest = {
    subscription: spec.subscription,
    quantity,
    description: orderDescription(token, input.order.metadata.namespace ?? "", input.order.metadata.name ?? ""),
    ...(spec.speedClass ? { speedClass: spec.speedClass as OrderSpeedClass } : {}),
    ...(spec.bundles?.length ? { bundles: [...spec.bundles] as OrderBundle[] } : {}),
  };
  return { type: "createOrder", sequence, token, request, confirm: spec.confirmation === "Automatic" };
}

/**
 * materialize creates an EsimProfile for every profile of a COMPLETED order that has none yet, once; and
 * brings the Soracom-owned status fields of existing profiles up to date. A profile deleted after the
 * order was materialized, or after an earlier round saw it made, is not recreated: its deletion was
 * someone's decision. Materialized is decided from the cache only (it frees deleted profiles' slots), so
 * a profile created but not yet in the cache keeps its slot and its order is never placed twice.
 */
function materialize(input: OrderInput, orders: TrackedOrder[], actions: OrderAction[]): TrackedOrder[] {
  return orders.map((t) => {
    const id = t.profileOrderId;
    const listed = id ? input.orderedProfiles[id] : undefined;
    if (!id || t.status !== "COMPLETED" || !listed) return t;
    const byIccid = new Map(childrenOfOrder(input.children, id).map((c) => [c.iccid, c]));
    // Missing: never made. A profile the cache showed earlier and no longer does was deleted, not lost.
    const missing = listed.filter((p) => !byIccid.has(p.iccid) && !input.deletedProfiles?.has(p.iccid));
    if (!t.materialized && missing.length > 0 && !input.config.dryRun) {
      actions.push({ type: "createProfiles", profileOrderId: id, profiles: missing });
    }
    const changed = listed.flatMap((p) => {
      const c = byIccid.get(p.iccid);
      return c && !c.deleting && profileChanged(c, p) ? [{ name: c.name, profile: p }] : [];
    });
    if (changed.length > 0) actions.push({ type: "syncProfiles", profileOrderId: id, profiles: changed });
    return missing.length === 0 || t.materialized ? { ...t, materialized: true } : t;
  });
}

function profileChanged(
  c: ChildProfile,
  p: { profileStatus: string; lastModifiedTime: number; installedTime?: number },
): boolean {
  return (
    c.profileStatus !== p.profileStatus ||
    c.lastModifiedTime !== toKubeTime(p.lastModifiedTime) ||
    c.installedTime !== (p.installedTime ? toKubeTime(p.installedTime) : undefined) ||
    !c.hasActivationSecret
  );
}

/**
 * applyDeviceDeletionPolicy handles profiles a device reported deleted (their SIMs still bill). Report
 * leaves them to the profile's condition; Terminate terminates the SIM and keeps the resource as a record
 * (it keeps its slot, so nothing is reordered); Replace terminates it, then deletes the resource, which
 * frees the slot so a replacement is ordered.
 */
function applyDeviceDeletionPolicy(input: OrderInput, spec: DefaultedSpec, actions: OrderAction[]): void {
  for (const c of input.children) {
    if (c.deleting) continue;
    if (c.phase === "Deleted" && !c.terminateRequested && spec.onDeviceDeletion !== "Report") {
      const reason = spec.onDeviceDeletion === "Replace" ? "Replace" : "DeletedOnDevice";
      if (!input.config.dryRun) actions.push({ type: "requestTermination", profile: c.name, reason });
    }
    if (c.phase === "Terminated" && (c.terminateRequested === "Replace" || c.terminateRequested === "ScaleDown")) {
      actions.push({ type: "deleteProfile", profile: c.name, reason: c.terminateRequested });
    }
  }
}

/**
 * countSlots counts the profiles the order holds toward spec.quantity: every EsimProfile it created that
 * still exists (a terminated record included), plus every profile still on its way in Soracom.
 */
export function countSlots(orders: readonly TrackedOrder[], children: readonly ChildProfile[]): number {
  let slots = children.length;
  for (const t of orders) {
    if (IN_FLIGHT.has(t.status ?? "")) slots += t.quantity;
    else if (t.status === "COMPLETED" && !t.materialized) {
      const made = childrenOfOrder(children, t.profileOrderId).length;
      slots += Math.max(0, t.quantity - made);
    }
  }
  return slots;
}

/**
 * scaleDown handles more slots than wanted: drafts are cancelled first (newest first, whole drafts only,
 * they cost nothing yet); then, only under TerminateNeverInstalled, profiles never installed on a device
 * are terminated newest first. Under Retain nothing is terminated and the surplus is reported.
 */
function scaleDown(
  input: OrderInput,
  spec: DefaultedSpec,
  orders: TrackedOrder[],
  surplus: number,
  actions: OrderAction[],
): TrackedOrder[] {
  let left = surplus;
  const drafts = orders.filter((t) => t.status === "DRAFT" && t.profileOrderId).sort((a, b) => b.sequence - a.sequence);
  for (const d of drafts) {
    if (d.quantity > left) continue;
    if (!input.config.dryRun)
      actions.push({ type: "cancelDraft", profileOrderId: d.profileOrderId!, why: "quantity lowered" });
    left -= d.quantity;
  }
  const alreadyLeaving = input.children.filter(
    (c) => c.terminateRequested === "ScaleDown" || c.terminateRequested === "Replace" || c.deleting,
  ).length;
  left -= alreadyLeaving;
  if (left > 0 && spec.scaleDownPolicy === "TerminateNeverInstalled" && !input.config.dryRun) {
    const candidates = input.children
      .filter((c) => !c.deleting && !c.terminateRequested && c.phase !== "Terminated" && !c.everInstalled)
      .sort((a, b) => b.createdAt - a.createdAt || b.name.localeCompare(a.name))
      .slice(0, left);
    for (const c of candidates) actions.push({ type: "requestTermination", profile: c.name, reason: "ScaleDown" });
  }
  return orders;
}

/** creationBlocked says why no new order may be created now, if anything forbids it. */
function creationBlocked(
  input: OrderInput,
  spec: DefaultedSpec,
  orders: TrackedOrder[],
): { reason: string; message: string } | undefined {
  const acknowledged = new Set(splitList(input.order.metadata.annotations?.[ANNOTATIONS.acknowledgeFailed]));
  const failed = orders.find((t) => t.status === "FAILED" && !acknowledged.has(t.profileOrderId ?? ""));
  if (failed) {
    return {
      reason: REASONS.OrderFailed,
      message: `Soracom order ${failed.profileOrderId} FAILED; no new order is created until it is acknowledged with the annotation ${ANNOTATIONS.acknowledgeFailed}=${failed.profileOrderId}.`,
    };
  }
  if (spec.quantity > input.config.maxQuantityPerResource) {
    return {
      reason: REASONS.BudgetExceeded,
      message: `quantity ${spec.quantity} exceeds the per-resource maximum of ${input.config.maxQuantityPerResource} profiles (controller flag --max-quantity-per-resource); nothing was ordered.`,
    };
  }
  const rejected = input.order.status?.conditions?.find(
    (c) =>
      c.type === CONDITIONS.stalled &&
      c.reason === REASONS.SoracomRejected &&
      c.observedGeneration === input.order.metadata.generation,
  );
  if (rejected) return { reason: REASONS.SoracomRejected, message: rejected.message };
  return undefined;
}

/** orderMissing records new orders (intent) for the missing profiles, within the spend budget. */
function orderMissing(
  input: OrderInput,
  spec: DefaultedSpec,
  orders: TrackedOrder[],
  missing: number,
  actions: OrderAction[],
) {
  const remaining = input.spend.remaining ?? Number.POSITIVE_INFINITY;
  const allowed = Math.max(0, Math.min(missing, remaining));
  const budgetNote =
    allowed < missing
      ? `${missing} profiles are missing but the spend budget allows ${allowed} more (${input.spend.limit} per ${Math.round(input.spend.windowMs / 3_600_000)}h, controller flag --spend-budget); ${missing - allowed} not ordered.`
      : undefined;
  if (input.config.dryRun) return { orders, created: false, budgetNote, wouldOrder: wouldOrder(spec, allowed) };
  if (allowed === 0) return { orders, created: false, budgetNote };
  const next = [...orders];
  let seq = Math.max(0, ...orders.map((o) => o.sequence));
  for (let left = allowed; left > 0; left -= spec.maxProfilesPerOrder) {
    const quantity = Math.min(left, spec.maxProfilesPerOrder);
    seq += 1;
    const action = createAction(input, spec, seq, quantity);
    next.push({
      sequence: seq,
      token: (action as { token: string }).token,
      quantity,
      status: "Pending",
      createRequestedTime: toKubeTime(input.now),
      createAttempts: 1,
    });
    actions.push(action);
  }
  return { orders: next, created: true, budgetNote };
}

/** wouldOrder describes, for dry run, the orders a missing quantity would be split into. */
function wouldOrder(spec: DefaultedSpec, quantity: number): string | undefined {
  if (quantity <= 0) return undefined;
  const sizes: number[] = [];
  for (let left = quantity; left > 0; left -= spec.maxProfilesPerOrder)
    sizes.push(Math.min(left, spec.maxProfilesPerOrder));
  return `order ${quantity} profiles in ${sizes.length} order${sizes.length > 1 ? "s" : ""} (${sizes.join(", ")})`;
}

/** stalledAlready: the order already says Stalled with this message (its Event was recorded then). */
function stalledAlready(input: OrderInput, message: string): boolean {
  return (input.order.status?.conditions ?? []).some(
    (c) => c.type === CONDITIONS.stalled && c.status === "True" && c.message === message,
  );
}

/** confirmDrafts confirms drafts: all of them under Automatic, approved ones (oldest first) under Manual. */
function confirmDrafts(input: OrderInput, spec: DefaultedSpec, orders: TrackedOrder[], actions: OrderAction[]): void {
  if (input.config.dryRun) return;
  for (const d of approvedDrafts(input, spec, orders)) {
    if (actions.some((a) => a.type === "cancelDraft" && a.profileOrderId === d.profileOrderId)) continue;
    actions.push({ type: "confirmOrder", profileOrderId: d.profileOrderId!, quantity: d.quantity });
  }
}

/** approvedDrafts lists the drafts that may be confirmed now. */
export function approvedDrafts(
  input: OrderInput,
  spec: DefaultedSpec,
  orders: readonly TrackedOrder[],
): TrackedOrder[] {
  const drafts = orders.filter((t) => t.status === "DRAFT" && t.profileOrderId).sort((a, b) => a.sequence - b.sequence);
  if (spec.confirmation === "Automatic") return drafts;
  const byAnnotation = new Set(splitList(input.order.metadata.annotations?.[ANNOTATIONS.approveOrders]));
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

function splitList(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** planDeletion cancels the drafts of a deleted order, then lets it go. Confirmed orders cannot be cancelled. */
function planDeletion(input: OrderInput): OrderPlan {
  const hasFinalizer = (input.order.metadata.finalizers ?? []).includes(ORDER_FINALIZER);
  const tracked = trackOrders(input);
  const actions: OrderAction[] = [];
  const events: PlannedEvent[] = [...tracked.events];
  let waiting = false;
  for (const t of tracked.orders) {
    if (t.status === "DRAFT" && t.profileOrderId && !input.config.dryRun) {
      actions.push({ type: "cancelDraft", profileOrderId: t.profileOrderId, why: "the EsimProfileOrder was deleted" });
    } else if (t.status === "Pending" && !tracked.recreate.includes(t)) {
      waiting = true; // a create may have happened: wait until it shows up (then cancel it) or the grace period ends
    } else if (t.status === "CONFIRMED" || t.status === "IN_PROGRESS") {
      events.push({
        type: "Warning",
        reason: EVENTS.OrderConfirmed,
        message: `Soracom order ${t.profileOrderId} is confirmed and cannot be cancelled; its profiles will be billed.`,
      });
    }
  }
  if (hasFinalizer && !waiting) actions.push({ type: "removeFinalizer" });
  const status: EsimProfileOrderStatus = { ...(input.order.status ?? {}), orders: tracked.orders };
  return { status, intent: false, actions, events, requeueAfterMs: waiting ? 5_000 : input.config.pollActiveMs };
}

interface SummaryOptions {
  /** Dry run: what would be done at Soracom, in words. */
  wouldDo?: string[];
  paused?: boolean;
  stalled?: { reason: string; message: string };
  blocked?: { reason: string; message: string };
  budgetNote?: string;
  intent?: boolean;
  graceEndsAt?: number;
  surplus?: number;
}

/** summarise turns the decided orders into totals, phase, conditions (kstatus) and the next poll. */
function summarise(
  input: OrderInput,
  spec: DefaultedSpec,
  orders: TrackedOrder[],
  actions: OrderAction[],
  events: PlannedEvent[],
  opts: SummaryOptions,
): OrderPlan {
  const { now, config } = input;
  const generation = input.order.metadata.generation ?? 0;
  const totals = computeTotals(orders, input.children, opts.surplus ?? 0);
  const drafts = orders.filter((t) => t.status === "DRAFT");
  const approved = new Set(approvedDrafts(input, spec, orders).map((d) => d.profileOrderId));
  const awaiting = spec.confirmation === "Manual" ? drafts.filter((d) => !approved.has(d.profileOrderId)) : [];
  const inFlight = orders.some((t) => IN_FLIGHT.has(t.status ?? "") && !awaiting.includes(t));
  const unmaterialized = orders.some((t) => t.status === "COMPLETED" && !t.materialized);
  const stalled =
    opts.stalled ??
    opts.blocked ??
    (opts.budgetNote ? { reason: REASONS.BudgetExceeded, message: opts.budgetNote } : undefined);
  const deficit = spec.quantity - countSlots(orders, input.children);
  const done = !inFlight && !unmaterialized && deficit <= 0 && awaiting.length === 0;
  const ready = done && !stalled && !opts.paused;

  const conds: ConditionInput[] = [];
  const progress = progressReason(orders, awaiting.length > 0, unmaterialized);
  conds.push(
    ready
      ? {
          type: CONDITIONS.ready,
          status: "True",
          reason: REASONS.Completed,
          message: `${totals.provisioned} profiles provisioned for a desired quantity of ${spec.quantity}.`,
        }
      : {
          type: CONDITIONS.ready,
          status: "False",
          reason: opts.paused ? REASONS.Paused : (stalled?.reason ?? progress.reason),
          message: opts.paused ? "Reconciliation is paused (spec.paused)." : (stalled?.message ?? progress.message),
        },
  );
  const reconciling = !ready && !stalled && !opts.paused;
  conds.push({
    type: CONDITIONS.reconciling,
    status: reconciling ? "True" : "False",
    reason: reconciling ? progress.reason : ready ? REASONS.Completed : (stalled?.reason ?? REASONS.Paused),
    message: reconciling ? progress.message : "",
  });
  conds.push(
    stalled
      ? { type: CONDITIONS.stalled, status: "True", reason: stalled.reason, message: stalled.message }
      : { type: CONDITIONS.stalled, status: "False", reason: REASONS.Completed, message: "" },
  );
  conds.push(...domainConditions(input, spec, orders, awaiting, totals));
  if (config.dryRun) {
    const message = opts.wouldDo?.length
      ? `Dry run: nothing is changed in Soracom; would ${opts.wouldDo.join("; ")}.`
      : "Dry run: nothing is changed in Soracom; nothing to do there now.";
    conds.push({ type: "DryRun", status: "True", reason: REASONS.DryRun, message });
    // Said once per change, like any transition.
    if (input.order.status?.conditions?.find((c) => c.type === "DryRun")?.message !== message)
      events.push({ type: "Normal", reason: REASONS.DryRun, message });
  }
  const conditions = setConditions(
    input.order.status?.conditions as Condition[] | undefined,
    conds.map((c) => ({ ...c, observedGeneration: generation })),
    now,
  );

  const status: EsimProfileOrderStatus = {
    observedGeneration: generation,
    phase: phaseOf(orders, { paused: !!opts.paused, stalled, ready, awaiting: awaiting.length > 0 }),
    conditions,
    orders,
    totals,
    ...(awaiting.length > 0
      ? {
          pendingApproval: {
            profileOrderIds: awaiting.map((d) => d.profileOrderId!),
            quantity: awaiting.reduce((n, d) => n + d.quantity, 0),
            expiresTime: toKubeTime(
              Math.min(...awaiting.map((d) => Date.parse(d.orderedTime ?? toKubeTime(now)) + DRAFT_LIFETIME_MS)),
            ),
          },
        }
      : {}),
  };
  let requeueAfterMs =
    ready || opts.paused || (stalled && !inFlight) || (awaiting.length > 0 && !inFlight)
      ? config.pollStableMs
      : config.pollActiveMs;
  if (opts.graceEndsAt !== undefined)
    requeueAfterMs = Math.min(requeueAfterMs, Math.max(1_000, opts.graceEndsAt - now));
  for (const d of awaiting) {
    const warnAt = Date.parse(d.orderedTime ?? "") + DRAFT_LIFETIME_MS - config.draftExpiryWarningMs;
    if (warnAt > now) requeueAfterMs = Math.min(requeueAfterMs, warnAt - now + 1_000);
  }
  return { status, intent: !!opts.intent, actions, events, requeueAfterMs };
}

function progressReason(
  orders: TrackedOrder[],
  awaiting: boolean,
  unmaterialized: boolean,
): { reason: string; message: string } {
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
  return { reason: REASONS.Ordering, message: "Ordering the missing profiles." };
}

function domainConditions(
  input: OrderInput,
  spec: DefaultedSpec,
  orders: TrackedOrder[],
  awaiting: TrackedOrder[],
  totals: OrderTotals,
): ConditionInput[] {
  const { now, config } = input;
  const out: ConditionInput[] = [];
  out.push(
    awaiting.length > 0
      ? {
          type: CONDITIONS.awaitingConfirmation,
          status: "True",
          reason: REASONS.AwaitingApproval,
          message: `${awaiting.length} draft order(s) (${awaiting.reduce((n, d) => n + d.quantity, 0)} profiles of ${spec.subscription}) await approval: ${awaiting.map((d) => d.profileOrderId).join(", ")}.`,
        }
      : { type: CONDITIONS.awaitingConfirmation, status: "False", reason: REASONS.Completed, message: "" },
  );
  const expiring = awaiting.filter(
    (d) => Date.parse(d.orderedTime ?? "") + DRAFT_LIFETIME_MS - now < config.draftExpiryWarningMs,
  );
  out.push(
    expiring.length > 0
      ? {
          type: CONDITIONS.draftExpiring,
          status: "True",
          reason: REASONS.DraftExpiresSoon,
          message: `Draft order(s) ${expiring.map((d) => d.profileOrderId).join(", ")} expire at Soracom within ${Math.round(config.draftExpiryWarningMs / 60_000)} minutes unless approved.`,
        }
      : { type: CONDITIONS.draftExpiring, status: "False", reason: REASONS.Completed, message: "" },
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
          message: `Soracom order(s) ${stuck.map((t) => t.profileOrderId).join(", ")} have been In Progress for more than ${Math.round(config.inProgressAlertAfterMs / 3_600_000)}h; the vendor advises contacting support.`,
        }
      : { type: CONDITIONS.orderStuck, status: "False", reason: REASONS.Completed, message: "" },
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
      : { type: CONDITIONS.scaleDownBlocked, status: "False", reason: REASONS.Completed, message: "" },
  );
  return out;
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
  s: { paused: boolean; stalled?: { reason: string }; ready: boolean; awaiting: boolean },
): OrderPhase {
  if (s.paused) return "Paused";
  if (s.stalled) return s.stalled.reason === REASONS.OrderFailed ? "Failed" : "Stalled";
  if (s.ready) return "Completed";
  const has = (st: string) => orders.some((t) => t.status === st);
  if (has("Pending")) return "Pending";
  if (s.awaiting || has("DRAFT")) return "Draft";
  if (has("CONFIRMED")) return "Confirmed";
  if (has("IN_PROGRESS")) return "In Progress";
  return "In Progress";
}
