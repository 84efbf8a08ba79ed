import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { Session, TokenSource } from "./auth.js";
import {
  type ApiErrorDetails,
  SoracomApiError,
  SoracomAuthError,
  SoracomError,
  SoracomErrorCode,
  type SoracomErrorCodeValue,
  SoracomFencedError,
  SoracomNetworkError,
  SoracomOutcomeUnknownError,
  SoracomRateLimitedError,
} from "./errors.js";
import { type Exchange, ResponseTooLargeError, sendOnce, type WireRequest } from "./http.js";
import type { RequestLimiter } from "./limiter.js";
import { expandPath, OPERATIONS, type OperationId } from "./operations.js";
import { decide, type FailureKind } from "./policy.js";
import { announcedAllowance, backoffDelay, type RetryOptions, serverWaitMs } from "./retry.js";

/** RequestEvent is given to `onRequest` once per attempt: enough for metrics, nothing secret. */
export interface RequestEvent {
  operation: OperationId;
  method: string;
  /** HTTP status, absent when no answer arrived. */
  status?: number;
  durationMs: number;
  /** 1 for the first attempt of a call. */
  attempt: number;
  /** The failure of an attempt that got no answer (its `code` suits a metric label). */
  error?: SoracomError;
}

/** ClientBounds cap what any answer can make the client do; each bound reached is reported (guard). */
export interface ClientBounds {
  /** The longest pause any Retry-After or X-Soracom-Ratelimit-* header can impose; longer hints are cut. */
  maxServerWaitMs: number;
  /** Pages one list may have (listProfileOrders, searchSims); past it: SORACOM_ERR_TOO_MANY_PAGES. */
  maxPages: number;
  /** Bytes one answer's body may have; past it reading stops: SORACOM_ERR_RESPONSE_TOO_LARGE. */
  maxResponseBytes: number;
  /** One call's total time from its first send, every attempt, body read and retry wait included. */
  callDeadlineMs: number;
}

export const DEFAULT_BOUNDS: Omit<ClientBounds, "callDeadlineMs"> = {
  maxServerWaitMs: 15 * 60_000,
  maxPages: 1000,
  maxResponseBytes: 4 * 1024 * 1024,
};

/** CallContext is everything one client shares between calls. */
export interface CallContext {
  dispatcher: Dispatcher;
  origin: string;
  /** "/v1", or a prefix plus "/v1" behind a proxy. */
  basePath: string;
  requestTimeoutMs: number;
  retry: RetryOptions;
  limiter: RequestLimiter;
  tokens: TokenSource;
  logger: Logger;
  onRequest: ((event: RequestEvent) => void) | undefined;
  random: () => number;
  userAgent: string;
  closed: () => boolean;
  /**
   * fence says why this process may not send a mutation now (it lost its lease), or undefined when it may.
   * It is asked right before each attempt of every mutating operation, after the limiter let it through.
   */
  fence: (() => string | undefined) | undefined;
  /** The per-minute limit Soracom last announced per operation (X-Soracom-Ratelimit-Limit). */
  announced: Map<OperationId, number>;
  bounds: ClientBounds;
  /** Reports a bound reached or an answer refused (a metric and a warning), by error code. */
  guard: (operation: OperationId, code: SoracomErrorCodeValue) => void;
  /** The secrets in use (API key, token, auth key, password): never copied from an answer into a message. */
  secrets: () => string[];
  /** Per operation: when a pause that was cut to maxServerWaitMs ends. */
  cappedPause: Map<OperationId, number>;
}

/** CallState is what one call remembers between its attempts. */
interface CallState {
  retries: number;
  reloginUsed: boolean;
  maybeApplied: boolean;
  /** Unix ms; set when the first attempt leaves the limiter. */
  deadline: number | undefined;
}

export type QueryValue = string | number | readonly string[] | undefined;

export interface CallArgs {
  pathParams?: Record<string, string>;
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Send with exactly this session and never log in again (logout). */
  session?: Session;
  /**
   * A mutation not sent by this time (Unix ms) is not sent at all (SoracomFencedError): a create queued
   * in the limiter past its intent's grace period could otherwise land after another replica concluded
   * it never happened.
   */
  sendBy?: number;
}

export interface CallResult {
  status: number;
  headers: Record<string, string>;
  /** The parsed JSON body; undefined for an empty body (204) or an already-done DELETE. */
  data: unknown;
}

