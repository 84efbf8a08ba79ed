import type { Logger } from "pino";
import { invalidParameter, SimErrorCode, SimulatorHttpError } from "./errors.js";

/** SimulatorOptions are the options of startSimulator (the brief's shared contract, plus a few extras). */
export interface SimulatorOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  host?: string;
  authKeyId?: string;
  authKey?: string;
  operatorId?: string;
  /** SAM user accepted by POST /v1/auth {operatorId, userName, password}. */
  samUserName?: string;
  samPassword?: string;
  /** Caps the lifetime of issued tokens (a request may ask for less, never more). Default 172800 (vendor max). */
  tokenTimeoutSeconds?: number;
  /** Most profiles one order may ask for (the vendor sells 20; the schema allows 100). */
  maxProfilesPerOrder?: number;
  /** Simulated ms from confirmation to IN_PROGRESS. */
  confirmDelayMs?: number;
  /** Simulated ms from IN_PROGRESS to COMPLETED. */
  inProgressDelayMs?: number;
  /** Simulated ms before a new order shows in GET /sim_profile_orders (GET by ID sees it at once). */
  listVisibilityDelayMs?: number;
  /** Simulated ms before a new SIM shows in GET /query/sims (the vendor's search index lags too). */
  searchVisibilityDelayMs?: number;
  /** Calls per operation per simulated minute before 429. */
  rateLimitPerMinute?: number;
  /** Real (wall-clock) ms every /v1 call waits before it is answered: a distant API for benchmarks. Default 0. */
  latencyMs?: number;
  /** Load state from this JSON file at start, save on change (debounced) and at close. */
  stateFile?: string;
  /**
   * "wall" (default): simulated time runs with the wall clock, plus every /_sim/clock/advance, so a demo's
   * orders complete by themselves. "manual": simulated time stands still except when advanced, for tests
   * that check exact boundaries.
   */
  clock?: "wall" | "manual";
  /** Simulated time at start (default: the wall-clock time). With the wall clock, time then moves with real time from there. */
  startTime?: number;
  /** SM-DP+ address written into profiles and activation codes. */
  smdpAddress?: string;
  logger?: Logger;
}

/** SimulatorConfig is the part of the options that /_sim/config may change at run time. */
export interface SimulatorConfig {
  tokenTimeoutSeconds: number;
  maxProfilesPerOrder: number;
  confirmDelayMs: number;
  inProgressDelayMs: number;
  listVisibilityDelayMs: number;
  searchVisibilityDelayMs: number;
  rateLimitPerMinute: number;
  latencyMs: number;
}

export const DEFAULTS = {
  host: "127.0.0.1",
  authKeyId: "keyId-simulator",
  authKey: "secret-simulator",
  operatorId: "OP0000000000",
  samUserName: "simulator",
  samPassword: "secret-simulator",
  smdpAddress: "smdp.simulator.soracom.local",
  config: {
    tokenTimeoutSeconds: 172_800,
    maxProfilesPerOrder: 20,
    confirmDelayMs: 2_000,
    inProgressDelayMs: 5_000,
    listVisibilityDelayMs: 0,
    searchVisibilityDelayMs: 0,
    rateLimitPerMinute: 1_000,
    latencyMs: 0,
  } satisfies SimulatorConfig,
} as const;

export function configFromOptions(opts: SimulatorOptions): SimulatorConfig {
  const config: SimulatorConfig = { ...DEFAULTS.config };
  for (const key of Object.keys(config) as (keyof SimulatorConfig)[]) {
    const value = opts[key];
    if (value !== undefined) config[key] = checkConfigValue(key, value);
  }
  return config;
}

function checkConfigValue(key: keyof SimulatorConfig, value: unknown): number {
  const min = key === "maxProfilesPerOrder" || key === "rateLimitPerMinute" || key === "tokenTimeoutSeconds" ? 1 : 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw invalidParameter(`${key} must be an integer >= ${min}`);
  }
  return value;
}

/** applyConfigPatch validates a /_sim/config body and returns the new configuration. */
export function applyConfigPatch(config: SimulatorConfig, patch: unknown): SimulatorConfig {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) {
    throw new SimulatorHttpError(400, SimErrorCode.ControlBadRequest, "config must be a JSON object");
  }
  const next = { ...config };
  for (const [key, value] of Object.entries(patch)) {
    if (!(key in config)) {
      throw new SimulatorHttpError(400, SimErrorCode.ControlBadRequest, `unknown config key ${key}`);
    }
    try {
      next[key as keyof SimulatorConfig] = checkConfigValue(key as keyof SimulatorConfig, value);
    } catch (err) {
      throw new SimulatorHttpError(400, SimErrorCode.ControlBadRequest, (err as Error).message);
    }
  }
  return next;
}
