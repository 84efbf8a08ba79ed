import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type Accounts, onAccountChange } from "../accounts.js";
import { ownerOrder } from "../api/owner.js";
import type { EsimProfile, EsimProfileOrder, SoracomAccount } from "../api/types.js";
import { LABELS } from "../api/vocabulary.js";
import type { ControllerConfig } from "../config.js";
import type { EventRecorder } from "../kube/events.js";
import type { NamespacedCache } from "../kube/multi.js";
import type { KubeObject } from "../kube/object.js";
import { objectKey } from "../kube/object.js";
import { Controller } from "../kube/reconciler.js";
import type { KubeClient } from "../kube/rest.js";
import { EVERYTHING, type Shard } from "../kube/shard.js";
import type { Metrics, OrderStatusTracker } from "../metrics.js";
import { recentAdmissions } from "./admission.js";
import type { PollPacer } from "./pacing.js";
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
  /** Activation Secrets, when watched (--watch-activation-secrets): a deleted one is rebuilt. */
  secrets?: NamespacedCache<KubeObject>;
  accounts: Accounts;
  /** SoracomAccounts: an order refused for its account is planned again when the account changes. */
  accountCache?: NamespacedCache<SoracomAccount & KubeObject>;
  events: EventRecorder;
  metrics: Metrics;
  statusTracker: OrderStatusTracker;
  registry: Registry;
  logger: Logger;
  synced: () => boolean;
  /** The poll pacer (shared with the account controller, which reports each account's polling). */
  pacer?: PollPacer;
  /** The namespaces this process owns (sharding); default every namespace. */
  shard?: Shard;
}): Controller {
  const { cfg, orders, profiles, secrets } = opts;
  const shard = opts.shard ?? EVERYTHING;
  const controller = new Controller({
    name: "esimprofileorder",
    concurrency: cfg.concurrency,
    registry: opts.registry,
    logger: opts.logger,
    reconcile: createOrderReconciler({
      kube: opts.kube,
      orders,
      profiles,
      accountFor: (order) => accountFor(opts.accounts, order),
      admitProfiles: recentAdmissions(opts.kube, ADMISSION_TTL_MS),
      events: opts.events,
      metrics: opts.metrics,
      statusTracker: opts.statusTracker,
      logger: opts.logger,
      ...secretPorts(secrets),
      soracomParallelism: cfg.soracomMaxConcurrency,
      synced: opts.synced,
      ...(opts.pacer ? { pacer: opts.pacer } : {}),
      owns: (ns) => shard.owns(ns),
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
    if (owner && shard.owns(p.metadata.namespace)) controller.enqueue(`${p.metadata.namespace}/${owner.name}`);
  };
  const enqueue = (o: KubeObject) => {
    if (shard.owns(o.metadata.namespace)) controller.enqueue(objectKey(o));
  };
  orders.addHandler({ add: enqueue, update: (_old, o) => enqueue(o), delete: enqueue });
  profiles.addHandler({ add: enqueueOwner, update: (_old, p) => enqueueOwner(p), delete: enqueueOwner });
  if (opts.accountCache)
    onAccountChange(opts.accountCache, (name) => {
      for (const o of orders.list()) if (opts.accounts.accountName(o.spec) === name) enqueue(o);
    });
  // A lost activation Secret is rebuilt by the order from its profile list; one made in its place by
  // someone else is found out (its UID is not the recorded one).
  const wake = (s: KubeObject, replaced: boolean) => {
    const name = s.metadata.labels?.[LABELS.profile];
    const p = name ? profiles.get(s.metadata.namespace, name) : undefined;
    const recorded = (p?.status?.activationSecretRef as { uid?: string } | undefined)?.uid;
    if (p && (!replaced || (recorded !== undefined && recorded !== s.metadata.uid))) enqueueOwner(p);
  };
  secrets?.addHandler({ add: (s) => wake(s, true), delete: (s) => wake(s, false) });
  return controller;
}

/** secretPorts tell the reconciler which activation Secrets exist, and when that changed. */
function secretPorts(secrets: NamespacedCache<KubeObject> | undefined) {
  if (!secrets) return {};
  return {
    // The one the controller made: a Secret of that name with another UID is someone else's.
    secretExists: (ns: string, name: string, uid?: string) => {
      const found = secrets.get(ns, name);
      return found !== undefined && (uid === undefined || found.metadata.uid === uid);
    },
    secretsChangeCount: () => secrets.changeCount(),
  };
}

/** How long the apiserver's "admitted" is taken as still true: about a round retried after a conflict. */
const ADMISSION_TTL_MS = 2_000;

/**
 * accountFor is the Soracom account an order spends from, as its SoracomAccount (or the default) allows:
 * the client, the key its answers are kept under, and the account's durable ledgers; or the refusal.
 */
async function accountFor(accounts: Accounts, order: EsimProfileOrder): Promise<AccountAccess> {
  // A deleted order settles what it holds (drafts to cancel, creates to wait for) with its bound account.
  const bound = order.metadata.deletionTimestamp ? order.status?.account : undefined;
  const claimant = {
    namespace: order.metadata.namespace ?? "",
    accountRef: bound ? { name: bound } : order.spec.accountRef,
    credentialsRef: order.spec.credentialsRef,
  };
  const name = accounts.accountName(claimant);
  const r = await accounts.resolve(claimant);
  if (r.ok) {
    const { account, client, key, forget } = r.resolved;
    const { spend, terminations } = account;
    const pollBudget = account.policy.pollBudget;
    return {
      key,
      ...(name ? { name } : {}),
      client,
      credentials: { ok: true },
      spend,
      terminations,
      forget,
      ...(pollBudget !== undefined ? { pollBudget } : {}),
    };
  }
  // Refused: nothing is read or sent. Budgets are those of no account at all: none left.
  return {
    key: "refused",
    ...(name ? { name } : {}),
    credentials: { ok: false, reason: r.reason, message: r.message },
    spend: NO_SPEND,
    terminations: NO_TERMINATIONS,
    forget: () => undefined,
  };
}

const NO_SPEND: AccountAccess["spend"] = {
  state: () => ({ remaining: 0, limit: 0, windowMs: 0 }),
  record: async () => false,
};
const NO_TERMINATIONS: AccountAccess["terminations"] = {
  check: () => ({ allowed: false, remaining: 0, limit: 0, windowMs: 0 }),
  consume: async () => false,
};
