import { expireAllTokens } from "./auth.js";
import { planOf } from "./catalog.js";
import type { ApiResult } from "./context.js";
import { applyDeviceEvent } from "./devices.js";
import type { SimulatorEngine } from "./engine.js";
import { SimErrorCode, SimulatorHttpError } from "./errors.js";
import { parseFault } from "./faults.js";
import { addSim, allocateSimIdentity } from "./orders.js";
import { renderOrder, renderSim } from "./render.js";
import type { SimRecord, SimStatus } from "./state.js";

/**
 * The /_sim control surface (no auth, JSON in and out): lets tests and demos look at the world, move the
 * clock, reconfigure, inject faults and play the device's part. Routes are listed in CONTROL_ROUTES.
 */

type ControlHandler = (engine: SimulatorEngine, params: string[], body: unknown) => ApiResult;

function bad(message: string): SimulatorHttpError {
  return new SimulatorHttpError(400, SimErrorCode.ControlBadRequest, message);
}

function ok(body: unknown, status = 200): ApiResult {
  return { status, body };
}

function advanceClock(engine: SimulatorEngine, _p: string[], body: unknown): ApiResult {
  const ms = (body as { ms?: unknown } | undefined)?.ms;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) throw bad("ms must be a number >= 0");
  return ok({ now: engine.advance(ms) });
}

function forceOrder(engine: SimulatorEngine, [id]: string[], body: unknown): ApiResult {
  const order = Object.hasOwn(engine.state.orders, id!) ? engine.state.orders[id!] : undefined;
  if (!order) throw new SimulatorHttpError(404, SimErrorCode.ControlNotFound, `no eSIM profile order ${id}`);
  const b = (body ?? {}) as { status?: unknown; hold?: unknown; rawStatus?: unknown; listShortBy?: unknown };
  const now = engine.now();
  if (typeof b.rawStatus === "string" && /^[A-Z_]{1,40}$/.test(b.rawStatus)) {
    // A status the vendor might add one day: the order keeps it, and the clock no longer moves it.
    order.status = b.rawStatus as typeof order.status;
    order.completeAt = null;
  } else if (typeof b.listShortBy === "number" && Number.isInteger(b.listShortBy) && b.listShortBy >= 0) {
    order.listShortBy = b.listShortBy;
  } else if (b.status === "FAILED") {
    if (order.status === "COMPLETED") {
      throw new SimulatorHttpError(409, SimErrorCode.ControlConflict, "a COMPLETED order cannot fail");
    }
    order.status = "FAILED";
  } else if (b.status === "COMPLETED") {
    if (order.status !== "CONFIRMED" && order.status !== "IN_PROGRESS") {
      throw new SimulatorHttpError(409, SimErrorCode.ControlConflict, `a ${order.status} order cannot be completed`);
    }
    order.held = false;
    order.completeAt = now;
  } else if (typeof b.hold === "boolean") {
    order.held = b.hold;
    if (order.status === "CONFIRMED" || order.status === "IN_PROGRESS") {
      order.completeAt = b.hold ? null : Math.max(order.inProgressAt ?? now, now);
    }
  } else {
    throw bad(
      'body must be {"status":"FAILED"|"COMPLETED"}, {"hold":true|false}, {"rawStatus":"ANY_STATUS"} or {"listShortBy":n}',
    );
  }
  engine.settle();
  return ok({ ...renderOrder(order), held: !!order.held });
}

const SIM_STATUSES: SimStatus[] = ["ready", "active", "inactive", "standby", "suspended", "terminated"];

interface CreateSimBody {
  iccid?: string;
  imsi?: string;
  simId?: string;
  subscription?: string;
  speedClass?: string;
  status?: SimStatus;
  tags?: Record<string, string>;
  moduleType?: string;
  terminationEnabled?: boolean;
}

function checkCreateSimBody(b: CreateSimBody): void {
  for (const key of ["iccid", "imsi", "simId"] as const) {
    if (b[key] !== undefined && !/^\d{10,20}$/.test(String(b[key]))) throw bad(`${key} must be 10-20 digits`);
  }
  if (b.subscription !== undefined && typeof b.subscription !== "string") throw bad("subscription must be a string");
  if (b.status !== undefined && !SIM_STATUSES.includes(b.status)) throw bad(`status must be one of ${SIM_STATUSES}`);
}

