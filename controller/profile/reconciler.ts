import type { Logger } from "pino";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import { isNotFound as isKubeNotFound } from "../kube/errors.js";
import { splitKey } from "../kube/object.js";
import { silentLogger } from "../log.js";
import { isReadAction, isSoracomMutation, type ProfileAction } from "./actions.js";
import { executeProfileActions, ProfileActionError, ReconcileAbortedError } from "./execute.js";
import { classifyFailure, failureStatus, isNewFailure, whileDeleting } from "./failure.js";
import { observeSim } from "./observe.js";
import { isOrderCreated, type PlanInput, planProfile } from "./plan.js";
import type { ProfileAuthority, ProfileReconcilerDeps, SimOps } from "./ports.js";
import { type OwnedStatus, ownedStatusOf, statusPatch } from "./status.js";

/**
 * The EsimProfile reconciler: observe what the plan needs (nothing in steady state), plan, execute,
 * write the owned status fields with a merge patch. Level-based: it gets a key, never an event.
 */

/** ProfileReconciler is the reconcile contract of controller/kube's Controller. */
export interface ProfileReconciler {
  /** signal aborts when the controller stops (lost leadership): then no new Soracom change is started. */
  reconcile(key: string, signal?: AbortSignal): Promise<{ requeueAfterMs?: number }>;
}

/** createProfileReconciler wires the reconcile loop to its ports. */
export function createProfileReconciler(deps: ProfileReconcilerDeps): ProfileReconciler {
  return { reconcile: (key, signal) => reconcileProfile(deps, key, signal) };
}

/** inputOf is what the planner is given before any Soracom read. */
function inputOf(deps: ProfileReconcilerDeps, profile: EsimProfile, authority: ProfileAuthority, now: number) {
  return {
    profile,
    now,
    terminationBudget: authority.terminations.check(now),
    dryRun: deps.dryRun,
    paused: deps.isPaused?.(profile) ?? false,
    deletionRecorded: deps.deletionRecorded?.(profile) ?? true,
    ...withOrder(deps.orderOf?.(profile)),
    authority: {
      adoption: authority.adoption,
      terminateAdopted: authority.terminateAdopted,
      ...(authority.refused ? { refused: authority.refused } : {}),
      ...(authority.heldBy ? { heldBy: authority.heldBy } : {}),
    },
  } satisfies PlanInput;
}

function withOrder(order: EsimProfileOrder | undefined): { order?: EsimProfileOrder } {
  return order ? { order } : {};
}

async function reconcileProfile(
  deps: ProfileReconcilerDeps,
  key: string,
  signal?: AbortSignal,
): Promise<{ requeueAfterMs?: number }> {
  const { namespace, name } = splitKey(key);
  const profile = deps.profiles.get(namespace, name);
  if (!profile) return {};
  const log = (deps.logger ?? silentLogger).child({ esimprofile: key });
  const now = deps.clock.now();
  const authority = await deps.authorityFor(profile);
  const input = inputOf(deps, profile, authority, now);

  let plan = planProfile(input);
  let ops: SimOps | undefined;
  const read = plan.actions.find(isReadAction);
  if (read) {
    try {
      ops = await authority.sim();
      const sim = await observeSim(ops, read);
      // The budget is checked again after the read: other reconciles may have used it meanwhile. So is
      // who holds the SIM, now known by every identity it has.
      const heldBy = (sim !== "NotFound" && authority.heldWith?.(sim)) || authority.heldBy;
      const terminationBudget = authority.terminations.check(deps.clock.now());
      plan = planProfile({ ...input, authority: { ...input.authority, heldBy }, sim, terminationBudget });
    } catch (err) {
      return fail(deps, log, profile, ownedStatusOf(profile), err, undefined, now);
    }
    // A plan given the SIM never asks for another read; if it did, it would loop.
    if (plan.actions.some(isReadAction)) throw new TypeError("profile plan asked for a second read");
  }

  for (const e of plan.events) deps.events.record(profile, e.type, e.reason, e.message);
  let current = profile;
  try {
    if (!ops && plan.actions.some(isSoracomMutation)) ops = await authority.sim();
    const result = await executeProfileActions(profile, plan.actions, {
      sim: ops,
      finalizers: deps.finalizers,
      events: deps.events,
      terminationBudget: authority.terminations,
      metrics: deps.metrics,
      logger: log,
      signal,
    });
    current = result.profile;
  } catch (err) {
    const failed = err instanceof ProfileActionError ? err : undefined;
    // Stopped mid-way: write nothing; the next leader reads the world again.
    if (failed?.cause instanceof ReconcileAbortedError) return {};
    return fail(
      deps,
      log,
      profile,
      plan.baseStatus ?? ownedStatusOf(profile),
      failed?.cause ?? err,
      failed?.action,
      now,
    );
  }
  if (plan.confirmedTermination) deps.metrics?.simTerminated(namespace, plan.confirmedTermination);
  if (plan.refused) deps.metrics?.answerRefused?.(plan.refused.cause);
  // Once the finalizer is gone the object is on its way out: a status write would only race its removal.
  const leaving = plan.actions.some((a) => a.type === "removeFinalizer");
  if (plan.status && !leaving) await writeStatus(deps, current, plan.status, input.order);
  return plan.requeueAfterMs ? { requeueAfterMs: plan.requeueAfterMs } : {};
}

/**
 * fail is the one failure path: event (once per new failure), condition, status, requeue. Errors that
 * are neither Soracom's nor the credentials' (a 409, an apiserver hiccup, a bug) go back to the queue
 * as they are: backoff, or a quiet requeue for a conflict.
 */
async function fail(
  deps: ProfileReconcilerDeps,
  log: Logger,
  profile: EsimProfile,
  base: OwnedStatus,
  err: unknown,
  action: ProfileAction | undefined,
  now: number,
): Promise<{ requeueAfterMs?: number }> {
  const classified = classifyFailure(err, action);
  if (!classified) throw err;
  const failure = whileDeleting(classified, !!profile.metadata.deletionTimestamp, profile.spec.deletionPolicy);
  log.warn({ err, action: action?.type, reason: failure.reason }, failure.message);
  if (failure.refusal) deps.metrics?.answerRefused?.(failure.refusal.cause);
  if (failure.event && isNewFailure(ownedStatusOf(profile), failure)) {
    deps.events.record(profile, failure.event.type, failure.event.reason, failure.message);
  }
  await writeStatus(
    deps,
    profile,
    failureStatus(base, failure, profile.metadata.generation ?? 0, now),
    deps.orderOf?.(profile),
  );
  if (failure.requeueAfterMs === undefined) throw err;
  return { requeueAfterMs: failure.requeueAfterMs };
}

/**
 * writeStatus merge-patches only the owned fields that changed (none: no write, so a write never wakes
 * the informer for nothing). ICCID and IMSI are written only for adopted profiles: the order owns them
 * otherwise. A profile already gone is fine; a 409 goes back to the queue.
 */
async function writeStatus(
  deps: ProfileReconcilerDeps,
  profile: EsimProfile,
  next: OwnedStatus,
  order: EsimProfileOrder | undefined,
): Promise<void> {
  const current = ownedStatusOf(profile);
  const patch = statusPatch(current, next, !isOrderCreated(profile, order));
  if (!patch) return;
  try {
    await deps.status.patchStatus(profile, patch);
  } catch (err) {
    if (isKubeNotFound(err)) return;
    throw err;
  }
  if (typeof patch.phase === "string") {
    deps.metrics?.profilePhaseChanged(profile.metadata.namespace ?? "", current.phase, patch.phase);
  }
}
