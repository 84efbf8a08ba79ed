import { hostname } from "node:os";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import type { EsimProfile, EsimProfileOrder } from "./api/types.js";
import { LABELS, MANAGER_NAME, ORDER_REF, PROFILE_REF } from "./api/vocabulary.js";
import { SpendLedger, TerminationLedger } from "./budget.js";
import { ConfigError, type ControllerConfig, loadConfig, usage } from "./config.js";
import { SoracomClients } from "./credentials.js";
import { refreshGauges } from "./gauges.js";
import { loadKubeAccess } from "./kube/access.js";
import { EventRecorder } from "./kube/events.js";
import { informersSynced, leaderHealthy, startHealthServer } from "./kube/health.js";
import { LeaderElector } from "./kube/leader.js";
import { NamespacedCache } from "./kube/multi.js";
import type { KubeObject } from "./kube/object.js";
import type { Controller } from "./kube/reconciler.js";
import { KubeClient } from "./kube/rest.js";
import { createLogger } from "./log.js";
import { createMetrics, type Metrics, OrderStatusTracker, observeSoracomRequest } from "./metrics.js";
import { OrphanSweeper } from "./order/orphans.js";
import { startOrderController } from "./order/wiring.js";
import { startProfileController } from "./profile/wiring.js";

/**
 * `soracom-esim-operator controller`: assembles the caches, the two controllers, leader election and the
 * health/metrics server, then runs until SIGTERM/SIGINT, when it drains in-flight reconciles and releases
 * the lease. Nothing reconciles before every cache synced; caches that do not sync in time end the process.
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
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
    running.done.then(resolve, resolve);
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

type Caches = ReturnType<typeof createCaches>;

/** startController starts everything and returns once the HTTP server listens. */
export async function startController(cfg: ControllerConfig): Promise<RunningController> {
  const logger = createLogger({ level: cfg.logLevel, name: "controller" });
  const access = await loadKubeAccess(cfg.kubeconfig);
  if (!access)
    throw new ConfigError("no Kubernetes cluster configured: set --kubeconfig or KUBECONFIG, or run in a pod");
  const kube = new KubeClient(access);
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const caches = createCaches(kube, cfg, logger);
  const ledgers = createLedgers(kube, cfg, logger);
  const elector = cfg.leaderElect ? newElector(kube, cfg, registry, logger) : undefined;
  const clients = createClients(kube, cfg, logger, metrics, elector);
  const events = new EventRecorder({ client: kube, component: MANAGER_NAME, logger });
  const synced = () => caches.all.every((c) => c.hasSynced());
  const shared = { cfg, kube, clients, events, metrics, registry, logger, synced, ...caches, ...ledgers };
  const controllers = [
    startOrderController({ ...shared, statusTracker: new OrderStatusTracker(metrics) }),
    startProfileController(shared),
  ];
  const orphans = new OrphanSweeper({
    clients,
    orders: caches.orders,
    metrics,
    events,
    logger,
    namespaces: cfg.namespaces,
    dryRun: cfg.dryRun,
    cancelDrafts: cfg.orphanDrafts === "cancel",
    intervalMs: cfg.orphanSweepIntervalMs,
    synced,
  });
  const run = new Run(logger);
  for (const c of caches.all) c.start();
  const sync = waitForCaches(caches, cfg.cacheSyncTimeoutMs, logger).then((ok) => {
    if (!ok) run.fail(new Error("caches did not sync in time"));
    return ok;
  });
  const workers = new Workers(controllers, orphans, ledgers, sync, logger, cfg);
  const gaugeTimer = setInterval(() => refreshGauges(metrics, caches, ledgers, Date.now()), 5_000).unref();
  if (elector) wireElection(elector, workers, run, cfg);
  else {
    metrics.leader.set(1); // a single replica without election leads ("no leader" must not fire for ever)
    void workers.start().catch((err) => run.fail(err));
  }
  const health = await startHealthServer({
    host: cfg.httpAddress.host,
    port: cfg.httpAddress.port,
    registry,
    logger,
    readiness: [informersSynced(caches.all), ...(elector ? [leaderHealthy(elector)] : [])],
  });
  logger.info({ url: health.url, leaderElect: cfg.leaderElect }, "serving /healthz, /readyz and /metrics");
  return {
    url: health.url,
    done: run.done,
    exitCode: () => run.exitCode(),
    async stop() {
      run.stopping = true;
      clearInterval(gaugeTimer);
      logger.info("shutting down: draining reconciles");
      if (elector) await elector.stop();
      await workers.stop();
      await events.flush();
      await Promise.all(caches.all.map((c) => c.stop()));
      await clients.closeAll();
      await health.close();
      kube.close();
      run.finish();
    },
  };
}

