import { REASONS, type RefusalCause } from "./api/vocabulary.js";
import { SoracomError, SoracomErrorCode } from "./soracom/errors.js";

/**
 * Soracom's answers are input. The client refuses what fails the vendor's schema or names another object
 * (SORACOM_ERR_INVALID_RESPONSE, SORACOM_ERR_MISMATCH) and stops at its bounds (pages, size, waits); the
 * controllers refuse what the client let through but the operator's own expectations rule out (a status
 * going back, another quantity, a SIM that does not carry the IMSI). Both kinds of refusal take one path:
 * nothing is done from the answer, the object shows it (condition, Warning Event), it is counted, and
 * the round is tried again with backoff.
 */

/** Refusal is why an answer was refused: a bounded cause and a whole sentence naming the object. */
export interface Refusal {
  cause: RefusalCause;
  message: string;
}

/** AnswerRefusedError is thrown by a controller's observer for an answer it refuses. */
export class AnswerRefusedError extends Error {
  override name = "AnswerRefusedError";
  readonly code = "SORACOM_ERR_ANSWER_REFUSED";
  readonly cause_: RefusalCause;

  constructor(refusal: Refusal) {
    super(refusal.message);
    this.cause_ = refusal.cause;
  }
}

/**
 * The client's codes for a bound reached: too many pages, an answer too large, a rate-limit wait cut to
 * the client's cap, a call's total deadline. Matched by code string, as the client names them.
 */
const LIMIT_CODES: ReadonlySet<string> = new Set([
  "SORACOM_ERR_TOO_MANY_PAGES",
  "SORACOM_ERR_RESPONSE_TOO_LARGE",
  "SORACOM_ERR_WAIT_CAPPED",
  "SORACOM_ERR_DEADLINE",
]);

/** refusalOf says whether err is a refused answer or a bound reached, and why; undefined for anything else. */
export function refusalOf(err: unknown): Refusal | undefined {
  if (err instanceof AnswerRefusedError) return { cause: err.cause_, message: err.message };
  if (!(err instanceof SoracomError)) return undefined;
  const code: string = err.code;
  if (code === SoracomErrorCode.invalidResponse || code === SoracomErrorCode.mismatch)
    return { cause: "InvalidAnswer", message: `Soracom's answer to ${err.operation} was refused: ${brief(err)}` };
  if (LIMIT_CODES.has(code))
    return { cause: "LimitReached", message: `A bound was reached calling ${err.operation}: ${brief(err)}` };
  return undefined;
}

/** brief is the client's (secret-scrubbed) message, cut short, with its code, as a sentence. */
function brief(err: SoracomError): string {
  const text = err.message.length > 300 ? `${err.message.slice(0, 300)}…` : err.message;
  return `${text.replace(/\.$/, "")} (${err.code}).`;
}

/** reasonOf is the condition and Event reason of a refusal: a bound reached, or an answer refused. */
export function reasonOf(refusal: Refusal): string {
  return refusal.cause === "LimitReached" ? REASONS.SoracomLimitReached : REASONS.SoracomAnswerInvalid;
}
