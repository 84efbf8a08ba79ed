import type { EsimProfileOrderStatus } from "../api/types.js";
import { REASONS } from "../api/vocabulary.js";
import type { Finding } from "./draft.js";
import { type OrderInput, RELEASED, type TrackedOrder } from "./model.js";

/**
 * Which account an order is bound to. The binding is written to status (status.account) with the first
 * intent, before any create is sent, and holds while any recorded intent or Soracom order is unresolved
 * (not released) or a termination is unsettled: those belong to that account, and only its client can
 * find, confirm, cancel or terminate them. An order that resolves to another account meanwhile (its
 * accountRef edited, or the controller's default account changed) is Stalled and sends nothing.
 */

/** holdsAccount: something in status still belongs to the account it was recorded under. */
export function holdsAccount(
  orders: readonly TrackedOrder[],
  terminations: EsimProfileOrderStatus["terminations"] = [],
): boolean {
  return orders.some((t) => !RELEASED.has(t.status ?? "")) || terminations.some((r) => !r.terminated);
}

/** boundAccount is the account the order's status binds it to now, or undefined when nothing binds it. */
export function boundAccount(input: OrderInput): string | undefined {
  const status = input.order.status;
  return status?.account && holdsAccount(status.orders ?? [], status.terminations) ? status.account : undefined;
}

/** accountChanged: the order resolves to another account than the one it is bound to. */
export function accountChanged(input: OrderInput): Finding | undefined {
  const bound = boundAccount(input);
  if (bound === undefined || input.account === undefined || bound === input.account) return undefined;
  return {
    reason: REASONS.AccountChanged,
    message: `This order's unresolved Soracom orders and intents belong to SoracomAccount ${bound}, but it now resolves to ${input.account}; nothing is sent to Soracom until it resolves to ${bound} again. Set spec.accountRef.name back to ${bound} (or, for an order that names no account, restore the controller's default account); to order from ${input.account}, create a new EsimProfileOrder.`,
  };
}

/** accountOf is status.account after this round: the binding while anything holds it, else as recorded. */
export function accountOf(
  input: OrderInput,
  orders: readonly TrackedOrder[],
  terminations: EsimProfileOrderStatus["terminations"],
): string | undefined {
  if (!holdsAccount(orders, terminations)) return input.order.status?.account;
  return boundAccount(input) ?? input.account;
}
