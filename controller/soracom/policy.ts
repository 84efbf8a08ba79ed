import { canRetry, type RetryClass } from "./operations.js";

/** AttemptOutcome is what one attempt produced: an HTTP status, or no answer at all. */
export type AttemptOutcome = { status: number } | { noAnswer: { requestSent: boolean } };

export interface AttemptState {
  /** Whether the retry budget allows another attempt. */
  retriesLeft: boolean;
  /** Whether this call already logged in again once after a 401/403. */
  reloginUsed: boolean;
  /** Whether an earlier attempt of this call may have been applied (lost answer or 5xx). */
  maybeApplied: boolean;
  /** Whether the call carries a session that a new login could replace. */
  canRelogin: boolean;
  /** The server's requested pause (429 hints), if any. */
  serverWaitMs: number | undefined;
  /** A 429 asking for a longer wait than this is handed to the caller instead of waited out. */
  maxRateLimitWaitMs: number;
  /** The jittered backoff for this retry. */
  backoffMs: number;
}

/** FailureKind picks the error class the caller gets. */
export type FailureKind = "api" | "auth" | "rate-limited" | "network" | "outcome-unknown";

export type Decision =
  | { kind: "ok" }
  | { kind: "already-done" }
  | { kind: "relogin" }
  | { kind: "retry"; delayMs: number }
  | { kind: "fail"; as: FailureKind };

/**
 * decide is the whole retry policy for one finished attempt, as a pure function of the operation's
 * retry class (see OPERATIONS), the outcome and the call's state. Checked in order:
 */
export function decide(retry: RetryClass, outcome: AttemptOutcome, state: AttemptState): Decision {
  const repeatable = canRetry(retry) && state.retriesLeft;
  if ("noAnswer" in outcome) {
    // No answer: repeatable operations try again; a never-repeated one that may have reached the
    // server has an unknown outcome; a request that never left is a plain network failure.
    if (repeatable) return { kind: "retry", delayMs: state.backoffMs };
    if (retry === "never" && outcome.noAnswer.requestSent) return { kind: "fail", as: "outcome-unknown" };
    return { kind: "fail", as: "network" };
  }
  const { status } = outcome;
  // Success.
  if (status >= 200 && status < 300) return { kind: "ok" };
  // Refused credentials at POST /auth itself: a human must fix them.
  if (retry === "login" && (status === 401 || status === 403)) return { kind: "fail", as: "auth" };
  // An expired or revoked token: log in again once and repeat. This holds for createProfileOrder too:
  // the API checks the token before it looks at the request, so a 401/403 means nothing was applied.
  if ((status === 401 || status === 403) && state.canRelogin && !state.reloginUsed) return { kind: "relogin" };
  // A DELETE whose earlier attempt may have worked: "not found" now means it did.
  if (status === 404 && retry === "delete" && state.maybeApplied) return { kind: "already-done" };
  // Over the rate limit: nothing was applied. Wait as asked if that is short enough, else hand it up.
  if (status === 429) {
    const wait = state.serverWaitMs ?? state.backoffMs;
    if (repeatable && wait <= state.maxRateLimitWaitMs) return { kind: "retry", delayMs: wait };
    return { kind: "fail", as: "rate-limited" };
  }
  // A server error: it may or may not have applied the request.
  if (status >= 500) {
    if (repeatable) return { kind: "retry", delayMs: Math.max(state.backoffMs, state.serverWaitMs ?? 0) };
    return { kind: "fail", as: retry === "never" ? "outcome-unknown" : "api" };
  }
  // Any other 4xx is a definite refusal.
  return { kind: "fail", as: "api" };
}
