import { type Refusal, reasonOf, refusalOf } from "../answers.js";
import { splitList } from "../api/annotations.js";
import type { EsimProfileOrder } from "../api/types.js";
import { ANNOTATIONS, CONDITIONS, EVENTS, ORDER_KIND, ORDER_REF, type TerminationReason } from "../api/vocabulary.js";
import { crashPoint } from "../crashpoints.js";
import { isConflict } from "../kube/errors.js";
import { splitKey } from "../kube/object.js";
import type { ReconcileResult } from "../kube/reconciler.js";
import { resourcePath } from "../kube/rest.js";
import { deepEqual, updateStatus } from "../kube/status.js";
import { pollLabels, setPollGauges } from "../metrics.js";
import { DEFAULT_SORACOM_PARALLELISM, executeOrderActions } from "./execute.js";
import { type OrderInput, type OrderPlan, RELEASED, type SoracomRead } from "./model.js";
import { ChildrenMemo, childrenOf, planInputsOf, readSoracom } from "./observe.js";
import { PollPacer } from "./pacing.js";
import { planOrder } from "./plan.js";
import type { AccountAccess, OrderReconcilerDeps } from "./ports.js";
import { type ActionResult, recordResults } from "./results.js";
import { refusedStatus } from "./summary.js";

/**
 * The EsimProfileOrder reconciler: observe (caches, then the Soracom reads the plan asks for), plan
 * (pure), make the plan durable, execute, record. The money rule in its plainest form: a create is sent
 * only after its intent is in the account's spend ledger and in the order's status, both written and
 * acknowledged; everything a create, confirm or termination is decided from is status or read this round.
 */

/** createOrderReconciler returns the reconcile function of the EsimProfileOrder controller. */
export function createOrderReconciler(deps: OrderReconcilerDeps) {
  const now = deps.now ?? Date.now;
  const pacer = deps.pacer ?? new PollPacer(deps.config);
  const own = new OwnWrites();
  const memo = new ChildrenMemo();
  const parallelism = deps.soracomParallelism ?? DEFAULT_SORACOM_PARALLELISM;

  return async function reconcileOrder(key: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = own.latest(key, deps.orders.get(namespace, name));
    // Another shard's order (its namespace moved away, or never was ours) is never touched here.
    if (!cached || (deps.owns && !deps.owns(namespace))) {
      deps.statusTracker.forget(namespace, name);
      return memo.forget(key);
    }
    // Never plan from caches that have not synced: an empty cache would look like missing profiles.
    if (deps.synced && !deps.synced()) return { requeueAfterMs: 1_000 };
    const log = deps.logger.child({ order: key });
    const account = await deps.accountFor(cached);
    const refresh = refreshOf(deps, pacer, cached, account.client ? account.key : undefined, now());
    const plan = await decide(cached, account).catch((err) => showRefusal(deps, cached, err, now()));
    if (!plan) return { requeueAfterMs: 1_000 };
    plan.status = { ...plan.status, ...refresh.status };

    let order = cached;
    if (plan.intent) {
      order = own.wrote(key, order, await writeStatus(deps, order, plan.status));
      log.info({ creates: plan.spend.length }, "recorded order intent before creating");
    }
    const recordTermination = (simId: string) => account.terminations.consume(simId, now());
    const executorDeps = { kube: deps.kube, logger: log, soracomParallelism: parallelism, recordTermination };
    const executorWith = { ...executorDeps, ...(signal ? { signal } : {}) };
    const executed = await executeOrderActions(executorWith, order, account.client, plan.actions);
    order = own.wrote(key, order, executed.order);
    noteAnswers(pacer, account.key, executed.results, plan, now(), deps.metrics);
    const generation = order.metadata.generation ?? 0;
    const { status: recorded, events, refused } = recordResults(plan.status, executed.results, now(), generation);
    const status = { ...recorded, ...refresh.status };
    // Events and metrics first: a 409 on the status write below must not lose what happened at Soracom.
    for (const e of [...plan.events, ...events]) deps.events.record(order, e.type, e.reason, e.message);
    recordMetrics(deps, cached, plan, executed.results, status, [...(plan.refused ?? []), ...refused]);
    if (!order.metadata.deletionTimestamp && !deepEqual(status, order.status ?? {})) {
      order = own.wrote(key, order, await writeStatus(deps, order, status));
    }
    return { requeueAfterMs: nextRound(deps, pacer, account.key, plan, now(), refresh.pollAt) };
  };

  /**
   * decide plans, makes the reads the plan asks for, plans again on them, and records the creates in the
   * spend ledger; undefined when the ledger refused them (another order took the budget meanwhile).
   */
  async function decide(order: EsimProfileOrder, account: AccountAccess): Promise<OrderPlan | undefined> {
    const input = observedInput(deps, order, account, now(), memo);
    let plan = planOrder(input);
    if (plan.reads && account.client) {
      pacer.budget(account.key, account.pollBudget, account.client.announcedLimit?.());
      const soracomReads = plan.reads.filter((r): r is SoracomRead => r.type !== "admitProfiles");
      const [read, admission] = await Promise.all([
        readSoracom(account.client, account.key, soracomReads, pacer, parallelism, now),
        plan.reads.some((r) => r.type === "admitProfiles") ? deps.admitProfiles(order) : undefined,
      ]);
      if (admission) read.view.admission = admission;
      if (read.authError) account.forget();
      const completed = (order.status?.orders ?? []).flatMap((t) => (t.profileOrderId ? [t.profileOrderId] : []));
      plan = planOrder({
        ...observedInput(deps, order, account, now(), memo),
        soracom: read.view,
        remembered: pacer.remembered(account.key, completed),
        ...(read.authError ? { credentials: read.authError } : {}),
      });
      if (plan.reads) throw new TypeError("order plan asked for a second read");
    }
    if (plan.spend.length === 0) return plan;
    crashPoint("before-intent");
    const recorded = await account.spend.record(plan.spend, now());
    if (!recorded)
      deps.logger.info({ order: order.metadata.name }, "spend budget changed while planning; planning again");
    return recorded ? plan : undefined;
  }
}

