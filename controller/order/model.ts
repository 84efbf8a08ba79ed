import type { EsimProfileOrder, EsimProfileOrderStatus, TrackedOrder } from "../api/types.js";
import type { ProfilePhase } from "../api/vocabulary.js";
import type { CreateProfileOrderRequest, OrderedProfile, ProfileOrder } from "../soracom/types.js";

/**
 * The order planner's input and output. Everything the planner decides from is in OrderInput (read by
 * observe.ts); everything it decides is in OrderPlan (performed by execute.ts). No I/O crosses this line.
 */

/** ChildProfile is what the planner needs to know of one EsimProfile the order created. */
export interface ChildProfile {
  name: string;
  profileOrderId?: string;
  iccid?: string;
  createdAt: number;
  phase: ProfilePhase;
  profileStatus?: string;
  lastModifiedTime?: string;
  installedTime?: string;
  everInstalled: boolean;
  /** The terminate-requested annotation, when the order asked for its SIM to be terminated. */
  terminateRequested?: string;
  deleting: boolean;
  /** The profile has its activation Secret reference in status. */
  hasActivationSecret: boolean;
}

/** CredentialsState says whether the order's Soracom credentials could be used. */
export type CredentialsState = { ok: true } | { ok: false; reason: string; message: string };

/** SpendState is the controller-wide spend budget as seen by this reconcile. */
export interface SpendState {
  /** Profiles that may still be ordered in the current window; null when the budget is unlimited. */
  remaining: number | null;
  limit: number | null;
  windowMs: number;
}

/** PlannerConfig holds the controller's settings the planner needs. */
export interface PlannerConfig {
  maxQuantityPerResource: number;
  inProgressAlertAfterMs: number;
  draftExpiryWarningMs: number;
  createGracePeriodMs: number;
  pollActiveMs: number;
  pollStableMs: number;
  dryRun: boolean;
}

/** OrderInput is everything observed for one EsimProfileOrder. */
export interface OrderInput {
  order: EsimProfileOrder;
  now: number;
  children: ChildProfile[];
  /**
   * ICCIDs of this order's profiles the controller was shown and that are gone from `children` (taken
   * from the same cache at the same instant): deleted, so made once and not made again (SeenProfiles).
   */
  deletedProfiles?: ReadonlySet<string>;
  /** Soracom's view of the tracked orders fetched this round; null when Soracom answered 404. */
  soracomOrders: Record<string, ProfileOrder | null>;
  /** Ordered profiles of COMPLETED orders polled this round. */
  orderedProfiles: Record<string, OrderedProfile[]>;
  /** Every order Soracom lists, read only when a create's outcome is unknown (for adoption). */
  listed?: ProfileOrder[];
  /**
   * When that list was read (the time its first page was asked for). A create is concluded not to have
   * happened only from a list read after its grace period ended, never from an older list judged later.
   */
  listedAt?: number;
  credentials: CredentialsState;
  spend: SpendState;
  config: PlannerConfig;
}

export type TerminationReason = "DeletedOnDevice" | "Replace" | "ScaleDown";

/** OrderAction is one step the executor performs, in order. */
export type OrderAction =
  | { type: "addFinalizer" }
  | { type: "removeFinalizer" }
  /**
   * confirm: confirm the new draft as soon as Soracom answers the create (Automatic confirmation), in
   * the same round instead of the next. Its intent is recorded like any create's; a crash between the
   * two leaves a draft that the next round finds by its token and confirms, as before.
   */
  | { type: "createOrder"; sequence: number; token: string; request: CreateProfileOrderRequest; confirm: boolean }
  | { type: "confirmOrder"; profileOrderId: string; quantity: number }
  | { type: "cancelDraft"; profileOrderId: string; why: string }
  | { type: "createProfiles"; profileOrderId: string; profiles: OrderedProfile[] }
  | { type: "syncProfiles"; profileOrderId: string; profiles: Array<{ name: string; profile: OrderedProfile }> }
  | { type: "requestTermination"; profile: string; reason: TerminationReason }
  | { type: "deleteProfile"; profile: string; reason: TerminationReason };

/** PlannedEvent is a Kubernetes Event to record on the order. */
export interface PlannedEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** OrderPlan is the planner's decision for one reconcile. */
export interface OrderPlan {
  /** The status to write; when `intent` is true it must be written BEFORE any action runs. */
  status: EsimProfileOrderStatus;
  intent: boolean;
  actions: OrderAction[];
  events: PlannedEvent[];
  requeueAfterMs: number;
}

/** Statuses of tracked orders that still hold profiles on the way (they count against the quantity). */
export const IN_FLIGHT: ReadonlySet<string> = new Set(["Pending", "DRAFT", "CONFIRMED", "IN_PROGRESS"]);

export type { TrackedOrder };
