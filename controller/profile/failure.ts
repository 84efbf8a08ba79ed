import { type Refusal, reasonOf, refusalOf } from "../answers.js";
import { CONDITIONS, EVENTS, REASONS } from "../api/vocabulary.js";
import { TerminationBudgetExhaustedError } from "../budget.js";
import { CredentialsError } from "../credentials.js";
import {
  isOutcomeUnknown,
  isRateLimited,
  SoracomApiError,
  SoracomError,
  SoracomErrorCode,
  SoracomRateLimitedError,
} from "../soracom/errors.js";
import { describeAction, isSoracomMutation, type ProfileAction } from "./actions.js";
import { type ConditionInput, kstatusConditions, mergeConditions } from "./conditions.js";
import type { OwnedStatus } from "./status.js";

/**
 * The one failure path of the profile reconciler: what a failed read or action means for the status
 * (conditions), the events and the next attempt. Kubernetes errors (a 409 above all) are not handled
 * here: they go back to the queue as they are.
 */

/** Failure is how one error is reported. */
export interface Failure {
  /** Stalled (a person must act) or Reconciling (it will pass). */
  stalled: boolean;
  reason: string;
  message: string;
  /** An event to record, when the failure is new (not the same Stalled/Reconciling reason as before). */
  event?: { type: "Normal" | "Warning"; reason: string };
  /** The SIM's desired state could not be applied. */
  syncFailed: boolean;
  /** When to look again; undefined: rethrow, so the queue backs off. */
  requeueAfterMs?: number;
  /** The failure is a refused answer or a bound reached (counted in soracom_esim_answers_refused_total). */
  refusal?: Refusal;
}

/** Credentials need a person; a rotated Secret is picked up at this pace (profiles do not watch Secrets). */
export const CREDENTIALS_RETRY_MS = 60_000;
/** After a lost terminate answer the SIM is read again soon. */
export const OUTCOME_UNKNOWN_RETRY_MS = 5_000;
/** A refusal needs a spec change (which triggers a reconcile anyway); look again now and then. */
export const REJECTED_RETRY_MS = 10 * 60_000;
/** A termination refused by the budget after its plan allowed it is planned again soon (to show the pause). */
export const BUDGET_RACE_RETRY_MS = 1_000;
/** A 429 without a hint: the vendor says wait up to a minute. */
export const RATE_LIMIT_RETRY_MS = 60_000;

/**
 * classifyFailure maps an error from a read (action undefined) or an action to a Failure, or
 * undefined for errors that are not Soracom's or credentials' (Kubernetes, programming errors).
 */
export function classifyFailure(err: unknown, action: ProfileAction | undefined): Failure | undefined {
  const sync = action !== undefined && isSoracomMutation(action) && action.type !== "terminateSim";
  const what = action ? describeAction(action) : "reading the SIM";
  if (err instanceof TerminationBudgetExhaustedError) {
    // Another termination took the last slot after this plan's check: plan again, which pauses it.
    return {
      stalled: false,
      reason: REASONS.Terminating,
      message: err.message,
      syncFailed: false,
      requeueAfterMs: BUDGET_RACE_RETRY_MS,
    };
  }
  if (err instanceof CredentialsError) {
    return credentials(
      err.reason === REASONS.CredentialsNotFound ? REASONS.CredentialsNotFound : REASONS.CredentialsInvalid,
      err.message,
    );
  }
  if (err instanceof SoracomError && err.code === SoracomErrorCode.auth) {
    return credentials(REASONS.CredentialsInvalid, `Soracom refused the credentials: ${err.message}`);
  }
  // Before the rate limit and the 4xx: a wait the client cut to its cap is a bound reached, shown as one.
  const answer = answerFailure(err);
  if (answer) return answer;
  if (isOutcomeUnknown(err)) {
    return {
      stalled: false,
      reason: REASONS.Terminating,
      message: `The answer to ${what} was lost; the SIM is read again before anything else is done.`,
      event: { type: "Warning", reason: EVENTS.SoracomError },
      syncFailed: false,
      requeueAfterMs: OUTCOME_UNKNOWN_RETRY_MS,
    };
  }
  if (isRateLimited(err)) {
    return {
      stalled: false,
      reason: action?.type === "terminateSim" ? REASONS.Terminating : REASONS.SyncFailed,
      message: `Soracom's rate limit was reached while ${what}; trying again later.`,
      syncFailed: sync,
      requeueAfterMs: err.retryAfterMs ?? RATE_LIMIT_RETRY_MS,
    };
  }
  if (err instanceof SoracomApiError && err.status >= 400 && err.status < 500) {
    return {
      stalled: true,
      reason: REASONS.SoracomRejected,
      message: `Soracom refused ${what}: ${err.message}`,
      event: { type: "Warning", reason: EVENTS.SoracomError },
      syncFailed: sync,
      requeueAfterMs: REJECTED_RETRY_MS,
    };
  }
  if (err instanceof SoracomError) {
    return {
      stalled: false,
      reason: action?.type === "terminateSim" ? REASONS.Terminating : REASONS.SyncFailed,
      message: `Soracom did not answer ${what} (${err.code}); trying again.`,
      syncFailed: sync,
    };
  }
  return undefined;
}