/** createSim handles POST /_sim/sims: a SIM that no order made, for adoption tests. */
function createSim(engine: SimulatorEngine, _p: string[], body: unknown): ApiResult {
  const b = (body ?? {}) as CreateSimBody;
  checkCreateSimBody(b);
  const sims = Object.values(engine.state.sims);
  for (const key of ["iccid", "imsi", "simId"] as const) {
    if (b[key] !== undefined && sims.some((s) => s[key] === b[key])) {
      throw new SimulatorHttpError(409, SimErrorCode.ControlConflict, `a SIM with ${key} ${b[key]} exists`);
    }
  }
  const fresh = allocateSimIdentity(engine.state);
  const subscription = b.subscription ?? "plan01s";
  const now = engine.now();
  const sim: SimRecord = {
    simId: b.simId ?? fresh.simId,
    iccid: b.iccid ?? fresh.iccid,
    imsi: b.imsi ?? fresh.imsi,
    subscription,
    status: b.status ?? "ready",
    speedClass: b.speedClass ?? planOf(subscription)?.defaultSpeedClass ?? "s1.standard",
    moduleType: b.moduleType ?? "profilePackage",
    bundles: [],
    tags: { ...(b.tags ?? {}) },
    terminationEnabled: b.terminationEnabled ?? false,
    createdTime: now,
    lastModifiedTime: now,
  };
  addSim(engine.state, sim);
  return ok(renderSim(sim, engine.identity.operatorId), 201);
}

interface ControlRoute {
  method: string;
  pattern: RegExp;
  handler: ControlHandler;
}

export const CONTROL_ROUTES: ControlRoute[] = [
  { method: "GET", pattern: /^\/state$/, handler: (e) => ok(e.view()) },
  {
    method: "POST",
    pattern: /^\/reset$/,
    handler: (e) => {
      e.reset();
      return ok({ now: e.now() });
    },
  },
  { method: "GET", pattern: /^\/clock$/, handler: (e) => ok({ now: e.now() }) },
  { method: "POST", pattern: /^\/clock\/advance$/, handler: advanceClock },
  { method: "GET", pattern: /^\/config$/, handler: (e) => ok({ ...e.config }) },
  {
    method: "POST",
    pattern: /^\/config$/,
    handler: (e, _p, body) => {
      e.setConfig(body);
      return ok({ ...e.config });
    },
  },
  {
    method: "POST",
    pattern: /^\/devices\/([^/]+)\/events$/,
    handler: (e, [iccid], body) => ok(applyDeviceEvent(e.state, iccid!, body, e.now())),
  },
  { method: "GET", pattern: /^\/faults$/, handler: (e) => ok({ faults: e.faults.list() }) },
  {
    method: "POST",
    pattern: /^\/faults$/,
    handler: (e, _p, body) => {
      e.faults.add(parseFault(body, e.spec.operationIds()));
      return ok({ faults: e.faults.list() });
    },
  },
  {
    method: "DELETE",
    pattern: /^\/faults$/,
    handler: (e) => {
      e.faults.clear();
      return ok({ faults: [] });
    },
  },
  { method: "POST", pattern: /^\/orders\/([^/]+)\/force$/, handler: forceOrder },
  { method: "GET", pattern: /^\/calls$/, handler: (e) => ok({ calls: e.calls, counts: e.counts }) },
  {
    method: "DELETE",
    pattern: /^\/calls$/,
    handler: (e) => {
      e.clearCalls();
      return ok({ calls: [], counts: {} });
    },
  },
  { method: "POST", pattern: /^\/tokens\/expire$/, handler: (e) => ok({ expired: expireAllTokens(e.state, e.now()) }) },
  { method: "POST", pattern: /^\/sims$/, handler: createSim },
];

/** handleControl dispatches a request below /_sim (the path without the prefix). */
export function handleControl(engine: SimulatorEngine, method: string, subpath: string, body: unknown): ApiResult {
  engine.settle();
  for (const route of CONTROL_ROUTES) {
    const m = route.pattern.exec(subpath);
    if (!m || route.method !== method) continue;
    const result = route.handler(engine, m.slice(1).map(decodeURIComponent), body);
    engine.onChange();
    return result;
  }
  throw new SimulatorHttpError(404, SimErrorCode.ControlNotFound, `no control route ${method} /_sim${subpath}`);
}
