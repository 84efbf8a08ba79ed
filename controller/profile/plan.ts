import type { Refusal } from "../answers.js";
import { formatDuration, formatWindow } from "../api/duration.js";
import { ownerOrder } from "../api/owner.js";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import {
  ACTIVATION_SECRET,
  CONDITIONS,
  EVENTS,
  PROFILE_FINALIZER,
  type ProfilePhase,
  phaseOfProfileStatus,
  REASONS,
  type TerminationReason,
} from "../api/vocabulary.js";
import { simCarries } from "../soracom/identity.js";
import type { Sim } from "../soracom/types.js";
import {
  describeAction,
  hasDesiredState,
  type ProfileAction,
  projectSim,
  type ReadAction,
  type SimLookup,
  simDiff,
} from "./actions.js";
import {
  type ConditionInput,
  conditionOf,
  type Finding,
  isKstatusType,
  kstatusConditions,
  mergeConditions,
} from "./conditions.js";
import { guardMode } from "./guard.js";
import { isOrderChild } from "./origin.js";
import type { TerminationBudgetStatus } from "./ports.js";
import { type OwnedStatus, ownedStatusOf, simFields } from "./status.js";

export { formatDuration };

/**
 * planProfile is the EsimProfile reconciler's whole logic, as a pure function: from the profile, the
 * SIM (when it was read), the clock, the termination budget and the mode to the actions, the next
 * status, the events and when to look again. Checks run in order; each is a small named function with
 * a comment saying why it exists; a check may end the plan.
 */

/** PlanInput is everything planProfile looks at. */
export interface PlanInput {
  profile: EsimProfile;
  /** The SIM, only when this round read it (a read action of an earlier plan); "NotFound" if it does not exist. */
  sim?: Sim | "NotFound";
  now: number;
  terminationBudget: TerminationBudgetStatus;
  dryRun: boolean;
  paused?: boolean;
  /**
   * false while this profile is being deleted and its order has not yet recorded the deletion in its
   * status (deletedProfiles); absent or true otherwise. Until then the finalizer stays.
   */
  deletionRecorded?: boolean;
  /** What the profile's account allows it (absent: everything, as in single-tenant tests). */
  authority?: Authority;
  /**
   * The EsimProfileOrder the profile names as its owner, from the cache (absent: none, or not found). The
   * profile is that order's child only if the order's status records it (isOrderChild); else it adopts.
   */
  order?: EsimProfileOrder;
}

/** Authority is the part of ProfileAuthority (ports.ts) the plan decides from: facts, no I/O. */
export interface Authority {
  refused?: { reason: string; message: string };
  adoption: boolean;
  terminateAdopted: boolean;
  heldBy?: string;
}

const ALLOWED: Authority = { adoption: true, terminateAdopted: true };

/** PlanEvent is a Kubernetes Event the plan decided on (recorded before the actions run). */
export interface PlanEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** ProfilePlan is planProfile's answer. */
export interface ProfilePlan {
  /** Actions in order. A read action is always alone: run it, then plan again with its result. */
  actions: ProfileAction[];
  /** The status to write once every action succeeded; undefined: leave the status alone. */
  status?: OwnedStatus;
  /** The status as observed before the actions: what to write, with the failure, when an action fails. */
  baseStatus?: OwnedStatus;
  events: PlanEvent[];
  requeueAfterMs?: number;
  /** A termination this plan finds done after an earlier unknown outcome: count it now. */
  confirmedTermination?: TerminationReason;
  /** An answer this plan refused: nothing was decided from it. */
  refused?: Refusal;
}

/** A SIM the query index has not shown yet: order-created profiles look again soon. */
export const SIM_LOOKUP_RETRY_MS = 15_000;
/** Something a person must fix: look again now and then, without hammering the API. */
export const STALLED_RETRY_MS = 5 * 60_000;
/** While terminations are paused, a profile waiting for one looks again this often (no Soracom call). */
export const PAUSED_RETRY_MS = 10_000;
/** Dry run keeps reporting a pending termination at this pace. */
export const DRY_RUN_RETRY_MS = 5 * 60_000;

