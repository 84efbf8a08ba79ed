import type { EsimProfile, EsimProfileOrder } from "./api/types.js";
import { CONDITIONS, phaseOfProfileStatus } from "./api/vocabulary.js";
import type { SpendLedger, TerminationLedger } from "./budget.js";
import type { ObjectCache } from "./kube/multi.js";
import { type Metrics, pollLabels, setPollGauges } from "./metrics.js";
import type { PollPacer } from "./order/pacing.js";

/** GaugeAccount is what the gauges read of an account at work: its name and its ledgers. */
export interface GaugeAccount {
  name: string;
  spend: Pick<SpendLedger, "state">;
  terminations: Pick<TerminationLedger, "check">;
}

/** AccountOf names the account an order or profile uses (its accountRef, else the default). */
export type AccountOf = (o: { spec?: { accountRef?: { name: string } | undefined } }) => string | undefined;

/**
 * refreshGauges recomputes the gauges that describe the fleet as a whole from the informer caches:
 * Soracom orders by status, profiles by phase, profiles deleted on their device but still billed, and
 * per account what is left of each budget and whether spending or terminating waits. Counting from the
 * caches (not from events) keeps them right after a restart and never leaves a stale series behind:
 * `accounts` are the accounts that exist now, and a deleted one's series go.
 */
export function refreshGauges(
  metrics: Metrics,
  caches: { orders: ObjectCache<EsimProfileOrder>; profiles: ObjectCache<EsimProfile> },
  accounts: readonly GaugeAccount[],
  now: number,
  owns: (namespace: string | undefined) => boolean = () => true,
  accountOf: AccountOf = (o) => o.spec?.accountRef?.name,
): void {
  // Only this shard's namespaces: another shard reports its own, and a series must come from one place.
  const ownOrders = caches.orders.list().filter((o) => owns(o.metadata.namespace));
  const ownProfiles = caches.profiles.list().filter((p) => owns(p.metadata.namespace));
  const orders = new Map<string, number>();
  for (const o of ownOrders) {
    for (const t of o.status?.orders ?? []) {
      const key = `${o.metadata.namespace}\u0000${t.status ?? "Pending"}`;
      orders.set(key, (orders.get(key) ?? 0) + 1);
    }
  }
  metrics.orders.reset();
  for (const [key, n] of orders) {
    const [namespace, status] = key.split("\u0000") as [string, string];
    metrics.orders.set({ namespace, status }, n);
  }

  const phases = new Map<string, number>();
  const deleted = new Map<string, number>();
  for (const p of ownProfiles) {
    const ns = p.metadata.namespace ?? "";
    const phase = p.status?.phase ?? phaseOfProfileStatus(p.status?.profileStatus);
    const key = `${ns}\u0000${phase}`;
    phases.set(key, (phases.get(key) ?? 0) + 1);
    if (phase === "Deleted") deleted.set(ns, (deleted.get(ns) ?? 0) + 1);
  }
  metrics.profiles.reset();
  for (const [key, n] of phases) {
    const [namespace, phase] = key.split("\u0000") as [string, string];
    metrics.profiles.set({ namespace, phase }, n);
  }
  metrics.profilesDeletedOnDeviceBilling.reset();
  for (const [namespace, n] of deleted) metrics.profilesDeletedOnDeviceBilling.set({ namespace }, n);
  refreshAccountGauges(metrics, { orders: ownOrders, profiles: ownProfiles }, accounts, now, accountOf);
}

/**
 * refreshAccountGauges: per account, what is left of its budgets, whether spending waits (an order of it
 * Stalled by BudgetExceeded) and whether its terminations are paused (its ledger, or a profile of it).
 */
function refreshAccountGauges(
  metrics: Metrics,
  own: { orders: readonly EsimProfileOrder[]; profiles: readonly EsimProfile[] },
  accounts: readonly GaugeAccount[],
  now: number,
  accountOf: AccountOf,
): void {
  const spendBlocked = new Set<string>();
  for (const o of own.orders) {
    const account = accountOf(o);
    if (account && hasCondition(o, CONDITIONS.stalled, "BudgetExceeded")) spendBlocked.add(account);
  }
  const paused = new Set<string>();
  for (const p of own.profiles) {
    const account = accountOf(p);
    if (account && hasCondition(p, CONDITIONS.terminationsPaused)) paused.add(account);
  }
  metrics.budgetRemaining.reset();
  metrics.budgetExceeded.reset();
  metrics.terminationsPaused.reset();
  const ledgers = new Map(accounts.map((a) => [a.name, a]));
  for (const account of new Set([...ledgers.keys(), ...spendBlocked, ...paused])) {
    const a = ledgers.get(account);
    const spend = a?.spend.state(now);
    const term = a?.terminations.check(now);
    const termPaused = paused.has(account) || term?.paused !== undefined;
    metrics.budgetExceeded.set({ budget: "spend", account }, spendBlocked.has(account) ? 1 : 0);
    metrics.budgetExceeded.set({ budget: "termination", account }, termPaused ? 1 : 0);
    metrics.terminationsPaused.set({ account }, termPaused ? 1 : 0);
    if (spend && spend.remaining !== null) metrics.budgetRemaining.set({ budget: "spend", account }, spend.remaining);
    if (term && term.remaining !== null)
      metrics.budgetRemaining.set({ budget: "termination", account }, term.paused ? 0 : term.remaining);
  }
}

function hasCondition(
  o: { status?: { conditions?: ReadonlyArray<{ type: string; status: string; reason?: string }> } },
  type: string,
  reason?: string,
): boolean {
  return (
    o.status?.conditions?.some((c) => c.type === type && c.status === "True" && (!reason || c.reason === reason)) ??
    false
  );
}

/**
 * refreshPollGauges sets the poll gauges of every account that polled and still exists (`exists`), and
 * drops the others'. Several keys of one account and credentials (its client's source changed) report
 * under one label set: the newest key, as the pacer's own report does.
 */
export function refreshPollGauges(
  metrics: Metrics,
  pacer: Pick<PollPacer, "accounts" | "report">,
  exists: (account: string) => boolean,
): void {
  metrics.pollIntervalEffective.reset();
  metrics.pollBudget.reset();
  for (const key of pacer.accounts()) {
    const labels = pollLabels(key);
    const report = exists(labels.account) ? pacer.report(key) : undefined;
    if (report) setPollGauges(metrics, labels, report);
  }
}
