import { describe, expect, it } from "vitest";
import {
  RESUME_ANNOTATION,
  SpendLedger,
  TerminationBudgetExhaustedError,
  TerminationLedger,
} from "../../controller/budget.js";
import { classifyFailure } from "../../controller/profile/failure.js";
import { terminationBudgetPort } from "../../controller/profile/wiring.js";
import { FakeConfigMaps } from "./fake-configmaps.js";

// Budgets are ledgers in ConfigMaps of the controller's namespace: written before the Soracom call they
// count, read again after a restart, never freed by deleting an EsimProfileOrder. Concurrent reconciles
// each check when they plan, then record right before the call: the record itself must refuse.
const NOW = Date.parse("2026-11-26T12:00:00Z");
const H = 3_600_000;
const where = (api: FakeConfigMaps) => ({ kube: api, namespace: "ops", logger: undefined });
const terminations = (api: FakeConfigMaps, limit: number | null = 1, now = () => NOW) =>
  new TerminationLedger({ ...where(api), limit, windowMs: H, name: "term", now });
const spend = (api: FakeConfigMaps, limit: number | null = 30) =>
  new SpendLedger({ ...where(api), limit, windowMs: 24 * H, name: "spend" });

describe("TerminationLedger", () => {
  it("reconciles that all saw one slot left terminate one SIM between them; the others are refused", async () => {
    const port = terminationBudgetPort(terminations(new FakeConfigMaps(), 1), () => NOW);
    expect(port.check(NOW).allowed).toBe(true);
    const results = await Promise.allSettled(["s1", "s2", "s3", "s4"].map((s) => port.consume(s)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r.reason).toBeInstanceOf(TerminationBudgetExhaustedError);
  });

  it("a SIM consumed again in the window (its terminate answer was lost) is counted once and allowed", async () => {
    const port = terminationBudgetPort(terminations(new FakeConfigMaps(), 1), () => NOW);
    await port.consume("s1");
    await expect(port.consume("s1")).resolves.toBeUndefined();
  });

  it("regression (defect 9): a refusal pauses terminations, and the pause outlives the window", async () => {
    const api = new FakeConfigMaps();
    let now = NOW;
    const ledger = terminations(api, 1, () => now);
    await ledger.load();
    expect(await ledger.consume("s1", now)).toBe(true);
    expect(await ledger.consume("s2", now)).toBe(false);
    const paused = ledger.check(now);
    expect(paused.allowed).toBe(false);
    expect(paused.paused?.resume).toBe(
      `kubectl annotate configmap -n ops term ${RESUME_ANNOTATION}=${paused.paused?.id} --overwrite`,
    );
    // Two windows later, and after a restart: still paused (57e4de9 resumed as the window rolled on).
    now = NOW + 2 * H;
    const restarted = terminations(api, 1, () => now);
    await restarted.load();
    expect(restarted.check(now).allowed).toBe(false);
    expect(await restarted.consume("s2", now)).toBe(false);
  });

  it("a person resumes with the pause's id: a whole new budget, and the next batch past it pauses again", async () => {
    const api = new FakeConfigMaps();
    let now = NOW;
    const ledger = terminations(api, 1, () => now);
    await ledger.consume("s1", now);
    await ledger.consume("s2", now);
    const { id } = ledger.check(now).paused!;
    api.annotate("ops", "term", RESUME_ANNOTATION, "some-other-pause");
    await ledger.load();
    expect(ledger.check(now).allowed).toBe(false);
    api.annotate("ops", "term", RESUME_ANNOTATION, id);
    now += 1_000;
    await ledger.load();
    expect(ledger.check(now)).toMatchObject({ allowed: true, remaining: 1 });
    expect(await ledger.consume("s2", now)).toBe(true);
    expect(await ledger.consume("s3", now)).toBe(false);
    expect(ledger.check(now).paused?.id).not.toBe(id);
  });

  it("regression: a termination counts from when the ledger decided it, not from when it was asked for", async () => {
    // Under load a consume waits its turn (behind other consumes, for the apiserver) for seconds; counted
    // from when it was asked, its entry left the window that early and let more than the budget through.
    const api = new FakeConfigMaps();
    let clock = NOW;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let first = true;
    const slow: FakeConfigMaps["request"] = async (req) => {
      if (first && (req.method ?? "GET") === "GET") {
        first = false;
        await held;
      }
      return api.request(req);
    };
    const window = 10_000;
    const ledger = new TerminationLedger({
      kube: { request: slow },
      namespace: "ops",
      name: "term",
      limit: 2,
      windowMs: window,
      now: () => clock,
    });
    const asked = [ledger.consume("s1", clock), ledger.consume("s2", clock)];
    clock += 5_000; // both waited 5 s before the ledger could decide
    release();
    expect(await Promise.all(asked)).toEqual([true, true]);
    clock += window - 4_000; // 11 s after they were asked, 6 s after they were decided and sent
    expect(await ledger.consume("s3", clock)).toBe(false);
    expect(ledger.check(clock).paused).toBeDefined();
  });

  it("a ledger nobody can read lets no termination through", async () => {
    const api = new FakeConfigMaps();
    const ledger = terminations(api, 5);
    await ledger.consume("s1", NOW);
    const data = api.data("ops", "term")!;
    data.ledger = "{not json";
    await ledger.load();
    expect(ledger.check(NOW).allowed).toBe(false);
  });

  it("a refusal is a short requeue, not a Soracom failure or a stall", () => {
    expect(classifyFailure(new TerminationBudgetExhaustedError("s1"), undefined)).toMatchObject({
      stalled: false,
      requeueAfterMs: 1_000,
    });
  });
});

describe("SpendLedger", () => {
  it("regression (defect 6): spend is recorded durably; deleting orders frees nothing and a restart forgets nothing", async () => {
    const api = new FakeConfigMaps();
    const ledger = spend(api, 30);
    await ledger.load();
    expect(await ledger.record([{ token: "uid-a:1", quantity: 20 }], NOW)).toBe(true);
    // The EsimProfileOrder is deleted and applied again under the same name (a new UID): the ledger does
    // not read orders at all, so nothing comes back. 57e4de9 counted spend from the orders that still existed.
    const restarted = spend(api, 30);
    await restarted.load();
    expect(restarted.state(NOW + 1_000)).toMatchObject({ remaining: 10 });
    expect(await restarted.record([{ token: "uid-b:1", quantity: 20 }], NOW + 1_000)).toBe(false);
    expect(await restarted.record([{ token: "uid-b:1", quantity: 10 }], NOW + 1_000)).toBe(true);
    expect(restarted.state(NOW + 1_000).remaining).toBe(0);
  });

  it("records all the intents of a round or none of them, and counts a token once", async () => {
    const api = new FakeConfigMaps();
    const ledger = spend(api, 45);
    const round = [
      { token: "u:1", quantity: 20 },
      { token: "u:2", quantity: 20 },
      { token: "u:3", quantity: 5 },
    ];
    expect(await ledger.record(round, NOW)).toBe(true);
    expect(await ledger.record(round, NOW)).toBe(true); // a retried round (its status write hit a 409)
    expect(ledger.used(NOW)).toBe(45);
    expect(await ledger.record([{ token: "u:4", quantity: 1 }], NOW)).toBe(false);
    expect(ledger.used(NOW)).toBe(45);
  });

  it("two reconciles recording at once never spend beyond the budget between them", async () => {
    const api = new FakeConfigMaps();
    const a = spend(api, 20);
    const b = spend(api, 20); // another process, say, sharing the ConfigMap
    const results = await Promise.all([
      a.record([{ token: "x:1", quantity: 15 }], NOW),
      b.record([{ token: "y:1", quantity: 15 }], NOW),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const check = spend(api, 20);
    await check.load();
    expect(check.used(NOW)).toBe(15);
  });

  it("entries leave the window, and only then", async () => {
    const api = new FakeConfigMaps();
    const ledger = spend(api, 20);
    await ledger.record([{ token: "u:1", quantity: 20 }], NOW);
    expect(ledger.state(NOW + 24 * H - 1).remaining).toBe(0);
    expect(ledger.state(NOW + 24 * H).remaining).toBe(20);
  });

  it("an unlimited budget still records what was spent", async () => {
    const api = new FakeConfigMaps();
    const ledger = spend(api, null);
    await ledger.record([{ token: "u:1", quantity: 500 }], NOW);
    expect(ledger.state(NOW)).toMatchObject({ remaining: null });
    expect(ledger.used(NOW)).toBe(500);
  });

  // Every way data.ledger can be broken: each must refuse, whatever the budget, never read as "nothing spent".
  const broken: Record<string, string> = {
    "not JSON": "{not json",
    "JSON, but not an array": '{"k":"u:1","q":20,"t":1}',
    "an array with an entry that is not {k, q, t}": '[{"k":"u:1","q":"twenty","t":1}]',
    "an array with null in it": "[null]",
  };
  for (const [what, ledger] of Object.entries(broken)) {
    it(`regression (issue 24, defect 7): a spend ledger whose data.ledger is ${what} fails closed, and says so`, async () => {
      const api = new FakeConfigMaps();
      const first = spend(api, null); // unlimited: the failure must not depend on a limit
      await first.record([{ token: "u:1", quantity: 20 }], NOW);
      api.data("ops", "spend")!.ledger = ledger;
      for (const ledgerNow of [first, spend(api, null)]) {
        await ledgerNow.load();
        const state = ledgerNow.state(NOW);
        expect(state.remaining).toBe(0);
        expect(state.unreadable).toContain("ops/spend");
        expect(state.unreadable).toContain("kubectl edit configmap -n ops spend");
        expect(await ledgerNow.record([{ token: "u:2", quantity: 1 }], NOW)).toBe(false);
      }
      // Nothing was written over it: a person repairs what is there.
      expect(api.data("ops", "spend")!.ledger).toBe(ledger);
    });
  }

  it("a repaired spend ledger is read again without a restart", async () => {
    const api = new FakeConfigMaps();
    const ledger = spend(api, 30);
    await ledger.record([{ token: "u:1", quantity: 20 }], NOW);
    api.data("ops", "spend")!.ledger = "{broken";
    await ledger.load();
    expect(ledger.state(NOW).remaining).toBe(0);
    await new Promise((r) => setTimeout(r, 10)); // its own reload, still of the broken ledger
    expect(ledger.state(NOW + 1_000).remaining).toBe(0); // not read again at once: at most every 5 s
    api.data("ops", "spend")!.ledger = JSON.stringify([{ k: "u:1", q: 20, t: NOW }]);
    ledger.state(NOW + 10_000); // starts the reload
    await new Promise((r) => setTimeout(r, 10));
    expect(ledger.state(NOW + 10_000)).toMatchObject({ remaining: 10 });
    expect(ledger.state(NOW + 10_000).unreadable).toBeUndefined();
  });

  it("regression (issue 24, defect 7): the termination ledger fails closed alike on an entry it cannot read", async () => {
    const api = new FakeConfigMaps();
    const ledger = terminations(api, null);
    await ledger.consume("s1", NOW);
    api.data("ops", "term")!.ledger = '[{"t":1}]'; // no SIM ID: dropping it would forget a termination
    await ledger.load();
    const check = ledger.check(NOW);
    expect(check.allowed).toBe(false);
    expect(check.unreadable).toContain("termination ledger ConfigMap ops/term");
    expect(await ledger.consume("s2", NOW)).toBe(false);
  });
});