/** Facts are what the checks derive from the input once. */
interface Facts {
  input: PlanInput;
  profile: EsimProfile;
  generation: number;
  deleting: boolean;
  hasFinalizer: boolean;
  /** Made by its EsimProfileOrder, as that order's status records (isOrderChild); otherwise it adopts a SIM. */
  orderCreated: boolean;
  /** Names an existing order as owner, which has not recorded it (yet): how long it may still wait for that. */
  recordGraceMs: number;
  /** Why the SIM must be terminated, if it must: only deletion of this resource under Terminate. */
  termination: TerminationReason | undefined;
  /** Deleted under Terminate, but the account forbids terminating an adopted SIM: it is retained. */
  retainedByAccount: boolean;
  authority: Authority;
  /** The SIM ID known from status (the order never knows it). */
  simId: string | undefined;
  sim: Sim | undefined;
  simNotFound: boolean;
}

/** Draft is the plan being built; checks add to it. */
interface Draft {
  actions: ProfileAction[];
  read?: ReadAction;
  leaveStatus?: boolean;
  /** Observed status fields (before actions). */
  status: OwnedStatus;
  /** Fields as they will be once the actions succeed. */
  projected: OwnedStatus;
  domain: ConditionInput[];
  stalled?: Finding;
  reconciling?: Finding;
  notReady?: Finding;
  readyMessage?: string;
  events: PlanEvent[];
  requeueAfterMs?: number;
  confirmedTermination?: TerminationReason;
  /** An answer this round refused (counted by the reconciler). */
  refused?: Refusal;
  stop?: boolean;
}

type Check = (f: Facts, d: Draft) => void;

/** CHECKS run in this order; a check sets d.stop when nothing after it applies. */
const CHECKS: Array<[string, Check]> = [
  // Without our finalizer a deletion could skip the SIM's termination: add it before anything else.
  ["FinalizerMissing", finalizerMissing],
  // Deleted and our finalizer already gone: this object needs nothing more from us.
  ["DeletedWithoutFinalizer", deletedWithoutFinalizer],
  // Deleted before its order recorded the deletion: wait, or a restart or relist would make it again.
  ["DeletionNotRecorded", deletionNotRecorded],
  // Named by an order that has not written its record of it yet: wait briefly, then it is an adoption.
  ["OrderRecordPending", orderRecordPending],
  // Another, older EsimProfile holds this SIM: never act on it; a deletion lets go and leaves the SIM alone.
  ["SimHeldElsewhere", simHeldElsewhere],
  // An adopted SIM whose account does not allow adoption: report it; a deletion leaves the SIM alone.
  ["AdoptionNotAllowed", adoptionNotAllowed],
  // Deleted under Retain: let the resource go and leave the SIM exactly as it is (no Soracom call).
  ["DeletedUnderRetain", deletedUnderRetain],
  // No account this namespace may use (or its credentials cannot be used): report; nothing is read or sent.
  ["NotAuthorized", notAuthorized],
  // Created by an order that has not written its part of the status yet: wait for that write.
  ["OrderNotRecordedYet", orderNotRecordedYet],
  // The SIM ID is unknown: look it up (spec.simId, then the IMSI, then the ICCID).
  ["SimIdUnknown", simIdUnknown],
  // No such SIM: an adopted one needs a person; an order-created one waits for the query index.
  ["SimDoesNotExist", simDoesNotExist],
  // The SIM read does not carry the IMSI or ICCID this profile names: another SIM, never acted on.
  ["SimNotTheOneNamed", simNotTheOneNamed],
  // Whatever SIM this round read goes into status.
  ["SimObserved", simObserved],
  // A terminated SIM is final: show it, and let a deleted resource go.
  ["SimTerminated", simTerminated],
  // Deletion under Terminate or a terminate request: budget, protection, then terminate.
  ["TerminationWanted", terminationWanted],
  // The readable phase from Soracom's profileStatus.
  ["Phase", phase],
  // Deleted on the device while the SIM still bills: a person should know.
  ["DeletedOnDevice", deletedOnDevice],
  // The order found a Secret of its activation Secret's name it did not make: it is not used; say so.
  ["ActivationSecretNotOwned", activationSecretNotOwned],
  // spec.sim changed or was never applied: read the SIM and make the minimal calls.
  ["SimOutOfSync", simOutOfSync],
];

