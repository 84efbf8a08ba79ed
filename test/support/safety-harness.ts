import { afterEach, expect } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
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
  readWorld,
} from "./safety-invariants.js";
import { recordScenario, type ScenarioRecord } from "./safety-summary.js";
import type { SimControl } from "./soracom-sim.js";

/**
 * The fault suite's harness: useE2E's simulator and helpers, plus controller processes that may die on
 * purpose (crash points, SIGKILL), each with its own termination ledger (in the test's namespace, so the
 * budget of one test never leaks into the next), and a `finish` that checks the invariants and records
 * the scenario in the run's summary.
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

export function useSafety(cluster: Cluster, file: string) {
  const e2e = useE2E(cluster);
  const live = new Set<ControllerProcess>();
  afterEach(async () => {
    for (const p of live) await p.kill().catch(() => undefined);
    live.clear();
  });

  const h = {
    ...e2e,
    cluster,
    /** spawn starts a controller process that is allowed to die before it serves (a crash point). */
    async spawn(sim: Pick<Sim, "url">, opts: SpawnOptions = {}): Promise<Incarnation> {
      const { crashAt, crashSkip, env, args, ...rest } = opts;
      const crashEnv = crashAt
        ? { ESIM_TEST_CRASH_AT: crashAt, ESIM_TEST_CRASH_SKIP: String(crashSkip ?? 0) }
        : { ESIM_TEST_CRASH_AT: "", ESIM_TEST_CRASH_SKIP: "0" };
      try {
        const proc = await startControllerProcess({
          kubeconfig: cluster.info.kubeconfigPath,
          soracomEndpoint: sim.url,
          namespaces: [cluster.namespace],
          ...rest,
          args: ["--leader-election-namespace", cluster.namespace, ...(args ?? [])],
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
        if (!/controller exited/.test(String(err))) throw err;
        return { diedEarly: true, exited: Promise.resolve() };
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
    async orders(): Promise<EsimProfileOrder[]> {
      const list = (await cluster.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: cluster.namespace,
        plural: "esimprofileorders",
      })) as { items: EsimProfileOrder[] };
      return list.items;
    },
    /** ready waits for the order's Ready=True condition. */
    async ready(name: string, timeoutMs = 90_000): Promise<EsimProfileOrder> {
      return eventually(
        async () => {
          const o = await e2e.order(name);
          return condition(o, "Ready")?.status === "True" ? o : undefined;
        },
        { timeoutMs, what: `order ${name} Ready` },
      );
    },
    /** settled waits until every profile the order's COMPLETED orders hold has an EsimProfile with a SIM ID. */
    async materialized(name: string, want: number, timeoutMs = 90_000): Promise<EsimProfile[]> {
      return eventually(
        async () => {
          const ps = (await e2e.profiles()).filter(
            (p) => p.metadata.labels?.["esim.soracom-operator.io/order"] === name,
          );
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
        dryRun?: boolean;
        terminationsBeyondBudget?: number;
        note?: string;
      },
    ): Promise<InvariantReport & { mutating: number }> {
      const world = await readWorld(control, { orders: h.orders, profiles: e2e.profiles });
      const report = checkInvariants(world.state, world.calls, world.orders, world.profiles, extra.invariants);
      const mutating = extra.dryRun ? world.calls.filter(isMutating).length : 0;
      const record: ScenarioRecord = {
        file,
        scenario,
        faults: extra.faults,
        duplicates: report.duplicates,
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
  return h;
}

export type Safety = ReturnType<typeof useSafety>;
