import type { EsimProfile, EsimProfileOrder } from "./api/types.js";
import { CONDITIONS, phaseOfProfileStatus } from "./api/vocabulary.js";
import type { SpendLedger, TerminationLedger } from "./budget.js";
import type { ObjectCache } from "./kube/multi.js";
import type { Metrics } from "./metrics.js";

/**
 * refreshGauges recomputes the gauges that describe the fleet as a whole from the informer caches:
 * Soracom orders by status, profiles by phase, profiles deleted on their device but still billed, and
 * what is left of each budget. Counting from the caches (not from events) keeps them right after a
 * restart and never leaves a stale series behind.
 */
export function refreshGauges(
  metrics: Metrics,
  caches: { orders: ObjectCache<EsimProfileOrder>; profiles: ObjectCache<EsimProfile> },
  accounts: ReadonlyArray<{
    name: string;
    spend: Pick<SpendLedger, "state">;
    terminations: Pick<TerminationLedger, "check">;
  }>,
  now: number,
  owns: (namespace: string | undefined) => boolean = () => true,
): void {
  // Only this shard's namespaces: another shard reports its own, and a series must come from one place.
  const ownOrders = caches.orders.list().filter((o) => owns(o.metadata.namespace));
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
  let paused = false;
  for (const p of caches.profiles.list()) {
    if (!owns(p.metadata.namespace)) continue;
    const ns = p.metadata.namespace ?? "";
    const phase = p.status?.phase ?? phaseOfProfileStatus(p.status?.profileStatus);
    const key = `${ns}\u0000${phase}`;
    phases.set(key, (phases.get(key) ?? 0) + 1);
    if (phase === "Deleted") deleted.set(ns, (deleted.get(ns) ?? 0) + 1);
    if (p.status?.conditions?.some((c) => c.type === CONDITIONS.terminationsPaused && c.status === "True"))
      paused = true;
  }
  metrics.profiles.reset();
  for (const [key, n] of phases) {
    const [namespace, phase] = key.split("\u0000") as [string, string];
    metrics.profiles.set({ namespace, phase }, n);
  }
  metrics.profilesDeletedOnDeviceBilling.reset();
  for (const [namespace, n] of deleted) metrics.profilesDeletedOnDeviceBilling.set({ namespace }, n);

  const spendBlocked = ownOrders.some((o) =>
    o.status?.conditions?.some(
      (c) => c.type === CONDITIONS.stalled && c.status === "True" && c.reason === "BudgetExceeded",
    ),
  );
  metrics.budgetExceeded.set({ budget: "spend" }, spendBlocked ? 1 : 0);
  metrics.budgetRemaining.reset();
  let ledgerPaused = false;
  for (const a of accounts) {
    const spend = a.spend.state(now);
    const term = a.terminations.check(now);
    ledgerPaused ||= term.paused !== undefined;
    if (spend.remaining !== null) metrics.budgetRemaining.set({ budget: "spend", account: a.name }, spend.remaining);
    if (term.remaining !== null)
      metrics.budgetRemaining.set({ budget: "termination", account: a.name }, term.paused ? 0 : term.remaining);
  }
  metrics.budgetExceeded.set({ budget: "termination" }, paused || ledgerPaused ? 1 : 0);
  metrics.terminationsPaused.set(paused || ledgerPaused ? 1 : 0);
}
