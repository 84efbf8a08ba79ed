import { collectDefaultMetrics, type Registry } from "prom-client";
import { leaderGauges } from "./kube/leader.js";
import { counter, gauge, histogram, perRegistry } from "./kube/prom.js";

/**
 * The operator's domain metrics. Every label is bounded: namespaces, resource names and Soracom order
 * IDs exist as long as their objects do (the controller removes their series when they go, and an order's
 * status series when it settles), accounts as long as their SoracomAccount does, statuses and reasons are
 * fixed vocabularies. Every series about one account carries its name in `account` (never a Secret).
 * No ICCID, IMSI or anything secret is ever a label.
 */
export type Metrics = ReturnType<typeof buildMetrics>;

/**
 * createMetrics registers the domain metrics and prom-client's process metrics (memory, CPU, event
 * loop) on registry and returns them. Calling it twice with one registry returns the same bundle.
 */
export const createMetrics: (registry: Registry) => Metrics = perRegistry(buildMetrics);

function buildMetrics(registry: Registry) {
  collectDefaultMetrics({ register: registry });
  return {
    orderStatusSince: gauge(
      registry,
      "soracom_esim_order_status_since_timestamp_seconds",
      "Unix time when the Soracom profile order entered its current status",
      ["namespace", "name", "profile_order_id", "status"],
    ),
    orders: gauge(registry, "soracom_esim_orders", "Soracom profile orders by status", ["namespace", "status"]),
    profiles: gauge(registry, "soracom_esim_profiles", "EsimProfiles by phase", ["namespace", "phase"]),
    profilesDeletedOnDeviceBilling: gauge(
      registry,
      "soracom_esim_profiles_deleted_on_device_billing",
      "Profiles deleted on the device whose SIM is not terminated and may still be billed",
      ["namespace"],
    ),
    draftExpiry: gauge(
      registry,
      "soracom_esim_draft_expiry_timestamp_seconds",
      "Unix time when Soracom cancels this unconfirmed (DRAFT) order",
      ["namespace", "name", "profile_order_id"],
    ),
    profilesMissing: gauge(
      registry,
      "soracom_esim_order_profiles_missing",
      "Profiles a COMPLETED Soracom order does not list (a short list: held, not reordered, until a person acknowledges it)",
      ["namespace", "name", "profile_order_id"],
    ),
    profilesOrdered: counter(
      registry,
      "soracom_esim_profiles_ordered_total",
      "Profiles in Soracom orders this operator confirmed",
      ["namespace"],
    ),
    simsTerminated: counter(registry, "soracom_esim_sims_terminated_total", "SIMs this operator terminated", [
      "namespace",
      "reason",
    ]),
    budgetExceeded: gauge(
      registry,
      "soracom_esim_budget_exceeded",
      "1 when a Soracom account's budget is exhausted and actions wait",
      ["budget", "account"],
    ),
    terminationsPaused: gauge(
      registry,
      "soracom_esim_terminations_paused",
      "1 when SIM terminations of a Soracom account are paused",
      ["account"],
    ),
    budgetRemaining: gauge(
      registry,
      "soracom_esim_budget_remaining",
      "What is left of a Soracom account's budget in its window",
      ["budget", "account"],
    ),
    ...pollMetrics(registry),
    ordersFailed: counter(registry, "soracom_esim_orders_failed_total", "Soracom profile orders that ended FAILED", [
      "namespace",
    ]),
    answersRefused: counter(
      registry,
      "soracom_esim_answers_refused_total",
      "Soracom answers the controllers refused (nothing was done from them), by resource kind and cause",
      ["kind", "reason"],
    ),
    orphanOrders: gauge(
      registry,
      "soracom_esim_orphan_orders",
      "Soracom orders that carry this operator's marker but belong to no EsimProfileOrder",
      ["status"],
    ),
    ...apiMetrics(registry),
    ...leaderGauges(registry),
  };
}

