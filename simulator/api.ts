import type { IncomingHttpHeaders } from "node:http";
import { authenticate, authHandlers } from "./auth.js";
import type { ApiHandler, ApiResult } from "./context.js";
import type { SimulatorEngine } from "./engine.js";
import { SimErrorCode, SimulatorHttpError } from "./errors.js";
import type { Fault } from "./faults.js";
import { orderHandlers } from "./orders.js";
import { searchHandlers } from "./search.js";
import { simHandlers } from "./sims.js";

/** HANDLERS maps every operationId of the vendored spec to its implementation. */
export const HANDLERS: Record<string, ApiHandler> = {
  ...authHandlers,
  ...orderHandlers,
  ...searchHandlers,
  ...simHandlers,
};

/** Operations reachable without X-Soracom-API-Key / X-Soracom-Token. */
const PUBLIC_OPERATIONS = new Set(["auth"]);

export interface ApiRequest {
  method: string;
  /** Path below /v1, e.g. "/sim_profile_orders". */
  path: string;
  search: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** Set when the body was not valid JSON; reported after auth, as a parameter error. */
  bodyError?: string;
}

/** ApiPlan says how the server should treat a /v1 call before running it: which operation and fault. */
export interface ApiPlan {
  operation: string;
  fault?: Fault;
}

export function planApiCall(engine: SimulatorEngine, method: string, path: string): ApiPlan {
  const match = engine.spec.match(method, path);
  const operation = match?.route.operationId ?? "unknown";
  const fault = engine.faults.take(operation);
  return fault ? { operation, fault } : { operation };
}

/** INJECTED_STATUS lists the faults that answer with an error instead of running the call. */
const INJECTED_STATUS: Record<string, { status: number; code: string; message: string }> = {
  "429": { status: 429, code: SimErrorCode.TooManyRequests, message: "Too many requests (injected)" },
  "500": { status: 500, code: SimErrorCode.InternalError, message: "Internal server error (injected)" },
  "503": { status: 503, code: SimErrorCode.ServiceUnavailable, message: "Service unavailable (injected)" },
};

function faultAnswer(engine: SimulatorEngine, plan: ApiPlan): ApiResult | undefined {
  const injected = plan.fault ? INJECTED_STATUS[plan.fault.kind] : undefined;
  if (!injected) return undefined;
  // An injected 429 looks like an exhausted budget; the others show the budget as it is.
  const remaining = injected.status === 429 ? 0 : undefined;
  const headers = engine.limiter.peek(plan.operation, engine.now(), engine.config.rateLimitPerMinute, remaining);
  return { status: injected.status, body: { code: injected.code, message: injected.message }, headers };
}

function errorResult(err: unknown, headers: Record<string, string>): ApiResult {
  if (err instanceof SimulatorHttpError) {
    return {
      status: err.status,
      body: { code: err.code, message: err.message },
      headers: { ...headers, ...err.headers },
    };
  }
  throw err;
}

/**
 * runApiCall answers one /v1 call in the vendor's order: injected status faults, the rate limit, the
 * route, authentication, then spec validation and the handler. Every answer carries the rate-limit headers.
 */
export function runApiCall(engine: SimulatorEngine, req: ApiRequest, plan: ApiPlan): ApiResult {
  const injected = faultAnswer(engine, plan);
  if (injected) return injected;
  engine.settle();
  const now = engine.now();
  const verdict = engine.limiter.take(plan.operation, now, engine.config.rateLimitPerMinute);
  if (!verdict.allowed) {
    return {
      status: 429,
      body: { code: SimErrorCode.TooManyRequests, message: `Rate limit exceeded for ${plan.operation}` },
      headers: verdict.headers,
    };
  }
  try {
    const match = engine.spec.match(req.method, req.path);
    if (!match)
      throw new SimulatorHttpError(404, SimErrorCode.UnknownPath, `No operation at ${req.method} /v1${req.path}`);
    const operationId = match.route.operationId;
    const token = PUBLIC_OPERATIONS.has(operationId) ? undefined : authenticate(engine.state, req.headers, now);
    if (req.bodyError) throw new SimulatorHttpError(400, SimErrorCode.InvalidParameter, req.bodyError);
    const valid = engine.spec.validate(match, req.search, req.body);
    const handler = HANDLERS[operationId];
    if (!handler) throw new SimulatorHttpError(404, SimErrorCode.UnknownPath, `${operationId} is not simulated`);
    const result = handler({
      state: engine.state,
      config: engine.config,
      identity: engine.identity,
      now,
      pathParams: valid.pathParams,
      query: valid.query,
      body: valid.body,
      ...(token && { token }),
    });
    return { ...result, headers: { ...verdict.headers, ...result.headers } };
  } catch (err) {
    return errorResult(err, verdict.headers);
  }
}
