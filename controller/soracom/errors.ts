import { scrubSecrets } from "../log.js";

/**
 * Error codes of the Soracom client. Callers decide by `code` (or by class), never by message text,
 * the way undici's `UND_ERR_*` codes work. The codes are stable: metrics and logs carry them.
 */
export const SoracomErrorCode = {
  /** The API answered with an error status (a 4xx other than the ones below, or a 5xx). */
  api: "SORACOM_ERR_API",
  /** The credentials were refused at POST /auth (Soracom code AUM0002 or similar). */
  auth: "SORACOM_ERR_AUTH",
  /** HTTP 429: the operator went over the per-path rate limit; the request was not applied. */
  rateLimited: "SORACOM_ERR_RATE_LIMITED",
  /** The connection failed or broke and no HTTP answer arrived. */
  network: "SORACOM_ERR_NETWORK",
  /** No answer within the request timeout. */
  timeout: "SORACOM_ERR_TIMEOUT",
  /** A mutation that is never repeated blindly (an order!) may or may not have been applied. */
  outcomeUnknown: "SORACOM_ERR_OUTCOME_UNKNOWN",
  /**
   * A 2xx answer whose body is not what the operation promises: not JSON, not the vendor's schema, or not
   * what the operator asked for (see validate.ts). The error's `path` names the JSON path that failed.
   */
  invalidResponse: "SORACOM_ERR_INVALID_RESPONSE",
  /** A list went on for more pages than the client's bound (maxPages): a broken or hostile pager. */
  tooManyPages: "SORACOM_ERR_TOO_MANY_PAGES",
  /** An answer's body was larger than the client's bound (maxResponseBytes); reading stopped there. */
  responseTooLarge: "SORACOM_ERR_RESPONSE_TOO_LARGE",
  /**
   * Rate limited, and the server asked for a longer pause than the client's bound (maxServerWaitMs): the
   * pause was cut to the bound (`retryAfterMs`). Like SORACOM_ERR_RATE_LIMITED, nothing was applied.
   */
  waitCapped: "SORACOM_ERR_WAIT_CAPPED",
  /** The call's total deadline (callDeadlineMs, every attempt and wait included) passed; `cause` is the last failure. */
  deadline: "SORACOM_ERR_DEADLINE",
  /** An exact lookup found more than one SIM: the account data is not what the caller assumed. */
  ambiguous: "SORACOM_ERR_AMBIGUOUS",
  /** The client was closed; no request is sent any more. */
  closed: "SORACOM_ERR_CLOSED",
  /**
   * A mutation was held back before it was sent: this replica no longer holds the lease, or the call's
   * own deadline (a create's, tied to its intent) had passed. Definitely not applied.
   */
  fenced: "SORACOM_ERR_FENCED",
  /** An answer about another object than the one asked for (an order or SIM ID that differs): rejected. */
  mismatch: "SORACOM_ERR_MISMATCH",
} as const;

export type SoracomErrorCodeValue = (typeof SoracomErrorCode)[keyof typeof SoracomErrorCode];

/** SoracomError is the base of every error the client throws: a stable code and the operationId. */
export class SoracomError extends Error {
  override name = "SoracomError";
  readonly code: SoracomErrorCodeValue;
  readonly operation: string;

  constructor(code: SoracomErrorCodeValue, operation: string, message: string, options?: { cause?: unknown }) {
    super(scrubSecrets(message), options);
    this.code = code;
    this.operation = operation;
  }
}

export interface ApiErrorDetails {
  status: number;
  /** Soracom's own error code from the flat wire body `{code, message}` (e.g. "AUM0002"), if any. */
  soracomCode?: string;
  /** Soracom's message, or the start of a non-JSON body (a load balancer's HTML page). */
  soracomMessage?: string;
  /** Response headers: rate-limit hints and request IDs help support; they carry no credentials. */
  headers: Record<string, string>;
}

/** SoracomApiError is an HTTP error answer: a definite outcome (the server said no, or failed). */
export class SoracomApiError extends SoracomError {
  override name = "SoracomApiError";
  readonly status: number;
  readonly soracomCode: string | undefined;
  readonly soracomMessage: string | undefined;
  readonly headers: Record<string, string>;

  constructor(operation: string, details: ApiErrorDetails, code: SoracomErrorCodeValue = SoracomErrorCode.api) {
    const what = details.soracomCode
      ? `${details.soracomCode}: ${details.soracomMessage ?? ""}`
      : details.soracomMessage;
    super(code, operation, `${operation} failed with HTTP ${details.status}${what ? ` (${what})` : ""}`);
    this.status = details.status;
    this.soracomCode = details.soracomCode;
    this.soracomMessage = details.soracomMessage === undefined ? undefined : scrubSecrets(details.soracomMessage);
    this.headers = details.headers;
  }
}

/** SoracomAuthError: the credentials themselves were refused; retrying cannot help, a human must fix them. */
export class SoracomAuthError extends SoracomApiError {
  override name = "SoracomAuthError";

  constructor(operation: string, details: ApiErrorDetails) {
    super(operation, details, SoracomErrorCode.auth);
  }
}

/**
 * SoracomRateLimitedError is a 429: the request was not applied; `retryAfterMs` is the server's hint, cut
 * to the client's bound. When it was cut (`capped`), the code is SORACOM_ERR_WAIT_CAPPED.
 */
