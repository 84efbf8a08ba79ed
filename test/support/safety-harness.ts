import { afterEach, expect } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { GROUP, ORDER_PLURAL, PROFILE_PLURAL, VERSION } from "../../controller/api/vocabulary.js";
import { KubeApiError } from "../../controller/kube/errors.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { namespaceName } from "../controlplane/fixture.js";
import type { Cluster } from "./cluster.js";
import {
  type ControllerProcess,
  type ControllerProcessOptions,
  eventually,
  startControllerProcess,
} from "./controller-process.js";
import { condition, type Sim, useE2E } from "./e2e.js";
import {
  checkInvariants,
  type InvariantOptions,
  type InvariantReport,
  isMutating,
  type QuantityHistory,
  readWorld,
} from "./safety-invariants.js";
import { recordScenario, type ScenarioRecord } from "./safety-summary.js";
import type { SimControl } from "./soracom-sim.js";

/**
 * The fault suite's harness: useE2E's simulator, plus a "space" per namespace with typed access to the
 * operator's resources and controller processes that may die on purpose (crash points, SIGKILL), each
 * with its termination ledger in that namespace (so no test's budget leaks into another), and `finish`,
 * which checks the invariants and records the scenario in the run's summary. The test's own namespace
 * is one space; `lane()` makes more, for scenarios that run side by side.
 */

/** Incarnation is one controller process; `proc` is undefined when it died before serving HTTP. */
export interface Incarnation {
  proc?: ControllerProcess;
  diedEarly: boolean;
  /** Resolves when the process has exited (at once if it died early). */
  exited: Promise<void>;
}

export interface SpawnOptions extends Partial<ControllerProcessOptions> {
  /** Crash point and passes to let go first (ESIM_TEST_CRASH_AT / ESIM_TEST_CRASH_SKIP). */
  crashAt?: string;
  crashSkip?: number;
}

const ORDERS = { group: GROUP, version: VERSION, plural: ORDER_PLURAL };
const PROFILES = { group: GROUP, version: VERSION, plural: PROFILE_PLURAL };

/**
 * patient retries what the apiserver turned away without doing (429, as "storage is (re)initializing"
 * on a busy machine; 503; a refused connection while it restarts) for up to 30 s: the test's own reads
 * and writes must not fail where the controller's are expected to ride it out.
 */