/** planProfile runs the checks and assembles the plan. */
export function planProfile(input: PlanInput): ProfilePlan {
  const f = factsOf(input);
  const current = ownedStatusOf(input.profile);
  const d: Draft = { actions: [], status: { ...current }, projected: {}, domain: [], events: [] };
  for (const [, check] of CHECKS) {
    check(f, d);
    if (d.stop) break;
  }
  if (d.read) return { actions: [d.read], events: [] };
  guardMode(f.input, d);
  if (d.leaveStatus) return { actions: d.actions, events: d.events, requeueAfterMs: d.requeueAfterMs };
  return assemble(f, d, current);
}

function factsOf(input: PlanInput): Facts {
  const { profile } = input;
  const meta = profile.metadata;
  const deleting = Boolean(meta.deletionTimestamp);
  const orderCreated = isOrderCreated(profile, input.order);
  const authority = input.authority ?? ALLOWED;
  const wanted = terminationOf(profile, deleting);
  const retainedByAccount = wanted !== undefined && !orderCreated && !authority.terminateAdopted;
  return {
    input,
    profile,
    generation: meta.generation ?? 0,
    deleting,
    hasFinalizer: meta.finalizers?.includes(PROFILE_FINALIZER) ?? false,
    orderCreated,
    recordGraceMs: orderCreated ? 0 : recordGraceOf(profile, input),
    termination: retainedByAccount ? undefined : wanted,
    retainedByAccount,
    authority,
    simId: profile.status?.simId,
    sim: typeof input.sim === "object" ? input.sim : undefined,
    simNotFound: input.sim === "NotFound",
  };
}

/**
 * isOrderCreated: the profile is a child its order made and recorded (origin.ts); an owner reference
 * alone is something a tenant can write, so without the order's record the profile adopts its SIM.
 */
export function isOrderCreated(profile: EsimProfile, order: EsimProfileOrder | undefined): boolean {
  return isOrderChild(profile, order);
}

/**
 * How long a profile whose owner is an existing order waits for that order's record of it (the order
 * writes it right after creating the profile) before it is planned as what it is without one: an adoption.
 */
export const ORDER_RECORD_GRACE_MS = 2 * 60_000;

/** recordGraceOf: what is left of a new profile's wait for its owner order's record (0: none, or over). */
function recordGraceOf(profile: EsimProfile, input: PlanInput): number {
  const ref = ownerOrder(profile);
  const order = input.order;
  if (!ref || !order || order.metadata.uid !== ref.uid || profile.status?.profileOrderId) return 0;
  const created = Date.parse(String(profile.metadata.creationTimestamp ?? "")) || 0;
  return Math.max(0, created + ORDER_RECORD_GRACE_MS - input.now);
}

/**
 * terminationOf says why the SIM must be terminated: only because this resource is being deleted under
 * deletionPolicy Terminate. Nothing else a namespace user can write on an EsimProfile terminates its SIM;
 * an order's policy terminations are recorded in the order's status and carried out by the order.
 */
export function terminationOf(profile: EsimProfile, deleting: boolean): TerminationReason | undefined {
  return deleting && profile.spec.deletionPolicy === "Terminate" ? "ResourceDeleted" : undefined;
}

/** lookupOf is the most exact way to find the profile's SIM: its SIM ID, else IMSI, else ICCID. */
export function lookupOf(profile: EsimProfile): SimLookup | undefined {
  const { spec, status } = profile;
  if (spec.simId) return { simId: spec.simId };
  const imsi = spec.imsi ?? status?.imsi;
  if (imsi) return { imsi };
  const iccid = spec.iccid ?? status?.iccid;
  if (iccid) return { iccid };
  return undefined;
}

function describeLookup(lookup: SimLookup | undefined): string {
  if (!lookup) return "no identifier";
  if ("simId" in lookup) return `SIM ID ${lookup.simId}`;
  if ("imsi" in lookup) return `IMSI ${lookup.imsi}`;
  return `ICCID ${lookup.iccid}`;
}

function simName(f: Facts, d: Draft): string {
  return `SIM ${d.status.simId ?? f.simId ?? "(unknown)"}`;
}

/** wasTrue: the condition was already True before this round (for events sent once, on the transition). */
function wasTrue(f: Facts, type: string, reason?: string): boolean {
  const c = conditionOf(f.profile, type);
  return c?.status === "True" && (reason === undefined || c.reason === reason);
}

function finalizerMissing(f: Facts, d: Draft): void {
  if (!f.deleting && !f.hasFinalizer) d.actions.push({ type: "addFinalizer" });
}

