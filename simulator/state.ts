/**
 * state.ts holds the simulator's whole world as one plain JSON-serialisable object, so the control
 * surface can show it, a state file can persist it, and a reset is a single assignment.
 */

export type OrderStatus = "DRAFT" | "CONFIRMED" | "IN_PROGRESS" | "COMPLETED" | "FAILED";

export type SimStatus = "ready" | "active" | "inactive" | "standby" | "suspended" | "terminated";

export type ProfileStatus =
  | "SUBSCRIBER_REGISTRATION_SUCCEEDED"
  | "INSTALLATION_SUCCEEDED"
  | "INSTALLATION_FAILED"
  | "ACTIVATION_SUCCEEDED"
  | "ACTIVATION_FAILED"
  | "INACTIVATION_SUCCEEDED"
  | "INACTIVATION_FAILED"
  | "DELETION_SUCCEEDED"
  | "DELETION_FAILED";

export interface OrderRecord {
  profileOrderId: string;
  subscription: string;
  quantity: number;
  speedClass?: string;
  bundles: string[];
  description?: string;
  status: OrderStatus;
  orderedTime: number;
  confirmedTime?: number;
  /** Simulated time at which a confirmed order turns IN_PROGRESS (fixed at confirmation). */
  inProgressAt?: number;
  /** Simulated time at which it completes; null while held by /_sim/orders/{id}/force {hold:true}. */
  completeAt?: number | null;
  completedTime?: number;
  /** Set by /_sim/orders/{id}/force {hold:true}: the order never gets past IN_PROGRESS until released. */
  held?: boolean;
  /** ICCIDs of the profiles generated on completion, in order. */
  iccids: string[];
  /** Set by /_sim/orders/{id}/force {listShortBy:n}: the profile list leaves out the last n profiles. */
  listShortBy?: number;
}

export interface ProfileRecord {
  profileOrderId: string;
  iccid: string;
  imsi: string;
  matchingId: string;
  smdpAddress: string;
  profileStatus: ProfileStatus;
  createdTime: number;
  lastModifiedTime: number;
  installedTime?: number;
  subscription: string;
}

/** SimRecord is the one source of truth for a SIM and its primary subscriber (rendered both ways). */
export interface SimRecord {
  simId: string;
  iccid: string;
  imsi: string;
  subscription: string;
  status: SimStatus;
  speedClass: string;
  moduleType: string;
  bundles: string[];
  groupId?: string;
  tags: Record<string, string>;
  terminationEnabled: boolean;
  createdTime: number;
  lastModifiedTime: number;
  profileOrderId?: string;
}

export interface TokenRecord {
  apiKey: string;
  token: string;
  operatorId: string;
  userName?: string;
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
}

export interface SimState {
  version: 1;
  /** Simulated time = wall-clock time + clockOffsetMs; /_sim/clock/advance grows the offset. */
  clockOffsetMs: number;
  orders: Record<string, OrderRecord>;
  profiles: Record<string, ProfileRecord>;
  sims: Record<string, SimRecord>;
  tokens: TokenRecord[];
  /** Counters behind the numeric identifiers, so they stay unique across restarts. */
  sequences: { iccid: number; imsi: number; simId: number };
}

export function emptyState(): SimState {
  return {
    version: 1,
    clockOffsetMs: 0,
    orders: {},
    profiles: {},
    sims: {},
    tokens: [],
    sequences: { iccid: 0, imsi: 0, simId: 0 },
  };
}

/** isSimState is the shape check a loaded state file must pass before it replaces the in-memory state. */
export function isSimState(value: unknown): value is SimState {
  const v = value as Partial<SimState> | null;
  return (
    !!v &&
    v.version === 1 &&
    typeof v.clockOffsetMs === "number" &&
    typeof v.orders === "object" &&
    typeof v.profiles === "object" &&
    typeof v.sims === "object" &&
    Array.isArray(v.tokens) &&
    typeof v.sequences === "object"
  );
}

export function findSimByImsi(state: SimState, imsi: string): SimRecord | undefined {
  return Object.values(state.sims).find((s) => s.imsi === imsi);
}

export function findSimByIccid(state: SimState, iccid: string): SimRecord | undefined {
  return Object.values(state.sims).find((s) => s.iccid === iccid);
}
