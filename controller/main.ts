import { hostname } from "node:os";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { startAccountController } from "./account/wiring.js";
import { Accounts } from "./accounts.js";
import { ownAnnotation } from "./api/cache.js";
import type { EsimProfile, EsimProfileOrder, SoracomAccount } from "./api/types.js";
import { ACCOUNT_REF, LABELS, MANAGER_NAME, ORDER_REF, PROFILE_REF } from "./api/vocabulary.js";
import { ConfigError, type ControllerConfig, leaseName, loadConfig, usage } from "./config.js";
import { SoracomClients } from "./credentials.js";
import { refreshGauges, refreshPollGauges } from "./gauges.js";
import { loadKubeAccess } from "./kube/access.js";
import { EventRecorder } from "./kube/events.js";
import { informersSynced, leaderHealthy, startHealthServer } from "./kube/health.js";
import { describeSelector } from "./kube/labels.js";
import { LeaderElector } from "./kube/leader.js";
import { NamespacedCache } from "./kube/multi.js";
import { NamespaceLabels } from "./kube/namespaces.js";
import { type KubeObject, objectKey } from "./kube/object.js";
import type { Controller } from "./kube/reconciler.js";
import { KubeClient } from "./kube/rest.js";
import { EVERYTHING, Shard } from "./kube/shard.js";
import { createLogger } from "./log.js";
import { createMetrics, type Metrics, OrderStatusTracker, observeSoracomRequest } from "./metrics.js";
import { OrphanSweeper, sweepSources } from "./order/orphans.js";
import { PollPacer } from "./order/pacing.js";
import { startOrderController } from "./order/wiring.js";
import { startProfileController } from "./profile/wiring.js";
import { version } from "./version.js";

/**
 * `soracom-esim-operator controller`: assembles the caches, the two controllers, leader election and the
 * health/metrics server, then runs until SIGTERM/SIGINT, when it drains in-flight reconciles and releases
 * the lease. Nothing reconciles before every cache synced; caches that do not sync in time end the process.
 */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--version")) {
    process.stdout.write(`soracom-esim-operator ${version()}\n`);
    return 0;
  }
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
  const elector = cfg.leaderElect ? newElector(kube, cfg, registry, logger) : undefined;
  const clients = createClients(kube, cfg, logger, metrics, elector);
  const accounts = createAccounts(kube, cfg, clients, caches, logger);
  const events = new EventRecorder({ client: kube, component: MANAGER_NAME, logger });
  const synced = () => caches.all.every((c) => c.hasSynced());
  const shard = shardOf(cfg, caches);
  const base = { cfg, kube, accounts, events, metrics, registry, logger, synced, shard };
  const shared = { ...base, orders: caches.orders, profiles: caches.profiles, accountCache: caches.accounts };
  const pacer = newPacer(cfg);
  const controllers = startReconcilers(shared, caches, pacer);
  const orphans = createOrphanSweeper(shared, caches);
  const run = new Run(logger);
  for (const c of caches.all) c.start();
  const sync = waitForCaches(caches, cfg.cacheSyncTimeoutMs, logger).then((ok) => {
    if (!ok) run.fail(new Error("caches did not sync in time"));
    return ok;
  });
  const workers = new Workers(controllers, orphans, accounts, sync, logger, cfg);
  const gauges = () => refreshAllGauges(metrics, caches, accounts, pacer, shard);
  const gaugeTimer = setInterval(gauges, 5_000).unref();
  if (elector) wireElection(elector, workers, run, cfg);
  else {
    metrics.leader.set(1); // a single replica without election leads ("no leader" must not fire for ever)
    void workers.start().catch((err) => run.fail(err));
  }
  const readiness = [informersSynced(caches.all), ...(elector ? [leaderHealthy(elector)] : [])];
  const health = await startHealthServer({ ...cfg.httpAddress, registry, logger, readiness });
  logger.info({ url: health.url, leaderElect: cfg.leaderElect }, "serving /healthz, /readyz and /metrics");
  const stop = async () => {
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
  };
  return { url: health.url, done: run.done, exitCode: () => run.exitCode(), stop };
}

type Shared = Omit<Parameters<typeof startProfileController>[0], "orders"> & {
  orders: Caches["orders"];
  shard: Shard;
  accounts: Accounts;
};

/** startReconcilers assembles the three controllers (order, profile, account) on the shared parts. */
function startReconcilers(shared: Shared, caches: Caches, pacer: PollPacer): Controller[] {
  const { shard, metrics } = shared;
  const polling = { pacer, shard: shard.name };
  const controllers = [
    startOrderController({
      ...shared,
      ...(caches.secrets ? { secrets: caches.secrets } : {}),
      statusTracker: new OrderStatusTracker(metrics),
      pacer: polling.pacer,
    }),
    startProfileController(shared),
    startAccountController({ ...shared, accountCache: caches.accounts, polling, sharedLedgers: shard.sharded }),
  ];
  requeueOnRelabel(caches, controllers, shard);
  return controllers;
}

