import fs from "node:fs";
import path from "node:path";
import { parseDuration } from "../controller/config.js";
import { type CeilingResult, runCeiling } from "./ceiling.js";
import type { BenchCluster } from "./cluster.js";
import { type ControllerRun, controllerArgs, readyz, startController } from "./controller.js";
import { type ApiserverCounts, diffCounts, MemorySampler, parseSamples, sumMetric, total } from "./metrics.js";
import { type CallRatio, callRatio, coldMinimum, restartMinimum, steadyMinimum } from "./minimum.js";
import { ReadyWatch } from "./readiness.js";
import {
  type BenchSimulator,
  countBy,
  type SoracomCall,
  simulatorOrders,
  startBenchSimulator,
  throttled,
} from "./soracom.js";

/**
 * One benchmark case: N profiles at one simulator latency, through every phase in one run:
 * ceiling → cold order → apply latency → steady state → restart. Each phase reads the Soracom calls the
 * simulator saw, the apiserver's request counters and the controller's own /metrics.
 */

export interface CaseOptions {
  n: number;
  latencyMs: number;
  pollActive: string;
  pollStable: string;
  concurrency: number;
  soracomRequestsPerSecond: number;
  soracomMaxConcurrency?: number;
  ceilingParallelism: number;
  steadyWindowMs: number;
  latencyApplies: number;
  timeoutMs: number;
  skipCeiling?: boolean;
  cpuProfileDir?: string;
  heapSnapshotDir?: string;
  /** The controller's log level, and a folder for its logs (one file per case). */
  controllerLogLevel?: string;
  controllerNodeOptions?: string;
  controllerCli?: string;
  logDir?: string;
  /** The vendor's per-minute limit on the polled paths (getProfileOrder, listOrderedProfiles); unset: none. */
  pollLimitPerMinute?: number;
  /** The controller's --soracom-poll-budget (calls per minute); unset: the product default. */
  pollBudget?: string;
  /** The fleet as EsimProfileOrders of at most this many profiles each (default: one order of N). */
  ordersOf?: number;
  log: (line: string) => void;
}

export interface CaseResult {
  n: number;
  latencyMs: number;
  controllerArgs: string[];
  /** NODE_OPTIONS the controller ran with ("" = Node's defaults). */
  nodeOptions: string;
  ceiling?: CeilingResult;
  cold: {
    wallMs: number;
    profilesPerSecond: number;
    ceilingRatio?: number;
    orderReadyMs: number;
    firstCreateMs: number;
    /** Soracom calls by "operation status", and by operation per 5 s after the apply (where time went). */
    soracomByStatus: Record<string, number>;
    soracomTimeline: Array<{ fromS: number; calls: Record<string, number> }>;
    /** Apply → first and last EsimProfile seen; how long a profile waited from appearing to Ready. */
    timeline: { firstSeenMs: number; lastSeenMs: number; readyLagP50Ms: number; readyLagMaxMs: number };
    soracom: CallRatio;
    apiserver: ApiserverCounts;
    apiserverTotal: number;
    cpuSeconds: number;
    /** Soracom answers 429 (rate limited). */
    throttled: number;
  };
  latency: { applies: number; p50Ms: number; p99Ms: number; maxMs: number; samplesMs: number[] };
  steady: {
    windowMs: number;
    openOrders: number;
    soracomPerMinute: number;
    minimumPerMinute: number;
    soracom: CallRatio;
    apiserverPerMinute: number;
    apiserver: ApiserverCounts;
    cpuPercent: number;
    throttled: number;
    /** The poll budget the controller reports (calls/min, summed over accounts; undefined: none) and the effective stable interval. */
    pollBudgetPerMinute?: number;
    effectivePollIntervalS?: number;
    /**
     * How long orders actually waited between two lists, by the simulator's record: the median gap of the
     * lists that arrived in the window (undefined: none did).
     */
    waitedPollIntervalS?: number;
    /** Resident memory and heap at the end of the window (everything cached, nothing moving). */
    rssBytes: number;
    heapUsedBytes: number;
  };
  restart: {
    syncedMs: number;
    reconciledMs: number;
    readyAfter: number;
    soracom: CallRatio;
    apiserver: ApiserverCounts;
    apiserverTotal: number;
    peakRssBytes: number;
    peakHeapUsedBytes: number;
    throttled: number;
  };
  memory: {
    peakRssBytes: number;
    peakHeapUsedBytes: number;
    idleRssBytes: number;
    idleHeapUsedBytes: number;
    coldAtPeak?: {
      rssBytes: number;
      heapUsedBytes: number;
      heapTotalBytes: number;
      externalBytes: number;
      secondsAfterStart: number;
    };
  };
}