/** call sends one operation with the retry policy of its class (see OPERATIONS and decide). */
export async function call(ctx: CallContext, operation: OperationId, args: CallArgs = {}): Promise<CallResult> {
  const spec = OPERATIONS[operation];
  const path = ctx.basePath + expandPath(spec.path, args.pathParams) + queryString(args.query);
  const body = args.body === undefined ? undefined : JSON.stringify(args.body);
  const authenticated = operation !== "auth";
  const state: CallState = {
    retries: 0,
    reloginUsed: args.session !== undefined,
    maybeApplied: false,
    deadline: undefined,
  };
  for (let attempt = 1; ; attempt++) {
    if (ctx.closed()) throw new SoracomError(SoracomErrorCode.closed, operation, "the Soracom client is closed");
    const session = authenticated ? (args.session ?? (await ctx.tokens.get())) : undefined;
    const req: WireRequest = {
      method: spec.method,
      path,
      headers: headersFor(ctx, session, body),
      ...(body ? { body } : {}),
    };
    const { result, hint } = await attemptOnce(ctx, operation, req, { attempt, sendBy: args.sendBy, state });
    const decision = decideAttempt(ctx, operation, result, hint, session !== undefined, state);
    const status = result instanceof SoracomNetworkError ? undefined : result.status;
    state.maybeApplied ||= status === undefined ? (result as SoracomNetworkError).requestSent : status >= 500;
    switch (decision.kind) {
      case "ok":
        return {
          status: status ?? 0,
          headers: (result as Exchange).headers,
          data: parseBody(ctx, operation, result as Exchange),
        };
      case "already-done":
        return { status: status ?? 0, headers: (result as Exchange).headers, data: undefined };
      case "relogin":
        ctx.logger.debug({ operation, attempt, status }, "soracom token refused; logging in again once");
        state.reloginUsed = true;
        if (session) ctx.tokens.invalidate(session);
        continue;
      case "retry":
        state.retries++;
        if (Date.now() + decision.delayMs >= (state.deadline ?? Number.POSITIVE_INFINITY))
          throw deadlinePassed(ctx, operation, failure(ctx, "api", operation, result, hint));
        ctx.logger.debug({ operation, attempt, delayMs: decision.delayMs }, "soracom request will be retried");
        await sleep(decision.delayMs);
        continue;
      case "fail":
        throw failure(ctx, decision.as, operation, result, hint);
    }
  }
}

/** decideAttempt feeds one attempt's outcome to the pure policy (decide). */
function decideAttempt(
  ctx: CallContext,
  operation: OperationId,
  result: Exchange | SoracomNetworkError,
  hint: number | undefined,
  canRelogin: boolean,
  state: CallState,
) {
  const noAnswer = result instanceof SoracomNetworkError;
  // A 404 without Soracom's JSON error body is a proxy's or load balancer's page: a gateway failure,
  // not Soracom saying "not found" (which would cancel a DRAFT or count a DELETE as done).
  const status = noAnswer ? 0 : result.status === 404 && !isSoracomError(result) ? 502 : result.status;
  return decide(
    OPERATIONS[operation].retry,
    noAnswer ? { noAnswer: { requestSent: result.requestSent } } : { status },
    {
      retriesLeft: state.retries < ctx.retry.maxRetries,
      reloginUsed: state.reloginUsed,
      maybeApplied: state.maybeApplied,
      canRelogin,
      serverWaitMs: hint,
      maxRateLimitWaitMs: ctx.retry.maxRateLimitWaitMs,
      backoffMs: backoffDelay(state.retries + 1, ctx.retry, ctx.random),
    },
  );
}

/** deadlinePassed: the call's total deadline ran out; `cause` is the attempt that would have been retried. */
function deadlinePassed(ctx: CallContext, operation: OperationId, cause: SoracomError): SoracomError {
  ctx.guard(operation, SoracomErrorCode.deadline);
  return new SoracomError(
    SoracomErrorCode.deadline,
    operation,
    `${operation}: no answer within the call's deadline of ${ctx.bounds.callDeadlineMs} ms (last: ${cause.code})`,
    { cause },
  );
}

/**
 * attemptOnce sends one attempt through the limiter and reports it (debug log, onRequest). It returns
 * the answer, whatever its status, or the network error when there was none, with the server's
 * (bounded) wait hint.
 */