/** refreshAllGauges recomputes the cache-counted gauges; the accounts deleted since have no series left. */
function refreshAllGauges(metrics: Metrics, caches: Caches, accounts: Accounts, pacer: PollPacer, shard: Shard): void {
  const exists = (name: string) => accounts.policy(name) !== undefined;
  const current = accounts.known().filter((a) => exists(a.name));
  const accountOf = (o: { spec?: { accountRef?: { name: string } | undefined } }) => accounts.accountName(o.spec ?? {});
  refreshGauges(metrics, caches, current, Date.now(), (ns) => shard.owns(ns), accountOf);
  refreshPollGauges(metrics, pacer, exists);
}

/** shardOf is the namespaces this process owns: those --shard-selector selects, or every one. */
function shardOf(cfg: ControllerConfig, caches: Caches): Shard {
  if (!cfg.shard) return EVERYTHING;
  return new Shard(cfg.shard.name, cfg.shard.selector, (ns) => caches.namespaces.labels(ns));
}

/**
 * requeueOnRelabel: a namespace's objects are queued again when it appears (the namespace cache may sync
 * after the order and profile caches, whose first events then found it nobody's) and when its labels
 * change (it may have changed shards: the new owner takes its objects up, the old one forgets them).
 */
function requeueOnRelabel(caches: Caches, controllers: Controller[], shard: Shard): void {
  const [orderController, profileController] = controllers;
  const requeue = (namespace: string) => {
    for (const o of caches.orders.list(namespace)) orderController?.enqueue(objectKey(o));
    for (const p of caches.profiles.list(namespace)) profileController?.enqueue(objectKey(p));
  };
  const same = (a?: Record<string, string>, b?: Record<string, string>) => JSON.stringify(a) === JSON.stringify(b);
  caches.namespaces.informer.addHandler({
    add: (ns) => {
      if (shard.sharded && shard.owns(ns.metadata.name)) requeue(ns.metadata.name);
    },
    update: (old, ns) => {
      if (shard.sharded && !same(old.metadata.labels, ns.metadata.labels)) requeue(ns.metadata.name);
    },
  });
}

/** newPacer paces and budgets the order controller's Soracom polls, per account. */
function newPacer(cfg: ControllerConfig): PollPacer {
  return new PollPacer({
    pollActiveMs: cfg.pollIntervalActiveMs,
    pollStableMs: cfg.pollIntervalStableMs,
    pollBudgetPerMinute: cfg.soracomPollBudget,
  });
}

/** createOrphanSweeper reports (and in cancel mode cancels) Soracom orders whose resource is gone. */
function createOrphanSweeper(
  shared: {
    cfg: ControllerConfig;
    accounts: Accounts;
    metrics: Metrics;
    events: EventRecorder;
    logger: Logger;
    synced: () => boolean;
    shard: Shard;
  },
  caches: Caches,
): OrphanSweeper {
  const { cfg } = shared;
  return new OrphanSweeper({
    // A shard lists the orders of the accounts its own namespaces use (it judges no other's orders anyway).
    sources: () =>
      sweepSources(
        shared.accounts,
        caches.orders.list().filter((o) => shared.shard.owns(o.metadata.namespace)),
      ),
    orders: caches.orders,
    metrics: shared.metrics,
    events: shared.events,
    logger: shared.logger,
    namespaces: cfg.namespaces,
    ...(shared.shard.sharded
      ? { shard: { owns: (ns: string) => shared.shard.owns(ns), known: () => caches.namespaces.names() } }
      : {}),
    dryRun: cfg.dryRun,
    cancelDrafts: cfg.orphanDrafts === "cancel",
    intervalMs: cfg.orphanSweepIntervalMs,
    synced: shared.synced,
  });
}

function createCaches(kube: KubeClient, cfg: ControllerConfig, logger: Logger) {
  const watched = (resource: { group: string; version: string; plural: string }) => ({
    client: kube,
    resource,
    namespaces: cfg.namespaces,
    logger,
  });
  const orders = new NamespacedCache<EsimProfileOrder & KubeObject>(watched(ORDER_REF));
  const profiles = new NamespacedCache<EsimProfile & KubeObject>({
    ...watched(PROFILE_REF),
    keepAnnotation: ownAnnotation, // the template's annotations, copied for people and tools, are not read
  });
  // Cluster-scoped: the admin's accounts, and the namespace labels their selectors read.
  const accounts = new NamespacedCache<SoracomAccount & KubeObject>({
    client: kube,
    resource: ACCOUNT_REF,
    namespaces: [],
    logger,
  });
  const namespaces = new NamespaceLabels({ client: kube, logger });
  // Activation Secrets are watched only when asked for (list/watch on secrets): a deleted one is rebuilt.
  const secrets = cfg.watchActivationSecrets
    ? new NamespacedCache<KubeObject>({
        ...watched({ group: "", version: "v1", plural: "secrets" }),
        labelSelector: `${LABELS.managedBy}=${MANAGER_NAME},${LABELS.profile}`,
        metadataOnly: true, // the cache needs to know a Secret exists, never its secrets
        keepAnnotation: () => false,
      })
    : undefined;
  const all: Array<Pick<NamespacedCache<KubeObject>, "start" | "stop" | "hasSynced" | "waitForSync" | "unsynced">> = [
    orders,
    profiles,
    accounts,
    namespaceCache(namespaces),
    ...(secrets ? [secrets] : []),
  ];
  return { orders, profiles, accounts, namespaces, ...(secrets ? { secrets } : {}), all };
}