function deletedWithoutFinalizer(f: Facts, d: Draft): void {
  if (f.deleting && !f.hasFinalizer) {
    d.leaveStatus = true;
    d.stop = true;
  }
}

/** How soon a deleted profile looks again for its order's record of the deletion. */
export const DELETION_RECORD_RETRY_MS = 2_000;

function deletionNotRecorded(f: Facts, d: Draft): void {
  if (!f.deleting || !f.hasFinalizer || f.input.deletionRecorded !== false) return;
  d.reconciling = {
    reason: REASONS.WaitingForOrder,
    message:
      "Waiting for the EsimProfileOrder to record this deletion in its status, so that it never makes the profile again.",
  };
  d.requeueAfterMs = DELETION_RECORD_RETRY_MS;
  d.stop = true;
}

function orderRecordPending(f: Facts, d: Draft): void {
  if (f.deleting || f.recordGraceMs <= 0) return;
  d.leaveStatus = true;
  d.requeueAfterMs = f.recordGraceMs; // the order's write wakes it sooner; this is for one that never comes
  d.stop = true;
}

function deletedUnderRetain(f: Facts, d: Draft): void {
  if (!f.deleting || f.termination) return;
  const why = f.retainedByAccount
    ? "its SoracomAccount does not allow terminating adopted SIMs"
    : "deletionPolicy is Retain";
  letGo(f, d, `${why}: ${simName(f, d)} is left as it is in Soracom and no longer managed.`);
}

/** letGo removes the finalizer of a deleted profile without touching its SIM (paused: it stays). */
function letGo(f: Facts, d: Draft, message: string): void {
  d.stop = true;
  if (f.input.paused) return;
  d.actions.push({ type: "removeFinalizer" });
  d.events.push({ type: "Normal", reason: EVENTS.SimRetained, message });
  d.leaveStatus = true;
}

function simHeldElsewhere(f: Facts, d: Draft): void {
  const holder = f.authority.heldBy;
  if (!holder) return;
  const what = describeLookup(f.simId ? { simId: f.simId } : lookupOf(f.profile));
  const message = `The SIM with ${what} is held by EsimProfile ${holder}; this one is never acted on. Delete it, or the other one.`;
  if (f.deleting) {
    letGo(f, d, message);
    return;
  }
  d.stalled = { reason: REASONS.SimHeldElsewhere, message };
  d.requeueAfterMs = STALLED_RETRY_MS;
  d.stop = true;
}

function adoptionNotAllowed(f: Facts, d: Draft): void {
  if (f.orderCreated || f.authority.adoption || f.authority.refused) return;
  const message =
    "This EsimProfile adopts an existing SIM, and its SoracomAccount does not allow adoption: nothing is read or changed. Ask your cluster admin, or delete this EsimProfile.";
  if (f.deleting) {
    letGo(f, d, "Adoption is not allowed by the SoracomAccount: the SIM is left as it is.");
    return;
  }
  d.stalled = { reason: REASONS.AdoptionNotAllowed, message };
  d.requeueAfterMs = STALLED_RETRY_MS;
  d.stop = true;
}

function notAuthorized(f: Facts, d: Draft): void {
  const refused = f.authority.refused;
  if (!refused) return;
  d.stalled = refused;
  d.requeueAfterMs = STALLED_RETRY_MS;
  d.stop = true;
}

/**
 * The order creates a profile, then its activation Secret, then writes Soracom's part of the status
 * (profileStatus, the Secret's name and, found in bulk, the SIM ID). Until that write lands there is
 * nothing to decide: looking the SIM up now would race the order and cost two Soracom calls per
 * profile. The write wakes this profile again; if it never comes, the order writes it on its next round.
 */
function orderNotRecordedYet(f: Facts, d: Draft): void {
  if (!f.orderCreated || f.deleting || f.profile.status?.profileStatus) return;
  d.leaveStatus = true;
  d.stop = true;
}

function simIdUnknown(f: Facts, d: Draft): void {
  if (f.simId || f.sim || f.simNotFound) return;
  const by = lookupOf(f.profile);
  if (by) {
    d.read = "simId" in by ? { type: "getSim", simId: by.simId } : { type: "resolveSim", by };
    d.stop = true;
    return;
  }
  // The CRD requires one identifier; an object without any predates that rule.
  d.stalled = {
    reason: REASONS.SimNotFound,
    message: "This EsimProfile names no SIM: set spec.simId, spec.iccid or spec.imsi.",
  };
  d.status.phase = "Pending";
  d.stop = true;
}

