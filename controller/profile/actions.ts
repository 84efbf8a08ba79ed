import type { DesiredSim } from "../api/types.js";
import type { TerminationReason } from "../api/vocabulary.js";
import type { Sim, SimSpeedClass, SimStatus, TagUpdate } from "../soracom/types.js";

/**
 * The actions a profile plan may ask for, and the pure diff from the desired SIM state (spec.sim) to
 * the minimal Soracom calls. Soracom action types are the vendor's operationIds.
 */

/** SimLookup is how to find a SIM whose ID is not known yet, most exact first. */
export type SimLookup = { simId: string } | { imsi: string } | { iccid: string };

/** StatusOp are the operations that set a SIM's status. */
export type StatusOp = "activateSim" | "deactivateSim" | "setSimToStandby" | "suspendSim";

/** ReadAction is an observation: run it, then plan again with its result. It is always alone in a plan. */
export type ReadAction = { type: "resolveSim"; by: SimLookup } | { type: "getSim"; simId: string };

/** SoracomAction changes a SIM in Soracom. Dry run and paused plans never carry one. */
export type SoracomAction =
  | { type: StatusOp; simId: string }
  | { type: "updateSimSpeedClass"; simId: string; speedClass: SimSpeedClass }
  | { type: "putSimTags"; simId: string; tags: TagUpdate[] }
  | { type: "setSimGroup"; simId: string; groupId: string }
  | { type: "unsetSimGroup"; simId: string }
  | { type: "enableSimTermination"; simId: string }
  | { type: "disableSimTermination"; simId: string }
  /** enable: the SIM was read with termination protection on; it is lifted after the ledger recorded the termination. */
  | { type: "terminateSim"; simId: string; reason: TerminationReason; enable: boolean };

/** FinalizerAction changes the profile's finalizer (a cluster write, no Soracom call). */
export type FinalizerAction = { type: "addFinalizer" } | { type: "removeFinalizer" };

export type ProfileAction = ReadAction | SoracomAction | FinalizerAction;

/** isReadAction: the action only observes. */
export function isReadAction(a: ProfileAction): a is ReadAction {
  return a.type === "resolveSim" || a.type === "getSim";
}

/** isSoracomMutation: the action changes something in Soracom (what dry run forbids). */
export function isSoracomMutation(a: ProfileAction): a is SoracomAction {
  return !isReadAction(a) && a.type !== "addFinalizer" && a.type !== "removeFinalizer";
}

const STATUS_OPS: Record<NonNullable<DesiredSim["status"]>, StatusOp> = {
  active: "activateSim",
  inactive: "deactivateSim",
  standby: "setSimToStandby",
  suspended: "suspendSim",
};

const STATUS_OF_OP: Record<StatusOp, SimStatus> = {
  activateSim: "active",
  deactivateSim: "inactive",
  setSimToStandby: "standby",
  suspendSim: "suspended",
};

type DiffRule = (desired: DesiredSim, sim: Sim, simId: string) => SoracomAction[];

/** Each rule compares one field of spec.sim with the SIM; an unset field is left as it is. */
const DIFF_RULES: DiffRule[] = [
  // Subscriber status: one operation per target status (activate, deactivate, set_to_standby, suspend).
  (d, sim, simId) => (d.status && sim.status !== d.status ? [{ type: STATUS_OPS[d.status], simId }] : []),
  // Speed class: one call sets it.
  (d, sim, simId) =>
    d.speedClass && sim.speedClass !== d.speedClass
      ? [{ type: "updateSimSpeedClass", simId, speedClass: d.speedClass }]
      : [],
  // Tags: only the ones whose value differs; tags not named in the spec are left alone.
  (d, sim, simId) => {
    const tags = Object.entries(d.tags ?? {})
      .filter(([name, value]) => sim.tags?.[name] !== value)
      .map(([tagName, tagValue]) => ({ tagName, tagValue }));
    return tags.length > 0 ? [{ type: "putSimTags", simId, tags }] : [];
  },
  // Group: "" means "in no group".
  (d, sim, simId) => {
    if (d.groupId === undefined) return [];
    if (d.groupId === "") return sim.groupId ? [{ type: "unsetSimGroup", simId }] : [];
    return sim.groupId !== d.groupId ? [{ type: "setSimGroup", simId, groupId: d.groupId }] : [];
  },
  // Termination protection is the inverse of the SIM's terminationEnabled.
  (d, sim, simId) => {
    if (d.terminationProtection === true && sim.terminationEnabled !== false) {
      return [{ type: "disableSimTermination", simId }];
    }
    if (d.terminationProtection === false && sim.terminationEnabled !== true) {
      return [{ type: "enableSimTermination", simId }];
    }
    return [];
  },
];

/** simDiff returns the minimal calls that bring sim to the desired state (none when it is there). */
export function simDiff(desired: DesiredSim | undefined, sim: Sim, simId: string): SoracomAction[] {
  if (!desired) return [];
  return DIFF_RULES.flatMap((rule) => rule(desired, sim, simId));
}

/** hasDesiredState: spec.sim names at least one field to keep. */
export function hasDesiredState(desired: DesiredSim | undefined): boolean {
  return Object.values(desired ?? {}).some((v) => v !== undefined);
}

/** projectSim is the SIM as it will be once the actions succeed (for the status written after them). */
export function projectSim(sim: Sim, actions: readonly ProfileAction[]): Sim {
  const s: Sim = { ...sim, tags: { ...sim.tags } };
  for (const a of actions) {
    switch (a.type) {
      case "activateSim":
      case "deactivateSim":
      case "setSimToStandby":
      case "suspendSim":
        s.status = STATUS_OF_OP[a.type];
        break;
      case "updateSimSpeedClass":
        s.speedClass = a.speedClass;
        break;
      case "putSimTags":
        s.tags = { ...s.tags, ...Object.fromEntries(a.tags.map((t) => [t.tagName, t.tagValue])) };
        break;
      case "setSimGroup":
        s.groupId = a.groupId;
        break;
      case "unsetSimGroup":
        s.groupId = undefined;
        break;
      case "enableSimTermination":
        s.terminationEnabled = true;
        break;
      case "disableSimTermination":
        s.terminationEnabled = false;
        break;
      case "terminateSim":
        s.status = "terminated";
        break;
    }
  }
  return s;
}

/** describeAction is a short, secret-free description for messages and events ("putSimTags(env, site)"). */
export function describeAction(a: ProfileAction): string {
  switch (a.type) {
    case "updateSimSpeedClass":
      return `${a.type}(${a.speedClass})`;
    case "putSimTags":
      return `${a.type}(${a.tags.map((t) => t.tagName).join(", ")})`;
    case "setSimGroup":
      return `${a.type}(${a.groupId})`;
    default:
      return a.type;
  }
}
