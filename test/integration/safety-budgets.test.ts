import { describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import { GROUP, PROFILE_FINALIZER, VERSION } from "../../controller/api/vocabulary.js";
import { RESUME_ANNOTATION } from "../../controller/budget.js";
import { useCluster } from "../support/cluster.js";
import { eventually, metricValue } from "../support/controller-process.js";
import { condition } from "../support/e2e.js";
import { useSafety } from "../support/safety-harness.js";
import { isMutating } from "../support/safety-invariants.js";
import { useSafetySummary } from "../support/safety-summary.js";

// Budgets and dry run, against the real apiserver, the simulator and the controller process: a prune of
// 100 EsimProfiles under the default termination budget, a quantity typo under the default spend budget,
// a quantity above a small spend budget, and a whole flow in dry run.
const FILE = "safety-budgets";
const cluster = useCluster();
const h = useSafety(cluster, FILE);
useSafetySummary(FILE);

const FAST = ["--soracom-requests-per-second", "200"];
// The termination window of the prune: short, so the test waits it out twice, yet well above the time 20
// terminations take on a loaded machine (a batch slower than the window never runs into the budget).
const WINDOW_MS = 15_000;

async function createProfiles(specs: Array<{ name: string; simId: string }>): Promise<void> {
  for (let i = 0; i < specs.length; i += 20) {
    await Promise.all(
      specs.slice(i, i + 20).map((s) =>
        cluster.custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: cluster.namespace,
          plural: "esimprofiles",
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: "EsimProfile",
            metadata: { name: s.name },
            spec: { simId: s.simId, deletionPolicy: "Terminate" },
          },
        }),
      ),
    );
  }
}

const terminatedSims = async (control: { state(): Promise<Record<string, unknown>> }) =>
  ((await control.state()) as { sims: Array<{ status: string }> }).sims.filter((s) => s.status === "terminated").length;

describe("termination budget", () => {
  it("a prune of 100 EsimProfiles (Terminate) under a budget of 20 terminates at most 20 per window; the rest pause past the window until a person resumes", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const specs: Array<{ name: string; simId: string }> = [];
    for (let i = 0; i < 100; i++) specs.push({ name: `device-${i}`, simId: (await control.createSim()).simId });
    await createProfiles(specs);
    // A short window: 57e4de9 let terminations start again by themselves as soon as it rolled on.
    const inc = await h.spawn(sim, {
      args: [...FAST, "--termination-budget", "20", "--termination-budget-window", `${WINDOW_MS / 1000}s`],
    });
    await eventually(
      async () => {
        const ps = await h.profiles();
        return (
          ps.length === 100 && ps.every((p) => p.metadata.finalizers?.includes(PROFILE_FINALIZER) && p.status?.simId)
        );
      },
      { timeoutMs: 90_000, what: "100 profiles managed" },
    );

    // The prune: every profile deleted at once, as Argo CD or a namespace deletion would.
    const ledger = watchLedger();
    await Promise.all(specs.map((s) => h.deleteProfile(s.name)));
    const first = await pausedBatch(control, ledger, undefined);
    expect(condition(first.held[0] as EsimProfile, "TerminationsPaused")?.reason).toBe("TerminationBudgetExhausted");
    expect(condition(first.held[0] as EsimProfile, "TerminationsPaused")?.message).toContain(RESUME_ANNOTATION);
    // Per account: with several, the series says which one is blocked (single-tenant mode: "default").
    await eventually(
      async () =>
        metricValue(await inc.proc!.metrics(), "soracom_esim_terminations_paused", { account: "default" }) === 1,
      { what: "soracom_esim_terminations_paused{account=default} 1" },
    );
    const events = await h.events();
    expect(events.some((e) => e.reason === "TerminationsPaused")).toBe(true);

    // Regression (defect 9): two windows later nothing more was terminated; the pause waits for a person.
    await new Promise((r) => setTimeout(r, 2 * WINDOW_MS));
    expect(await terminatedSims(control)).toBe(first.terminated);
    expect(await h.profiles()).toHaveLength(100 - first.terminated);

    // A person resumes, with the pause's id, on the ledger in the controller's namespace: one more budget goes.
    await h.kube.request({
      method: "PATCH",
      path: ledgerPath(),
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { [RESUME_ANNOTATION]: first.pause } } },
    });
    const second = await pausedBatch(control, ledger, first.pause);
    ledger.stop();
    const terminated = second.terminated;
    const batch = terminated - first.terminated;
    // Judged as the ledger counts: at most 20 recorded in any window (so exactly 20 when a batch fits in
    // one; a batch slower than the window may let a few more through as its first ones age out), and each
    // batch ran into the budget before it paused.
    const resumedAt = Number((await readLedger()).data?.resumedAt);
    const before = [...ledger.entries.values()].filter((t) => t < resumedAt);
    const after = [...ledger.entries.values()].filter((t) => t >= resumedAt);
    expect(before).toHaveLength(first.terminated);
    expect(after).toHaveLength(batch);
    for (const times of [before, after]) {
      expect(busiestWindow(times, WINDOW_MS)).toBeLessThanOrEqual(20);
      expect(times.length).toBeGreaterThanOrEqual(20);
    }
    // Every SIM terminated was recorded before its terminate was answered, and terminated once.
    const terminateCalls = (await control.calls()).calls.filter((c) => c.operation === "terminateSim");
    const ok = terminateCalls.filter((c) => c.status === 200);
    expect(ok).toHaveLength(terminated);
    for (const c of ok) {
      const simId = decodeURIComponent(c.path.split("/")[3] ?? "");
      expect(ledger.entries.get(simId), `SIM ${simId} terminated without a ledger record`).toBeLessThanOrEqual(c.at);
    }
    await h.finish(
      control,
      "prune of 100 EsimProfiles under a termination budget of 20, paused past the window, resumed once",
      {
        started,
        faults: 100,
        terminationsBeyondBudget: Math.max(0, busiestWindow([...ledger.entries.values()], WINDOW_MS) - 20),
      },
    );
  });
});

