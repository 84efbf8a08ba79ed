import type { Refusal } from "../answers.js";
import type { EsimProfileOrder, EsimProfileOrderStatus, TrackedOrder } from "../api/types.js";
import {
  OPERATOR_ORDER_STATES,
  type OperatorOrderState,
  type ProfilePhase,
  SORACOM_ORDER_STATUSES,
  type SoracomOrderStatus,
  type TerminationReason,
} from "../api/vocabulary.js";
import type { SpendState, TerminationCheck } from "../budget.js";
import type { CreateProfileOrderRequest, OrderedProfile, ProfileOrder, Sim } from "../soracom/types.js";

/**
 * The order planner's input and output. observe.ts gathers OrderInput (caches, durable status, fresh
 * Soracom reads); plan.ts decides an OrderPlan from it, purely; execute.ts performs the plan's actions.
 * No I/O crosses this line. Money is decided only from status and from reads made this round (`soracom`),
 * never from what an earlier round or another process remembered.
 */

/** ChildProfile is what the planner needs to know of one EsimProfile the order created. */
export interface ChildProfile {
  name: string;
  profileOrderId?: string;
  iccid?: string;
  /** The SIM ID the profile reconciler (or the order's bulk search) recorded. */
  simId?: string;
  simStatus?: string;
  createdAt: number;
  phase: ProfilePhase;
  profileStatus?: string;
  lastModifiedTime?: string;
  installedTime?: string;
  everInstalled: boolean;
  deleting: boolean;
  /** The profile has its activation Secret reference in status. */
  hasActivationSecret: boolean;
}

/** CredentialsState says whether the order's Soracom credentials could be used. */
export type CredentialsState = { ok: true } | { ok: false; reason: string; message: string };

/** PlannerConfig holds the controller's settings the planner needs. */
export interface PlannerConfig {
  maxQuantityPerResource: number;
  inProgressAlertAfterMs: number;
  draftExpiryWarningMs: number;
  createGracePeriodMs: number;
  /** How long a Soracom answer may take: a create is sent no later than its grace period less this. */
  soracomRequestTimeoutMs: number;
  pollActiveMs: number;
  pollStableMs: number;
  dryRun: boolean;
}

/**
 * ReadAction is a Soracom read the plan wants this round. `poll` reads keep status current and may be
 * skipped when their poll is not due (the pacer); every other read backs a decision about money or an
 * irreversible call and is always made.
 */
export type ReadAction =
  | { type: "getOrder"; profileOrderId: string; why: "poll" | "confirm" }
  | { type: "listProfiles"; profileOrderId: string; why: "poll" | "materialize" | "terminate" }
  | { type: "listOrders" }
  | { type: "getSim"; simId: string }
  /**
   * admitProfiles asks the apiserver (a dry-run create) whether the EsimProfile this order would make can
   * be created now: nothing is bought that could not be recorded, e.g. in a namespace being deleted.
   */
  | { type: "admitProfiles" };

/** SoracomRead is a read sent to Soracom (every ReadAction but the apiserver's admitProfiles). */
export type SoracomRead = Exclude<ReadAction, { type: "admitProfiles" }>;

/** Admission is the apiserver's answer to admitProfiles: admitted, or why not. */
export type Admission = { admitted: true } | { admitted: false; reason: string; message: string };

/** SoracomView is what Soracom answered this round: a key is present only when it was read now. */
export interface SoracomView {
  /** Orders read this round; null when Soracom answered 404. */
  orders: Record<string, ProfileOrder | null>;
  /** Ordered profiles listed this round, by order. */
  profiles: Record<string, OrderedProfile[]>;
  /** Every order Soracom lists, and when that list was asked for (only when a create's outcome is unknown). */
  listed?: ProfileOrder[];
  listedAt?: number;
  /** SIMs read this round for a termination, by SIM ID; null when Soracom has no such SIM. */
  sims: Record<string, Sim | null>;
  /** The apiserver's answer to admitProfiles, when it was asked this round (a create needs it). */
  admission?: Admission;
}