/**
 * showRefusal is the failure path of a round whose reads ended on an answer the client refused or a bound it
 * reached: nothing was decided; the order shows it (Ready False, Reconciling True, a Warning Event once per
 * new message), it is counted, and the error goes back to the queue, which backs off. Any other error goes
 * back as it is.
 */
async function showRefusal(
  deps: OrderReconcilerDeps,
  order: EsimProfileOrder,
  err: unknown,
  t: number,
): Promise<never> {
  const refusal = refusalOf(err);
  if (!refusal) throw err;
  const finding = { reason: reasonOf(refusal), message: refusal.message };
  deps.metrics.answersRefused.inc({ kind: ORDER_KIND, reason: refusal.cause });
  deps.logger.warn({ order: order.metadata.name, err, cause: refusal.cause }, refusal.message);
  const before = order.status?.conditions?.find((c) => c.type === CONDITIONS.reconciling);
  if (before?.message !== finding.message) deps.events.record(order, "Warning", finding.reason, finding.message);
  const status = refusedStatus(order.status, finding, order.metadata.generation ?? 0, t);
  if (!order.metadata.deletionTimestamp && !deepEqual(status, order.status)) await writeStatus(deps, order, status);
  throw err;
}

/** observedInput is the planner's input from the caches and the account's ledgers (no Soracom read). */
function observedInput(
  deps: OrderReconcilerDeps,
  order: EsimProfileOrder,
  account: AccountAccess,
  t: number,
  memo: ChildrenMemo,
): OrderInput {
  const ns = order.metadata.namespace;
  const profiles = deps.profiles.changeCount?.();
  const secrets = deps.secretExists ? deps.secretsChangeCount?.() : 0;
  const version = profiles === undefined || secrets === undefined ? undefined : `${profiles}:${secrets}`;
  return {
    order,
    now: t,
    children: memo.children(`${ns}/${order.metadata.name}`, order.metadata.uid ?? "", version, () =>
      childrenOf(order, deps.profiles.list(ns), deps.secretExists),
    ),
    credentials: account.credentials,
    ...(account.name ? { account: account.name } : {}),
    spend: account.spend.state(t),
    terminations: account.terminations.check(t),
    config: deps.config,
  };
}

/**
 * nextRound is when to reconcile again. A round whose plan waits for a poll (the planner's active or
 * stable interval) comes back when the pacer's next slot for one of its orders comes: for an order at
 * rest its next list (sooner after a restart, where lists go one slot apart; later under a tight budget),
 * for an order in flight its next poll, never sooner than the active interval.
 */
function nextRound(
  deps: OrderReconcilerDeps,
  pacer: PollPacer,
  account: string,
  plan: OrderPlan,
  t: number,
  hurriedAt?: number,
): number {
  const round = plannedRound(deps, pacer, account, plan, t);
  return hurriedAt === undefined ? round : Math.min(round, Math.max(DUE_SOON_MS, hurriedAt - t));
}