const ledgerPath = () => `/api/v1/namespaces/${h.namespace}/configmaps/soracom-esim-operator-termination-ledger`;
const readLedger = () => h.kube.request<{ data?: Record<string, string> }>({ path: ledgerPath() });

/** watchLedger keeps every termination the ledger ever held (SIM ID to when recorded): it drops old ones. */
function watchLedger(): { entries: Map<string, number>; stop(): void } {
  const entries = new Map<string, number>();
  const read = async () => {
    const raw = (await readLedger().catch(() => undefined))?.data?.ledger;
    for (const e of JSON.parse(raw ?? "[]") as Array<{ s: string; t: number }>) entries.set(e.s, e.t);
  };
  const timer = setInterval(() => void read(), 250);
  return {
    entries,
    stop: () => clearInterval(timer),
  };
}

/** busiestWindow is the most times that fall in one window of `ms`. */
function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! - sorted[i]! < ms) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

/**
 * pausedBatch waits until the ledger is paused again (a pause other than `previous`) and every profile
 * left shows TerminationsPaused; it gives them, the pause's id and the SIMs terminated by then.
 */
async function pausedBatch(
  control: { state(): Promise<Record<string, unknown>> },
  ledger: { entries: Map<string, number> },
  previous: string | undefined,
): Promise<{ held: EsimProfile[]; pause: string; terminated: number }> {
  let seen = "";
  return eventually(
    async () => {
      const pause = (JSON.parse((await readLedger()).data?.pause ?? "{}") as { id?: string }).id;
      const ps = await h.profiles();
      const paused = ps.filter((p) => condition(p, "TerminationsPaused")?.status === "True");
      const terminated = await terminatedSims(control);
      seen = `${ps.length} left, ${paused.length} paused, ${terminated} SIMs terminated, ${ledger.entries.size} recorded`;
      const settled = pause && pause !== previous && ps.length === 100 - terminated && paused.length === ps.length;
      return settled ? { held: ps, pause, terminated } : undefined;
    },
    { timeoutMs: 60_000, what: "a new pause, every profile left with TerminationsPaused" },
  ).catch((err) => {
    throw new Error(`${(err as Error).message} (${seen})`);
  });
}

