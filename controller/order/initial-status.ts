import type { EsimProfile, EsimProfileOrder, EsimProfileStatus } from "../api/types.js";
import { planProfile } from "../profile/plan.js";
import type { TerminationBudgetStatus } from "../profile/ports.js";

/**
 * The first status of a profile the order has just created, in one write. The order knows Soracom's part
 * (profileStatus, the activation Secret and, from the bulk search, the SIM); the profile's own part
 * (phase, conditions, observedGeneration) is what the profile planner decides from exactly that, with no
 * Soracom call. Writing both at once makes a new profile Ready in one status write instead of two:
 * 10,000 fewer writes, and watch events, for an order of 10,000 profiles. Whenever the planner wants
 * more (a SIM the search did not find, spec.sim asking for changes, an Event to record), only Soracom's
 * part is written and the profile reconciler does the rest, as it always did.
 */

/** A new profile asks for no termination; the budget is never looked at. */
const NO_TERMINATION: TerminationBudgetStatus = { allowed: false, remaining: 0, limit: 0, windowMs: 0 };

/** initialStatus is the merge patch of a new profile's status: Soracom's part, plus its own when it can be decided now. */
export function initialStatus<S extends Record<string, unknown>>(
  profile: EsimProfile,
  soracom: S,
  now: number,
  order?: EsimProfileOrder,
): S {
  // A merge patch removes a field with null; as a status, null and absent are the same.
  const seeded: EsimProfile = { ...profile, status: { ...profile.status, ...(soracom as EsimProfileStatus) } };
  const base = { profile: seeded, now, terminationBudget: NO_TERMINATION, dryRun: false };
  const plan = planProfile(order ? { ...base, order } : base);
  if (plan.actions.length > 0 || plan.events.length > 0 || !plan.status) return soracom;
  return { ...soracom, ...plan.status };
}