function simDoesNotExist(f: Facts, d: Draft): void {
  if (!f.simNotFound) return;
  const what = describeLookup(f.simId ? { simId: f.simId } : lookupOf(f.profile));
  d.status.phase = f.orderCreated ? phaseOfProfileStatus(f.profile.status?.profileStatus) : "Pending";
  if (f.termination) {
    d.stalled = {
      reason: REASONS.SimNotFound,
      message:
        `No SIM with ${what} was found in Soracom, so it cannot be terminated and the finalizer ${PROFILE_FINALIZER} stays. ` +
        "If the SIM is really gone, remove that finalizer by hand.",
    };
    d.requeueAfterMs = STALLED_RETRY_MS;
  } else if (f.orderCreated) {
    // Soracom's search index and subscriber registration lag behind the order: wait, not a failure.
    d.reconciling = {
      reason: REASONS.Provisioning,
      message: `Waiting for Soracom to show the SIM of ${what}.`,
    };
    d.requeueAfterMs = SIM_LOOKUP_RETRY_MS;
  } else {
    d.stalled = {
      reason: REASONS.SimNotFound,
      message: `No SIM with ${what} in this Soracom account; check the identifier and spec.credentialsRef.`,
    };
    d.requeueAfterMs = STALLED_RETRY_MS;
  }
  d.stop = true;
}

/**
 * The identifiers a SIM read for this profile must carry: what the spec names, and for an order-created
 * profile what its order recorded from Soracom's profile list. (An adopted profile's status identifiers
 * were read from the SIM itself, so they prove nothing more.)
 */
function namedIdentifiers(f: Facts): Array<{ iccid: string } | { imsi: string }> {
  const { spec, status } = f.profile;
  const iccids = [spec.iccid, f.orderCreated ? status?.iccid : undefined];
  const imsis = [spec.imsi, f.orderCreated ? status?.imsi : undefined];
  return [
    ...iccids.flatMap((iccid) => (iccid ? [{ iccid }] : [])),
    ...imsis.flatMap((imsi) => (imsi ? [{ imsi }] : [])),
  ];
}

function simNotTheOneNamed(f: Facts, d: Draft): void {
  if (!f.sim) return;
  const missing = namedIdentifiers(f).find((key) => !simCarries(f.sim!, key));
  if (!missing) return;
  const what = "iccid" in missing ? `ICCID ${missing.iccid}` : `IMSI ${missing.imsi}`;
  const message = `Soracom's answer was refused: the SIM read for this EsimProfile (${f.sim.simId ?? "no SIM ID"}) does not carry its ${what}; nothing was done with it.`;
  d.reconciling = { reason: REASONS.SoracomAnswerInvalid, message };
  if (conditionOf(f.profile, CONDITIONS.reconciling)?.message !== message)
    d.events.push({ type: "Warning", reason: EVENTS.SoracomAnswerInvalid, message });
  d.refused = { cause: "WrongSim", message };
  d.requeueAfterMs = SIM_LOOKUP_RETRY_MS;
  d.stop = true;
}

function simObserved(f: Facts, d: Draft): void {
  if (!f.sim) return;
  Object.assign(d.status, simFields(f.sim, f.simId, f.orderCreated ? undefined : f.profile.spec));
}

function simTerminated(f: Facts, d: Draft): void {
  const terminated = f.sim ? f.sim.status === "terminated" : d.status.simStatus === "terminated";
  if (!terminated) return;
  if (f.profile.status?.phase === "Terminating" && f.termination) {
    // The last terminate call's answer was lost (or the process died): it did happen. Count it once.
    d.events.push({
      type: "Normal",
      reason: EVENTS.SimTerminated,
      message: `${simName(f, d)} is terminated (confirmed by reading it after an unknown outcome).`,
    });
    d.confirmedTermination = f.termination;
  }
  d.status.phase = "Terminated";
  if (f.deleting && f.hasFinalizer) d.actions.push({ type: "removeFinalizer" });
  d.readyMessage = `${simName(f, d)} is terminated.`;
  d.stop = true;
}

