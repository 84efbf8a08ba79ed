import { splitList } from "../api/annotations.js";
import type { EsimProfileOrderStatus } from "../api/types.js";
import { ANNOTATIONS, CONDITIONS, EVENTS, ORDER_FINALIZER, REASONS } from "../api/vocabulary.js";
import { toKubeTime } from "../kube/status.js";
import type { CreateProfileOrderRequest, OrderBundle, OrderedProfile, OrderSpeedClass } from "../soracom/types.js";
import { checkProfileList, refusalEvent } from "./answers.js";
import { accountChanged } from "./binding.js";
import type { Draft } from "./draft.js";
import { guard, spendAllowance } from "./guard.js";
import {
  type ChildProfile,
  type OrderAction,
  type OrderInput,
  type OrderPlan,
  type PlannedEvent,
  RELEASED,
  type ReadAction,
  type TrackedOrder,
} from "./model.js";
import { approvedDrafts, childrenOfOrder, countSlots, type DefaultedSpec, withDefaults } from "./slots.js";
import { summarise } from "./summary.js";
import { deleteTerminated, request, settle } from "./terminations.js";
import { orderDescription, orderToken } from "./tokens.js";
import { trackOrders } from "./track.js";

/**
 * planOrder is the EsimProfileOrder reconciler's whole logic, as a pure function, shaped like the profile
 * planner: first it answers with the Soracom reads it needs (`reads`); given them, it runs STEPS in
 * order, each a small named function adding to one Draft, then the guard (modes and budgets), then the
 * summary (status, conditions, next poll). The clock comes in `input.now`.
 */
export function planOrder(input: OrderInput): OrderPlan {
  const spec = withDefaults(input.order.spec);
  if (input.order.metadata.deletionTimestamp) return planDeletion(input);
  if (!(input.order.metadata.finalizers ?? []).includes(ORDER_FINALIZER)) return finalizerFirst(input);
  const d = newDraft(input, spec);
  // Needs no Soracom call: done even with broken credentials, so a deleted profile is never kept waiting.
  recordDeletions(d);
  // Another account's client must never look for, confirm or cancel what this account's intents made.
  const changed = accountChanged(input);
  if (changed) {
    d.stalled = changed;
    return summarise(d);
  }
  if (!spec.paused && !input.credentials.ok) {
    d.stalled = { reason: input.credentials.reason, message: input.credentials.message };
    return summarise(d);
  }
  if (!spec.paused && !input.soracom) return { ...summarise(d), reads: readsFor(input, spec) };
  if (!spec.paused) for (const [, step] of STEPS) step(d);
  guard(d);
  return summarise(d);
}

/**
 * finalizerFirst is a round whose order lacks its finalizer: it adds it and decides nothing else. A
 * create's intent (spend ledger, status) is recorded only in a round that can send it: were the finalizer
 * write to lose to a concurrent patch after the intent was written, the creates would never go, and the
 * intents would stay charged to the spend budget while their profiles were ordered again.
 */
function finalizerFirst(input: OrderInput): OrderPlan {
  const status = input.order.status ?? {};
  return { status, intent: false, spend: [], actions: [{ type: "addFinalizer" }], events: [], requeueAfterMs: 1_000 };
}

type Step = (d: Draft) => void;

/** STEPS run in this order; each says in one line why it exists. */
const STEPS: Array<[string, Step]> = [
  // Soracom's answers of this round go into status: adoption, transitions, creates that did not happen.
  ["Track", track],
  // Every listed profile of a COMPLETED order gets its EsimProfile, once; a short list is held, not reordered.
  ["Materialize", materialize],
  // A device reported its profile deleted: Terminate and Replace record a termination request.
  ["DeviceDeletionPolicy", deviceDeletionPolicy],
  // More profiles than wanted: drafts go first, then (TerminateNeverInstalled) termination requests.
  ["ScaleDown", scaleDown],
  // Each recorded termination is checked on this round's fresh reads: terminated now, or withdrawn.
  ["Terminations", terminations],
  // Fewer profiles than wanted: record intents for the missing ones, within the spend budget.
  ["OrderMissing", orderMissing],
  // Drafts read as DRAFT this round are confirmed: all under Automatic, approved ones under Manual.
  ["ConfirmDrafts", confirmDrafts],
];