export async function runCase(cluster: BenchCluster, o: CaseOptions): Promise<CaseResult> {
  const soracom = await startBenchSimulator(o.latencyMs, o.pollLimitPerMinute);
  try {
    return await phases(cluster, soracom, o);
  } finally {
    await soracom.close();
  }
}

async function phases(cluster: BenchCluster, soracom: BenchSimulator, o: CaseOptions): Promise<CaseResult> {
  if (o.logDir) fs.mkdirSync(o.logDir, { recursive: true });
  const label = `N=${o.n} latency=${o.latencyMs}ms`;
  let ceiling: CeilingResult | undefined;
  if (!o.skipCeiling) {
    o.log(`${label}: ceiling (plain client loop, parallelism ${o.ceilingParallelism})`);
    ceiling = await runCeiling(cluster, o.n, o.ceilingParallelism);
    o.log(`${label}: ceiling ${fmtS(ceiling.wallMs)}, ${ceiling.profilesPerSecond.toFixed(1)} profiles/s`);
  }

  const fleetNs = await cluster.createNamespace("bench-fleet");
  const latencyNs = await cluster.createNamespace("bench-latency");
  const ctlOpts = {
    kubeconfig: cluster.info.kubeconfigPath,
    soracomEndpoint: soracom.url,
    namespaces: [fleetNs, latencyNs],
    pollActive: o.pollActive,
    pollStable: o.pollStable,
    concurrency: o.concurrency,
    soracomRequestsPerSecond: o.soracomRequestsPerSecond,
    ...(o.soracomMaxConcurrency ? { soracomMaxConcurrency: o.soracomMaxConcurrency } : {}),
    ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}),
    ...(o.heapSnapshotDir ? { heapSnapshotDir: o.heapSnapshotDir } : {}),
    ...(o.controllerLogLevel ? { logLevel: o.controllerLogLevel } : {}),
    ...(o.controllerNodeOptions ? { nodeOptions: o.controllerNodeOptions } : {}),
    ...(o.controllerCli ? { cli: o.controllerCli } : {}),
    ...(o.logDir ? { logFile: path.join(o.logDir, `controller-n${o.n}-l${o.latencyMs}.log`) } : {}),
    ...(o.pollBudget ? { extraArgs: ["--soracom-poll-budget", o.pollBudget] } : {}),
  };
  const pollActiveMs = parseDuration(o.pollActive, "poll-active");
  const pollStableMs = parseDuration(o.pollStable, "poll-stable");

  // Cold order.
  let ctl = await startController(ctlOpts);
  let sampler = new MemorySampler(ctl).start();
  const ctlStartedAt = ctl.startedAt;
  await until(() => readyz(ctl), 120_000, "controller ready");
  // The start-up orphan sweep (one listProfileOrders) belongs to the restart figures, not these.
  await nextCall(soracom, "listProfileOrders", 15_000).catch(() => undefined);
  const fleet = await new ReadyWatch(cluster.kube, fleetNs).start();
  const idle = (await sampler.sample()) ?? { rssBytes: 0, heapUsedBytes: 0, cpuSeconds: 0 };
  soracom.mark();
  const apiBefore = await cluster.apiserverRequests();
  o.log(`${label}: cold order of ${o.n} profiles`);
  const appliedAt = Date.now();
  const fleetOrderNames = fleetOrders(o.n, o.ordersOf);
  for (const [name, quantity] of fleetOrderNames) {
    await cluster.applyOrder(fleetNs, name, { subscription: "planX3", quantity });
  }
  const readyAt = await fleet.until(o.n, o.timeoutMs);
  const orderReadyAt = await until(
    async () => {
      for (const [name] of fleetOrderNames) if (!isReady(await cluster.getOrder(fleetNs, name))) return false;
      return true;
    },
    120_000,
    "orders Ready",
  );
  const coldCalls = soracom.calls();
  const firstCreate = coldCalls.find((c) => c.operation === "createProfileOrder")?.arrivedAt ?? appliedAt;
  const soracomOrders = simulatorOrders(soracom.sim);
  const coldCpu = (await sampler.sample())?.cpuSeconds ?? 0;
  const apiCold = diffCounts(apiBefore, await cluster.apiserverRequests());
  const wallMs = readyAt - appliedAt;
  const cold = {
    wallMs,
    profilesPerSecond: o.n / (wallMs / 1000),
    ...(ceiling ? { ceilingRatio: o.n / (wallMs / 1000) / ceiling.profilesPerSecond } : {}),
    orderReadyMs: orderReadyAt - appliedAt,
    firstCreateMs: firstCreate - appliedAt,
    timeline: fleet.timeline(appliedAt),
    soracomByStatus: byStatus(coldCalls),
    soracomTimeline: timeline(coldCalls, appliedAt, 5_000),
    soracom: callRatio(
      soracom.counts(),
      coldMinimum(soracomOrders, {
        pollActiveMs,
        pollStableMs,
        endedAt: orderReadyAt,
        loggedIn: (soracom.counts().auth ?? 0) > 0,
        listed: soracom.counts().listOrderedProfiles ?? 0,
      }),
    ),
    apiserver: apiCold,
    apiserverTotal: total(apiCold),
    cpuSeconds: coldCpu - idle.cpuSeconds,
    throttled: throttled(coldCalls),
  };
  o.log(
    `${label}: cold ${fmtS(wallMs)} (${cold.profilesPerSecond.toFixed(1)} profiles/s), Soracom ${cold.soracom.total} calls vs minimum ${cold.soracom.minimumTotal}`,
  );

  // Apply → create latency, one order of one profile at a time, with the fleet in place.
  o.log(`${label}: ${o.latencyApplies} applies of quantity 1`);
  const latencyWatch = await new ReadyWatch(cluster.kube, latencyNs).start();
  const samplesMs: number[] = [];
  for (let i = 0; i < o.latencyApplies; i++) {
    const arrived = nextCall(soracom, "createProfileOrder", 60_000);
    const at = Date.now();
    await cluster.applyOrder(latencyNs, `single-${i}`, { subscription: "planX3", quantity: 1 });
    samplesMs.push((await arrived) - at);
  }
  await latencyWatch.until(o.latencyApplies, o.timeoutMs);
  await latencyWatch.stop();
  const latency = { applies: o.latencyApplies, ...percentiles(samplesMs), samplesMs };
  o.log(`${label}: apply→create p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`);

  // Steady state: nothing changes; only the stable polls should call Soracom.
  await until(() => queuesIdle(ctl), 300_000, "work queues idle");
  await sleep(pollActiveMs * 2);
  soracom.mark();
  const steadyFrom = Date.now();
  const steadyApi0 = await cluster.apiserverRequests();
  const steadyCpu0 = (await sampler.sample())?.cpuSeconds ?? 0;
  o.log(`${label}: steady state for ${fmtS(o.steadyWindowMs)}`);
  await sleep(o.steadyWindowMs);
  const steadyEnd = await sampler.sample();
  const steadyCpu1 = steadyEnd?.cpuSeconds ?? 0;
  const steadyMetrics = parseSamples(await ctl.metrics());
  const budget = pollBudgetOf(steadyMetrics);
  const steadyApi = diffCounts(steadyApi0, await cluster.apiserverRequests());
  const openOrders = simulatorOrders(soracom.sim).filter((x) => x.status === "COMPLETED").length;
  const perMinute = 60_000 / o.steadyWindowMs;
  const gaps = soracom.listGaps(steadyFrom, steadyFrom + o.steadyWindowMs);
  const waited = gaps.length > 0 ? percentiles(gaps).p50Ms : undefined;
  // Exactly the window: calls answered while the metrics above were read belong to the next one.
  const steadyCalls = soracom.calls().filter((c) => c.arrivedAt < steadyFrom + o.steadyWindowMs);
  const steadyRatio = callRatio(
    countBy(steadyCalls),
    steadyMinimum(openOrders, o.steadyWindowMs, pollStableMs, budget.perMinute),
  );
  const steady = {
    windowMs: o.steadyWindowMs,
    openOrders,
    soracomPerMinute: steadyRatio.total * perMinute,
    minimumPerMinute: steadyRatio.minimumTotal * perMinute,
    soracom: steadyRatio,
    apiserverPerMinute: total(steadyApi) * perMinute,
    apiserver: steadyApi,
    cpuPercent: ((steadyCpu1 - steadyCpu0) / (o.steadyWindowMs / 1000)) * 100,
    throttled: throttled(steadyCalls),
    ...(budget.perMinute !== undefined ? { pollBudgetPerMinute: budget.perMinute } : {}),
    ...(budget.intervalS !== undefined ? { effectivePollIntervalS: budget.intervalS } : {}),
    ...(waited !== undefined ? { waitedPollIntervalS: waited / 1000 } : {}),
    rssBytes: steadyEnd?.rssBytes ?? 0,
    heapUsedBytes: steadyEnd?.heapUsedBytes ?? 0,
  };
  await sampler.stop();
  const coldPeak = sampler.peak();
  const coldAtPeak = sampler.atPeakRss();
  if (o.heapSnapshotDir) {
    // Steady state with everything cached: what the heap holds for N profiles (after the peaks were taken,
    // since writing a snapshot takes memory of its own).
    ctl.heapSnapshot();
    await sleep(20_000);
  }

  // Restart with everything in place.
  o.log(`${label}: restart with ${o.n + o.latencyApplies} profiles`);
  await ctl.stop();
  soracom.mark();
  const restartApi0 = await cluster.apiserverRequests();
  ctl = await startController(ctlOpts);
  sampler = new MemorySampler(ctl, 500).start();
  const syncedAt = await until(() => readyz(ctl), 120_000, "controller ready after restart");
  const profiles = o.n + o.latencyApplies;
  const orders = fleetOrderNames.length + o.latencyApplies;
  const reconciledAt = await until(() => allReconciled(ctl, profiles, orders), o.timeoutMs, "restart reconciled");
  const restartApi = diffCounts(restartApi0, await cluster.apiserverRequests());
  await sampler.stop();
  await ctl.stop();
  const allOrders = simulatorOrders(soracom.sim);
  const open = allOrders.filter((x) => x.status === "COMPLETED").length;
  const restart = {
    syncedMs: syncedAt - ctl.startedAt,
    reconciledMs: reconciledAt - ctl.startedAt,
    readyAfter: fleet.readyCount(),
    soracom: callRatio(soracom.counts(), restartMinimum(open, allOrders.length)),
    apiserver: restartApi,
    apiserverTotal: total(restartApi),
    peakRssBytes: sampler.peak().rssBytes,
    peakHeapUsedBytes: sampler.peak().heapUsedBytes,
    throttled: throttled(soracom.calls()),
  };
  await fleet.stop();
  o.log(
    `${label}: restart reconciled in ${fmtS(restart.reconciledMs)}, ${restart.soracom.mutating} mutating calls, ${restart.soracom.total} reads vs minimum ${restart.soracom.minimumTotal}`,
  );
  return {
    n: o.n,
    latencyMs: o.latencyMs,
    controllerArgs: controllerArgs(ctlOpts).filter((a) => !a.includes("kubeconfig") && !a.startsWith("/")),
    nodeOptions: o.controllerNodeOptions ?? "",
    ...(ceiling ? { ceiling } : {}),
    cold,
    latency,
    steady,
    restart,
    memory: {
      peakRssBytes: Math.max(coldPeak.rssBytes, restart.peakRssBytes),
      peakHeapUsedBytes: Math.max(coldPeak.heapUsedBytes, restart.peakHeapUsedBytes),
      idleRssBytes: idle.rssBytes,
      idleHeapUsedBytes: idle.heapUsedBytes,
      // Before the restart: what resident memory was made of when it peaked (the cold order's burst).
      ...(coldAtPeak
        ? {
            coldAtPeak: {
              rssBytes: coldAtPeak.rssBytes,
              heapUsedBytes: coldAtPeak.heapUsedBytes,
              heapTotalBytes: coldAtPeak.heapTotalBytes,
              externalBytes: coldAtPeak.externalBytes,
              secondsAfterStart: Math.round((coldAtPeak.at - ctlStartedAt) / 1000),
            },
          }
        : {}),
    },
  };
}

