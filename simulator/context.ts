import type { SimulatorConfig } from "./config.js";
import type { SimState, TokenRecord } from "./state.js";

/** Identity is what the simulated account is: its credentials, operator and SM-DP+ server. */
export interface Identity {
  authKeyId: string;
  authKey: string;
  operatorId: string;
  samUserName: string;
  samPassword: string;
  smdpAddress: string;
}

/** ApiContext is everything a /v1 handler may read: the request, already validated, and the world. */
export interface ApiContext {
  state: SimState;
  config: SimulatorConfig;
  identity: Identity;
  /** Simulated time of this request, in Unix ms. */
  now: number;
  pathParams: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  /** The token that authenticated the call (absent only for POST /v1/auth). */
  token?: TokenRecord;
}

export interface ApiResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type ApiHandler = (ctx: ApiContext) => ApiResult;