function newDraft(input: OrderInput, spec: DefaultedSpec): Draft {
  return {
    input,
    spec,
    orders: input.order.status?.orders ?? [],
    requests: [...(input.order.status?.terminations ?? [])],
    actions: [],
    events: [],
    spend: [],
    intent: false,
    wouldDo: [],
    short: [],
    surplus: 0,
    paused: spec.paused,
    refused: [],
  };
}

/**
 * readsFor lists the Soracom reads this round needs. A poll of an order still moving, or of the profiles
 * of a completed one, may wait for its interval; the reads behind a decision never do: the list of every
 * order while a create's outcome is unknown, a draft's state before it is confirmed, the profile list an
 * EsimProfile is made from, the SIM and profile list of every termination before it is sent, and, when
 * profiles are missing, whether the apiserver would take the EsimProfiles a create buys.
 */
export function readsFor(input: OrderInput, spec: DefaultedSpec): ReadAction[] {
  const orders = input.order.status?.orders ?? [];
  const reads: ReadAction[] = [];
  const confirmable = new Set(approvedDrafts(input.order.metadata.annotations, spec, orders).map((t) => t.sequence));
  const terminating = new Set((input.order.status?.terminations ?? []).filter((r) => !r.terminated));
  const listFor = new Set([...terminating].map((r) => r.profileOrderId));
  for (const t of orders) {
    const id = t.profileOrderId;
    if (!id || RELEASED.has(t.status ?? "")) continue;
    if (t.status !== "COMPLETED") {
      reads.push({ type: "getOrder", profileOrderId: id, why: confirmable.has(t.sequence) ? "confirm" : "poll" });
      continue;
    }
    const kids = childrenOfOrder(input.children, id);
    const noSecret = kids.some((c) => !c.deleting && !c.hasActivationSecret);
    const unmade = !t.materialized && !input.remembered?.[id] && !t.listedQuantity;
    if (listFor.has(id)) reads.push({ type: "listProfiles", profileOrderId: id, why: "terminate" });
    else if (unmade || noSecret) reads.push({ type: "listProfiles", profileOrderId: id, why: "materialize" });
    else if (!t.materialized || kids.some((c) => c.phase !== "Terminated"))
      reads.push({ type: "listProfiles", profileOrderId: id, why: "poll" });
  }
  if (orders.some((t) => !t.profileOrderId && t.status === "Pending")) reads.push({ type: "listOrders" });
  // A create is decided only on a fresh answer that the profiles it buys can be recorded.
  if (spec.quantity > countSlots(orders, input.children)) reads.push({ type: "admitProfiles" });
  const byName = new Map(input.children.map((c) => [c.name, c]));
  for (const r of terminating) {
    const simId = r.simId ?? byName.get(r.profile)?.simId;
    if (simId) reads.push({ type: "getSim", simId });
  }
  return reads;
}

function track(d: Draft): void {
  const tracked = trackOrders(d.input, d.orders);
  d.orders = tracked.orders;
  d.events.push(...tracked.events);
  d.refused.push(...tracked.refusals);
  if (tracked.graceEndsAt !== undefined) d.graceEndsAt = tracked.graceEndsAt;
}

/**
 * recordDeletions adds the ICCID of every child being deleted to its Soracom order's deletedProfiles while
 * that order is not materialized. The profile keeps its finalizer until this is in status, so a deleted
 * profile can never be made again, whatever the caches or a restart forget. It runs before everything
 * else, whatever the credentials or the mode: it is bookkeeping in the cluster, no call to Soracom.
 */
function recordDeletions(d: Draft): void {
  const deleting = d.input.children.filter((c) => c.deleting && c.iccid && c.profileOrderId);
  if (deleting.length === 0) return;
  d.orders = d.orders.map((t) => {
    if (t.materialized || !t.profileOrderId) return t;
    const known = new Set(t.deletedProfiles ?? []);
    const add = deleting.filter((c) => c.profileOrderId === t.profileOrderId && !known.has(c.iccid!));
    return add.length === 0 ? t : { ...t, deletedProfiles: [...known, ...add.map((c) => c.iccid!)] };
  });
}