function terminationWanted(f: Facts, d: Draft): void {
  const reason = f.termination;
  if (!reason) return;
  const simId = d.status.simId;
  const budget = f.input.terminationBudget;
  // Paused: wait for a person without reading anything, unless an earlier attempt's outcome is unknown.
  const attempted = f.profile.status?.phase === "Terminating";
  if (!budget.allowed && !f.input.dryRun && simId && !f.sim && !attempted) {
    d.status.phase = "Terminating";
    d.stop = true;
    terminationsPaused(f, d, simId, budget);
    return;
  }
  if (!f.sim && simId) {
    // An irreversible call is decided on fresh state only (also after an unknown outcome).
    d.read = { type: "getSim", simId };
    d.stop = true;
    return;
  }
  if (!f.sim || !simId) return;
  d.status.phase = "Terminating";
  d.stop = true;
  if (f.input.dryRun) {
    dryRunTermination(f, d, simId, reason);
    return;
  }
  if (!budget.allowed) {
    terminationsPaused(f, d, simId, budget);
    return;
  }
  d.actions.push({ type: "terminateSim", simId, reason, enable: f.sim.terminationEnabled !== true });
  if (f.deleting && f.hasFinalizer) d.actions.push({ type: "removeFinalizer" });
  d.projected = { ...simFields(projectSim(f.sim, d.actions), simId), phase: "Terminated" };
  d.readyMessage = `SIM ${simId} is terminated.`;
}

function dryRunTermination(f: Facts, d: Draft, simId: string, reason: TerminationReason): void {
  const message = `dry run: would terminate SIM ${simId} (${reason}); nothing is changed in Soracom.`;
  if (!wasTrue(f, CONDITIONS.reconciling, REASONS.DryRun)) {
    d.events.push({ type: "Normal", reason: REASONS.DryRun, message });
  }
  d.reconciling = { reason: REASONS.DryRun, message };
  d.requeueAfterMs = DRY_RUN_RETRY_MS;
}

function terminationsPaused(f: Facts, d: Draft, simId: string, budget: TerminationBudgetStatus): void {
  const message = pausedMessage(simId, budget);
  d.domain.push({
    type: CONDITIONS.terminationsPaused,
    status: "True",
    reason: REASONS.TerminationBudgetExhausted,
    message,
  });
  if (!wasTrue(f, CONDITIONS.terminationsPaused)) {
    d.events.push({ type: "Warning", reason: EVENTS.TerminationsPaused, message });
  }
  d.reconciling = {
    reason: REASONS.Terminating,
    message: `Waiting for a person to resume terminations before SIM ${simId} is terminated.`,
  };
  d.requeueAfterMs = PAUSED_RETRY_MS;
}

/** pausedMessage says what happened and what a person can do, in whole sentences. */
export function pausedMessage(simId: string, budget: TerminationBudgetStatus): string {
  const where = budget.source ? `, set in ${budget.source},` : "";
  const per = budget.limit !== null ? ` of ${budget.limit} per ${formatWindow(budget.windowMs)}${where}` : "";
  const since = budget.paused ? new Date(budget.paused.since).toISOString().replace(/\.\d{3}Z$/, "Z") : "now";
  const resume = budget.paused ? ` with \`${budget.paused.resume}\`` : "";
  return (
    `Terminations are paused since ${since}: the termination budget${per} was used up, so SIM ${simId} is not terminated. ` +
    `They wait for a person: check what is being deleted, then resume terminations${resume}.`
  );
}

function phase(f: Facts, d: Draft): void {
  const profileStatus = f.profile.status?.profileStatus;
  let next: ProfilePhase;
  if (f.orderCreated || profileStatus) next = phaseOfProfileStatus(profileStatus);
  else next = d.status.simId ? "Registered" : "Pending";
  d.status.phase = next;
}

function deletedOnDevice(f: Facts, d: Draft): void {
  if (d.status.phase !== "Deleted") return;
  const message =
    `The device deleted this profile, but ${simName(f, d)} is not terminated and may still be billed. ` +
    "Terminate it (the order's onDeviceDeletion Terminate or Replace, or delete this EsimProfile under deletionPolicy Terminate) or install the profile again.";
  d.domain.push({
    type: CONDITIONS.deletedOnDevice,
    status: "True",
    reason: REASONS.DeletedOnDeviceStillBilling,
    message,
  });
  if (!wasTrue(f, CONDITIONS.deletedOnDevice)) {
    d.events.push({ type: "Warning", reason: EVENTS.DeletedOnDevice, message });
  }
}

