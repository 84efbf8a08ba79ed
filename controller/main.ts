import { Registry } from "prom-client";
import type { EsimProfile, EsimProfileOrder } from "./api/types.js";
import { LABELS, MANAGER_NAME, ORDER_KIND } from "./api/vocabulary.js";
import { SpendBudget, TerminationBudget } from "./budget.js";
import { ConfigError, type ControllerConfig, loadConfig, usage } from "./config.js";
import { SoracomClients } from "./credentials.js";
import { refreshGauges } from "./gauges.js";
import { loadKubeAccess } from "./kube/access.js";
import { EventRecorder } from "./kube/events.js";
import { informersSynced, leaderHealthy, startHealthServer } from "./kube/health.js";
import { LeaderElector } from "./kube/leader.js";
import { NamespacedCache } from "./kube/multi.js";
import { type KubeObject, objectKey } from "./kube/object.js";
import { Controller } from "./kube/reconciler.js";
import { KubeClient } from "./kube/rest.js";
import { createLogger } from "./log.js";
import { createMetrics, OrderStatusTracker, observeSoracomRequest } from "./metrics.js";
import { ORDER_REF, PROFILE_REF } from "./order/execute.js";
import { OrphanSweeper } from "./order/orphans.js";
import { createOrderReconciler, SeenProfiles } from "./order/reconciler.js";
import { startProfileController } from "./profile/wiring.js";

/**
 * `soracom-esim-operator controller`: wires informers, the two controllers, leader election, budgets
 * and the health/metrics server, then runs until SIGTERM/SIGINT, when it drains in-flight reconciles
 * (a reconcile that already called Soracom gets to record what it did) and releases the lease.
 */
