/**
 * The operator's vocabulary in one place: API group, labels, annotations, condition types and
 * reasons, event reasons and phases. Users see these words (kubectl, Argo CD, alerts), so they use the
 * vendor's terms and never change casually; the chart, the Argo CD health checks and the kubectl plugin
 * depend on them.
 */

export const GROUP = "esim.soracom-operator.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const ORDER_KIND = "EsimProfileOrder";
export const ORDER_PLURAL = "esimprofileorders";
export const PROFILE_KIND = "EsimProfile";
export const PROFILE_PLURAL = "esimprofiles";
export const ACCOUNT_KIND = "SoracomAccount";
export const ACCOUNT_PLURAL = "soracomaccounts";
export const MANAGER_NAME = "soracom-esim-operator";

/** Finalizers: an order's cancels its drafts; a profile's terminates its SIM under Terminate. */
export const ORDER_FINALIZER = `${GROUP}/cancel-drafts`;
export const PROFILE_FINALIZER = `${GROUP}/sim-lifecycle`;

export const LABELS = {
  managedBy: "app.kubernetes.io/managed-by",
  order: `${GROUP}/order`,
  profileOrderId: `${GROUP}/profile-order-id`,
  profile: `${GROUP}/profile`,
  component: `${GROUP}/component`,
} as const;

export const ANNOTATIONS = {
  /** Comma-separated Soracom profileOrderIds a person approved (`kubectl esim approve` writes it). */
  approveOrders: `${GROUP}/approve-orders`,
  /** Comma-separated FAILED profileOrderIds a person has seen; until then a FAILED order blocks new orders. */
  acknowledgeFailed: `${GROUP}/acknowledge-failed`,
  /**
   * Comma-separated COMPLETED profileOrderIds whose profile list stays shorter than their quantity, which
   * a person has looked into: the missing profiles stop holding their places and are ordered again.
   */
  acknowledgeShort: `${GROUP}/acknowledge-short`,
  /**
   * On a SoracomAccount (or, without accounts, on the termination ledger ConfigMap): set to the id of the
   * current termination pause to resume terminations. Only the cluster admin can write either.
   */
  resumeTerminations: `${GROUP}/resume-terminations`,
  /**
   * On an EsimProfileOrder: any new value (`kubectl esim refresh` writes the time) asks for its Soracom
   * polls now, within the account's poll budget, once per value (status.lastHandledRequestedAt). It only
   * moves reads: it never creates, confirms or terminates anything.
   */
  requestedAt: `${GROUP}/requested-at`,
} as const;

/**
 * Annotations earlier versions read that no longer mean anything: nothing a namespace user writes on an
 * EsimProfile may terminate a SIM or lift a budget. Kept only so that docs and tests can name them.
 */
export const RETIRED_ANNOTATIONS = {
  terminateRequested: `${GROUP}/terminate-requested`,
  terminationBudgetOverride: `${GROUP}/termination-budget-override`,
} as const;

/** Why a SIM is terminated (events, the sims_terminated metric, order status). Bounded. */
export const TERMINATION_REASONS = ["ResourceDeleted", "DeletedOnDevice", "Replace", "ScaleDown"] as const;
export type TerminationReason = (typeof TERMINATION_REASONS)[number];

/**
 * Labels and annotations that tie an object to a GitOps tool. The controller never copies them from an
 * order or a template to what it creates: Argo CD would prune a profile it thinks it owns, and pruning
 * a profile terminates a SIM.
 */
export const GITOPS_TRACKING_KEYS = [
  "app.kubernetes.io/instance",
  "argocd.argoproj.io/instance",
  "argocd.argoproj.io/tracking-id",
  "argocd.argoproj.io/sync-options",
  "argocd.argoproj.io/sync-wave",
  "argocd.argoproj.io/hook",
  "kubectl.kubernetes.io/last-applied-configuration",
  "kustomize.toolkit.fluxcd.io/name",
  "kustomize.toolkit.fluxcd.io/namespace",
  "helm.toolkit.fluxcd.io/name",
  "helm.toolkit.fluxcd.io/namespace",
] as const;

/** The activation Secret of a profile: owned by the EsimProfile, named `<profile>-activation`. */
export const ACTIVATION_SECRET = {
  type: `${GROUP}/activation`,
  suffix: "-activation",
  keys: {
    activationCode: "activationCode",
    smdpAddress: "smdpAddress",
    matchingId: "matchingId",
    qrPng: "qr.png",
  },
} as const;

/** The credentials Secret an order's credentialsRef names. */
export const CREDENTIALS_KEYS = {
  authKeyId: "authKeyId",
  authKey: "authKey",
  coverage: "coverage",
  endpoint: "endpoint",
} as const;