/**
 * The order writes profileStatus and the activation Secret it created (name and UID) in one status write;
 * a recorded profile with the first and not the second found a Secret of that name it did not create.
 */
function activationSecretNotOwned(f: Facts, d: Draft): void {
  const status = f.profile.status;
  if (!f.orderCreated || f.deleting || !status?.profileStatus || status.activationSecretRef?.name) return;
  const name = `${f.profile.metadata.name}${ACTIVATION_SECRET.suffix}`;
  d.domain.push({
    type: CONDITIONS.activationSecretNotOwned,
    status: "True",
    reason: REASONS.SecretNotCreatedByController,
    message:
      `The Secret ${name} already existed and was not created by the controller, so it does not hold this profile's activation code. ` +
      `Delete it (kubectl delete secret -n ${f.profile.metadata.namespace} ${name}); the controller then creates the real one.`,
  });
}

function simOutOfSync(f: Facts, d: Draft): void {
  const simId = d.status.simId;
  if (!simId) return;
  const desired = f.profile.spec.sim;
  const synced = conditionOf(f.profile, CONDITIONS.simSynced);
  const inSync =
    synced?.status === "True" &&
    synced.observedGeneration === f.generation &&
    f.profile.status?.observedGeneration === f.generation;
  if (!f.sim && (inSync || !hasDesiredState(desired))) {
    // Steady state: nothing to apply, so no Soracom call at all.
    d.domain.push(syncedCondition(simId, desired));
    d.readyMessage = readyMessage(simId, desired);
    return;
  }
  if (!f.sim) {
    d.read = { type: "getSim", simId };
    d.stop = true;
    return;
  }
  const changes = simDiff(desired, f.sim, simId);
  if (changes.length > 0 && f.input.dryRun) {
    const message = `dry run: would call ${changes.map(describeAction).join(", ")} on SIM ${simId}.`;
    if (synced?.reason !== REASONS.DryRun || synced.message !== message) {
      d.events.push({ type: "Normal", reason: REASONS.DryRun, message });
    }
    d.domain.push({ type: CONDITIONS.simSynced, status: "False", reason: REASONS.DryRun, message });
    d.notReady = { reason: REASONS.DryRun, message };
    return;
  }
  d.actions.push(...changes);
  if (changes.length > 0) d.projected = simFields(projectSim(f.sim, changes), simId);
  d.domain.push(syncedCondition(simId, desired));
  d.readyMessage = readyMessage(simId, desired);
}

function syncedCondition(simId: string, desired: EsimProfile["spec"]["sim"]): ConditionInput {
  return {
    type: CONDITIONS.simSynced,
    status: "True",
    reason: REASONS.Synced,
    message: hasDesiredState(desired)
      ? `SIM ${simId} matches spec.sim.`
      : `SIM ${simId} is known; spec.sim asks for nothing.`,
  };
}

function readyMessage(simId: string, desired: EsimProfile["spec"]["sim"]): string {
  return hasDesiredState(desired) ? `SIM ${simId} is in the desired state.` : `SIM ${simId} is known.`;
}

function assemble(f: Facts, d: Draft, current: OwnedStatus): ProfilePlan {
  const kstatus = kstatusConditions(
    { stalled: d.stalled, reconciling: d.reconciling, notReady: d.notReady, readyMessage: d.readyMessage },
    f.deleting,
  );
  const generation = f.generation;
  const now = f.input.now;
  const conditions = mergeConditions(current.conditions, [...kstatus, ...d.domain], generation, now);
  const observed: OwnedStatus = { ...d.status, observedGeneration: generation };
  const baseConditions = mergeConditions(
    current.conditions,
    d.domain.filter((c) => c.type !== CONDITIONS.simSynced),
    generation,
    now,
    isKstatusType,
  );
  return {
    actions: d.actions,
    status: { ...observed, ...d.projected, conditions },
    baseStatus: { ...observed, conditions: baseConditions },
    events: d.events,
    requeueAfterMs: d.requeueAfterMs,
    confirmedTermination: d.confirmedTermination,
    ...(d.refused ? { refused: d.refused } : {}),
  };
}
