import { describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import { ANNOTATIONS, PROFILE_FINALIZER } from "../../controller/api/vocabulary.js";
import { TerminationBudget, TerminationBudgetExhaustedError } from "../../controller/budget.js";
import { executeProfileActions } from "../../controller/profile/execute.js";
import { classifyFailure } from "../../controller/profile/failure.js";
import type { TerminationBudget as BudgetPort } from "../../controller/profile/ports.js";
import { terminationBudgetPort } from "../../controller/profile/wiring.js";
import { FakeEvents, FakeFinalizers, FakeSims } from "./profile-fakes.js";

// Concurrent reconciles each check the termination budget when they plan, then consume it right before
// the terminate call. The check is old by then: the consume itself must refuse past the budget (unless
// the resource carries the override annotation), or four workers terminate up to three SIMs too many.
const NOW = Date.parse("2026-11-26T12:00:00Z");
const ledger = (limit: number) => new TerminationBudget({ limit, windowMs: 3_600_000, namespace: "x", name: "ledger" });

describe("terminationBudgetPort", () => {
  it("reconciles that all saw one slot left terminate one SIM between them; the others are refused", async () => {
    const port = terminationBudgetPort(ledger(1), () => NOW);
    expect(port.check(NOW).allowed).toBe(true);
    const results = await Promise.allSettled(["s1", "s2", "s3", "s4"].map((s) => port.consume(s)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r.reason).toBeInstanceOf(TerminationBudgetExhaustedError);
  });

  it("the override annotation records past the budget", async () => {
    const port = terminationBudgetPort(ledger(1), () => NOW);
    await port.consume("s1");
    await expect(port.consume("s2")).rejects.toBeInstanceOf(TerminationBudgetExhaustedError);
    await expect(port.consume("s2", true)).resolves.toBeUndefined();
  });

  it("a SIM consumed again in the window (its terminate answer was lost) is counted once and allowed", async () => {
    const port = terminationBudgetPort(ledger(1), () => NOW);
    await port.consume("s1");
    await expect(port.consume("s1")).resolves.toBeUndefined();
  });

  it("a refusal is a short requeue, not a Soracom failure or a stall", () => {
    expect(classifyFailure(new TerminationBudgetExhaustedError("s1"), undefined)).toMatchObject({
      stalled: false,
      requeueAfterMs: 1_000,
    });
  });
});

describe("executeProfileActions passes the override to the budget", () => {
  const profile = (annotations: Record<string, string>): EsimProfile => ({
    metadata: {
      name: "p",
      namespace: "iot",
      uid: "u",
      resourceVersion: "1",
      finalizers: [PROFILE_FINALIZER],
      annotations,
    },
    spec: { simId: "sim-1", deletionPolicy: "Terminate" },
  });
  const cases: Record<string, { annotations: Record<string, string>; override: boolean }> = {
    "without the annotation the budget may refuse": { annotations: {}, override: false },
    'with termination-budget-override: "true" it may not': {
      annotations: { [ANNOTATIONS.terminationBudgetOverride]: "true" },
      override: true,
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const seen: Array<boolean | undefined> = [];
      const budget: BudgetPort = {
        check: () => ({ allowed: true, remaining: 1, retryAfterMs: 0 }),
        consume: (_sim, override) => {
          seen.push(override);
        },
      };
      const sims = new FakeSims().add({ simId: "sim-1", status: "active", terminationEnabled: true });
      await executeProfileActions(
        profile(c.annotations),
        [{ type: "terminateSim", simId: "sim-1", reason: "ResourceDeleted" }],
        {
          sim: sims,
          finalizers: new FakeFinalizers(),
          events: new FakeEvents(),
          terminationBudget: budget,
        },
      );
      expect(seen).toEqual([c.override]);
    });
  }
});
