import { formatWindow } from "../api/duration.js";
import type { Draft } from "./draft.js";
import { type OrderAction, type OrderInput, SORACOM_MUTATIONS } from "./model.js";

/**
 * The order planner's guard, the one place that applies the mode and the budgets to a plan: the spend
 * budget caps what may be ordered, the termination budget holds terminations back, dry run keeps every
 * Soracom change out of the plan (and says what it would have been), pause keeps every change out (but the
 * finalizer, which only guards the order's own drafts). The
 * steps plan as if none of this existed; the guard makes forgetting it impossible.
 */

/** spendAllowance caps `missing` profiles to what the spend budget has left, with a note when it bites. */
export function spendAllowance(input: OrderInput, missing: number): { allowed: number; note?: string } {
  if (input.spend.unreadable && missing > 0) return { allowed: 0, note: input.spend.unreadable };
  const remaining = input.spend.remaining ?? Number.POSITIVE_INFINITY;
  const allowed = Math.max(0, Math.min(missing, remaining));
  if (allowed >= missing) return { allowed };
  const { limit, windowMs, source } = input.spend;
  const where = source ? `, set in ${source}` : "";
  return {
    allowed,
    note: `${missing} profiles are missing but the spend budget allows ${allowed} more (${limit} per ${formatWindow(windowMs)}${where}); ${missing - allowed} not ordered.`,
  };
}

/** guard removes from the draft what the termination budget, dry run and pause forbid. */
export function guard(d: Draft): void {
  guardTerminations(d);
  if (d.paused) {
    // Paused changes nothing, but still takes its finalizer: drafts of a deleted order are cancelled.
    d.actions = d.actions.filter((a) => a.type === "addFinalizer");
    dropNewIntents(d);
    return;
  }
  if (d.input.config.dryRun) guardDryRun(d);
}

/** guardTerminations holds terminations back while the ledger is paused or has no budget left. */
function guardTerminations(d: Draft): void {
  const t = d.input.terminations;
  const wanted = d.actions.filter((a) => a.type === "terminateSim");
  if (wanted.length === 0 || t.allowed) return;
  d.actions = d.actions.filter((a) => a.type !== "terminateSim");
  d.terminationsWaiting = t.paused
    ? `${wanted.length} SIM termination(s) wait: terminations are paused since ${new Date(t.paused.since).toISOString()} because the termination budget was used up, until a person resumes them (${t.paused.resume}).`
    : `${wanted.length} SIM termination(s) wait for the termination budget.`;
}

/** guardDryRun keeps Soracom changes out and describes them instead. */
function guardDryRun(d: Draft): void {
  const held = d.actions.filter((a) => SORACOM_MUTATIONS.has(a.type));
  d.actions = d.actions.filter((a) => !SORACOM_MUTATIONS.has(a.type));
  const creates = held.filter((a): a is Extract<OrderAction, { type: "createOrder" }> => a.type === "createOrder");
  if (creates.length > 0) {
    const sizes = creates.map((c) => c.request.quantity);
    const total = sizes.reduce((n, q) => n + q, 0);
    d.wouldDo.push(
      `order ${total} profiles in ${sizes.length} order${sizes.length > 1 ? "s" : ""} (${sizes.join(", ")})`,
    );
  }
  const confirms = held.filter((a) => a.type === "confirmOrder").map((a) => a.profileOrderId);
  if (confirms.length > 0) d.wouldDo.push(`confirm draft order(s) ${confirms.join(", ")}`);
  const cancels = held.filter((a) => a.type === "cancelDraft").map((a) => a.profileOrderId);
  if (cancels.length > 0) d.wouldDo.push(`cancel draft order(s) ${cancels.join(", ")}`);
  const terminations = held.filter((a) => a.type === "terminateSim").map((a) => a.simId);
  if (terminations.length > 0) d.wouldDo.push(`terminate SIM(s) ${terminations.join(", ")}`);
  dropNewIntents(d);
}

/** dropNewIntents takes back the intents of creates that will not be sent. */
function dropNewIntents(d: Draft): void {
  const kept = new Set(d.actions.flatMap((a) => (a.type === "createOrder" ? [a.sequence] : [])));
  const planned = new Set(d.spend.map((s) => s.token));
  d.orders = d.orders.filter((t) => !planned.has(t.token) || kept.has(t.sequence));
  d.spend = d.spend.filter((s) => d.orders.some((t) => t.token === s.token));
  d.intent = d.spend.length > 0;
}
