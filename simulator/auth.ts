import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { ApiHandler } from "./context.js";
import { invalidParameter, SimErrorCode, SimulatorHttpError } from "./errors.js";
import { newApiKey, newToken } from "./ids.js";
import type { SimState, TokenRecord } from "./state.js";

/** The vendor's documented token lifetimes: default one day, at most two, at least 180 s. */
const DEFAULT_TOKEN_TIMEOUT_SECONDS = 86_400;
const MIN_TOKEN_TIMEOUT_SECONDS = 180;
/** Expired or revoked tokens are forgotten after this much simulated time, so the list stays small. */
const TOKEN_RETENTION_MS = 24 * 60 * 60 * 1000;

function same(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface AuthBody {
  authKeyId?: string;
  authKey?: string;
  email?: string;
  operatorId?: string;
  userName?: string;
  password?: string;
  tokenTimeoutSeconds?: number;
}

function badCredentials(): SimulatorHttpError {
  return new SimulatorHttpError(401, SimErrorCode.BadCredentials, "Authentication failed: invalid credentials");
}

/** auth: POST /v1/auth with an AuthKey or a SAM user; root (email) login is refused with a 400. */
const auth: ApiHandler = (ctx) => {
  const body = ctx.body as AuthBody;
  const { identity } = ctx;
  let userName: string | undefined;
  if (body.authKeyId !== undefined || body.authKey !== undefined) {
    if (!same(body.authKeyId, identity.authKeyId) || !same(body.authKey, identity.authKey)) throw badCredentials();
  } else if (body.operatorId !== undefined || body.userName !== undefined) {
    if (
      !same(body.operatorId, identity.operatorId) ||
      !same(body.userName, identity.samUserName) ||
      !same(body.password, identity.samPassword)
    ) {
      throw badCredentials();
    }
    userName = body.userName;
  } else if (body.email !== undefined) {
    throw new SimulatorHttpError(
      400,
      SimErrorCode.RootLoginNotSimulated,
      "root account login (email and password) is not simulated; use an AuthKey or a SAM user",
    );
  } else {
    throw invalidParameter("body.authKeyId and body.authKey (or operatorId, userName and password) are required");
  }
  const requested = body.tokenTimeoutSeconds ?? DEFAULT_TOKEN_TIMEOUT_SECONDS;
  if (requested < MIN_TOKEN_TIMEOUT_SECONDS) {
    throw invalidParameter(`body.tokenTimeoutSeconds must be >= ${MIN_TOKEN_TIMEOUT_SECONDS}`);
  }
  const lifetimeSeconds = Math.min(requested, ctx.config.tokenTimeoutSeconds);
  const record: TokenRecord = {
    apiKey: newApiKey(),
    token: newToken(),
    operatorId: identity.operatorId,
    issuedAt: ctx.now,
    expiresAt: ctx.now + lifetimeSeconds * 1000,
    revoked: false,
    ...(userName !== undefined && { userName }),
  };
  ctx.state.tokens = ctx.state.tokens.filter((t) => !(t.revoked || t.expiresAt <= ctx.now - TOKEN_RETENTION_MS));
  ctx.state.tokens.push(record);
  return {
    status: 200,
    body: {
      apiKey: record.apiKey,
      token: record.token,
      operatorId: record.operatorId,
      ...(userName !== undefined && { userName }),
    },
  };
};

const logout: ApiHandler = (ctx) => {
  if (ctx.token) ctx.token.revoked = true;
  return { status: 204 };
};

export const authHandlers: Record<string, ApiHandler> = { auth, logout };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * authenticate finds the live token behind X-Soracom-API-Key + X-Soracom-Token or throws a 401 AUM0001
 * (the vendor's answer to an expired token is unconfirmed: 401 or 403; the simulator picks 401).
 */
export function authenticate(state: SimState, headers: IncomingHttpHeaders, now: number): TokenRecord {
  const apiKey = header(headers, "x-soracom-api-key");
  const token = header(headers, "x-soracom-token");
  if (!apiKey || !token) {
    throw new SimulatorHttpError(
      401,
      SimErrorCode.Unauthenticated,
      "X-Soracom-API-Key and X-Soracom-Token are required",
    );
  }
  const record = state.tokens.find((t) => t.apiKey === apiKey);
  if (!record || !same(token, record.token) || record.revoked) {
    throw new SimulatorHttpError(401, SimErrorCode.Unauthenticated, "invalid API key or token");
  }
  if (record.expiresAt <= now) throw new SimulatorHttpError(401, SimErrorCode.Unauthenticated, "the token has expired");
  return record;
}

/** expireAllTokens makes every issued token expired at `now` (POST /_sim/tokens/expire). */
export function expireAllTokens(state: SimState, now: number): number {
  let n = 0;
  for (const t of state.tokens) {
    if (!t.revoked && t.expiresAt > now) {
      t.expiresAt = now;
      n++;
    }
  }
  return n;
}
