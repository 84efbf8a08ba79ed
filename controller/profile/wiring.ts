import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { EsimProfile, EsimProfileOrder, OwnerReference } from "../api/types.js";
import { GROUP, ORDER_KIND, PROFILE_PLURAL, VERSION } from "../api/vocabulary.js";
import { type TerminationBudget, TerminationBudgetExhaustedError } from "../budget.js";
import type { ControllerConfig } from "../config.js";
import type { SoracomClients } from "../credentials.js";
import type { EventRecorder } from "../kube/events.js";
import type { ObjectCache } from "../kube/multi.js";
import { Controller } from "../kube/reconciler.js";
import { type KubeClient, resourcePath } from "../kube/rest.js";
import { addFinalizer, removeFinalizer } from "../kube/status.js";
import type { Metrics } from "../metrics.js";
import type { ProfileReconcilerDeps, TerminationBudget as TerminationBudgetPort } from "./ports.js";
import { createProfileReconciler } from "./reconciler.js";

/**
 * startProfileController adapts the controller's real parts (caches, Soracom clients, the termination
 * ledger, events, metrics) to the profile reconciler's ports and wraps it in a Controller.
 */
export function startProfileController(opts: {
  cfg: ControllerConfig;
  kube: KubeClient;
  profiles: ObjectCache<EsimProfile>;
  orders: ObjectCache<EsimProfileOrder>;
  clients: SoracomClients;
  terminations: TerminationBudget;
  events: EventRecorder;
  metrics: Metrics;
  registry: Registry;
  logger: Logger;
}): Controller {
  const { kube, profiles, orders } = opts;
  const ref = { group: GROUP, version: VERSION, plural: PROFILE_PLURAL };
  const ownerOrder = (p: EsimProfile) => {
    const owner = (p.metadata.ownerReferences as OwnerReference[] | undefined)?.find((r) => r.kind === ORDER_KIND);
    return owner ? orders.get(p.metadata.namespace, owner.name) : undefined;
  };
  const deps: ProfileReconcilerDeps = {
    profiles: { get: (ns, name) => profiles.get(ns, name) },
    soracomFor: (p) =>
      opts.clients.forRef(p.metadata.namespace ?? "", p.spec.credentialsRef ?? ownerOrder(p)?.spec.credentialsRef),
    status: {
      patchStatus: (p, patch) =>
        kube.request<EsimProfile>({
          method: "PATCH",
          path: resourcePath({ ...ref, namespace: p.metadata.namespace }, p.metadata.name, "status"),
          contentType: "application/merge-patch+json",
          body: { status: patch },
        }),
    },
    finalizers: {
      add: (p, f) => addFinalizer(kube, ref, p, f),
      remove: (p, f) => removeFinalizer(kube, ref, p, f),
    },
    events: { record: (p, type, reason, message) => opts.events.record(p, type, reason, message) },
    terminationBudget: terminationBudgetPort(opts.terminations),
    metrics: {
      simTerminated: (namespace, reason) => opts.metrics.simsTerminated.inc({ namespace, reason }),
      profilePhaseChanged: () => undefined, // profiles by phase are counted from the cache at scrape time
    },
    clock: { now: () => Date.now() },
    logger: opts.logger,
    dryRun: opts.cfg.dryRun,
    isPaused: (p) => ownerOrder(p)?.spec.paused === true,
  };
  const reconciler = createProfileReconciler(deps);
  return new Controller({
    name: "esimprofile",
    concurrency: opts.cfg.concurrency,
    registry: opts.registry,
    logger: opts.logger,
    reconcile: (key, signal) => reconciler.reconcile(key, signal),
  });
}

/**
 * terminationBudgetPort adapts the ledger to the profile reconciler. consume records past the limit only
 * with the resource's override; otherwise a budget used up since the plan's check refuses the call, so
 * reconciles running at once can never terminate more than the budget between them.
 */
export function terminationBudgetPort(
  terminations: TerminationBudget,
  now: () => number = Date.now,
): TerminationBudgetPort {
  return {
    check: (at) => {
      const c = terminations.check(at);
      return {
        allowed: c.allowed,
        remaining: c.remaining ?? Number.MAX_SAFE_INTEGER,
        retryAfterMs: c.retryAfterMs,
        ...(terminations.limit !== null ? { limit: terminations.limit } : {}),
        windowMs: terminations.windowMs,
      };
    },
    consume: async (simId, override = false) => {
      const recorded = await terminations.consume(simId, now(), override);
      if (!recorded) throw new TerminationBudgetExhaustedError(simId);
    },
  };
}