export async function main(argv: string[]): Promise<number> {
  let cfg: ControllerConfig | "help";
  try {
    cfg = loadConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`soracom-esim-operator controller: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (cfg === "help") {
    process.stdout.write(usage());
    return 0;
  }
  const running = await startController(cfg);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    running.done.then(stop, stop);
  });
  await running.stop();
  return running.exitCode();
}

/** RunningController is a started controller; tests start it in-process. */
export interface RunningController {
  url: string;
  done: Promise<void>;
  stop(): Promise<void>;
  exitCode(): number;
}

/** startController starts everything and returns once the HTTP server listens. */
export async function startController(cfg: ControllerConfig): Promise<RunningController> {
  const logger = createLogger({ level: cfg.logLevel, name: "controller" });
  const access = await loadKubeAccess(cfg.kubeconfig);
  if (!access)
    throw new ConfigError("no Kubernetes cluster configured: set --kubeconfig or KUBECONFIG, or run in a pod");
  const kube = new KubeClient(access);

  const registry = new Registry();
  const metrics = createMetrics(registry);
  const statusTracker = new OrderStatusTracker(metrics);

  const orders = new NamespacedCache<EsimProfileOrder & KubeObject>({
    client: kube,
    resource: ORDER_REF,
    namespaces: cfg.namespaces,
    logger,
  });
  const profiles = new NamespacedCache<EsimProfile & KubeObject>({
    client: kube,
    resource: PROFILE_REF,
    namespaces: cfg.namespaces,
    logger,
  });
  const secrets = new NamespacedCache<KubeObject>({
    client: kube,
    resource: { group: "", version: "v1", plural: "secrets" },
    namespaces: cfg.namespaces,
    labelSelector: `${LABELS.managedBy}=${MANAGER_NAME},${LABELS.profile}`,
    logger,
    metadataOnly: true, // the cache needs to know a Secret exists, never its secrets
  });

  const clients = new SoracomClients({
    kube,
    ...(cfg.credentials ? { defaults: cfg.credentials } : {}),
    ...(cfg.soracomEndpoint ? { endpoint: cfg.soracomEndpoint } : {}),
    ...(cfg.soracomCoverage ? { coverage: cfg.soracomCoverage } : {}),
    sandbox: cfg.soracomSandbox,
    logger,
    client: {
      logger,
      requestsPerSecond: cfg.soracomRequestsPerSecond,
      maxConcurrency: cfg.soracomMaxConcurrency,
      requestTimeoutMs: cfg.soracomRequestTimeoutMs,
      onRequest: (e) => observeSoracomRequest(metrics, e),
    },
  });
  const spend = new SpendBudget(cfg.spendBudget, cfg.spendBudgetWindowMs, () => orders.list());
  const terminations = new TerminationBudget({
    limit: cfg.terminationBudget,
    windowMs: cfg.terminationBudgetWindowMs,
    kube,
    namespace: cfg.leaderElectionNamespace,
    name: `${cfg.leaderElectionId}-termination-ledger`,
    logger,
  });
  const events = new EventRecorder({ client: kube, component: MANAGER_NAME, logger });

  // What the profile informer has shown of each order's profiles: a profile shown then deleted is not remade.
  const seenProfiles = new SeenProfiles();
  const orderController = new Controller({
    name: "esimprofileorder",
    concurrency: cfg.concurrency,
    registry,
    logger,
    reconcile: createOrderReconciler({
      kube,
      orders,
      profiles,
      clients,
      spend,
      events,
      metrics,
      statusTracker,
      logger,
      secretExists: (ns, name) => secrets.get(ns, name) !== undefined,
      soracomParallelism: cfg.soracomMaxConcurrency,
      seen: seenProfiles,
      config: {
        maxQuantityPerResource: cfg.maxQuantityPerResource,
        inProgressAlertAfterMs: cfg.inProgressAlertAfterMs,
        draftExpiryWarningMs: cfg.draftExpiryWarningMs,
        createGracePeriodMs: cfg.createGracePeriodMs,
        pollActiveMs: cfg.pollIntervalActiveMs,
        pollStableMs: cfg.pollIntervalStableMs,
        dryRun: cfg.dryRun,
      },
    }),
  });
  const profileController = startProfileController({
    cfg,
    kube,
    profiles,
    orders,
    clients,
    terminations,
    events,
    metrics,
    registry,
    logger,
  });

  const ownerOrderKey = (p: KubeObject): string | undefined => {
    const owner = (p.metadata.ownerReferences as Array<{ kind?: string; name?: string }> | undefined)?.find(
      (r) => r.kind === ORDER_KIND,
    );
    return owner?.name ? `${p.metadata.namespace}/${owner.name}` : undefined;
  };
  orders.addHandler({
    add: (o) => orderController.enqueue(objectKey(o)),
    update: (_old, o) => orderController.enqueue(objectKey(o)),
    delete: (o) => orderController.enqueue(objectKey(o)),
  });
  const onProfile = (p: KubeObject, shown = true) => {
    profileController.enqueue(objectKey(p));
    const owner = ownerOrderKey(p);
    if (!owner) return;
    if (shown) seenProfiles.saw(owner, p as EsimProfile);
    orderController.enqueue(owner);
  };
  profiles.addHandler({
    add: (p) => onProfile(p),
    update: (_old, p) => onProfile(p),
    delete: (p) => onProfile(p, false),
  });
  const onSecret = (s: KubeObject) => {
    const profile = s.metadata.labels?.[LABELS.profile];
    const p = profile ? profiles.get(s.metadata.namespace, profile) : undefined;
    if (p) onProfile(p);
  };
  secrets.addHandler({ delete: onSecret });

  const orphans = new OrphanSweeper({
    clients,
    orders,
    metrics,
    events,
    logger,
    namespaces: cfg.namespaces,
    dryRun: cfg.dryRun,
    cancelDrafts: cfg.orphanDrafts === "cancel",
    intervalMs: cfg.orphanSweepIntervalMs,
  });

  const caches = [orders, profiles, secrets];
  for (const c of caches) c.start();
  const gaugeTimer = setInterval(
    () => refreshGauges(metrics, { orders, profiles }, { spend, terminations }, Date.now()),
    5_000,
  );
  gaugeTimer.unref();

  let elector: LeaderElector | undefined;
  let failed = false;
  let stopping = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const startWorkers = async () => {
    await Promise.all(caches.map((c) => c.waitForSync(120_000)));
    await terminations.load();
    logger.info({ dryRun: cfg.dryRun, namespaces: cfg.namespaces }, "caches synced; reconciling");
    void orderController.start();
    void profileController.start();
    orphans.start();
  };
  if (cfg.leaderElect) {
    elector = new LeaderElector({
      client: kube,
      namespace: cfg.leaderElectionNamespace,
      name: cfg.leaderElectionId,
      leaseDurationMs: cfg.leaderElectionLeaseDurationMs,
      renewDeadlineMs: cfg.leaderElectionRenewDeadlineMs,
      retryPeriodMs: cfg.leaderElectionRetryPeriodMs,
      registry,
      logger,
      onStartedLeading: () => void startWorkers().catch(fail),
      onStoppedLeading: async () => {
        await Promise.all([orderController.stop(), profileController.stop(), orphans.stop()]);
        // Like controller-runtime: a replica that lost the lease exits and starts again as a follower.
        if (!stopping) fail(new Error("lost leadership"));
      },
    });
    void elector.run();
  } else {
    // A single replica without election is the leader (soracom_esim_leader must not read 0, or the
    // "no leader" alert fires for ever).
    metrics.leader.set(1);
    void startWorkers().catch(fail);
  }
  function fail(err: unknown) {
    logger.error({ err }, "controller failed");
    failed = true;
    resolveDone();
  }

  const health = await startHealthServer({
    host: cfg.httpAddress.host,
    port: cfg.httpAddress.port,
    registry,
    logger,
    readiness: [informersSynced(caches), ...(elector ? [leaderHealthy(elector)] : [])],
  });
  logger.info({ url: health.url, leaderElect: cfg.leaderElect }, "serving /healthz, /readyz and /metrics");

  return {
    url: health.url,
    done,
    exitCode: () => (failed ? 1 : 0),
    async stop() {
      stopping = true;
      clearInterval(gaugeTimer);
      logger.info("shutting down: draining reconciles");
      if (elector) await elector.stop();
      await Promise.all([orderController.stop(), profileController.stop(), orphans.stop()]);
      await events.flush();
      await Promise.all(caches.map((c) => c.stop()));
      await clients.closeAll();
      await health.close();
      kube.close();
      resolveDone();
    },
  };
}
