import { planOf } from "./catalog.js";
import type { SimulatorConfig } from "./config.js";
import type { ApiContext, ApiHandler, ApiResult, Identity } from "./context.js";
import { invalidParameter, SimErrorCode, SimulatorHttpError } from "./errors.js";
import { iccidFromSequence, imsiFromSequence, newMatchingId, newProfileOrderId, simIdFromSequence } from "./ids.js";
import { nextPageHeaders } from "./paging.js";
import { renderOrder, renderProfile } from "./render.js";
import type { OrderRecord, SimRecord, SimState } from "./state.js";

/** DRAFT_TTL_MS: "An unconfirmed order is valid for 1 day, after which it is automatically canceled." */
export const DRAFT_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * settleOrders brings every order up to the simulated time: expired drafts vanish, confirmed orders
 * move to IN_PROGRESS and COMPLETED when their moments have passed, and completion creates the profiles
 * and SIMs. It runs before every request, so no timers are needed and clock jumps just work.
 */
export function settleOrders(state: SimState, identity: Identity, now: number): void {
  for (const order of Object.values(state.orders)) {
    if (order.status === "DRAFT" && now - order.orderedTime >= DRAFT_TTL_MS) {
      delete state.orders[order.profileOrderId];
      continue;
    }
    if (order.status !== "CONFIRMED" && order.status !== "IN_PROGRESS") continue;
    if (order.completeAt !== null && order.completeAt !== undefined && now >= order.completeAt) {
      completeOrder(state, identity, order, order.completeAt);
    } else if (order.inProgressAt !== undefined && now >= order.inProgressAt) {
      order.status = "IN_PROGRESS";
    }
  }
}

/**
 * The ICCIDs and IMSIs in use, per `state.sims` object (a reset or a loaded state file brings a new one
 * and so a fresh index). Scanning every SIM for each new identifier made completing an order of 10,000
 * profiles quadratic: seconds of simulator time that a benchmark then blamed on the operator.
 */
const identities = new WeakMap<SimState["sims"], { iccid: Set<string>; imsi: Set<string> }>();

function identitiesOf(state: SimState): { iccid: Set<string>; imsi: Set<string> } {
  let index = identities.get(state.sims);
  if (!index) {
    const sims = Object.values(state.sims);
    index = { iccid: new Set(sims.map((s) => s.iccid)), imsi: new Set(sims.map((s) => s.imsi)) };
    identities.set(state.sims, index);
  }
  return index;
}

/** addSim stores a SIM; every SIM goes in through here, so the identity index stays right. */
export function addSim(state: SimState, sim: SimRecord): void {
  state.sims[sim.simId] = sim;
  const index = identitiesOf(state);
  index.iccid.add(sim.iccid);
  index.imsi.add(sim.imsi);
}

function nextUnique(state: SimState, key: "iccid" | "imsi" | "simId", make: (n: number) => string): string {
  const index = identitiesOf(state);
  const taken = (id: string) =>
    key === "simId"
      ? Object.hasOwn(state.sims, id)
      : index[key].has(id) || (key === "iccid" && Object.hasOwn(state.profiles, id));
  for (;;) {
    state.sequences[key] += 1;
    const id = make(state.sequences[key]);
    if (!taken(id)) return id;
  }
}

/** allocateSimIdentity reserves a fresh ICCID, IMSI and SIM ID. */
export function allocateSimIdentity(state: SimState): { iccid: string; imsi: string; simId: string } {
  return {
    iccid: nextUnique(state, "iccid", iccidFromSequence),
    imsi: nextUnique(state, "imsi", imsiFromSequence),
    simId: nextUnique(state, "simId", simIdFromSequence),
  };
}

export function completeOrder(state: SimState, identity: Identity, order: OrderRecord, at: number): void {
  order.status = "COMPLETED";
  order.completedTime = at;
  const plan = planOf(order.subscription);
  for (let i = 0; i < order.quantity; i++) {
    const { iccid, imsi, simId } = allocateSimIdentity(state);
    state.profiles[iccid] = {
      profileOrderId: order.profileOrderId,
      iccid,
      imsi,
      matchingId: newMatchingId(),
      smdpAddress: identity.smdpAddress,
      profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
      createdTime: at,
      lastModifiedTime: at,
      subscription: order.subscription,
    };
    addSim(state, {
      simId,
      iccid,
      imsi,
      subscription: order.subscription,
      status: "ready",
      speedClass: order.speedClass ?? plan?.defaultSpeedClass ?? "s1.standard",
      moduleType: "profilePackage",
      bundles: [...order.bundles],
      tags: {},
      terminationEnabled: false,
      createdTime: at,
      lastModifiedTime: at,
      profileOrderId: order.profileOrderId,
    });
    order.iccids.push(iccid);
  }
}

interface CreateOrderBody {
  subscription: string;
  quantity: number;
  speedClass?: string;
  bundles?: string[];
  description?: string;
}