async function attemptOnce(
  ctx: CallContext,
  operation: OperationId,
  req: WireRequest,
  at: { attempt: number; sendBy: number | undefined; state: CallState },
): Promise<{ result: Exchange | SoracomNetworkError; hint: number | undefined }> {
  // A pause longer than the caller agreed to wait is handed up at once, like the 429 that set it.
  const pausedMs = ctx.limiter.pausedForMs(operation);
  if (pausedMs > ctx.retry.maxRateLimitWaitMs) {
    const message = "paused by the client: this API path is over its rate limit";
    const capped = (ctx.cappedPause.get(operation) ?? 0) > Date.now();
    throw new SoracomRateLimitedError(
      operation,
      { status: 429, soracomMessage: message, headers: {} },
      pausedMs,
      capped,
    );
  }
  const release = await ctx.limiter.acquire(operation);
  // Checked after the limiter, immediately before sending: a queued mutation may have outlived its right.
  const fenced = isMutation(operation) ? fencedReason(ctx, at.sendBy) : undefined;
  if (fenced) {
    release();
    ctx.logger.warn({ operation, attempt: at.attempt, reason: fenced }, "soracom mutation held back");
    throw new SoracomFencedError(operation, fenced);
  }
  at.state.deadline ??= Date.now() + ctx.bounds.callDeadlineMs;
  const timeoutMs = Math.max(1, Math.min(ctx.requestTimeoutMs, at.state.deadline - Date.now()));
  const started = performance.now();
  let result: Exchange | SoracomNetworkError;
  try {
    result = await sendOnce(ctx.dispatcher, ctx.origin, operation, req, timeoutMs, ctx.bounds.maxResponseBytes);
  } catch (err) {
    if (err instanceof ResponseTooLargeError) throw tooLarge(ctx, operation, err);
    if (!(err instanceof SoracomNetworkError)) throw err;
    result = err;
  } finally {
    release();
  }
  const durationMs = Math.round(performance.now() - started);
  const hint = result instanceof SoracomNetworkError ? undefined : observeAnswer(ctx, operation, result);
  report(ctx, { operation, method: req.method, durationMs, attempt: at.attempt }, result);
  return { result, hint };
}

/** tooLarge: an oversized answer is never read; on a never-repeated mutation it may have been applied. */
function tooLarge(ctx: CallContext, operation: OperationId, err: ResponseTooLargeError): SoracomError {
  ctx.guard(operation, SoracomErrorCode.responseTooLarge);
  return OPERATIONS[operation].retry === "never" ? new SoracomOutcomeUnknownError(operation, err) : err;
}

/**
 * observeAnswer reads an answer's rate-limit headers into the limiter and returns the server's wait hint,
 * each wait cut to maxServerWaitMs (a cut is reported, and remembered so the caller hears of it).
 */
function observeAnswer(ctx: CallContext, operation: OperationId, result: Exchange): number | undefined {
  const limit = Number(result.headers["x-soracom-ratelimit-limit"]);
  if (Number.isFinite(limit) && limit > 0) ctx.announced.set(operation, limit);
  const bounded = (ms: number) => {
    if (ms <= ctx.bounds.maxServerWaitMs) return ms;
    ctx.guard(operation, SoracomErrorCode.waitCapped);
    ctx.cappedPause.set(operation, Date.now() + ctx.bounds.maxServerWaitMs);
    return ctx.bounds.maxServerWaitMs;
  };
  // What is left of this path's window: calls past it would only earn a 429, so they wait for the refresh.
  const allowance = result.status === 429 ? undefined : announcedAllowance(result.headers);
  if (allowance) ctx.limiter.observe(operation, allowance.remaining, bounded(allowance.refreshMs));
  const raw = serverWaitMs(result.status, result.headers, Date.now());
  const wait = raw === undefined ? undefined : bounded(raw);
  // Soracom limits per API path: keep every caller of this operation quiet as long as asked.
  if (wait !== undefined || result.status === 429) ctx.limiter.pause(operation, wait ?? ctx.retry.baseDelayMs);
  return wait;
}

/** isMutation: the operation changes something at Soracom (logging in and out do not). */
export function isMutation(operation: OperationId): boolean {
  return OPERATIONS[operation].method !== "GET" && operation !== "auth" && operation !== "logout";
}

function fencedReason(ctx: CallContext, sendBy: number | undefined): string | undefined {
  const reason = ctx.fence?.();
  if (reason) return reason;
  if (sendBy !== undefined && Date.now() > sendBy)
    return `its deadline passed ${Date.now() - sendBy} ms ago (intent time + grace period - request timeout)`;
  return undefined;
}

function report(
  ctx: CallContext,
  base: Omit<RequestEvent, "status" | "error">,
  result: Exchange | SoracomNetworkError,
) {
  const event: RequestEvent =
    result instanceof SoracomNetworkError ? { ...base, error: result } : { ...base, status: result.status };
  // Only these fields are logged: never headers (API key, token) nor bodies (activation codes).
  ctx.logger.debug(
    {
      operation: event.operation,
      method: event.method,
      status: event.status,
      durationMs: event.durationMs,
      attempt: event.attempt,
      ...(event.error ? { error: event.error.code, cause: (event.error as SoracomNetworkError).causeCode } : {}),
    },
    "soracom request",
  );
  try {
    ctx.onRequest?.(event);
  } catch (err) {
    ctx.logger.warn({ operation: event.operation, err: (err as Error).message }, "onRequest hook threw; ignored");
  }
}

