import type { Logger } from "pino";
import { silentLogger } from "../controller/log.js";
import {
  applyConfigPatch,
  configFromOptions,
  DEFAULTS,
  type SimulatorConfig,
  type SimulatorOptions,
} from "./config.js";
import type { Identity } from "./context.js";
import { FaultBook } from "./faults.js";
import { settleOrders } from "./orders.js";
import { RateLimiter } from "./ratelimit.js";
import { renderOrder, renderProfile, renderSim } from "./render.js";
import { loadSpecRoutes, type SpecRoutes } from "./spec.js";
import { emptyState, type SimState } from "./state.js";

/** CallRecord is one line of the call log: every /v1 request, answered or not. */
export interface CallRecord {
  operation: string;
  method: string;
  path: string;
  /** HTTP status sent; 0 when a "reset" fault closed the socket before any answer. */
  status: number;
  /** Simulated time of the call. */
  at: number;
  /** The injected fault that shaped this call, if any. */
  fault?: string;
  /** The caller's User-Agent (the operator names its replica there), to tell two callers apart. */
  agent?: string;
}

/** The call log keeps the latest entries only; counts cover every call since the last clear. */
const MAX_CALLS = 10_000;

/**
 * SimulatorEngine owns the simulator's world (state, configuration, clock, faults, rate limits, call log)
 * independently of HTTP, so the server, the control surface and persistence share one object.
 */
export class SimulatorEngine {
  state: SimState;
  config: SimulatorConfig;
  readonly identity: Identity;
  readonly spec: SpecRoutes;
  readonly faults = new FaultBook();
  readonly limiter = new RateLimiter();
  readonly logger: Logger;
  calls: CallRecord[] = [];
  counts: Record<string, number> = {};
  /** Called after anything that may have changed the state (persistence hooks in here). */
  onChange: () => void = () => {};
  /** Fixed base of the "manual" clock; undefined for the wall clock. */
  private readonly manualBase: number | undefined;
  private readonly wallShift: number;

  constructor(
    private readonly opts: SimulatorOptions,
    initial?: SimState,
  ) {
    this.state = initial ?? emptyState();
    this.config = configFromOptions(opts);
    this.identity = {
      authKeyId: opts.authKeyId ?? DEFAULTS.authKeyId,
      authKey: opts.authKey ?? DEFAULTS.authKey,
      operatorId: opts.operatorId ?? DEFAULTS.operatorId,
      samUserName: opts.samUserName ?? DEFAULTS.samUserName,
      samPassword: opts.samPassword ?? DEFAULTS.samPassword,
      smdpAddress: opts.smdpAddress ?? DEFAULTS.smdpAddress,
    };
    this.spec = loadSpecRoutes();
    this.logger = opts.logger ?? silentLogger;
    this.manualBase = opts.clock === "manual" ? (opts.startTime ?? Date.now()) : undefined;
    // With the wall clock, startTime shifts simulated time by a fixed amount (it still moves with real time).
    this.wallShift = opts.clock !== "manual" && opts.startTime !== undefined ? opts.startTime - Date.now() : 0;
  }

  /** now is the simulated time: the wall-clock time (or the manual clock's base) plus every advance so far. */
  now(): number {
    return (this.manualBase ?? Date.now() + this.wallShift) + this.state.clockOffsetMs;
  }

  advance(ms: number): number {
    this.state.clockOffsetMs += ms;
    this.settle();
    this.onChange();
    return this.now();
  }

  /** settle applies every time-driven change (order lifecycle, draft expiry) up to now. */
  settle(): void {
    settleOrders(this.state, this.identity, this.now());
  }

  /** setConfig applies a partial /_sim/config update (validated; unknown keys are refused). */
  setConfig(patch: unknown): void {
    this.config = applyConfigPatch(this.config, patch);
  }

  /** reset returns to the state at start: no orders, SIMs, tokens, faults or calls; clock and config as started. */
  reset(): void {
    this.state = emptyState();
    this.config = configFromOptions(this.opts);
    this.faults.clear();
    this.limiter.reset();
    this.clearCalls();
    this.onChange();
  }

  recordCall(call: CallRecord): void {
    this.calls.push(call);
    if (this.calls.length > MAX_CALLS) this.calls.splice(0, this.calls.length - MAX_CALLS);
    this.counts[call.operation] = (this.counts[call.operation] ?? 0) + 1;
  }

  clearCalls(): void {
    this.calls = [];
    this.counts = {};
  }

  /** view is GET /_sim/state: everything but the tokens, rendered as the API would show it. */
  view(): Record<string, unknown> {
    this.settle();
    const { state } = this;
    return {
      now: this.now(),
      config: { ...this.config },
      orders: Object.values(state.orders).map((o) => ({ ...renderOrder(o), iccids: [...o.iccids], held: !!o.held })),
      profiles: Object.values(state.profiles).map(renderProfile),
      sims: Object.values(state.sims).map((s) => renderSim(s, this.identity.operatorId)),
      tokens: {
        issued: state.tokens.length,
        live: state.tokens.filter((t) => !t.revoked && t.expiresAt > this.now()).length,
      },
      faults: this.faults.list(),
    };
  }
}