/** fleetOrders splits N into EsimProfileOrders of at most ordersOf profiles: [name, quantity]. */
export function fleetOrders(n: number, ordersOf = n): Array<[string, number]> {
  const count = Math.max(1, Math.ceil(n / Math.max(1, ordersOf)));
  if (count === 1) return [["fleet", n]];
  return Array.from({ length: count }, (_, i) => [`fleet-${i + 1}`, Math.min(ordersOf, n - i * ordersOf)]);
}

/** pollBudgetOf reads the poll budget (summed over accounts) and the longest effective stable interval. */
function pollBudgetOf(m: ReturnType<typeof parseSamples>): { perMinute?: number; intervalS?: number } {
  const budgets = m.filter((x) => x.name === "soracom_esim_poll_budget_calls_per_minute");
  const intervals = m.filter((x) => x.name === "soracom_esim_poll_interval_effective_seconds");
  return {
    ...(budgets.length > 0 ? { perMinute: budgets.reduce((a, x) => a + x.value, 0) } : {}),
    ...(intervals.length > 0 ? { intervalS: Math.max(...intervals.map((x) => x.value)) } : {}),
  };
}

function byStatus(calls: readonly SoracomCall[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[`${c.operation} ${c.status}`] = (out[`${c.operation} ${c.status}`] ?? 0) + 1;
  return out;
}

function timeline(calls: readonly SoracomCall[], from: number, bucketMs: number) {
  const buckets = new Map<number, Record<string, number>>();
  for (const c of calls) {
    const at = Math.floor((c.arrivedAt - from) / bucketMs) * (bucketMs / 1000);
    const b = buckets.get(at) ?? {};
    b[c.operation] = (b[c.operation] ?? 0) + 1;
    buckets.set(at, b);
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([fromS, calls]) => ({ fromS, calls }));
}

/** allReconciled: every object was reconciled at least once since start and no work is queued or running. */
async function allReconciled(ctl: ControllerRun, profiles: number, orders: number): Promise<boolean> {
  const m = parseSamples(await ctl.metrics());
  const done = (controller: string) => sumMetric(m, "controller_runtime_reconcile_total", { controller });
  return done("esimprofile") >= profiles && done("esimprofileorder") >= orders && idleIn(m);
}

async function queuesIdle(ctl: ControllerRun): Promise<boolean> {
  return idleIn(parseSamples(await ctl.metrics()));
}

function idleIn(m: ReturnType<typeof parseSamples>): boolean {
  return sumMetric(m, "workqueue_depth") === 0 && sumMetric(m, "controller_runtime_active_workers") === 0;
}

function isReady(o: { status?: { conditions?: Array<{ type: string; status: string }> } }): boolean {
  return o.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** nextCall resolves with the arrival time of the next call of operation. */
function nextCall(soracom: BenchSimulator, operation: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${operation} call within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = soracom.onCall((c) => {
      if (c.operation !== operation) return;
      clearTimeout(timer);
      off();
      resolve(c.arrivedAt);
    });
  });
}

export function percentiles(samples: readonly number[]): { p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? 0 };
}

/** until polls fn every 100 ms until it is true and returns the time it first was. */
async function until(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
