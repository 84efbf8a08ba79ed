import { collectDefaultMetrics, type Registry } from "prom-client";
import { counter, gauge, histogram, perRegistry } from "./kube/prom.js";

/**
 * The operator's domain metrics. Every label is bounded: namespaces, resource names and Soracom order
 * IDs exist as long as their objects do (the controller removes their series when they go), statuses
 * and reasons are fixed vocabularies. No ICCID, IMSI or anything secret is ever a label.
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
    budgetExceeded: gauge(registry, "soracom_esim_budget_exceeded", "1 when a budget is exhausted and actions wait", [
      "budget",
    ]),
    terminationsPaused: gauge(registry, "soracom_esim_terminations_paused", "1 when SIM terminations are paused", []),
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
    leader: gauge(registry, "soracom_esim_leader", "1 when this replica is the leader, 0 otherwise", []),
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
 * OrderStatusTracker keeps soracom_esim_order_status_since_timestamp_seconds to one series per order:
 * when an order changes status, the series of its old status is removed, and forget() drops the order.
 */
export class OrderStatusTracker {
  private readonly current = new Map<string, Record<"namespace" | "name" | "profile_order_id" | "status", string>>();

  constructor(private readonly metrics: Metrics) {}

  /** set records that the order entered status at sinceMs (Unix milliseconds, as Soracom reports). */
  set(namespace: string, name: string, profileOrderId: string, status: string, sinceMs: number): void {
    const id = `${namespace}/${name}/${profileOrderId}`;
    const labels = { namespace, name, profile_order_id: profileOrderId, status };
    const previous = this.current.get(id);
    if (previous && previous.status !== status) this.metrics.orderStatusSince.remove(previous);
    this.current.set(id, labels);
    this.metrics.orderStatusSince.set(labels, sinceMs / 1000);
  }

  /** forgetOrder removes the series of one Soracom order (a FAILED order someone acknowledged). */
  forgetOrder(namespace: string, name: string, profileOrderId: string): void {
    const id = `${namespace}/${name}/${profileOrderId}`;
    const labels = this.current.get(id);
    if (labels) this.metrics.orderStatusSince.remove(labels);
    this.current.delete(id);
  }

  /** forget removes every series of an order resource (deleted, or its order is gone). */
  forget(namespace: string, name: string): void {
    for (const [id, labels] of this.current) {
      if (labels.namespace !== namespace || labels.name !== name) continue;
      this.metrics.orderStatusSince.remove(labels);
      this.metrics.draftExpiry.remove({ namespace, name, profile_order_id: labels.profile_order_id });
      this.metrics.profilesMissing.remove({ namespace, name, profile_order_id: labels.profile_order_id });
      this.current.delete(id);
    }
  }
}

/** pollMetrics: how each account's polls are paced (controller/order/pacing.ts). */
function pollMetrics(registry: Registry) {
  return {
    pollIntervalEffective: gauge(
      registry,
      "soracom_esim_poll_interval_effective_seconds",
      "How long a stable poll of one Soracom order waits for its next turn: --poll-interval-stable, or longer when the account's poll budget cannot poll every order that often (the slots' forecast, or the median over orders of the wait between their last two lists when that is longer)",
      ["account"],
    ),
    pollBudget: gauge(
      registry,
      "soracom_esim_poll_budget_calls_per_minute",
      "Soracom calls per minute the operator may spend on polling an account: its budget, lowered to a share of the vendor's announced per-path limit",
      ["account"],
    ),
  };
}