export const CONDITIONS = {
  ready: "Ready",
  reconciling: "Reconciling",
  stalled: "Stalled",
  awaitingConfirmation: "AwaitingConfirmation",
  draftExpiring: "DraftExpiring",
  orderStuck: "OrderStuck",
  scaleDownBlocked: "ScaleDownBlocked",
  terminationsPaused: "TerminationsPaused",
  deletedOnDevice: "DeletedOnDevice",
  simSynced: "SimSynced",
  profileListShort: "ProfileListShort",
  ledgerUnreadable: "LedgerUnreadable",
  activationSecretNotOwned: "ActivationSecretNotOwned",
} as const;

/** Condition reasons: CamelCase, one per situation a person may need to act on. */
export const REASONS = {
  // Ready / Reconciling
  Completed: "Completed",
  LedgerUnreadable: "LedgerUnreadable",
  SecretNotCreatedByController: "SecretNotCreatedByController",
  Ordering: "Ordering",
  Confirming: "Confirming",
  InProgress: "InProgress",
  AwaitingApproval: "AwaitingApproval",
  AdoptingOrder: "AdoptingOrder",
  Provisioning: "Provisioning",
  Paused: "Paused",
  DryRun: "DryRun",
  Terminating: "Terminating",
  // Stalled
  OrderFailed: "OrderFailed",
  CredentialsNotFound: "CredentialsNotFound",
  CredentialsInvalid: "CredentialsInvalid",
  BudgetExceeded: "BudgetExceeded",
  SoracomRejected: "SoracomRejected",
  SimNotFound: "SimNotFound",
  UnknownOrderStatus: "UnknownOrderStatus",
  // Reconciling (retried with backoff): an answer of Soracom's was refused, or a bound on answers was reached
  SoracomAnswerInvalid: "SoracomAnswerInvalid",
  SoracomLimitReached: "SoracomLimitReached",
  // Stalled: authority (which account, for whom)
  NoAccount: "NoAccount",
  AccountNotFound: "AccountNotFound",
  NamespaceNotAllowed: "NamespaceNotAllowed",
  TenantCredentialsNotAllowed: "TenantCredentialsNotAllowed",
  EndpointNotAllowed: "EndpointNotAllowed",
  AdoptionNotAllowed: "AdoptionNotAllowed",
  SimHeldElsewhere: "SimHeldElsewhere",
  /** The order resolves to another account than the one its unresolved intents were recorded under. */
  AccountChanged: "AccountChanged",
  /** SoracomAccounts exist: the environment's implicit account serves only the namespaces listed for it. */
  ImplicitAccountClosed: "ImplicitAccountClosed",
  // Stalled: what an order buys could not be recorded (its namespace is being deleted, its template is refused)
  NamespaceTerminating: "NamespaceTerminating",
  ProfilesNotAdmitted: "ProfilesNotAdmitted",
  // Domain
  DraftExpiresSoon: "DraftExpiresSoon",
  DraftExpired: "DraftExpired",
  InProgressTooLong: "InProgressTooLong",
  SurplusRetained: "SurplusRetained",
  TerminationBudgetExhausted: "TerminationBudgetExhausted",
  DeletedOnDeviceStillBilling: "DeletedOnDeviceStillBilling",
  ShortProfileList: "ShortProfileList",
  WaitingForOrder: "WaitingForOrder",
  Synced: "Synced",
  SyncFailed: "SyncFailed",
  Retained: "Retained",
} as const;

/** Event reasons: every action that spends money or cannot be undone gets one, and every failure. */
export const EVENTS = {
  OrderCreated: "OrderCreated",
  OrderAdopted: "OrderAdopted",
  OrderConfirmed: "OrderConfirmed",
  OrderCompleted: "OrderCompleted",
  OrderFailed: "OrderFailed",
  DraftCancelled: "DraftCancelled",
  DraftExpired: "DraftExpired",
  ProfileCreated: "ProfileCreated",
  TerminationEnabled: "TerminationEnabled",
  SimTerminated: "SimTerminated",
  SimRetained: "SimRetained",
  SimUpdated: "SimUpdated",
  DeletedOnDevice: "DeletedOnDevice",
  ReplacementOrdered: "ReplacementOrdered",
  BudgetExceeded: "BudgetExceeded",
  TerminationsPaused: "TerminationsPaused",
  TerminationRequested: "TerminationRequested",
  TerminationWithdrawn: "TerminationWithdrawn",
  OrderNotCreated: "OrderNotCreated",
  ShortProfileList: "ShortProfileList",
  UnknownOrderStatus: "UnknownOrderStatus",
  OrphanOrder: "OrphanOrder",
  SoracomError: "SoracomError",
  SoracomAnswerInvalid: "SoracomAnswerInvalid",
  SoracomLimitReached: "SoracomLimitReached",
  CredentialsError: "CredentialsError",
  RefreshRequested: "RefreshRequested",
} as const;

