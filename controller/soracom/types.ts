/**
 * Request and response types of the Soracom operations the operator uses, written from the vendor's
 * OpenAPI schemas (third_party/soracom-api). Names follow the vendor's words; optional fields are the
 * ones the spec does not mark required. Times are Unix milliseconds.
 */

/** Statuses of an eSIM profile order (SimProfileOrderResponse.status). */
export type ProfileOrderStatus = "DRAFT" | "CONFIRMED" | "IN_PROGRESS" | "COMPLETED" | "FAILED";

/** Speed classes an order may ask for (CreateSimProfileOrderRequest.speedClass). */
export type OrderSpeedClass = "s1.minimum" | "s1.slow" | "s1.standard" | "s1.fast" | "s1.4xfast" | "s1.8xfast";

/** Speed classes a SIM may be moved to (UpdateSpeedClassRequest.speedClass). */
export type SimSpeedClass = OrderSpeedClass | "u1.standard" | "u1.slow";

/** Bundles an order may carry (at most one; CreateSimProfileOrderRequest.bundles). */
export type OrderBundle =
  | "X3-5MB"
  | "US-1MB"
  | "US-3MB"
  | "US-10MB"
  | "US-20MB"
  | "US-50MB"
  | "US-100MB"
  | "US-300MB"
  | "US-500MB"
  | "US-1GB"
  | "US-3GB"
  | "US-5GB"
  | "US-10GB";

/** CreateProfileOrderRequest is the body of POST /sim_profile_orders (CreateSimProfileOrderRequest). */
export interface CreateProfileOrderRequest {
  /** plan01s, planP1, planX1, planX2, planX3, plan-US. */
  subscription: string;
  /** 1..100 in the schema; the vendor sells at most 20 per order. */
  quantity: number;
  speedClass?: OrderSpeedClass;
  bundles?: OrderBundle[];
  /** Max 100 characters; the operator stores its idempotency marker here. */
  description?: string;
}

/** ProfileOrder is an eSIM profile order (SimProfileOrderResponse). */
export interface ProfileOrder {
  profileOrderId: string;
  subscription: string;
  quantity: number;
  status: ProfileOrderStatus;
  orderedTime: number;
  confirmedTime?: number;
  completedTime?: number;
  description?: string;
  speedClass?: string;
  bundles?: string[];
}

/** Statuses of an ordered eSIM profile (OrderedSimProfileResponse.profileStatus). */
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

/**
 * OrderedProfile is one eSIM profile of an order (OrderedSimProfileResponse). `activationCode` and
 * `matchingId` are secrets: never log them. It carries no SIM ID: see resolveSimId.
 */
export interface OrderedProfile {
  profileOrderId: string;
  iccid: string;
  imsi: string;
  matchingId: string;
  smdpAddress: string;
  activationCode: string;
  profileStatus: ProfileStatus;
  createdTime: number;
  lastModifiedTime: number;
  installedTime?: number;
  subscription?: string;
}

/** Statuses of an IoT SIM. */
export type SimStatus = "ready" | "active" | "inactive" | "standby" | "suspended" | "terminated";

/** SimplifiedSubscriber is a subscription inside Sim.profiles[iccid].subscribers[imsi]. */
export interface SimplifiedSubscriber {
  imsi?: string;
  msisdn?: string;
  status?: "shipped" | "delivered" | "ready" | "active" | "terminated";
  subscription?: string;
  bundles?: string[];
  capabilities?: { data?: boolean; sms?: boolean };
}

/** SimProfile is one profile of a SIM, keyed by ICCID in Sim.profiles. */
export interface SimProfile {
  iccid?: string;
  primaryImsi?: string;
  otaSupported?: boolean;
  subscribers?: Record<string, SimplifiedSubscriber>;
}

/** Sim is an IoT SIM (the spec's Sim schema; fields the operator does not use are left open). */
export interface Sim {
  simId?: string;
  status?: SimStatus;
  speedClass?: string;
  groupId?: string;
  /** Always has "name" (possibly ""); custom tags appear beside it. */
  tags?: Record<string, string>;
  terminationEnabled?: boolean;
  /** "profilePackage" for an eSIM profile. */
  moduleType?: string;
  type?: "euicc" | "uicc" | "virtual";
  operatorId?: string;
  activeProfileId?: string;
  createdTime?: number;
  lastModifiedTime?: number;
  profiles?: Record<string, SimProfile>;
  [field: string]: unknown;
}

/** Subscriber is GET /subscribers/{imsi}: the way from an ordered profile's IMSI to its SIM ID. */
export interface Subscriber {
  imsi?: string;
  simId?: string;
  iccid?: string;
  status?: SimStatus;
  subscription?: string;
  speedClass?: string;
  groupId?: string;
  moduleType?: string;
  tags?: Record<string, string>;
  terminationEnabled?: boolean;
  [field: string]: unknown;
}

/** TagUpdate is one element of PUT /sims/{sim_id}/tags (TagUpdateRequest). */
export interface TagUpdate {
  tagName: string;
  tagValue: string;
}

/**
 * SearchSimsQuery is GET /query/sims. Matching is partial and case-insensitive on the server; use
 * findSimExact for an exact lookup. Each value must be at least 2 characters.
 */
export interface SearchSimsQuery {
  name?: string[];
  group?: string[];
  groupId?: string[];
  simId?: string[];
  imsi?: string[];
  msisdn?: string[];
  iccid?: string[];
  serialNumber?: string[];
  tag?: string[];
  bundles?: string[];
  status?: string[];
  sessionStatus?: "NA" | "ONLINE" | "OFFLINE";
  subscription?: string[];
  moduleType?: string[];
  searchType?: "and" | "or";
  /** Page size, 1..100 (the server's default is 10). */
  limit?: number;
}

/** ExactSimKey names exactly one SIM by one identifier. */
export type ExactSimKey = { iccid: string } | { imsi: string } | { simId: string };

/** AuthKeyCredentials: a SAM user's or root's AuthKey (the recommended way for programs). */
export interface AuthKeyCredentials {
  authKeyId: string;
  authKey: string;
}

/** SamUserCredentials: a SAM user's password login. */
export interface SamUserCredentials {
  operatorId: string;
  userName: string;
  password: string;
}

export type SoracomCredentials = AuthKeyCredentials | SamUserCredentials;

/** AuthResponse is the answer of POST /auth. `apiKey` and `token` are secrets. */
export interface AuthResponse {
  apiKey: string;
  token: string;
  operatorId: string;
  userName?: string;
}