/** namespaceCache lets the namespace informer be started, stopped and waited for like the other caches. */
function namespaceCache(n: NamespaceLabels) {
  const i = n.informer;
  return {
    start: () => i.start(),
    stop: () => i.stop(),
    hasSynced: () => i.hasSynced(),
    waitForSync: (ms: number) => i.waitForSync(ms),
    unsynced: () => (i.hasSynced() ? [] : ["namespaces (cluster-scoped)"]),
  };
}

function createAccounts(
  kube: KubeClient,
  cfg: ControllerConfig,
  clients: SoracomClients,
  caches: Caches,
  logger: Logger,
): Accounts {
  const implicit =
    cfg.credentials && cfg.defaultAccount
      ? {
          credentials: cfg.credentials,
          policy: {
            adoption: { allowed: true, terminate: true },
            tenantCredentials: true,
            destination: {
              ...(cfg.soracomEndpoint ? { endpoint: cfg.soracomEndpoint } : {}),
              ...(cfg.soracomCoverage ? { coverage: cfg.soracomCoverage } : {}),
              sandbox: cfg.soracomSandbox,
            },
            budgets: {
              spend: {
                limit: cfg.spendBudget,
                windowMs: cfg.spendBudgetWindowMs,
                source: "controller flags --spend-budget and --spend-budget-window, chart value budgets.spend",
              },
              termination: {
                limit: cfg.terminationBudget,
                windowMs: cfg.terminationBudgetWindowMs,
                source:
                  "controller flags --termination-budget and --termination-budget-window, chart value budgets.termination",
              },
            },
          },
          namespaces: cfg.implicitAccountNamespaces,
        }
      : undefined;
  if (implicit)
    logger.warn(
      { account: cfg.defaultAccount, implicitAccountNamespaces: cfg.implicitAccountNamespaces },
      "single-tenant mode: credentials from the environment; every watched namespace may order and terminate with them while no SoracomAccount exists, and once one does only the namespaces of --implicit-account-namespaces (unless a SoracomAccount of that name exists)",
    );
  return new Accounts({
    clients,
    kube,
    accounts: caches.accounts,
    namespaces: caches.namespaces,
    operatorNamespace: cfg.operatorNamespace,
    ledgerPrefix: cfg.leaderElectionId,
    ...(cfg.defaultAccount ? { defaultAccount: cfg.defaultAccount } : {}),
    ...(implicit ? { implicit } : {}),
    logger,
  });
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
    logger,
    client: {
      logger,
      requestsPerSecond: cfg.soracomRequestsPerSecond,
      maxConcurrency: cfg.soracomMaxConcurrency,
      requestTimeoutMs: cfg.soracomRequestTimeoutMs,
      callDeadlineMs: cfg.soracomCallDeadlineMs,
      maxServerWaitMs: cfg.soracomMaxServerWaitMs,
      maxPages: cfg.soracomMaxPages,
      maxResponseBytes: cfg.soracomMaxResponseBytes,
      onRequest: (e) => observeSoracomRequest(metrics, e),
      onGuard: (e) => metrics.apiGuards.inc({ operation: e.operation, code: e.code }),
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
    name: leaseName(cfg),
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

/** Workers start the controllers and the orphan sweep once the caches synced and the default ledgers are read. */
class Workers {
  constructor(
    private readonly controllers: Controller[],
    private readonly orphans: OrphanSweeper,
    private readonly accounts: Accounts,
    private readonly sync: Promise<boolean>,
    private readonly logger: Logger,
    private readonly cfg: ControllerConfig,
  ) {}

  async start(): Promise<void> {
    if (!(await this.sync)) return; // the process is ending: nothing reconciles on caches that never synced
    // A default account's ledgers that cannot be read stop the start (others are read when first used).
    if (this.cfg.defaultAccount) await this.accounts.get(this.cfg.defaultAccount);
    const shard = this.cfg.shard ? `${this.cfg.shard.name}: ${describeSelector(this.cfg.shard.selector)}` : undefined;
    this.logger.info({ dryRun: this.cfg.dryRun, namespaces: this.cfg.namespaces, shard }, "caches synced; reconciling");
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
