import type { Logger } from "pino";
import type { EsimProfile, EsimProfileOrder, EsimProfileStatus } from "../api/types.js";
import type { TerminationCheck } from "../budget.js";
import type { SoracomClient } from "../soracom/index.js";
import type { Sim } from "../soracom/types.js";

/**
 * The ports of the EsimProfile reconciler: the few things it needs from the world, as small
 * interfaces. main.ts wires the real implementations (informer cache, Soracom client, status and
 * finalizer writes, the event recorder, the termination budget); tests use fakes.
 */

/** SimOps is the part of the Soracom client the profile reconciler calls: SIM reads and SIM changes. */
export type SimOps = Pick<
  SoracomClient,
  | "getSim"
  | "resolveSimId"
  | "findSimExact"
  | "enableSimTermination"
  | "disableSimTermination"
  | "terminateSim"
  | "activateSim"
  | "deactivateSim"
  | "suspendSim"
  | "setSimToStandby"
  | "updateSimSpeedClass"
  | "putSimTags"
  | "setSimGroup"
  | "unsetSimGroup"
>;

/** ProfileCache reads EsimProfiles from the informer's cache (never from the apiserver). */
export interface ProfileCache {
  get(namespace: string, name: string): EsimProfile | undefined;
}

/**
 * OwnedStatusField are the status fields the profile reconciler writes. The order reconciler owns
 * the others (profileStatus, iccid and imsi of order-created profiles, profileOrderId, subscription,
 * times, activationSecretRef); a merge patch of only these fields never clobbers its writes. The
 * order also seeds the SIM fields once, in the status write that follows a profile's creation, when its
 * bulk search found the SIM (controller/order/sims.ts); from then on they are this reconciler's.
 */
export type OwnedStatusField =
  | "phase"
  | "conditions"
  | "observedGeneration"
  | "simId"
  | "simStatus"
  | "speedClass"
  | "groupId"
  | "terminationEnabled"
  | "iccid"
  | "imsi";

/** ProfileStatusPatch is a JSON merge patch of status: a field set to null is removed. */
export type ProfileStatusPatch = { [K in OwnedStatusField]?: EsimProfileStatus[K] | null };

/**
 * StatusPatcher merge-patches the status subresource of a profile. The implementation may guard the
 * write with the profile's resourceVersion; a 409 is thrown and requeued quietly.
 */
export interface StatusPatcher {
  /** Returns the profile as stored when the implementation has it, so later writes use its resourceVersion. */
  patchStatus(profile: EsimProfile, patch: ProfileStatusPatch): Promise<EsimProfile | undefined>;
}

/** Finalizers adds or removes one finalizer on a profile (no-ops when already so). */
export interface Finalizers {
  /** Returns the profile as stored when the implementation has it (kube addFinalizer does). */
  add(profile: EsimProfile, finalizer: string): Promise<EsimProfile | undefined>;
  remove(profile: EsimProfile, finalizer: string): Promise<EsimProfile | undefined>;
}

/** EventSink records a Kubernetes Event about a profile; best effort, it never throws (kube EventRecorder). */
export interface EventSink {
  record(profile: EsimProfile, type: "Normal" | "Warning", reason: string, message: string): void;
}

/** TerminationBudgetStatus is what the termination ledger allows right now (paused: waiting for a person). */
export type TerminationBudgetStatus = TerminationCheck;

/**
 * TerminationBudget limits SIM terminations per rolling window. consume is called once, right before
 * each terminate call (before the protection is lifted); the implementation persists it. It counts a SIM
 * ID once per window even if called again for it (a terminate whose outcome was unknown and did not
 * happen is sent again next round); if it throws, nothing is sent. It throws
 * TerminationBudgetExhaustedError when terminations are paused or no budget is left (which pauses them):
 * the plan's check is older than the call, and other reconciles may have taken the last slots in between.
 */
export interface TerminationBudget {
  check(now: number): TerminationBudgetStatus;
  consume(simId: string): Promise<void> | void;
}

/** ProfileMetrics are the reconciler's metric hooks (soracom_esim_sims_terminated_total, profiles by phase). */
export interface ProfileMetrics {
  /** reason is a fixed vocabulary (TERMINATION_REASONS). */
  simTerminated(namespace: string, reason: string): void;
  /** phase moved from `from` (undefined for a new profile) to `to`. */
  profilePhaseChanged(namespace: string, from: string | undefined, to: string): void;
  /** A Soracom answer was refused; cause is a fixed vocabulary (REFUSAL_CAUSES). */
  answerRefused?(cause: string): void;
}

/** Clock is the time source (milliseconds since the epoch). */
export interface Clock {
  now(): number;
}

/**
 * ProfileAuthority is what the profile's Soracom account allows it, resolved before anything is planned:
 * whether it may use the account at all, adopt, terminate what it adopted, whether another EsimProfile
 * holds its SIM, and the account's termination ledger and client.
 */
export interface ProfileAuthority {
  /** Why this profile may not use Soracom at all (then nothing is read or sent); undefined when it may. */
  refused?: { reason: string; message: string };
  /** The account allows adopting existing SIMs (profiles an order created always may act). */
  adoption: boolean;
  /** The account allows terminating an adopted SIM. */
  terminateAdopted: boolean;
  /** Another, older EsimProfile ("namespace/name") holds the same SIM: this one is never acted on. */
  heldBy?: string;
  /** heldWith asks again once the SIM is read, with its identities too (see SimClaims.heldBy). */
  heldWith?: (sim: Sim) => string | undefined;
  terminations: TerminationBudget;
  /** The account's client; throws a CredentialsError when the credentials cannot be used. */
  sim(): Promise<SimOps>;
}

/** ProfileReconcilerDeps are all the ports createProfileReconciler needs. */
export interface ProfileReconcilerDeps {
  profiles: ProfileCache;
  authorityFor: (profile: EsimProfile) => Promise<ProfileAuthority>;
  status: StatusPatcher;
  finalizers: Finalizers;
  events: EventSink;
  metrics?: ProfileMetrics;
  clock: Clock;
  logger?: Logger;
  /** Plan and report, but make no mutating Soracom call. */
  dryRun: boolean;
  /** Whether the profile's order is paused (then nothing is changed); absent means never paused. */
  isPaused?: (profile: EsimProfile) => boolean;
  /** Whether a profile being deleted may let go: its order recorded the deletion (absent: always). */
  deletionRecorded?: (profile: EsimProfile) => boolean;
  /**
   * The EsimProfileOrder the profile names as owner, from the cache, when it exists with that UID in the
   * profile's namespace. Only a seed: the planner decides from its status whether the profile is its child.
   */
  orderOf?: (profile: EsimProfile) => EsimProfileOrder | undefined;
}