/** checkOrderAgainstPlan enforces what the spec's prose says and its schema cannot. */
function checkOrderAgainstPlan(body: CreateOrderBody, config: SimulatorConfig): void {
  const plan = planOf(body.subscription);
  if (!plan) throw invalidParameter(`body.subscription '${body.subscription}' cannot be ordered as an eSIM profile`);
  if (body.quantity > config.maxProfilesPerOrder) {
    throw new SimulatorHttpError(
      400,
      SimErrorCode.QuantityOverMaximum,
      `quantity ${body.quantity} exceeds the maximum of ${config.maxProfilesPerOrder} eSIM profiles per order`,
    );
  }
  if (body.speedClass !== undefined && !plan.speedClasses.includes(body.speedClass)) {
    throw invalidParameter(`body.speedClass ${body.speedClass} is not available for ${body.subscription}`);
  }
  for (const bundle of body.bundles ?? []) {
    if (!plan.bundles.includes(bundle)) {
      throw invalidParameter(`body.bundles ${bundle} is not available for ${body.subscription}`);
    }
  }
}

function getOrder(ctx: ApiContext): OrderRecord {
  const id = ctx.pathParams.profile_order_id!;
  const order = Object.hasOwn(ctx.state.orders, id) ? ctx.state.orders[id] : undefined;
  if (!order) throw new SimulatorHttpError(404, SimErrorCode.OrderNotFound, `eSIM profile order ${id} not found`);
  return order;
}

const createProfileOrder: ApiHandler = (ctx) => {
  const body = ctx.body as CreateOrderBody;
  checkOrderAgainstPlan(body, ctx.config);
  const order: OrderRecord = {
    profileOrderId: newProfileOrderId(ctx.now),
    subscription: body.subscription,
    quantity: body.quantity,
    bundles: body.bundles ?? [],
    status: "DRAFT",
    orderedTime: ctx.now,
    iccids: [],
    ...(body.speedClass !== undefined && { speedClass: body.speedClass }),
    ...(body.description !== undefined && { description: body.description }),
  };
  ctx.state.orders[order.profileOrderId] = order;
  return { status: 201, body: renderOrder(order) };
};

const confirmProfileOrder: ApiHandler = (ctx) => {
  const order = getOrder(ctx);
  if (order.status !== "DRAFT") {
    throw new SimulatorHttpError(
      400,
      SimErrorCode.OrderNotDraftForConfirm,
      `eSIM profile order ${order.profileOrderId} is ${order.status}; only a DRAFT order can be confirmed`,
    );
  }
  order.status = "CONFIRMED";
  order.confirmedTime = ctx.now;
  // The schedule is fixed now, so a later /_sim/config change does not move orders already confirmed.
  order.inProgressAt = ctx.now + ctx.config.confirmDelayMs;
  order.completeAt = order.held ? null : order.inProgressAt + ctx.config.inProgressDelayMs;
  return { status: 200, body: renderOrder(order) };
};

const getProfileOrder: ApiHandler = (ctx) => ({ status: 200, body: renderOrder(getOrder(ctx)) });

const deleteProfileOrder: ApiHandler = (ctx) => {
  const order = getOrder(ctx);
  if (order.status !== "DRAFT") {
    throw new SimulatorHttpError(
      400,
      SimErrorCode.OrderNotDraftForDelete,
      `eSIM profile order ${order.profileOrderId} is ${order.status}; only a DRAFT order can be cancelled`,
    );
  }
  delete ctx.state.orders[order.profileOrderId];
  return { status: 204 };
};

/** listProfileOrders pages by profileOrderId (UUIDv7, so by orderedTime); new orders show after the visibility delay. */
const listProfileOrders: ApiHandler = (ctx): ApiResult => {
  const limit = (ctx.query.limit as number | undefined) ?? 100;
  const after = ctx.query.last_evaluated_key as string | undefined;
  const visible = Object.values(ctx.state.orders)
    .filter((o) => o.orderedTime + ctx.config.listVisibilityDelayMs <= ctx.now)
    .sort((a, b) => (a.profileOrderId < b.profileOrderId ? -1 : 1))
    .filter((o) => after === undefined || o.profileOrderId > after);
  const page = visible.slice(0, limit);
  const more = visible.length > limit;
  const headers = more ? nextPageHeaders("/v1/sim_profile_orders", ctx.query, page.at(-1)!.profileOrderId) : {};
  return { status: 200, body: page.map(renderOrder), headers };
};

const listOrderedProfiles: ApiHandler = (ctx) => {
  const order = getOrder(ctx);
  const listed = order.iccids.slice(0, Math.max(0, order.iccids.length - (order.listShortBy ?? 0)));
  const profiles = listed.map((iccid) => ctx.state.profiles[iccid]).filter((p) => p !== undefined);
  return { status: 200, body: profiles.map(renderProfile) };
};

export const orderHandlers: Record<string, ApiHandler> = {
  createProfileOrder,
  confirmProfileOrder,
  getProfileOrder,
  deleteProfileOrder,
  listProfileOrders,
  listOrderedProfiles,
};
