import type { Logger } from "pino";
import type { EsimProfile } from "../api/types.js";
import type { TerminationReason } from "../api/vocabulary.js";
import { EVENTS, PROFILE_FINALIZER } from "../api/vocabulary.js";
import { silentLogger } from "../log.js";
import { terminateSim } from "../termination.js";
import { describeAction, type ProfileAction, type SoracomAction } from "./actions.js";
import type { EventSink, Finalizers, ProfileMetrics, SimOps, TerminationBudget } from "./ports.js";

/**
 * The thin executor of a profile plan. It runs the actions in order; the one irreversible call goes
 * through the shared termination protocol (controller/termination.ts): the ledger first, then the
 * protection, then the terminate, never repeated blindly.
 */

export interface ExecuteDeps {
  /** The Soracom SIM operations; needed only when the actions hold a Soracom call. */
  sim?: SimOps;
  finalizers: Finalizers;
  events: EventSink;
  terminationBudget: TerminationBudget;
  metrics?: ProfileMetrics;
  logger?: Logger;
  /** Aborted when the controller stops (lost leadership): no further action is started. */
  signal?: AbortSignal;
}

export interface ExecuteResult {
  /** The profile as last stored (a finalizer write returns it), for the writes that follow. */
  profile: EsimProfile;
  done: ProfileAction[];
  /** The SIM this run terminated, if any. */
  terminated?: { simId: string; reason: TerminationReason };
}

/** ProfileActionError wraps the failure of one action; `cause` is the original error, `done` what ran before. */
export class ProfileActionError extends Error {
  readonly code = "PROFILE_ACTION_FAILED";
  override name = "ProfileActionError";
  readonly action: ProfileAction;
  readonly done: ProfileAction[];

  constructor(action: ProfileAction, done: ProfileAction[], cause: unknown) {
    super(`${describeAction(action)} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.action = action;
    this.done = done;
  }
}

/** ReconcileAbortedError: the controller stopped (lost leadership) before an action was started. */
export class ReconcileAbortedError extends Error {
  readonly code = "PROFILE_RECONCILE_ABORTED";
  override name = "ReconcileAbortedError";
}

/** executeProfileActions runs the (non-read) actions of a plan in order; the first failure stops it. */
export async function executeProfileActions(
  profile: EsimProfile,
  actions: readonly ProfileAction[],
  deps: ExecuteDeps,
): Promise<ExecuteResult> {
  const result: ExecuteResult = { profile, done: [] };
  const updates: ProfileAction[] = [];
  try {
    for (const action of actions) {
      // Another replica may be leading now: it must be the only one acting.
      if (deps.signal?.aborted)
        throw new ProfileActionError(action, [...result.done], new ReconcileAbortedError("stopped"));
      try {
        await run(action, result, deps, updates);
      } catch (err) {
        throw new ProfileActionError(action, [...result.done], err);
      }
      result.done.push(action);
    }
  } finally {
    // One event for the SIM changes that did happen, even when a later one failed.
    if (updates.length > 0) {
      const simId = (updates[0] as SoracomAction).simId;
      deps.events.record(
        result.profile,
        "Normal",
        EVENTS.SimUpdated,
        `SIM ${simId} updated: ${updates.map(describeAction).join(", ")}.`,
      );
    }
  }
  return result;
}

async function run(
  action: ProfileAction,
  result: ExecuteResult,
  deps: ExecuteDeps,
  updates: ProfileAction[],
): Promise<void> {
  const log = deps.logger ?? silentLogger;
  switch (action.type) {
    case "resolveSim":
    case "getSim":
      throw new TypeError(`${action.type} is a read: observe it and plan again`);
    case "addFinalizer":
      result.profile = (await deps.finalizers.add(result.profile, PROFILE_FINALIZER)) ?? result.profile;
      return;
    case "removeFinalizer":
      result.profile = (await deps.finalizers.remove(result.profile, PROFILE_FINALIZER)) ?? result.profile;
      return;
    case "terminateSim":
      await terminateSim(simOps(deps, action), action.simId, {
        enable: action.enable,
        record: async () => {
          await deps.terminationBudget.consume(action.simId);
        },
        onEnabled: () => recordTerminationEnabled(deps, result.profile, action.simId),
      });
      result.terminated = { simId: action.simId, reason: action.reason };
      log.info({ simId: action.simId, reason: action.reason }, "SIM terminated");
      deps.events.record(
        result.profile,
        "Normal",
        EVENTS.SimTerminated,
        `SIM ${action.simId} terminated (${action.reason}).`,
      );
      deps.metrics?.simTerminated(result.profile.metadata.namespace ?? "", action.reason);
      return;
    default:
      await setSim(simOps(deps, action), action);
      log.info({ simId: action.simId, action: describeAction(action) }, "SIM updated");
      updates.push(action);
  }
}

/** setSim runs one of the repeatable SIM changes (the client retries these itself). */
async function setSim(ops: SimOps, a: Exclude<SoracomAction, { type: "terminateSim" }>) {
  switch (a.type) {
    case "activateSim":
      return ops.activateSim(a.simId);
    case "deactivateSim":
      return ops.deactivateSim(a.simId);
    case "setSimToStandby":
      return ops.setSimToStandby(a.simId);
    case "suspendSim":
      return ops.suspendSim(a.simId);
    case "updateSimSpeedClass":
      return ops.updateSimSpeedClass(a.simId, a.speedClass);
    case "putSimTags":
      return ops.putSimTags(a.simId, a.tags);
    case "setSimGroup":
      return ops.setSimGroup(a.simId, a.groupId);
    case "unsetSimGroup":
      return ops.unsetSimGroup(a.simId);
    case "enableSimTermination":
      return ops.enableSimTermination(a.simId);
    case "disableSimTermination":
      return ops.disableSimTermination(a.simId);
  }
}

function recordTerminationEnabled(deps: ExecuteDeps, profile: EsimProfile, simId: string): void {
  deps.events.record(
    profile,
    "Normal",
    EVENTS.TerminationEnabled,
    `Termination protection of SIM ${simId} lifted so that it can be terminated.`,
  );
}

function simOps(deps: ExecuteDeps, action: ProfileAction): SimOps {
  if (!deps.sim) throw new TypeError(`${action.type} needs the Soracom client`);
  return deps.sim;
}