async function patient<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const status = err instanceof KubeApiError ? err.status : undefined;
      const transient = status === 429 || status === 503 || status === undefined;
      if (!transient || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** space binds the helpers to one namespace (read through namespaceOf at each call). */
function space(cluster: Cluster, client: KubeClient, live: Set<ControllerProcess>, file: string, ns: () => string) {
  const kube = { request: <T>(req: Parameters<KubeClient["request"]>[0]) => patient(() => client.request<T>(req)) };
  // What the test asked of each resource and when (the harness's clock): the judge of over-ordering.
  const history = new Map<string, QuantityHistory>();
  const wanted = (name: string, quantity: unknown) => {
    if (typeof quantity !== "number") return;
    const h = history.get(name) ?? { set: [], freed: [] };
    h.set.push({ at: Date.now(), quantity });
    history.set(name, h);
  };
  const orderPath = (name?: string) => resourcePath({ ...ORDERS, namespace: ns() }, name);
  const profilePath = (name?: string) => resourcePath({ ...PROFILES, namespace: ns() }, name);
  const s = {
    get namespace(): string {
      return ns();
    },
    /** spawn starts a controller process that is allowed to die before it serves (a crash point). */
    async spawn(sim: Pick<Sim, "url">, opts: SpawnOptions = {}): Promise<Incarnation> {
      const { crashAt, crashSkip, env, args, ...rest } = opts;
      const crashEnv = crashAt
        ? { ESIM_TEST_CRASH_AT: crashAt, ESIM_TEST_CRASH_SKIP: String(crashSkip ?? 0) }
        : { ESIM_TEST_CRASH_AT: "", ESIM_TEST_CRASH_SKIP: "0" };
      for (let attempt = 1; ; attempt++) {
        try {
          return await start();
        } catch (err) {
          // dist/ being rebuilt under a running suite (a shared checkout) shows as a module that cannot load.
          if (
            attempt >= 5 ||
            !/does not provide an export|Cannot find module|ERR_MODULE_NOT_FOUND|SyntaxError/.test(String(err))
          )
            throw err;
          await new Promise((r) => setTimeout(r, 2_000));
        }
      }
      async function start(): Promise<Incarnation> {
        try {
          const proc = await startControllerProcess({
            controlPlane: cluster.info,
            soracomEndpoint: sim.url,
            namespaces: [ns()],
            ...rest,
            args: ["--leader-election-namespace", ns(), ...(args ?? [])],
            env: { ...crashEnv, ...env },
          });
          live.add(proc);
          const exited = new Promise<void>((resolve) => {
            if (proc.child.exitCode !== null || proc.child.signalCode !== null) resolve();
            else proc.child.once("exit", () => resolve());
          });
          void exited.then(() => live.delete(proc));
          return { proc, diedEarly: false, exited };
        } catch (err) {
          // Killed by its crash point before it served HTTP (exit code null: a signal); anything else is a failure.
          if (!/controller exited \(null\)/.test(String(err))) throw err;
          return { diedEarly: true, exited: Promise.resolve() };
        }
      }
    },
    /** waitDeath waits for a crash point to kill the process (fails after timeoutMs). */
    async waitDeath(inc: Incarnation, timeoutMs = 60_000): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`controller did not die within ${timeoutMs} ms:\n${inc.proc?.logs.slice(-15).join("\n")}`),
            ),
          timeoutMs,
        );
      });
      try {
        await Promise.race([inc.exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    /** sigkill kills an incarnation (a crash at an arbitrary moment). */
    async sigkill(inc: Incarnation): Promise<void> {
      await inc.proc?.kill();
      await inc.exited;
    },
    async applyOrder(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
      wanted(name, spec.quantity);
      return kube.request<EsimProfileOrder>({
        method: "POST",
        path: orderPath(),
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: "EsimProfileOrder", metadata: { name, ...metadata }, spec },
      });
    },
    async patchOrder(name: string, patch: Record<string, unknown>) {
      wanted(name, (patch.spec as { quantity?: unknown } | undefined)?.quantity);
      return kube.request<EsimProfileOrder>({
        method: "PATCH",
        path: orderPath(name),
        contentType: "application/merge-patch+json",
        body: patch,
      });
    },
    async patchProfile(name: string, patch: Record<string, unknown>) {
      return kube.request<EsimProfile>({
        method: "PATCH",
        path: profilePath(name),
        contentType: "application/merge-patch+json",
        body: patch,
      });
    },
    async createProfile(name: string, spec: Record<string, unknown>) {
      return kube.request<EsimProfile>({
        method: "POST",
        path: profilePath(),
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: "EsimProfile", metadata: { name }, spec },
      });
    },
    async deleteProfile(name: string) {
      await kube.request({ method: "DELETE", path: profilePath(name) });
      // An order's profiles are named <order>-<iccid>: the longest order name that prefixes it owns it.
      const owner = [...history.keys()].filter((o) => name.startsWith(`${o}-`)).sort((a, b) => b.length - a.length)[0];
      if (owner) history.get(owner)?.freed.push(Date.now());
    },
    async order(name: string): Promise<EsimProfileOrder> {
      return kube.request<EsimProfileOrder>({ path: orderPath(name) });
    },
    async orders(): Promise<EsimProfileOrder[]> {
      return (await kube.request<{ items: EsimProfileOrder[] }>({ path: orderPath() })).items;
    },
    async profile(name: string): Promise<EsimProfile> {
      return kube.request<EsimProfile>({ path: profilePath(name) });
    },
    async profiles(): Promise<EsimProfile[]> {
      return (await kube.request<{ items: EsimProfile[] }>({ path: profilePath() })).items;
    },
    async events(): Promise<
      Array<{ reason?: string; message?: string; type?: string; involvedObject?: { name?: string } }>
    > {
      return (await patient(() => cluster.core.listNamespacedEvent({ namespace: ns() }))).items;
    },
    /** ready waits for the order's Ready=True condition. */
    async ready(name: string, timeoutMs = 90_000): Promise<EsimProfileOrder> {
      return eventually(
        async () => {
          const o = await s.order(name);
          return condition(o, "Ready")?.status === "True" ? o : undefined;
        },
        { timeoutMs, what: `order ${name} Ready` },
      );
    },
    /** materialized waits until the order has `want` EsimProfiles, each with its SIM ID. */
    async materialized(name: string, want: number, timeoutMs = 90_000): Promise<EsimProfile[]> {
      return eventually(
        async () => {
          const ps = (await s.profiles()).filter((p) => p.metadata.labels?.[`${GROUP}/order`] === name);
          return ps.length === want && ps.every((p) => p.status?.simId) ? ps : undefined;
        },
        { timeoutMs, what: `${want} profiles of ${name} with SIM IDs` },
      );
    },
    /**
     * finish checks the invariants, records the scenario in the run's summary and asserts that they hold.
     * `dryRun` counts mutating calls; `terminationsBeyondBudget` is the scenario's own count.
     */
    async finish(
      control: SimControl,
      scenario: string,
      extra: {
        started: number;
        faults: number;
        invariants?: InvariantOptions;
        /** Count mutating calls (all of them, or those since a simulated time). */
        dryRun?: boolean | { since: number };
        terminationsBeyondBudget?: number;
        note?: string;
      },
    ): Promise<InvariantReport & { mutating: number }> {
      const world = await readWorld(control, { orders: s.orders, profiles: s.profiles });
      const report = checkInvariants(world.state, world.calls, world.orders, world.profiles, {
        history: await inSimulatorTime(control, history),
        historyWindowMs: HISTORY_WINDOW_MS,
        ...extra.invariants,
      });
      const since = typeof extra.dryRun === "object" ? extra.dryRun.since : Number.NEGATIVE_INFINITY;
      const mutating = extra.dryRun ? world.calls.filter((c) => c.at >= since && isMutating(c)).length : 0;
      const record: ScenarioRecord = {
        file,
        scenario,
        faults: extra.faults,
        duplicates: report.duplicates,
        overOrdered: report.overOrdered,
        lost: report.lost,
        terminationsBeyondBudget: extra.terminationsBeyondBudget ?? 0,
        dryRunMutations: mutating,
        seconds: (Date.now() - extra.started) / 1000,
        ...(extra.note ? { note: extra.note } : {}),
      };
      recordScenario(record);
      expect(report.problems, scenario).toEqual([]);
      expect(mutating, "mutating Soracom calls in dry run").toBe(0);
      return { ...report, mutating };
    },
  };
  return s;
}