function headersFor(ctx: CallContext, session: Session | undefined, body: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    accept: "application/json",
    "user-agent": ctx.userAgent,
    "x-soracom-lang": "en",
  };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session) {
    headers["x-soracom-api-key"] = session.apiKey;
    headers["x-soracom-token"] = session.token;
  }
  return headers;
}

/** queryString encodes arrays as repeated parameters (`explode: true` in the spec). */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) params.append(name, v);
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

function parseBody(ctx: CallContext, operation: OperationId, res: Exchange): unknown {
  if (res.text.trim() === "") return undefined;
  try {
    return JSON.parse(res.text);
  } catch {
    const err = new SoracomError(
      SoracomErrorCode.invalidResponse,
      operation,
      `${operation}: HTTP ${res.status} with a body that is not JSON`,
    );
    ctx.guard(operation, SoracomErrorCode.invalidResponse);
    // A never-repeated mutation that answered 2xx was applied, but we cannot read what it made.
    if (OPERATIONS[operation].retry === "never") throw new SoracomOutcomeUnknownError(operation, err);
    throw err;
  }
}

function failure(
  ctx: CallContext,
  kind: FailureKind,
  operation: OperationId,
  result: Exchange | SoracomNetworkError,
  hint: number | undefined,
): SoracomError {
  if (result instanceof SoracomNetworkError) {
    return kind === "outcome-unknown" ? new SoracomOutcomeUnknownError(operation, result) : result;
  }
  const details = apiErrorDetails(result, ctx.secrets());
  switch (kind) {
    case "auth":
      return new SoracomAuthError(operation, details);
    case "rate-limited": {
      // observeAnswer cut this answer's hint (and reported it) when the cut pause is still running.
      const capped = hint !== undefined && (ctx.cappedPause.get(operation) ?? 0) > Date.now();
      return new SoracomRateLimitedError(operation, details, hint, capped);
    }
    case "outcome-unknown":
      return new SoracomOutcomeUnknownError(operation, new SoracomApiError(operation, details));
    default:
      return new SoracomApiError(operation, details);
  }
}

/** isSoracomError: the answer carries Soracom's own JSON error body `{code, message}` with a code. */
function isSoracomError(res: Exchange): boolean {
  try {
    const body = JSON.parse(res.text) as { code?: unknown } | null;
    return typeof body?.code === "string" && body.code !== "";
  } catch {
    return false;
  }
}

/** supportHeaders keeps the headers an error may carry (rate limits, request IDs), scrubbed: no echo of ours. */
function supportHeaders(headers: Record<string, string>, secrets: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (/^(x-soracom-ratelimit-|retry-after$|x-soracom-request-id$|x-request-id$|content-type$)/.test(name))
      kept[name] = scrubAnswerText(value, secrets).slice(0, 200);
  }
  return kept;
}

/** Credential-like runs: Soracom API keys, auth keys and IDs, and any long token-ish string. */
const TOKEN_LIKE = /\b(?:api|secret|keyId)-[A-Za-z0-9._-]+|[A-Za-z0-9+/_=.-]{32,}/g;

/** scrubAnswerText removes the secrets in use, and anything that looks like a credential, from server text. */
export function scrubAnswerText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.replaceAll(secret, "[redacted]");
  return out.replace(TOKEN_LIKE, "[redacted]");
}

/**
 * apiErrorDetails reads the flat wire body `{code, message}`; a non-JSON body (a load balancer page) is kept
 * short. Server text is scrubbed of the secrets in use: an error page may echo the request's headers.
 */
export function apiErrorDetails(res: Exchange, secrets: readonly string[] = []): ApiErrorDetails {
  const details: ApiErrorDetails = { status: res.status, headers: supportHeaders(res.headers, secrets) };
  try {
    const body = JSON.parse(res.text) as { code?: unknown; message?: unknown };
    if (typeof body?.code === "string") details.soracomCode = scrubAnswerText(body.code, secrets).slice(0, 40);
    if (typeof body?.message === "string")
      details.soracomMessage = scrubAnswerText(body.message, secrets).slice(0, 500);
  } catch {
    const snippet = res.text
      .replace(/<[^>]*>/g, " ")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 200);
    if (snippet) details.soracomMessage = scrubAnswerText(snippet, secrets);
  }
  return details;
}
