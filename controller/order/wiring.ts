import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ownerOrder } from "../api/owner.js";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import { LABELS } from "../api/vocabulary.js";
import type { SpendLedger, TerminationLedger } from "../budget.js";
import type { ControllerConfig } from "../config.js";
import { CredentialsError, type SoracomClients } from "../credentials.js";
import type { EventRecorder } from "../kube/events.js";
import type { NamespacedCache } from "../kube/multi.js";
import type { KubeObject } from "../kube/object.js";
import { objectKey } from "../kube/object.js";
import { Controller } from "../kube/reconciler.js";
import type { KubeClient } from "../kube/rest.js";
import type { Metrics, OrderStatusTracker } from "../metrics.js";
import type { AccountAccess } from "./ports.js";
import { createOrderReconciler } from "./reconciler.js";

/**
 * startOrderController assembles the EsimProfileOrder controller: the reconciler with its real ports
 * (caches, the order's Soracom account with its ledgers, events, metrics) and what wakes it: a change
 * of the order, of any profile it owns, or the loss of a profile's activation Secret.
 */
export function startOrderController(opts: {
  cfg: ControllerConfig;
  kube: KubeClient;
  orders: NamespacedCache<EsimProfileOrder & KubeObject>;
  profiles: NamespacedCache<EsimProfile & KubeObject>;
  secrets: NamespacedCache<KubeObject>;
  clients: SoracomClients;
  spend: SpendLedger;
  terminations: TerminationLedger;
  events: EventRecorder;
  metrics: Metrics;
  statusTracker: OrderStatusTracker;
  registry: Registry;
  logger: Logger;
  synced: () => boolean;
}): Controller {
  const { cfg, orders, profiles, secrets } = opts;
  const controller = new Controller({
    name: "esimprofileorder",
    concurrency: cfg.concurrency,
    registry: opts.registry,
    logger: opts.logger,
    reconcile: createOrderReconciler({
      kube: opts.kube,
      orders,
      profiles,
      accountFor: (order) => accountFor(opts, order),
      events: opts.events,
      metrics: opts.metrics,
      statusTracker: opts.statusTracker,
      logger: opts.logger,
      secretExists: (ns, name) => secrets.get(ns, name) !== undefined,
      soracomParallelism: cfg.soracomMaxConcurrency,
      synced: opts.synced,
      config: {
        maxQuantityPerResource: cfg.maxQuantityPerResource,
        inProgressAlertAfterMs: cfg.inProgressAlertAfterMs,
        draftExpiryWarningMs: cfg.draftExpiryWarningMs,
        createGracePeriodMs: cfg.createGracePeriodMs,
        soracomRequestTimeoutMs: cfg.soracomRequestTimeoutMs,
        pollActiveMs: cfg.pollIntervalActiveMs,
        pollStableMs: cfg.pollIntervalStableMs,
        dryRun: cfg.dryRun,
      },
    }),
  });
  const enqueueOwner = (p: KubeObject) => {
    const owner = ownerOrder(p);
    if (owner) controller.enqueue(`${p.metadata.namespace}/${owner.name}`);
  };
  orders.addHandler({
    add: (o) => controller.enqueue(objectKey(o)),
    update: (_old, o) => controller.enqueue(objectKey(o)),
    delete: (o) => controller.enqueue(objectKey(o)),
  });
  profiles.addHandler({ add: enqueueOwner, update: (_old, p) => enqueueOwner(p), delete: enqueueOwner });
  // A lost activation Secret is rebuilt by the order from its profile list.
  secrets.addHandler({
    delete: (s) => {
      const name = s.metadata.labels?.[LABELS.profile];
      const p = name ? profiles.get(s.metadata.namespace, name) : undefined;
      if (p) enqueueOwner(p);
    },
  });
  return controller;
}

/**
 * accountFor is the Soracom account an order spends from: the credentials it names (or the controller's
 * defaults), remembered under a key of their own, with the controller's durable ledgers.
 */
async function accountFor(
  opts: { clients: SoracomClients; spend: SpendLedger; terminations: TerminationLedger },
  order: EsimProfileOrder,
): Promise<AccountAccess> {
  const ns = order.metadata.namespace ?? "";
  const ref = order.spec.credentialsRef;
  const base = {
    key: ref ? `secret:${ns}/${ref.name}` : "default",
    spend: opts.spend,
    terminations: opts.terminations,
    forget: () => opts.clients.forget(ns, ref),
  };
  try {
    return { ...base, client: await opts.clients.forRef(ns, ref), credentials: { ok: true } };
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    return { ...base, credentials: { ok: false, reason: err.reason, message: err.message } };
  }
}