export type Space = ReturnType<typeof space>;

/**
 * A quantity counts as in force at a create for this long after it was replaced: the controller's create
 * grace period (3 s in tests), the longest a create planned under the old quantity may take to be sent.
 */
const HISTORY_WINDOW_MS = 3_000;

/**
 * inSimulatorTime moves the history onto the simulator's clock (Soracom's orderedTime). The simulator runs
 * on the wall clock plus whatever a test advanced it by; a scenario that advanced it is not judged by time.
 */
async function inSimulatorTime(
  control: SimControl,
  history: Map<string, QuantityHistory>,
): Promise<Record<string, QuantityHistory>> {
  const skew = (await control.clock()).now - Date.now();
  if (Math.abs(skew) > 1_000) return {};
  const shift = (t: number) => t + skew;
  return Object.fromEntries(
    [...history].map(([name, h]) => [
      name,
      { set: h.set.map((x) => ({ ...x, at: shift(x.at) })), freed: h.freed.map(shift) },
    ]),
  );
}

export function useSafety(cluster: Cluster, file: string) {
  const e2e = useE2E(cluster);
  const kube = new KubeClient(cluster.kc);
  const live = new Set<ControllerProcess>();
  afterEach(async () => {
    for (const p of [...live]) await p.kill().catch(() => undefined);
    live.clear();
  });
  const main = space(cluster, kube, live, file, () => cluster.namespace);
  return Object.assign(main, {
    cluster,
    kube,
    simulator: e2e.simulator,
    /** lane makes a namespace of its own (for scenarios run side by side) and returns its space. */
    async lane(prefix: string): Promise<Space> {
      const name = namespaceName(prefix);
      await patient(() => cluster.core.createNamespace({ body: { metadata: { name } } }));
      return space(cluster, kube, live, file, () => name);
    },
  });
}

export type Safety = ReturnType<typeof useSafety>;