function createCaches(kube: KubeClient, cfg: ControllerConfig, logger: Logger) {
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
  return { orders, profiles, secrets, all: [orders, profiles, secrets] };
}

function createLedgers(kube: KubeClient, cfg: ControllerConfig, logger: Logger) {
  const where = { kube, namespace: cfg.leaderElectionNamespace, logger };
  return {
    spend: new SpendLedger({
      ...where,
      limit: cfg.spendBudget,
      windowMs: cfg.spendBudgetWindowMs,
      name: `${cfg.leaderElectionId}-spend-ledger`,
    }),
    terminations: new TerminationLedger({
      ...where,
      limit: cfg.terminationBudget,
      windowMs: cfg.terminationBudgetWindowMs,
      name: `${cfg.leaderElectionId}-termination-ledger`,
    }),
  };
}

function createClients(
  kube: KubeClient,
  cfg: ControllerConfig,
  logger: Logger,
  metrics: Metrics,
  elector: LeaderElector | undefined,
): SoracomClients {
  return new SoracomClients({
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
      // Names the replica, so that Soracom's support (and the simulator's call log) can tell callers apart.
      userAgent: `soracom-esim-operator (${elector?.identity ?? process.env.POD_NAME ?? hostname()})`,
      // Fencing: a replica that lost (or cannot renew) its lease sends no mutation, queued ones included.
      ...(elector ? { fence: () => elector.fenceReason() } : {}),
    },
  });
}

/** waitForCaches resolves false (after one error line naming them) when some cache did not sync in time. */
async function waitForCaches(caches: Caches, timeoutMs: number, logger: Logger): Promise<boolean> {
  const ok = (await Promise.all(caches.all.map((c) => c.waitForSync(timeoutMs)))).every(Boolean);
  if (!ok) {
    const unsynced = caches.all.flatMap((c) => c.unsynced());
    logger.error(
      { unsynced, timeoutMs },
      `caches did not sync within ${Math.round(timeoutMs / 1000)}s (${unsynced.join("; ")}): check the controller's RBAC and the apiserver; nothing was reconciled`,
    );
  }
  return ok;
}

function newElector(kube: KubeClient, cfg: ControllerConfig, registry: Registry, logger: Logger): LeaderElector {
  return new LeaderElector({
    client: kube,
    namespace: cfg.leaderElectionNamespace,
    name: cfg.leaderElectionId,
    leaseDurationMs: cfg.leaderElectionLeaseDurationMs,
    renewDeadlineMs: cfg.leaderElectionRenewDeadlineMs,
    retryPeriodMs: cfg.leaderElectionRetryPeriodMs,
    registry,
    logger,
  });
}

/** wireElection runs the workers while this replica leads; losing the lease ends the process, as in controller-runtime. */
function wireElection(elector: LeaderElector, workers: Workers, run: Run, cfg: ControllerConfig): void {
  elector.on({
    started: () => void workers.start().catch((err) => run.fail(err)),
    stopped: async () => {
      // In-flight work gets until the lease could be someone else's; the fence already stops its mutations.
      await Promise.race([
        workers.stop(),
        sleep(cfg.leaderElectionLeaseDurationMs - cfg.leaderElectionRenewDeadlineMs),
      ]);
      if (!run.stopping) run.fail(new Error("lost leadership"));
    },
  });
  void elector.run();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}

/** Workers start the controllers and the orphan sweep once the caches synced and the ledgers are read. */
class Workers {
  constructor(
    private readonly controllers: Controller[],
    private readonly orphans: OrphanSweeper,
    private readonly ledgers: { spend: SpendLedger; terminations: TerminationLedger },
    private readonly sync: Promise<boolean>,
    private readonly logger: Logger,
    private readonly cfg: ControllerConfig,
  ) {}

  async start(): Promise<void> {
    if (!(await this.sync)) return; // the process is ending: nothing reconciles on caches that never synced
    await Promise.all([this.ledgers.spend.load(), this.ledgers.terminations.load()]);
    this.logger.info({ dryRun: this.cfg.dryRun, namespaces: this.cfg.namespaces }, "caches synced; reconciling");
    for (const c of this.controllers) void c.start();
    this.orphans.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.controllers.map((c) => c.stop()), this.orphans.stop()]);
  }
}

/** Run is the process's outcome: done once stopped or failed; exit code 1 after a failure. */
class Run {
  stopping = false;
  private failed = false;
  private resolve!: () => void;
  readonly done = new Promise<void>((r) => {
    this.resolve = r;
  });

  constructor(private readonly logger: Logger) {}

  fail(err: unknown): void {
    this.logger.error({ err }, "controller failed");
    this.failed = true;
    this.resolve();
  }

  finish(): void {
    this.resolve();
  }

  exitCode(): number {
    return this.failed ? 1 : 0;
  }
}