/**
 * materialize creates an EsimProfile for every listed profile of a COMPLETED order that has none and was
 * not deleted, and brings the Soracom-owned fields of existing ones up to date. An order is materialized
 * (for good) once its list is whole and the cache shows every profile of it made or deleted; a list
 * shorter than the quantity keeps the missing profiles' places and waits for a person.
 */
function materialize(d: Draft): void {
  const { input } = d;
  const acknowledged = new Set(splitList(input.order.metadata.annotations?.[ANNOTATIONS.acknowledgeShort]));
  d.orders = d.orders.map((t) => {
    const id = t.profileOrderId;
    const fresh = id ? input.soracom?.profiles[id] : undefined;
    const listed = fresh ?? (id ? input.remembered?.[id] : undefined);
    if (!id || t.status !== "COMPLETED" || !listed) return t;
    const refused = checkProfileList(t, listed);
    if (refused) {
      d.refused.push(refused);
      return t;
    }
    const next: TrackedOrder = fresh ? { ...t, listedQuantity: fresh.length } : t;
    const byIccid = new Map(childrenOfOrder(input.children, id).map((c) => [c.iccid, c]));
    const deleted = new Set(t.deletedProfiles ?? []);
    const missing = listed.filter((p) => !byIccid.has(p.iccid) && !deleted.has(p.iccid));
    if (!t.materialized && missing.length > 0)
      d.actions.push({ type: "createProfiles", profileOrderId: id, profiles: missing });
    syncChanged(d, id, listed, byIccid);
    const whole = listed.length >= t.quantity;
    if (!whole && !t.materialized && !acknowledged.has(id)) d.short.push(next);
    if (t.materialized || missing.length > 0 || (!whole && !acknowledged.has(id))) return next;
    const { deletedProfiles: _gone, ...rest } = next; // once materialized, nothing is remade: the list can go
    return { ...rest, materialized: true };
  });
}

function syncChanged(d: Draft, id: string, listed: OrderedProfile[], byIccid: Map<string | undefined, ChildProfile>) {
  const changed = listed.flatMap((p) => {
    const c = byIccid.get(p.iccid);
    return c && !c.deleting && profileChanged(c, p) ? [{ name: c.name, profile: p }] : [];
  });
  if (changed.length > 0) d.actions.push({ type: "syncProfiles", profileOrderId: id, profiles: changed });
}

function profileChanged(c: ChildProfile, p: OrderedProfile): boolean {
  return (
    c.profileStatus !== p.profileStatus ||
    c.lastModifiedTime !== toKubeTime(p.lastModifiedTime) ||
    c.installedTime !== (p.installedTime ? toKubeTime(p.installedTime) : undefined) ||
    !c.hasActivationSecret
  );
}

/** deviceDeletionPolicy records a termination for each profile its device deleted, under Terminate or Replace. */
function deviceDeletionPolicy(d: Draft): void {
  const policy = d.spec.onDeviceDeletion;
  if (policy === "Report") return;
  for (const c of d.input.children) {
    if (c.deleting || c.phase !== "Deleted") continue;
    request(d, c, policy === "Replace" ? "Replace" : "DeletedOnDevice", d.input.now);
  }
}

/**
 * scaleDown handles more places held than wanted: drafts are cancelled first (newest first, whole drafts
 * only, they cost nothing yet); then, only under TerminateNeverInstalled, profiles never installed on a
 * device are recorded for termination, newest first. Under Retain nothing is terminated.
 */
function scaleDown(d: Draft): void {
  const { input, spec } = d;
  const surplus = countSlots(d.orders, input.children) - spec.quantity;
  d.surplus = Math.max(0, surplus);
  if (surplus <= 0) return;
  let left = surplus;
  const drafts = d.orders
    .filter((t) => t.status === "DRAFT" && t.profileOrderId)
    .sort((a, b) => b.sequence - a.sequence);
  for (const t of drafts) {
    if (t.quantity > left) continue;
    d.actions.push({ type: "cancelDraft", profileOrderId: t.profileOrderId!, why: "quantity lowered" });
    left -= t.quantity;
  }
  const requested = new Set(d.requests.map((r) => r.profile));
  left -= input.children.filter((c) => c.deleting || requested.has(c.name)).length;
  if (left <= 0 || spec.scaleDownPolicy !== "TerminateNeverInstalled") return;
  const candidates = input.children
    .filter((c) => !c.deleting && !requested.has(c.name) && c.phase !== "Terminated" && !c.everInstalled)
    .sort((a, b) => b.createdAt - a.createdAt || b.name.localeCompare(a.name))
    .slice(0, left);
  for (const c of candidates) request(d, c, "ScaleDown", input.now);
}