/**
 * answerFailure: an answer that cannot be used. A refused answer or a bound reached is shown, counted and
 * tried again with the queue's backoff (nothing was decided from it); more than one SIM matching an exact
 * identifier needs a person.
 */
function answerFailure(err: unknown): Failure | undefined {
  const refusal = refusalOf(err);
  if (refusal) {
    // Nothing was decided from the answer: shown, counted, and tried again with the queue's backoff.
    return {
      stalled: false,
      reason: reasonOf(refusal),
      message: refusal.message,
      event: { type: "Warning", reason: reasonOf(refusal) },
      syncFailed: false,
      refusal,
      // A capped rate-limit wait says when to look again; anything else backs off in the queue.
      ...(err instanceof SoracomRateLimitedError && err.retryAfterMs ? { requeueAfterMs: err.retryAfterMs } : {}),
    };
  }
  if (err instanceof SoracomError && err.code === SoracomErrorCode.ambiguous) {
    return {
      stalled: true,
      reason: REASONS.SimNotFound,
      message: `More than one SIM matches this EsimProfile's identifier; name the SIM by spec.simId. (${err.message})`,
      event: { type: "Warning", reason: EVENTS.SoracomError },
      syncFailed: false,
      requeueAfterMs: REJECTED_RETRY_MS,
    };
  }
  return undefined;
}

/**
 * whileDeleting adds the way out to a credentials failure of a profile being deleted under Terminate: in a
 * namespace being deleted its Secret cannot come back, so without this a person sees only what is missing.
 */
export function whileDeleting(failure: Failure, deleting: boolean, deletionPolicy: string | undefined): Failure {
  const credentialsReason =
    failure.reason === REASONS.CredentialsNotFound || failure.reason === REASONS.CredentialsInvalid;
  if (!deleting || !credentialsReason || deletionPolicy === "Retain") return failure;
  const way =
    "This EsimProfile is being deleted and cannot terminate its SIM without them: restore the credentials, or set spec.deletionPolicy to Retain to let it go and leave the SIM as it is in Soracom.";
  return { ...failure, message: `${failure.message.replace(/\.$/, "")}. ${way}` };
}

function credentials(reason: string, message: string): Failure {
  return {
    stalled: true,
    reason,
    message,
    event: { type: "Warning", reason: EVENTS.CredentialsError },
    syncFailed: false,
    requeueAfterMs: CREDENTIALS_RETRY_MS,
  };
}

/** failureStatus is the base status (as observed, before the actions) with the failure's conditions. */
export function failureStatus(base: OwnedStatus, failure: Failure, generation: number, now: number): OwnedStatus {
  const finding = { reason: failure.reason, message: failure.message };
  const inputs: ConditionInput[] = kstatusConditions(
    failure.stalled ? { stalled: finding } : { reconciling: finding },
    false,
  );
  if (failure.syncFailed) {
    inputs.push({ type: CONDITIONS.simSynced, status: "False", reason: REASONS.SyncFailed, message: failure.message });
  }
  // Stalled and Reconciling are rewritten (one of them goes); every other condition of the base stays.
  const kept = base.conditions?.filter((c) => c.type !== CONDITIONS.stalled && c.type !== CONDITIONS.reconciling);
  return { ...base, conditions: mergeConditions(kept, inputs, generation, now, () => true) };
}

/** isNewFailure: the status did not already report this failure (so its event is recorded once). */
export function isNewFailure(previous: OwnedStatus, failure: Failure): boolean {
  const type = failure.stalled ? CONDITIONS.stalled : CONDITIONS.reconciling;
  const c = previous.conditions?.find((x) => x.type === type);
  return !(c?.status === "True" && c.reason === failure.reason && c.message === failure.message);
}