/** OrderInput is everything observed for one EsimProfileOrder. */
export interface OrderInput {
  order: EsimProfileOrder;
  now: number;
  children: ChildProfile[];
  /** Undefined: nothing was read yet, and the plan answers with the reads it needs. */
  soracom?: SoracomView;
  /**
   * Profile lists read by earlier rounds, for materializing only (an ordered profile's identity and
   * activation data never change): they never decide a create, a confirm or a termination.
   */
  remembered?: Record<string, OrderedProfile[]>;
  credentials: CredentialsState;
  /** The account the order resolves to now (its accountRef, else the default); undefined: none. */
  account?: string;
  spend: SpendState;
  terminations: TerminationCheck;
  config: PlannerConfig;
}

/** TerminationRequest is an order-driven termination as recorded in the order's status. */
export type TerminationRequest = NonNullable<EsimProfileOrderStatus["terminations"]>[number];

/** OrderAction is one step the executor performs, in order. */
export type OrderAction =
  | { type: "addFinalizer" }
  | { type: "removeFinalizer" }
  /**
   * createOrder: its intent is in status and in the spend ledger before it runs; `sendBy` is the last
   * moment it may be sent (intent time + grace period - request timeout). confirm: Automatic
   * confirmation right after the create's answer, which is itself a fresh read of the new DRAFT.
   */
  | {
      type: "createOrder";
      sequence: number;
      token: string;
      request: CreateProfileOrderRequest;
      confirm: boolean;
      sendBy: number;
    }
  | { type: "confirmOrder"; profileOrderId: string; quantity: number }
  | { type: "cancelDraft"; profileOrderId: string; why: string }
  | { type: "createProfiles"; profileOrderId: string; profiles: OrderedProfile[] }
  | { type: "syncProfiles"; profileOrderId: string; profiles: Array<{ name: string; profile: OrderedProfile }> }
  /** terminateSim: a recorded request that still holds on this round's fresh reads. */
  | { type: "terminateSim"; profile: string; simId: string; reason: TerminationReason; enable: boolean }
  | { type: "deleteProfile"; profile: string; reason: TerminationReason };

/** SORACOM_MUTATIONS: the actions that change something at Soracom (dry run removes them). */
export const SORACOM_MUTATIONS: ReadonlySet<OrderAction["type"]> = new Set([
  "createOrder",
  "confirmOrder",
  "cancelDraft",
  "terminateSim",
]);

/** PlannedEvent is a Kubernetes Event to record on the order. */
export interface PlannedEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** SpendIntent is a create the plan records in the spend ledger before its status write. */
export interface PlannedSpend {
  token: string;
  quantity: number;
}

/** OrderPlan is the planner's decision for one reconcile. */
export interface OrderPlan {
  /** Reads to make before planning again; when present, nothing else is decided. */
  reads?: ReadAction[];
  /** The status to write; when `intent` is true it must be written BEFORE any action runs. */
  status: EsimProfileOrderStatus;
  intent: boolean;
  /** Creates to record in the spend ledger before the intent is written. */
  spend: PlannedSpend[];
  actions: OrderAction[];
  events: PlannedEvent[];
  requeueAfterMs: number;
  /** Soracom answers this round refused (counted in soracom_esim_answers_refused_total). */
  refused?: Refusal[];
}

/**
 * The tracked-order statuses this controller knows: the vendor's (SORACOM_ORDER_STATUSES) and its own
 * (OPERATOR_ORDER_STATES), two vocabularies that share no word. Anything else in status (written by an
 * earlier version) is Unknown: it holds its whole quantity and stalls the resource.
 */
export const KNOWN_STATUSES: ReadonlySet<string> = new Set<string>([
  ...SORACOM_ORDER_STATUSES,
  ...OPERATOR_ORDER_STATES,
]);

/**
 * Statuses that hold no profile: the operator's own conclusions that a create did not happen or was refused,
 * or a draft is gone (each reached only on evidence, track.ts), and FAILED, whose released places are
 * ordered again only once a person acknowledged it (plan.ts creationBlocked). Every other status, an
 * unknown one included, holds its whole quantity: what the controller does not understand is never
 * ordered again.
 */
export const RELEASED: ReadonlySet<string> = new Set<OperatorOrderState | SoracomOrderStatus>([
  "NotCreated",
  "Expired",
  "Cancelled",
  "Rejected",
  "FAILED",
]);

export type { ProfileOrder, TrackedOrder };