/** plannedRound: when the plan's polls come due (a refresh may bring them sooner: nextRound). */
function plannedRound(
  deps: OrderReconcilerDeps,
  pacer: PollPacer,
  account: string,
  plan: OrderPlan,
  t: number,
): number {
  const { pollActiveMs, pollStableMs } = deps.config;
  const ids = (plan.status.orders ?? []).flatMap((o) => (o.profileOrderId ? [o.profileOrderId] : []));
  if (plan.requeueAfterMs === pollStableMs) {
    const next = pacer.nextPollAt(account, ids, ["list"]);
    return next === undefined ? pollStableMs : Math.max(DUE_SOON_MS, next - t);
  }
  if (plan.requeueAfterMs !== pollActiveMs) return plan.requeueAfterMs;
  const next = pacer.nextPollAt(account, ids);
  return next === undefined ? pollActiveMs : Math.max(pollActiveMs, next - t);
}

/**
 * refreshOf honours a person's request for a poll now (the requested-at annotation, `kubectl esim
 * refresh`) once per value: the polls the order's Soracom orders already hold move to the first free slot
 * of the account's poll budget. Nothing else changes: no read is added to what the planner asks for, and a
 * create, confirm or termination is decided as always. The value goes into status.lastHandledRequestedAt.
 */
function refreshOf(
  deps: OrderReconcilerDeps,
  pacer: PollPacer,
  order: EsimProfileOrder,
  account: string | undefined,
  t: number,
): { status: { lastHandledRequestedAt?: string }; pollAt?: number } {
  const asked = order.metadata.annotations?.[ANNOTATIONS.requestedAt];
  const handled = order.status?.lastHandledRequestedAt;
  const keep = handled === undefined ? {} : { lastHandledRequestedAt: handled };
  if (asked === undefined || asked === handled) return { status: keep };
  const ids = (order.status?.orders ?? []).flatMap((o) => (o.profileOrderId ? [o.profileOrderId] : []));
  const pollAt = account === undefined ? undefined : pacer.hurry(account, ids, t);
  const when =
    pollAt === undefined
      ? "no Soracom poll is planned for it now"
      : `its polls come due ${pollAt <= t ? "now" : `at ${new Date(pollAt).toISOString()}`}, within the account's poll budget`;
  deps.events.record(
    order,
    "Normal",
    EVENTS.RefreshRequested,
    `A poll now was asked for (kubectl esim refresh, annotation ${ANNOTATIONS.requestedAt}=${asked}): ${when}.`,
  );
  return { status: { lastHandledRequestedAt: asked }, ...(pollAt === undefined ? {} : { pollAt }) };
}

/** The shortest requeue for a poll whose slot is (nearly) now. */
const DUE_SOON_MS = 50;

/** recordPolling sets the account's poll gauges from the pacer. */
function recordPolling(metrics: OrderReconcilerDeps["metrics"], pacer: PollPacer, account: string): void {
  const report = pacer.report(account);
  if (report) setPollGauges(metrics, pollLabels(account), report);
}

/**
 * noteAnswers tells the pacer what creates and confirms answered, which lists are no longer needed and
 * which orders stopped moving, and sets the account's poll gauges.
 */
function noteAnswers(
  pacer: PollPacer,
  account: string,
  results: readonly ActionResult[],
  plan: OrderPlan,
  at: number,
  metrics: OrderReconcilerDeps["metrics"],
): void {
  recordPolling(metrics, pacer, account);
  for (const r of results)
    if (r.type === "confirmed") pacer.sawOrder(account, r.profileOrderId, at);
    else if (r.type === "created" && typeof r.order?.profileOrderId === "string")
      pacer.sawOrder(account, r.order.profileOrderId, at);
  for (const t of plan.status.orders ?? []) {
    if (!t.profileOrderId) continue;
    if (t.materialized) pacer.materialized(account, t.profileOrderId);
    if (t.status === "COMPLETED" || RELEASED.has(t.status ?? "")) pacer.settled(account, t.profileOrderId);
  }
}

/**
 * writeStatus writes the order's status. Refused (409) because someone changed what the plan did not read
 * (an annotation of another tool's, every few milliseconds), it is written once more on the new version:
 * the plan stands, and a busy writer does not starve the order into ever longer backoff.
 */
