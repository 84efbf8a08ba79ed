import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { LABELS } from "../../controller/api/vocabulary.js";
import { parseToken } from "../../controller/order/tokens.js";
import type { SimCall, SimControl } from "./soracom-sim.js";

/**
 * The invariants the fault suite checks at the end of every scenario, computed from the simulator's
 * whole state (/_sim/state, /_sim/calls) and the cluster, never from what the controller says of itself.
 */

export interface SimOrder {
  profileOrderId: string;
  description?: string;
  quantity: number;
  status: string;
  iccids: string[];
  /** When Soracom created it (simulated time, Unix ms). */
  orderedTime?: number;
}

export interface SimSim {
  simId: string;
  status: string;
  activeProfileId?: string;
}

export interface SimState {
  orders: SimOrder[];
  sims: SimSim[];
}

/** InvariantReport: the counted violations plus one sentence per problem (empty when all hold). */
export interface InvariantReport {
  duplicates: number;
  /** Profiles ordered (billed) beyond what converged resources want: over-ordering without a duplicate token. */
  overOrdered: number;
  lost: number;
  problems: string[];
  /** Soracom orders per resource name (for scenario-specific checks). */
  ordersOf: Record<string, SimOrder[]>;
}

export interface InvariantOptions {
  /** Resources whose flow is over: ordered must equal desired and nothing may be missing. Default: all. */
  converged?: readonly string[];
  /** Expected profiles ordered per resource when it is not spec.quantity (a spend budget, replacements). */
  expectOrdered?: Record<string, number>;
  /** ICCIDs whose EsimProfile a test deleted on purpose (their absence is not a loss). */
  gone?: ReadonlySet<string>;
  /** Resources left out entirely (a paused one holding an order a test made by hand with its token). */
  ignore?: readonly string[];
  /**
   * What each resource wanted over time, as the test set it, and when the test deleted its profiles (each
   * deletion frees a place); times in the simulator's clock. With it, every create is judged against the
   * quantity in force when it was made, not only the last one.
   */
  history?: Record<string, QuantityHistory>;
  /** How far back a quantity still counts as in force at a create (the controller's create grace period). */
  historyWindowMs?: number;
}

/** QuantityHistory is what a test did to one resource: quantities set and profiles deleted, with times. */
export interface QuantityHistory {
  set: Array<{ at: number; quantity: number }>;
  freed: number[];
}

/**
 * beyondWantedAtCreate judges each Soracom order of a resource when it was created: the profiles the
 * resource held right after it (its live orders created so far, less the profiles the test had deleted)
 * must not exceed the most it wanted over the window before (a quantity lowered a moment before a create
 * planned under the old one is not held against it). Returns the worst excess (0 when none) and why.
 */
export function beyondWantedAtCreate(
  mine: readonly SimOrder[],
  history: QuantityHistory,
  windowMs: number,
): { excess: number; problem?: string } {
  const inForce = (t: number) => {
    const before = history.set.filter((s) => s.at <= t - windowMs).at(-1)?.quantity ?? 0;
    const recent = history.set.filter((s) => s.at > t - windowMs && s.at <= t).map((s) => s.quantity);
    return Math.max(before, ...recent);
  };
  let worst = 0;
  let problem: string | undefined;
  const sorted = [...mine].filter((o) => o.orderedTime !== undefined).sort((a, b) => a.orderedTime! - b.orderedTime!);
  let held = 0;
  for (const o of sorted) {
    const t = o.orderedTime!;
    held += o.quantity;
    const freed = history.freed.filter((f) => f < t).length;
    const excess = held - freed - inForce(t);
    if (excess > worst) {
      worst = excess;
      problem = `order ${o.profileOrderId} created at ${new Date(t).toISOString()} made ${held - freed} profiles held for ${inForce(t)} wanted`;
    }
  }
  return { excess: worst, ...(problem ? { problem } : {}) };
}

const BILLED = new Set(["CONFIRMED", "IN_PROGRESS", "COMPLETED"]);

/** tokenKey is "<uid>:<sequence>" of an order's description, or undefined when it carries no token. */
export function tokenKey(description: string | undefined): string | undefined {
  const t = parseToken(description);
  return t ? `${t.uid}:${t.sequence}` : undefined;
}

/** duplicatesOf counts Soracom orders beyond the first for each token. */
export function duplicatesOf(orders: readonly SimOrder[]): { count: number; tokens: string[] } {
  const byToken = new Map<string, number>();
  for (const o of orders) {
    const k = tokenKey(o.description);
    if (k) byToken.set(k, (byToken.get(k) ?? 0) + 1);
  }
  const dup = [...byToken].filter(([, n]) => n > 1);
  return { count: dup.reduce((n, [, c]) => n + c - 1, 0), tokens: dup.map(([k]) => k) };
}

/** isMutating: a call that changes something at Soracom (logging in and out does not). */
export function isMutating(c: SimCall): boolean {
  return ["POST", "PUT", "DELETE", "PATCH"].includes(c.method) && !c.path.startsWith("/v1/auth");
}