/** terminations settles each recorded request on this round's reads, then deletes what a Replace or ScaleDown ended. */
function terminations(d: Draft): void {
  const { input, spec } = d;
  const leaving = input.children.filter((c) => c.deleting).length;
  const cancelled = d.actions
    .filter((a) => a.type === "cancelDraft")
    .reduce(
      (n, a) =>
        n +
        (d.orders.find((t) => t.profileOrderId === (a as { profileOrderId: string }).profileOrderId)?.quantity ?? 0),
      0,
    );
  const excess = countSlots(d.orders, input.children) - spec.quantity - leaving - cancelled;
  settle(d, input, spec, excess);
  deleteTerminated(d, input.children);
}

/** creationBlocked says why no new order may be created now, if anything forbids it. */
function creationBlocked(d: Draft): { reason: string; message: string } | undefined {
  const { input, spec } = d;
  const acknowledged = new Set(splitList(input.order.metadata.annotations?.[ANNOTATIONS.acknowledgeFailed]));
  const failed = d.orders.find((t) => t.status === "FAILED" && !acknowledged.has(t.profileOrderId ?? ""));
  if (failed) {
    return {
      reason: REASONS.OrderFailed,
      message: `Soracom order ${failed.profileOrderId} FAILED; no new order is created until a person acknowledges it: kubectl esim ack ${input.order.metadata.name} (the annotation ${ANNOTATIONS.acknowledgeFailed}=${failed.profileOrderId}).`,
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
  return rejected ? { reason: REASONS.SoracomRejected, message: rejected.message } : undefined;
}

/** orderMissing records an intent (status and spend ledger) for each new order the missing profiles need. */
function orderMissing(d: Draft): void {
  const { input, spec } = d;
  const blocked = creationBlocked(d);
  if (blocked) {
    d.blocked = blocked;
    if (blocked.reason === REASONS.BudgetExceeded && !stalledAlready(input, blocked.message))
      d.events.push({ type: "Warning", reason: EVENTS.BudgetExceeded, message: blocked.message });
    return;
  }
  const missing = spec.quantity - countSlots(d.orders, input.children);
  if (missing <= 0 || !admitted(d)) return;
  const { allowed, note } = spendAllowance(input, missing);
  if (note) {
    d.budgetNote = note;
    d.events.push({ type: "Warning", reason: EVENTS.BudgetExceeded, message: note });
  }
  let seq = Math.max(0, ...d.orders.map((t) => t.sequence));
  for (let left = allowed; left > 0; left -= spec.maxProfilesPerOrder) {
    const quantity = Math.min(left, spec.maxProfilesPerOrder);
    seq += 1;
    const action = createAction(input, spec, seq, quantity);
    d.orders = [
      ...d.orders,
      {
        sequence: seq,
        token: action.token,
        quantity,
        status: "Pending",
        createRequestedTime: toKubeTime(input.now),
      },
    ];
    d.spend.push({ token: action.token, quantity });
    d.actions.push(action);
    d.intent = true;
  }
}

/**
 * admitted: the apiserver said this round that the EsimProfiles a create buys can be created. Profiles of a
 * namespace being deleted go before their order does, and must not be ordered again; nor may profiles be
 * bought that a template the apiserver refuses could never record. No answer (this round's tracking freed
 * the places): ask again in a second.
 */
function admitted(d: Draft): boolean {
  const admission = d.input.soracom?.admission;
  if (!admission) {
    d.recheckSoon = true;
    return false;
  }
  if (admission.admitted) return true;
  d.blocked = { reason: admission.reason, message: admission.message };
  if (!stalledAlready(d.input, admission.message))
    d.events.push({ type: "Warning", reason: admission.reason, message: admission.message });
  return false;
}

/** A create may be sent until its grace period ends less the time its answer may take to come back. */
function createAction(
  input: OrderInput,
  spec: DefaultedSpec,
  sequence: number,
  quantity: number,
): Extract<OrderAction, { type: "createOrder" }> {
  const token = orderToken(input.order.metadata.uid ?? "", sequence);
  const request: CreateProfileOrderRequest = {
    subscription: spec.subscription,
    quantity,
    description: orderDescription(token, input.order.metadata.namespace ?? "", input.order.metadata.name ?? ""),
    ...(spec.speedClass ? { speedClass: spec.speedClass as OrderSpeedClass } : {}),
    ...(spec.bundles?.length ? { bundles: [...spec.bundles] as OrderBundle[] } : {}),
  };
  const sendBy = input.now + input.config.createGracePeriodMs - input.config.soracomRequestTimeoutMs;
  return { type: "createOrder", sequence, token, request, confirm: spec.confirmation === "Automatic", sendBy };
}

/** stalledAlready: the order already says Stalled with this message (its Event was recorded then). */
function stalledAlready(input: OrderInput, message: string): boolean {
  return (input.order.status?.conditions ?? []).some(
    (c) => c.type === CONDITIONS.stalled && c.status === "True" && c.message === message,
  );
}

/**
 * confirmDrafts confirms the approved drafts that this round read as DRAFT. A confirm is never decided
 * from an older answer: after one whose outcome was lost, the order is read again before any repeat.
 */
function confirmDrafts(d: Draft): void {
  const fresh = d.input.soracom?.orders ?? {};
  const cancelling = new Set(d.actions.flatMap((a) => (a.type === "cancelDraft" ? [a.profileOrderId] : [])));
  for (const t of approvedDrafts(d.input.order.metadata.annotations, d.spec, d.orders)) {
    const id = t.profileOrderId!;
    if (cancelling.has(id) || fresh[id]?.status !== "DRAFT") continue;
    d.actions.push({ type: "confirmOrder", profileOrderId: id, quantity: t.quantity });
  }
}

/**
 * planDeletion cancels the drafts of a deleted order, then lets it go. Confirmed orders cannot be
 * cancelled; a create whose outcome is unknown is waited for (then cancelled if it was a draft).
 */
function planDeletion(input: OrderInput): OrderPlan {
  const hasFinalizer = (input.order.metadata.finalizers ?? []).includes(ORDER_FINALIZER);
  const status: EsimProfileOrderStatus = { ...(input.order.status ?? {}) };
  const base = { status, intent: false, spend: [], events: [] as PlannedEvent[] };
  const reads: ReadAction[] = (status.orders ?? []).some((t) => !t.profileOrderId && t.status === "Pending")
    ? [{ type: "listOrders" }]
    : [];
  for (const t of status.orders ?? [])
    if (t.profileOrderId && t.status === "DRAFT")
      reads.push({ type: "getOrder", profileOrderId: t.profileOrderId, why: "poll" });
  if (!input.soracom && input.credentials.ok && reads.length > 0)
    return { ...base, reads, actions: [], requeueAfterMs: input.config.pollActiveMs };
  const tracked = trackOrders(input);
  const actions: OrderAction[] = [];
  const events: PlannedEvent[] = [...tracked.events, ...tracked.refusals.map(refusalEvent)];
  let waiting = false;
  for (const t of tracked.orders) {
    if (t.status === "DRAFT" && t.profileOrderId && !input.config.dryRun) {
      actions.push({ type: "cancelDraft", profileOrderId: t.profileOrderId, why: "the EsimProfileOrder was deleted" });
    } else if (t.status === "Pending" && input.credentials.ok) {
      waiting = true; // a create may have happened: wait until it shows up (then cancel it) or its grace period ends
    } else if (t.status === "CONFIRMED" || t.status === "IN_PROGRESS") {
      events.push({
        type: "Warning",
        reason: EVENTS.OrderConfirmed,
        message: `Soracom order ${t.profileOrderId} is confirmed and cannot be cancelled; its profiles will be billed.`,
      });
    }
  }
  if (hasFinalizer && !waiting) actions.push({ type: "removeFinalizer" });
  return {
    ...base,
    status: { ...status, orders: tracked.orders },
    actions,
    events,
    refused: tracked.refusals,
    requeueAfterMs: waiting ? 5_000 : input.config.pollActiveMs,
  };
}

export { countSlots, type DefaultedSpec, withDefaults };