describe("spend budget", () => {
  it("quantity 2000 under the default budgets: no create at all, Stalled BudgetExceeded, an Event and the metric", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const inc = await h.spawn(sim);
    await h.applyOrder("typo", { subscription: "planX3", quantity: 2000 });
    const stalled = await eventually(
      async () => {
        const o = await h.order("typo");
        return condition(o, "Stalled")?.status === "True" ? o : undefined;
      },
      { what: "typo Stalled" },
    );
    expect(condition(stalled, "Stalled")?.reason).toBe("BudgetExceeded");
    expect(condition(stalled, "Ready")?.status).toBe("False");
    await eventually(async () => (await h.events()).some((e) => e.reason === "BudgetExceeded"), {
      what: "a BudgetExceeded Event",
    });
    await eventually(
      async () =>
        metricValue(await inc.proc!.metrics(), "soracom_esim_budget_exceeded", {
          budget: "spend",
          account: "default",
        }) === 1,
      { what: "soracom_esim_budget_exceeded{budget=spend,account=default} 1" },
    );
    expect(await control.count("createProfileOrder")).toBe(0);
    await h.finish(control, "quantity 2000 under the default spend budget", {
      started,
      faults: 0,
      invariants: { expectOrdered: { typo: 0 } },
    });
  });

  it("quantity 45 under a spend budget of 30: exactly 30 ordered (20 + 10), then Stalled BudgetExceeded", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    await h.spawn(sim, { args: ["--spend-budget", "30", ...FAST] });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 45 });
    await h.materialized("fleet", 30);
    const o = await eventually(
      async () => {
        const x = await h.order("fleet");
        return x.status?.orders?.every((t) => t.status === "COMPLETED") && condition(x, "Stalled")?.status === "True"
          ? x
          : undefined;
      },
      { what: "orders completed and Stalled" },
    );
    expect(condition(o, "Stalled")?.reason).toBe("BudgetExceeded");
    expect((o.status?.orders ?? []).map((t) => t.quantity).sort((a, b) => b - a)).toEqual([20, 10]);
    expect(await control.count("createProfileOrder")).toBe(2);
    expect((await h.events()).some((e) => e.reason === "BudgetExceeded")).toBe(true);
    await h.finish(control, "quantity 45 under a spend budget of 30", {
      started,
      faults: 0,
      invariants: { expectOrdered: { fleet: 30 } },
    });
  });
});

describe("dry run", () => {
  it("a whole flow under --dry-run: no mutating Soracom call, and status, events and logs say what would happen", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const simId = (await control.createSim()).simId;
    await createProfiles([{ name: "device-1", simId }]);
    const inc = await h.spawn(sim, { args: ["--dry-run", ...FAST] });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 45 });
    const o = await eventually(
      async () => {
        const x = await h.order("fleet");
        return condition(x, "DryRun")?.status === "True" ? x : undefined;
      },
      { what: "DryRun condition" },
    );
    expect(condition(o, "DryRun")?.message).toMatch(/would order 45 profiles in 3 orders \(20, 20, 5\)/);
    await eventually(
      async () => (await h.events()).some((e) => e.reason === "DryRun" && e.involvedObject?.name === "fleet"),
      { what: "a DryRun Event on the order" },
    );

    // Deleting a Terminate profile in dry run reports the termination and keeps the SIM.
    await eventually(async () => (await h.profile("device-1")).metadata.finalizers?.includes(PROFILE_FINALIZER), {
      what: "device-1 managed",
    });
    await h.deleteProfile("device-1");
    await eventually(
      async () => (await h.events()).some((e) => e.reason === "DryRun" && /would terminate SIM/.test(e.message ?? "")),
      { what: "a dry-run termination Event" },
    );
    expect(await terminatedSims(control)).toBe(0);
    expect(inc.proc!.logs.some((l) => l.includes('"dryRun":true'))).toBe(true);

    const calls = (await control.calls()).calls;
    expect(calls.filter(isMutating)).toEqual([]);
    expect(calls.length).toBeGreaterThan(0); // it did observe
    await h.finish(control, "a flow in dry run (order of 45, deletion of a Terminate profile)", {
      started,
      faults: 0,
      dryRun: true,
      invariants: { expectOrdered: { fleet: 0 } },
    });
  });
});