/** appliedCreates counts creates the simulator applied (a dropped answer is recorded with its status too). */
export function appliedCreates(calls: readonly SimCall[]): number {
  return calls.filter((c) => c.operation === "createProfileOrder" && c.status === 201).length;
}

/** profileOwnedBy: the EsimProfile was created by this order (owner UID). */
export function profileOwnedBy(p: EsimProfile, order: EsimProfileOrder): boolean {
  return (
    p.metadata.ownerReferences?.some((r) => r.uid === order.metadata.uid) === true ||
    p.metadata.labels?.[LABELS.order] === order.metadata.name
  );
}

/**
 * checkInvariants: at most one Soracom order per token (THE invariant); every Soracom order carrying a
 * resource's token tracked in its status exactly once, and nothing tracked that Soracom does not have;
 * for converged resources, profiles ordered == desired and an EsimProfile for every profile of every
 * COMPLETED order; and every create the simulator applied still visible (none silently cancelled).
 */
export function checkInvariants(
  state: SimState,
  calls: readonly SimCall[],
  orders: readonly EsimProfileOrder[],
  profiles: readonly EsimProfile[],
  opts: InvariantOptions = {},
): InvariantReport {
  const problems: string[] = [];
  const dup = duplicatesOf(state.orders);
  if (dup.count > 0) problems.push(`${dup.count} duplicate Soracom order(s) for token(s) ${dup.tokens.join(", ")}`);
  let lost = 0;
  let overOrdered = 0;
  const ordersOf: Record<string, SimOrder[]> = {};
  const converged = new Set(opts.converged ?? orders.map((o) => o.metadata.name ?? ""));

  for (const r of orders) {
    const name = r.metadata.name ?? "";
    if (opts.ignore?.includes(name)) continue;
    const mine = state.orders.filter((o) => parseToken(o.description)?.uid === r.metadata.uid);
    ordersOf[name] = mine;
    const tracked = (r.status?.orders ?? []).filter((t) => t.profileOrderId);
    for (const o of mine) {
      const n = tracked.filter((t) => t.profileOrderId === o.profileOrderId).length;
      if (n !== 1) problems.push(`${name}: Soracom order ${o.profileOrderId} (${o.status}) is tracked ${n} time(s)`);
    }
    for (const t of tracked) {
      const live = mine.some((o) => o.profileOrderId === t.profileOrderId);
      if (!live && !["Cancelled", "Expired"].includes(t.status ?? ""))
        problems.push(`${name}: status tracks ${t.profileOrderId} (${t.status}) which Soracom does not have`);
    }
    const sequences = (r.status?.orders ?? []).map((t) => t.sequence);
    if (new Set(sequences).size !== sequences.length) problems.push(`${name}: a sequence appears twice in status`);
    // Every create, converged or not, is judged against what was wanted when it was made.
    const history = opts.history?.[name];
    const atCreate = history ? beyondWantedAtCreate(mine, history, opts.historyWindowMs ?? 0) : { excess: 0 };
    if (atCreate.problem) problems.push(`${name}: ${atCreate.problem}`);
    const beyondAtCreate = atCreate.excess;
    overOrdered += beyondAtCreate;
    if (!converged.has(name)) continue;

    const ordered = mine.filter((o) => BILLED.has(o.status)).reduce((n, o) => n + o.quantity, 0);
    const want = opts.expectOrdered?.[name] ?? r.spec.quantity;
    if (ordered !== want) problems.push(`${name}: ${ordered} profiles ordered for ${want} wanted`);
    overOrdered += Math.max(0, ordered - want - beyondAtCreate);
    const have = new Set(profiles.filter((p) => profileOwnedBy(p, r)).map((p) => p.status?.iccid ?? p.spec.iccid));
    const missing = mine
      .filter((o) => o.status === "COMPLETED")
      .flatMap((o) => o.iccids)
      .filter((iccid) => !have.has(iccid) && !opts.gone?.has(iccid));
    lost += missing.length;
    if (missing.length > 0) problems.push(`${name}: ${missing.length} profile(s) lost (no EsimProfile)`);
  }

  const deletes = calls.filter((c) => c.operation === "deleteProfileOrder" && c.status === 204).length;
  const applied = appliedCreates(calls);
  if (calls.length < 9_000 && applied !== state.orders.length + deletes)
    problems.push(`${applied} creates applied but ${state.orders.length} orders exist and ${deletes} were cancelled`);
  return { duplicates: dup.count, overOrdered, lost, problems, ordersOf };
}

/** readWorld reads everything checkInvariants needs. */
export async function readWorld(
  control: SimControl,
  cluster: { orders(): Promise<EsimProfileOrder[]>; profiles(): Promise<EsimProfile[]> },
) {
  const [state, calls, orders, profiles] = await Promise.all([
    control.state() as unknown as Promise<SimState>,
    control.calls(),
    cluster.orders(),
    cluster.profiles(),
  ]);
  return { state, calls: calls.calls, counts: calls.counts, orders, profiles };
}
