import type { Condition, EsimProfile } from "../api/types.js";
import { CONDITIONS, REASONS } from "../api/vocabulary.js";
import { setConditions } from "../kube/status.js";

/**
 * Conditions of an EsimProfile: the kstatus trio (Ready, Reconciling, Stalled) and the domain types
 * this reconciler owns. Pure; the clock is a parameter.
 */

/** ConditionInput is a condition the plan wants, before generation and transition time are filled in. */
export interface ConditionInput {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/** Finding is a reason and a whole-sentence message a person can act on. */
export interface Finding {
  reason: string;
  message: string;
}

/** MANAGED are the condition types this reconciler owns: each is written every round, or removed. */
export const MANAGED: readonly string[] = [
  CONDITIONS.ready,
  CONDITIONS.reconciling,
  CONDITIONS.stalled,
  CONDITIONS.simSynced,
  CONDITIONS.terminationsPaused,
  CONDITIONS.deletedOnDevice,
  CONDITIONS.activationSecretNotOwned,
];

const KSTATUS: readonly string[] = [CONDITIONS.ready, CONDITIONS.reconciling, CONDITIONS.stalled, CONDITIONS.simSynced];

/** conditionOf finds a condition of the profile's current status. */
export function conditionOf(profile: EsimProfile, type: string): Condition | undefined {
  return profile.status?.conditions?.find((c) => c.type === type);
}

/**
 * kstatusConditions: Stalled True when a person must act, Reconciling True while work goes on, and
 * Ready, always present, True only when neither holds and the resource is not being deleted. kstatus
 * prefers an absent Stalled or Reconciling to a False one.
 */
export function kstatusConditions(
  s: { stalled?: Finding; reconciling?: Finding; notReady?: Finding; readyMessage?: string },
  deleting: boolean,
): ConditionInput[] {
  const out: ConditionInput[] = [];
  if (s.stalled) out.push({ type: CONDITIONS.stalled, status: "True", ...s.stalled });
  if (s.reconciling) out.push({ type: CONDITIONS.reconciling, status: "True", ...s.reconciling });
  const notReady =
    s.stalled ??
    s.reconciling ??
    s.notReady ??
    (deleting ? { reason: REASONS.Terminating, message: "The EsimProfile is being deleted." } : undefined);
  if (notReady) out.push({ type: CONDITIONS.ready, status: "False", ...notReady });
  else out.push({ type: CONDITIONS.ready, status: "True", reason: REASONS.Completed, message: s.readyMessage ?? "" });
  return out;
}

/**
 * mergeConditions writes inputs over previous (a transition time changes only when a status does)
 * and removes the managed types neither written this round nor kept, so a resolved problem
 * disappears. Types someone else wrote are always kept.
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  generation: number,
  now: number,
  keep: (type: string) => boolean = () => false,
): Condition[] {
  const written = new Set(inputs.map((c) => c.type));
  const kept = (previous ?? []).filter((c) => !MANAGED.includes(c.type) || written.has(c.type) || keep(c.type));
  return setConditions(
    kept,
    inputs.map((c) => ({ ...c, observedGeneration: generation })),
    now,
  ) as Condition[];
}

/** isKstatusType: Ready, Reconciling, Stalled or SimSynced, the types the failure path writes. */
export function isKstatusType(type: string): boolean {
  return KSTATUS.includes(type);
}