async function writeStatus(
  deps: OrderReconcilerDeps,
  order: EsimProfileOrder,
  status: EsimProfileOrder["status"],
): Promise<EsimProfileOrder> {
  try {
    return await updateStatus(deps.kube, ORDER_REF, order, status);
  } catch (err) {
    if (!isConflict(err)) throw err;
    const fresh = await deps.kube.request<EsimProfileOrder>({
      path: resourcePath({ ...ORDER_REF, namespace: order.metadata.namespace }, order.metadata.name),
    });
    if (!deepEqual(planInputsOf(fresh), planInputsOf(order))) throw err;
    return updateStatus(deps.kube, ORDER_REF, fresh, status);
  }
}

/**
 * OwnWrites remembers the order as this reconciler last wrote it, until the informer's cache shows that
 * write. A round that follows our own write by milliseconds (a profile event queued during a long round)
 * would otherwise start from the version before it: re-planning what was just done, and ending in a 409.
 * A cached version that our writes replaced is stale; any other version (ours arrived, or someone else
 * changed the order since) is the cache's to tell.
 */
export class OwnWrites<T extends { metadata: { resourceVersion?: string } } = EsimProfileOrder> {
  private readonly memo = new Map<string, { replaced: Set<string | undefined>; order: T }>();

  latest(key: string, cached: T | undefined): T | undefined {
    const mine = this.memo.get(key);
    if (mine && cached && mine.replaced.has(cached.metadata.resourceVersion)) return mine.order;
    this.memo.delete(key);
    return cached;
  }

  /** wrote records that `before` was replaced by `after` (the apiserver's answer); returns `after`. */
  wrote(key: string, before: T, after: T): T {
    if (after.metadata.resourceVersion === before.metadata.resourceVersion) return after;
    const replaced = this.memo.get(key)?.replaced ?? new Set();
    replaced.add(before.metadata.resourceVersion);
    this.memo.set(key, { replaced, order: after });
    return after;
  }
}

/**
 * settled: a Soracom order in a final status has no status series any more (bounded series: one per order
 * in flight, not per order ever placed), except FAILED until a person acknowledged it (the alert's series).
 */
export function settled(status: string | undefined, acknowledged: boolean): boolean {
  if (status === "FAILED") return acknowledged;
  return status === "COMPLETED" || RELEASED.has(status ?? "");
}

function recordMetrics(
  deps: OrderReconcilerDeps,
  order: EsimProfileOrder,
  plan: OrderPlan,
  results: readonly ActionResult[],
  status: EsimProfileOrder["status"],
  refused: readonly Refusal[],
): void {
  const ns = order.metadata.namespace ?? "";
  const name = order.metadata.name ?? "";
  const acknowledged = new Set(splitList(order.metadata.annotations?.[ANNOTATIONS.acknowledgeFailed]));
  for (const t of status?.orders ?? []) {
    const id = t.profileOrderId;
    if (!id) continue;
    if (settled(t.status, acknowledged.has(id))) {
      // Done, or a FAILED one a person has seen (the OrderFailed alert resolves): no series per settled order.
      deps.statusTracker.settle(ns, name, id);
    } else if (t.status && t.statusSince) {
      deps.statusTracker.set(ns, name, id, t.status, Date.parse(t.statusSince));
    }
    const labels = { namespace: ns, name, profile_order_id: id };
    if (t.status === "DRAFT" && t.orderedTime)
      deps.metrics.draftExpiry.set(labels, Date.parse(t.orderedTime) / 1000 + 86_400);
    else deps.metrics.draftExpiry.remove(labels);
    const short = t.status === "COMPLETED" && !t.materialized && (t.listedQuantity ?? t.quantity) < t.quantity;
    if (short) deps.metrics.profilesMissing.set(labels, t.quantity - (t.listedQuantity ?? 0));
    else deps.metrics.profilesMissing.remove(labels);
  }
  for (const e of plan.events) if (e.reason === EVENTS.OrderFailed) deps.metrics.ordersFailed.inc({ namespace: ns });
  for (const r of refused) deps.metrics.answersRefused.inc({ kind: ORDER_KIND, reason: r.cause });
  const quantity = new Map((status?.orders ?? []).map((t) => [t.profileOrderId, t]));
  for (const r of results) {
    // Counted from what was recorded: a refused confirm answer's quantity is not a count.
    const confirmed = r.type === "confirmed" ? quantity.get(r.profileOrderId) : undefined;
    const recorded = r.type === "confirmed" && confirmed?.status === r.order.status && confirmed.status !== "DRAFT";
    if (recorded) deps.metrics.profilesOrdered.inc({ namespace: ns }, confirmed.quantity);
    else if (r.type === "terminated")
      deps.metrics.simsTerminated.inc({ namespace: ns, reason: r.reason satisfies TerminationReason });
  }
}
