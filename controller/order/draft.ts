import type { Refusal } from "../answers.js";
import type { TrackedOrder } from "../api/types.js";
import type { OrderAction, OrderInput, PlannedEvent, PlannedSpend, TerminationRequest } from "./model.js";
import type { DefaultedSpec } from "./slots.js";

/** Finding is a condition reason and a sentence a person can act on. */
export interface Finding {
  reason: string;
  message: string;
}

/**
 * Draft is one plan being built: each step of plan.ts reads the input and what earlier steps decided,
 * and adds to it; guard.ts then removes what the mode and the budgets forbid; summary.ts turns it into
 * the status, conditions and next poll.
 */
export interface Draft {
  input: OrderInput;
  spec: DefaultedSpec;
  orders: TrackedOrder[];
  requests: TerminationRequest[];
  actions: OrderAction[];
  events: PlannedEvent[];
  spend: PlannedSpend[];
  /** A create is planned: the status must be written before anything runs. */
  intent: boolean;
  /** Dry run: what would have been done at Soracom, in words. */
  wouldDo: string[];
  /** Something that needs a person or a spec change (Stalled). */
  stalled?: Finding;
  /** Why nothing new may be ordered now. */
  blocked?: Finding;
  /** The spend budget let fewer profiles be ordered than are missing. */
  budgetNote?: string;
  /** Termination requests wait: the budget is used up or terminations are paused. */
  terminationsWaiting?: string;
  /** COMPLETED orders whose profile list is shorter than their quantity, not acknowledged. */
  short: TrackedOrder[];
  graceEndsAt?: number;
  /** Profiles are missing but this round did not ask whether they could be recorded: plan again soon. */
  recheckSoon?: boolean;
  surplus: number;
  paused: boolean;
  /** Soracom answers this round refused: each changed nothing; the resource shows them. */
  refused: Refusal[];
}