/** Order phases for the printer column, in the vendor's words. */
export const ORDER_PHASES = [
  "Pending",
  "Draft",
  "Confirmed",
  "In Progress",
  "Completed",
  "Failed",
  "Paused",
  "Stalled",
] as const;
export type OrderPhase = (typeof ORDER_PHASES)[number];

/**
 * Soracom's order statuses (the vendor's enum, its words) and the operator's own states for an order
 * without an ID yet or gone. The two never share a word: a status Soracom sends that is not in its enum is
 * Unknown, never one of the operator's states, and never releases anything.
 */
export const SORACOM_ORDER_STATUSES = ["DRAFT", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "FAILED"] as const;
export type SoracomOrderStatus = (typeof SORACOM_ORDER_STATUSES)[number];
/** Pending: created or being created, ID unknown; NotCreated: its create proved not to have happened. */
export const OPERATOR_ORDER_STATES = ["Pending", "NotCreated", "Expired", "Cancelled", "Rejected"] as const;
export type OperatorOrderState = (typeof OPERATOR_ORDER_STATES)[number];
export type TrackedOrderStatus = SoracomOrderStatus | OperatorOrderState;

/**
 * Why the controller refused an answer of Soracom's (the soracom_esim_answers_refused_total `cause` label;
 * bounded). An answer refused changes nothing: no status recorded, no slot freed, no call decided from it.
 */
export const REFUSAL_CAUSES = [
  // The client found the answer invalid: not the vendor's schema, or about another object than asked.
  "InvalidAnswer",
  // A bound was reached: too many pages, an answer too large, a rate-limit wait over the cap.
  "LimitReached",
  // A status outside the vendor's enum.
  "UnknownStatus",
  // A status transition the vendor's state machine does not allow (nothing goes back).
  "ImpossibleTransition",
  // A quantity other than the one ordered, or not a positive whole number.
  "QuantityMismatch",
  // An answer naming another order than the one asked for, or malformed fields.
  "WrongOrder",
  // An order Soracom said is gone (404) while it may be confirmed, or while its list still shows it.
  "OrderVanished",
  // A profile list longer than the order's quantity, or listing an ICCID twice.
  "ProfileListInvalid",
  // The SIM found for an IMSI or ICCID does not carry it.
  "WrongSim",
] as const;
export type RefusalCause = (typeof REFUSAL_CAUSES)[number];

/** Profile phases: the vendor's words for profileStatus, plus the SIM's end of life. */
export const PROFILE_PHASES = [
  "Pending",
  "Registered",
  "Installed",
  "Activated",
  "Deactivated",
  "Deleted",
  "InstallationFailed",
  "ActivationFailed",
  "DeactivationFailed",
  "DeletionFailed",
  "Terminating",
  "Terminated",
] as const;
export type ProfilePhase = (typeof PROFILE_PHASES)[number];

const PROFILE_STATUS_PHASE: Record<string, ProfilePhase> = {
  SUBSCRIBER_REGISTRATION_SUCCEEDED: "Registered",
  INSTALLATION_SUCCEEDED: "Installed",
  INSTALLATION_FAILED: "InstallationFailed",
  ACTIVATION_SUCCEEDED: "Activated",
  ACTIVATION_FAILED: "ActivationFailed",
  INACTIVATION_SUCCEEDED: "Deactivated",
  INACTIVATION_FAILED: "DeactivationFailed",
  DELETION_SUCCEEDED: "Deleted",
  DELETION_FAILED: "DeletionFailed",
};

/** phaseOfProfileStatus maps Soracom's raw profileStatus to the readable phase. */
export function phaseOfProfileStatus(profileStatus: string | undefined): ProfilePhase {
  return (profileStatus && PROFILE_STATUS_PHASE[profileStatus]) || "Pending";
}

/** everInstalled: the profile reached a device at some point (the scale-down policy spares these). */
export function everInstalled(profileStatus: string | undefined, installedTime: string | undefined): boolean {
  if (installedTime) return true;
  const phase = phaseOfProfileStatus(profileStatus);
  return phase !== "Pending" && phase !== "Registered" && phase !== "InstallationFailed";
}

/** The vendor cancels an unconfirmed order one day after it was created. */
export const DRAFT_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** The kinds as REST resources (group, version, plural). */
export const ORDER_REF = { group: GROUP, version: VERSION, plural: ORDER_PLURAL } as const;
export const PROFILE_REF = { group: GROUP, version: VERSION, plural: PROFILE_PLURAL } as const;
export const ACCOUNT_REF = { group: GROUP, version: VERSION, plural: ACCOUNT_PLURAL } as const;
