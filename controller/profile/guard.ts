import { REASONS } from "../api/vocabulary.js";
import { isSoracomMutation, type ProfileAction } from "./actions.js";
import type { Finding } from "./conditions.js";
import type { OwnedStatus } from "./status.js";

/**
 * The profile planner's guard, the last line of defence: dry run never carries a Soracom change, and a
 * paused profile carries no change at all. The checks already plan that way; this makes it impossible to
 * forget. (The termination budget is a check of its own, TerminationWanted, since it needs a fresh read.)
 */

/** GuardedDraft is the part of a profile plan in progress the guard may change. */
export interface GuardedDraft {
  actions: ProfileAction[];
  projected: OwnedStatus;
  notReady?: Finding;
}

/** guardMode removes what pause and dry run forbid; the projected status goes with any removed action. */
export function guardMode(mode: { paused?: boolean; dryRun: boolean }, d: GuardedDraft): void {
  const before = d.actions.length;
  if (mode.paused) {
    d.actions = [];
    d.notReady ??= {
      reason: REASONS.Paused,
      message: "The order is paused: nothing is changed in Soracom or the cluster.",
    };
  } else if (mode.dryRun) {
    d.actions = d.actions.filter((a) => !isSoracomMutation(a));
  }
  if (d.actions.length !== before) d.projected = {};
}
