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
  SoracomFencedError,
  SoracomNetworkError,
  SoracomOutcomeUnknownError,
  SoracomRateLimitedError,
} from "./errors.js";
import { type Exchange, sendOnce, type WireRequest } from "./http.js";
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
  let retries = 0;
  let reloginUsed = args.session !== undefined;
  let maybeApplied = false;
  for (let attempt = 1; ; attempt++) {
    if (ctx.closed()) throw new SoracomError(SoracomErrorCode.closed, operation, "the Soracom client is closed");
    const session = authenticated ? (args.session ?? (await ctx.tokens.get())) : undefined;
    const req: WireRequest = {
      method: spec.method,
      path,
      headers: headersFor(ctx, session, body),
      ...(body ? { body } : {}),
    };
    const result = await attemptOnce(ctx, operation, req, attempt, args.sendBy);
    const noAnswer = result instanceof SoracomNetworkError;
    const status = noAnswer ? undefined : result.status;
    const hint = noAnswer ? undefined : serverWaitMs(result.status, result.headers, Date.now());
    const decision = decide(
      spec.retry,
      noAnswer ? { noAnswer: { requestSent: result.requestSent } } : { status: result.status },
      {
        retriesLeft: retries < ctx.retry.maxRetries,
        reloginUsed,
        maybeApplied,
        canRelogin: session !== undefined,
        serverWaitMs: hint,
        maxRateLimitWaitMs: ctx.retry.maxRateLimitWaitMs,
        backoffMs: backoffDelay(retries + 1, ctx.retry, ctx.random),
      },
    );
    maybeApplied ||= noAnswer ? result.requestSent : (status ?? 0) >= 500;
    switch (decision.kind) {
      case "ok":
        return {
          status: (result as Exchange).status,
          headers: (result as Exchange).headers,
          data: parseBody(operation, result as Exchange),
        };
      case "already-done":
        return { status: (result as Exchange).status, headers: (result as Exchange).headers, data: undefined };
      case "relogin":
        ctx.logger.debug({ operation, attempt, status }, "soracom token refused; logging in again once");
        reloginUsed = true;
        if (session) ctx.tokens.invalidate(session);
        continue;
      case "retry":
        retries++;
        ctx.logger.debug({ operation, attempt, delayMs: decision.delayMs }, "soracom request will be retried");
        await sleep(decision.delayMs);
        continue;
      case "fail":
        throw failure(decision.as, operation, result, hint);
    }
  }
}

/**
 * attemptOnce sends one attempt through the limiter and reports it (debug log, onRequest). It returns
 * the answer, whatever its status, or the network error when there was none.
 */
async function attemptOnce(
  ctx: CallContext,
  operation: OperationId,
  req: WireRequest,
  attempt: number,
  sendBy: number | undefined,
): Promise<Exchange | SoracomNetworkError> {
  // A pause longer than the caller agreed to wait is handed up at once, like the 429 that set it.
  const pausedMs = ctx.limiter.pausedForMs(operation);
  if (pausedMs > ctx.retry.maxRateLimitWaitMs) {
    const message = "paused by the client: this API path is over its rate limit";
    throw new SoracomRateLimitedError(operation, { status: 429, soracomMessage: message, headers: {} }, pausedMs);
  }
  const release = await ctx.limiter.acquire(operation);
  // Checked after the limiter, immediately before sending: a queued mutation may have outlived its right.
  const fenced = isMutation(operation) ? fencedReason(ctx, sendBy) : undefined;
  if (fenced) {
    release();
    ctx.logger.warn({ operation, attempt, reason: fenced }, "soracom mutation held back");
    throw new SoracomFencedError(operation, fenced);
  }
  const started = performance.now();
  let result: Exchange | SoracomNetworkError;
  try {
    result = await sendOnce(ctx.dispatcher, ctx.origin, operation, req, ctx.requestTimeoutMs);
  } catch (err) {
    if (!(err instanceof SoracomNetworkError)) throw err;
    result = err;
  } finally {
    release();
  }
  const durationMs = Math.round(performance.now() - started);
  if (!(result instanceof SoracomNetworkError)) {
    const limit = Number(result.headers["x-soracom-ratelimit-limit"]);
    if (Number.isFinite(limit) && limit > 0) ctx.announced.set(operation, limit);
    // What is left of this path's window: calls past it would only earn a 429, so they wait for the refresh.
    const allowance = result.status === 429 ? undefined : announcedAllowance(result.headers);
    if (allowance) ctx.limiter.observe(operation, allowance.remaining, allowance.refreshMs);
    const wait = serverWaitMs(result.status, result.headers, Date.now());
    // Soracom limits per API path: keep every caller of this operation quiet as long as asked.
    if (wait !== undefined || result.status === 429) ctx.limiter.pause(operation, wait ?? ctx.retry.baseDelayMs);
  }
  report(ctx, { operation, method: req.method, durationMs, attempt }, result);
  return result;
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

function parseBody(operation: OperationId, res: Exchange): unknown {
  if (res.text.trim() === "") return undefined;
  try {
    return JSON.parse(res.text);
  } catch {
    const err = new SoracomError(
      SoracomErrorCode.invalidResponse,
      operation,
      `${operation}: HTTP ${res.status} with a body that is not JSON`,
    );
    // A never-repeated mutation that answered 2xx was applied, but we cannot read what it made.
    if (OPERATIONS[operation].retry === "never") throw new SoracomOutcomeUnknownError(operation, err);
    throw err;
  }
}

function failure(
  kind: FailureKind,
  operation: OperationId,
  result: Exchange | SoracomNetworkError,
  hint: number | undefined,
): SoracomError {
  if (result instanceof SoracomNetworkError) {
    return kind === "outcome-unknown" ? new SoracomOutcomeUnknownError(operation, result) : result;
  }
  const details = apiErrorDetails(result);
  switch (kind) {
    case "auth":
      return new SoracomAuthError(operation, details);
    case "rate-limited":
      return new SoracomRateLimitedError(operation, details, hint);
    case "outcome-unknown":
      return new SoracomOutcomeUnknownError(operation, new SoracomApiError(operation, details));
    default:
      return new SoracomApiError(operation, details);
  }
}

/** apiErrorDetails reads the flat wire body `{code, message}`; a non-JSON body (a load balancer page) is kept short. */
export function apiErrorDetails(res: Exchange): ApiErrorDetails {
  const details: ApiErrorDetails = { status: res.status, headers: res.headers };
  try {
    const body = JSON.parse(res.text) as { code?: unknown; message?: unknown };
    if (typeof body?.code === "string") details.soracomCode = body.code;
    if (typeof body?.message === "string") details.soracomMessage = body.message;
  } catch {
    const snippet = res.text
      .replace(/<[^>]*>/g, " ")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 200);
    if (snippet) details.soracomMessage = snippet;
  }
  return details;
}