export class SoracomRateLimitedError extends SoracomApiError {
  override name = "SoracomRateLimitedError";
  readonly retryAfterMs: number | undefined;
  readonly capped: boolean;

  constructor(operation: string, details: ApiErrorDetails, retryAfterMs: number | undefined, capped = false) {
    super(operation, details, capped ? SoracomErrorCode.waitCapped : SoracomErrorCode.rateLimited);
    this.retryAfterMs = retryAfterMs;
    this.capped = capped;
  }
}

/**
 * SoracomInvalidResponseError: an answer failed the vendor's schema or the operator's expectations.
 * `path` is the JSON pointer that failed ("" for the whole body, "/0/status" for a list's first status);
 * the message names the operation and the path, never the body's values.
 */
export class SoracomInvalidResponseError extends SoracomError {
  override name = "SoracomInvalidResponseError";
  readonly path: string;

  constructor(operation: string, path: string, problem: string) {
    super(
      SoracomErrorCode.invalidResponse,
      operation,
      `${operation}: invalid answer at ${path === "" ? "the body" : path}: ${problem}`,
    );
    this.path = path;
  }
}

/**
 * SoracomNetworkError: no HTTP answer. `requestSent` is false only when the connection was never
 * established (refused, DNS, connect timeout): then the server cannot have applied anything.
 */
export class SoracomNetworkError extends SoracomError {
  override name = "SoracomNetworkError";
  readonly requestSent: boolean;
  /** The low-level code (undici's UND_ERR_* or a Node errno such as ECONNRESET). */
  readonly causeCode: string | undefined;

  constructor(
    operation: string,
    message: string,
    opts: { requestSent: boolean; causeCode?: string; cause?: unknown },
    code: SoracomErrorCodeValue = SoracomErrorCode.network,
  ) {
    super(code, operation, message, { cause: opts.cause });
    this.requestSent = opts.requestSent;
    this.causeCode = opts.causeCode;
  }
}

/** SoracomTimeoutError: the request timed out; like a reset, the server may have applied it. */
export class SoracomTimeoutError extends SoracomNetworkError {
  override name = "SoracomTimeoutError";

  constructor(operation: string, message: string, opts: { requestSent: boolean; causeCode?: string; cause?: unknown }) {
    super(operation, message, opts, SoracomErrorCode.timeout);
  }
}

/**
 * SoracomOutcomeUnknownError: a mutation that must not be repeated blindly (createProfileOrder,
 * confirmProfileOrder, terminateSim) was sent, but no definite answer came back (timeout, reset, a
 * dropped response, a 5xx). The caller must look (list orders, get the SIM) before doing anything
 * else. `cause` holds the underlying error.
 */
export class SoracomOutcomeUnknownError extends SoracomError {
  override name = "SoracomOutcomeUnknownError";

  constructor(operation: string, cause: SoracomError) {
    super(
      SoracomErrorCode.outcomeUnknown,
      operation,
      `${operation}: the outcome is unknown (${cause.message}); look before repeating it`,
      { cause },
    );
  }
}

/**
 * SoracomFencedError: a mutating call was not sent because the caller may no longer act (the lease
 * was lost, or the call's deadline passed while it waited in the limiter or behind a 429 pause).
 */
export class SoracomFencedError extends SoracomError {
  override name = "SoracomFencedError";

  constructor(operation: string, reason: string) {
    super(SoracomErrorCode.fenced, operation, `${operation} was not sent: ${reason}`);
  }
}

/** isFenced is true when a mutation was held back before sending (never applied). */
export function isFenced(err: unknown): err is SoracomFencedError {
  return err instanceof SoracomError && err.code === SoracomErrorCode.fenced;
}

/** isRetryable says whether repeating the same request later can succeed and is harmless. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof SoracomError)) return false;
  switch (err.code) {
    case SoracomErrorCode.rateLimited:
    case SoracomErrorCode.waitCapped:
    case SoracomErrorCode.deadline:
    case SoracomErrorCode.network:
    case SoracomErrorCode.timeout:
      return true;
    case SoracomErrorCode.api:
      return (err as SoracomApiError).status >= 500;
    default:
      return false;
  }
}

/**
 * isNotFound is true for Soracom's own 404 answer (a JSON error body with a code): the order, SIM,
 * subscriber or tag does not exist. A 404 page of a proxy or load balancer says nothing about Soracom.
 */
export function isNotFound(err: unknown): boolean {
  return err instanceof SoracomApiError && err.status === 404 && err.soracomCode !== undefined;
}

/** isOutcomeUnknown is true when a non-repeatable mutation may or may not have been applied. */
export function isOutcomeUnknown(err: unknown): err is SoracomOutcomeUnknownError {
  return err instanceof SoracomError && err.code === SoracomErrorCode.outcomeUnknown;
}

/** isRateLimited is true for a 429 (capped or not); the error's `retryAfterMs` says how long to pause. */
export function isRateLimited(err: unknown): err is SoracomRateLimitedError {
  return (
    err instanceof SoracomError &&
    (err.code === SoracomErrorCode.rateLimited || err.code === SoracomErrorCode.waitCapped)
  );
}