/** apiMetrics are the Soracom client's own: attempts, refusals and bounds reached, durations. */
function apiMetrics(registry: Registry) {
  return {
    apiRequests: counter(registry, "soracom_api_requests_total", "Soracom API requests (attempts) by outcome", [
      "operation",
      "code",
    ]),
    apiGuards: counter(
      registry,
      "soracom_api_answers_refused_total",
      "Soracom answers the client refused or cut short (invalid, mismatched, too large, too many pages, wait capped, deadline), by error code",
      ["operation", "code"],
    ),
    apiRequestDuration: histogram(
      registry,
      "soracom_api_request_duration_seconds",
      "Soracom API request duration",
      ["operation"],
      [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    ),
  };
}

/** SoracomRequestEvent is the shape of the Soracom client's onRequest event that metrics need. */
export interface SoracomRequestEvent {
  operation: string;
  status?: number;
  durationMs: number;
  error?: { code: string };
}

/** soracomCodeLabel is the `code` label: the HTTP status, else "timeout" or "network". */
export function soracomCodeLabel(event: SoracomRequestEvent): string {
  if (event.status !== undefined) return String(event.status);
  return event.error?.code === "SORACOM_ERR_TIMEOUT" ? "timeout" : "network";
}

/** observeSoracomRequest records one Soracom attempt; pass it as the client's onRequest hook. */
export function observeSoracomRequest(metrics: Metrics, event: SoracomRequestEvent): void {
  metrics.apiRequests.inc({ operation: event.operation, code: soracomCodeLabel(event) });
  metrics.apiRequestDuration.observe({ operation: event.operation }, event.durationMs / 1000);
}

/**
 * OrderStatusTracker keeps soracom_esim_order_status_since_timestamp_seconds to one series per Soracom
 * order while it is in flight: a new status replaces the old one's series, settle() drops it (the order
 * reached a final status), and forget() drops everything of a deleted order resource.
 */
export class OrderStatusTracker {
  /** order resource (namespace/name) → its Soracom orders → the labels of their status series, if any. */
  private readonly resources = new Map<string, Map<string, OrderStatusLabels | undefined>>();

  constructor(private readonly metrics: Metrics) {}

  /** set records that the order entered status at sinceMs (Unix milliseconds, as Soracom reports). */
  set(namespace: string, name: string, profileOrderId: string, status: string, sinceMs: number): void {
    const labels = { namespace, name, profile_order_id: profileOrderId, status };
    const orders = this.ordersOf(namespace, name);
    const previous = orders.get(profileOrderId);
    if (previous && previous.status !== status) this.metrics.orderStatusSince.remove(previous);
    orders.set(profileOrderId, labels);
    this.metrics.orderStatusSince.set(labels, sinceMs / 1000);
  }

  /**
   * settle removes the status series of one Soracom order that reached a final status (or a FAILED one
   * someone acknowledged); the order stays known, so forget() still drops its other series.
   */
  settle(namespace: string, name: string, profileOrderId: string): void {
    const orders = this.ordersOf(namespace, name);
    const labels = orders.get(profileOrderId);
    if (labels) this.metrics.orderStatusSince.remove(labels);
    orders.set(profileOrderId, undefined);
  }

  /** forget removes every series of an order resource (deleted, or its order is gone). */
  forget(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    for (const [id, labels] of this.resources.get(key) ?? []) {
      if (labels) this.metrics.orderStatusSince.remove(labels);
      this.metrics.draftExpiry.remove({ namespace, name, profile_order_id: id });
      this.metrics.profilesMissing.remove({ namespace, name, profile_order_id: id });
    }
    this.resources.delete(key);
  }

  private ordersOf(namespace: string, name: string): Map<string, OrderStatusLabels | undefined> {
    const key = `${namespace}/${name}`;
    let orders = this.resources.get(key);
    if (!orders) {
      orders = new Map();
      this.resources.set(key, orders);
    }
    return orders;
  }
}

type OrderStatusLabels = Record<"namespace" | "name" | "profile_order_id" | "status", string>;

/**
 * pollLabels are the poll gauges' labels of a pacer key: `account` is the SoracomAccount's name (the
 * default account's name, "default" unless --default-account says otherwise, in single-tenant mode);
 * `credentials` is "account" for the account's own credentials, "tenant:<namespace>" for a namespace's
 * own (spec.credentialsRef). Keys: "account:<name>[/secret:<namespace>/<secret>]#<source>".
 */
export function pollLabels(key: string): { account: string; credentials: string } {
  const m = /^account:([^/#]*)(?:\/secret:([^/#]*)\/[^#]*)?(?:#.*)?$/.exec(key);
  if (!m) return { account: key, credentials: "account" };
  return { account: m[1] ?? "", credentials: m[2] === undefined ? "account" : `tenant:${m[2]}` };
}

/** setPollGauges sets one account's (and credentials') poll gauges from the pacer's report. */
export function setPollGauges(
  metrics: Metrics,
  labels: { account: string; credentials: string },
  report: { perMinute: number | null; effectiveIntervalMs: number },
): void {
  metrics.pollIntervalEffective.set(labels, report.effectiveIntervalMs / 1000);
  if (report.perMinute === null) metrics.pollBudget.remove(labels);
  else metrics.pollBudget.set(labels, report.perMinute);
}

/** pollMetrics: how each account's polls are paced (controller/order/pacing.ts). */
function pollMetrics(registry: Registry) {
  return {
    pollIntervalEffective: gauge(
      registry,
      "soracom_esim_poll_interval_effective_seconds",
      "How long a stable poll of one Soracom order waits for its next turn: --poll-interval-stable, or longer when the account's poll budget cannot poll every order that often (the slots' forecast, or the median over orders of the wait between their last two lists when that is longer)",
      ["account", "credentials"],
    ),
    pollBudget: gauge(
      registry,
      "soracom_esim_poll_budget_calls_per_minute",
      "Soracom calls per minute the operator may spend on polling an account: its budget, lowered to a share of the vendor's announced per-path limit",
      ["account", "credentials"],
    ),
  };
}
