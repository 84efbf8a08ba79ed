import { planOf } from "./catalog.js";
import type { ApiContext, ApiHandler } from "./context.js";
import { invalidParameter, SimErrorCode, SimulatorHttpError } from "./errors.js";
import { renderSim, renderSubscriber } from "./render.js";
import { findSimByImsi, type SimRecord, type SimStatus } from "./state.js";

/**
 * STATUS_TRANSITIONS is the status table the simulator implements (the vendor documents the statuses,
 * not a full table; this follows its user guide): the target status and the statuses it may come from.
 * Asking for the status a SIM already has is a no-op 200. A terminated SIM accepts nothing (SEM0007);
 * terminate itself is separate: it needs terminationEnabled and works from any other status.
 */
export const STATUS_TRANSITIONS: Record<string, { to: SimStatus; from: SimStatus[] }> = {
  activateSim: { to: "active", from: ["ready", "active", "inactive", "standby", "suspended"] },
  deactivateSim: { to: "inactive", from: ["ready", "active", "inactive", "standby", "suspended"] },
  suspendSim: { to: "suspended", from: ["ready", "active", "inactive", "standby", "suspended"] },
  setSimToStandby: { to: "standby", from: ["ready", "inactive", "standby"] },
};

function getSimRecord(ctx: ApiContext): SimRecord {
  const id = ctx.pathParams.sim_id!;
  const sim = Object.hasOwn(ctx.state.sims, id) ? ctx.state.sims[id] : undefined;
  if (!sim) throw new SimulatorHttpError(404, SimErrorCode.SimNotFound, `SIM ${id} not found`);
  return sim;
}

/** mutableSim is getSimRecord for every change: a terminated SIM refuses them all. */
function mutableSim(ctx: ApiContext): SimRecord {
  const sim = getSimRecord(ctx);
  if (sim.status === "terminated") {
    throw new SimulatorHttpError(400, SimErrorCode.SimTerminated, `SIM ${sim.simId} is terminated`);
  }
  return sim;
}

function changed(ctx: ApiContext, sim: SimRecord) {
  sim.lastModifiedTime = ctx.now;
  return { status: 200, body: renderSim(sim, ctx.identity.operatorId) };
}

function statusChange(operationId: string): ApiHandler {
  const rule = STATUS_TRANSITIONS[operationId]!;
  return (ctx) => {
    const sim = mutableSim(ctx);
    if (!rule.from.includes(sim.status)) {
      throw new SimulatorHttpError(
        400,
        SimErrorCode.StatusTransitionNotAllowed,
        `SIM ${sim.simId} cannot change from ${sim.status} to ${rule.to}`,
      );
    }
    sim.status = rule.to;
    return changed(ctx, sim);
  };
}

const getSim: ApiHandler = (ctx) => ({ status: 200, body: renderSim(getSimRecord(ctx), ctx.identity.operatorId) });

const getSubscriber: ApiHandler = (ctx) => {
  const imsi = ctx.pathParams.imsi!;
  const sim = findSimByImsi(ctx.state, imsi);
  if (!sim) throw new SimulatorHttpError(404, SimErrorCode.SubscriberNotFound, `subscriber ${imsi} not found`);
  return { status: 200, body: renderSubscriber(sim, ctx.identity.operatorId) };
};

const enableSimTermination: ApiHandler = (ctx) => {
  const sim = mutableSim(ctx);
  sim.terminationEnabled = true;
  return changed(ctx, sim);
};

const disableSimTermination: ApiHandler = (ctx) => {
  const sim = mutableSim(ctx);
  sim.terminationEnabled = false;
  return changed(ctx, sim);
};

const terminateSim: ApiHandler = (ctx) => {
  const sim = mutableSim(ctx);
  if (!sim.terminationEnabled) {
    throw new SimulatorHttpError(
      400,
      SimErrorCode.TerminationNotEnabled,
      `termination is not enabled for SIM ${sim.simId}; call enable_termination first`,
    );
  }
  sim.status = "terminated";
  return changed(ctx, sim);
};

const updateSimSpeedClass: ApiHandler = (ctx) => {
  const sim = mutableSim(ctx);
  const { speedClass } = ctx.body as { speedClass: string };
  const allowed = planOf(sim.subscription)?.speedClasses ?? [];
  if (!allowed.includes(speedClass)) {
    throw new SimulatorHttpError(
      400,
      SimErrorCode.SpeedClassNotAllowed,
      `speed class ${speedClass} does not exist for subscription ${sim.subscription}`,
    );
  }
  sim.speedClass = speedClass;
  return changed(ctx, sim);
};

const putSimTags: ApiHandler = (ctx) => {
  const sim = mutableSim(ctx);
  for (const { tagName, tagValue } of ctx.body as { tagName: string; tagValue: string }[]) {
    sim.tags[tagName] = tagValue;
  }
  return changed(ctx, sim);
};

const deleteSimTag: ApiHandler = (ctx) => {
  const sim = mutableSim(ctx);
  const name = ctx.pathParams.tag_name!;
  if (!Object.hasOwn(sim.tags, name)) {
    throw new SimulatorHttpError(404, SimErrorCode.TagNotFound, `SIM ${sim.simId} has no tag ${name}`);
  }
  delete sim.tags[name];
  sim.lastModifiedTime = ctx.now;
  return { status: 204 };
};

const setSimGroup: ApiHandler = (ctx) => {
  const sim = mutableSim(ctx);
  const { groupId } = ctx.body as { groupId?: string };
  if (!groupId) throw invalidParameter("body.groupId is required");
  sim.groupId = groupId;
  return changed(ctx, sim);
};

const unsetSimGroup: ApiHandler = (ctx) => {
  const sim = mutableSim(ctx);
  delete sim.groupId;
  return changed(ctx, sim);
};

export const simHandlers: Record<string, ApiHandler> = {
  getSim,
  getSubscriber,
  enableSimTermination,
  disableSimTermination,
  terminateSim,
  activateSim: statusChange("activateSim"),
  deactivateSim: statusChange("deactivateSim"),
  suspendSim: statusChange("suspendSim"),
  setSimToStandby: statusChange("setSimToStandby"),
  updateSimSpeedClass,
  putSimTags,
  deleteSimTag,
  setSimGroup,
  unsetSimGroup,
};
