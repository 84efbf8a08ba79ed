import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../controller/kube/clock.js";
import { KubeConflictError, KubeNotFoundError } from "../../controller/kube/errors.js";
import {
  Controller,
  classifyOutcome,
  type ReconcileOutcome,
  type ReconcileResult,
  TerminalError,
} from "../../controller/kube/reconciler.js";

describe("classifyOutcome", () => {
  const cases: Array<[string, Parameters<typeof classifyOutcome>[0], ReconcileOutcome]> = [
    ["an empty result is a success", { ok: true, value: {} }, { result: "success", next: "forget" }],
    ["no result at all is a success", { ok: true, value: undefined }, { result: "success", next: "forget" }],
    [
      "requeueAfterMs 0 is a plain success",
      { ok: true, value: { requeueAfterMs: 0 } },
      { result: "success", next: "forget" },
    ],
    [
      "a positive requeueAfterMs polls later",
      { ok: true, value: { requeueAfterMs: 30_000 } },
      { result: "requeue_after", next: "after", afterMs: 30_000 },
    ],
    [
      "a 409 from the apiserver requeues quietly",
      { ok: false, error: new KubeConflictError(409, { reason: "Conflict" }) },
      { result: "requeue", next: "rate_limited", conflict: true },
    ],
    [
      "a 409 from client-node's ApiException requeues quietly too",
      { ok: false, error: Object.assign(new Error("Conflict"), { code: 409 }) },
      { result: "requeue", next: "rate_limited", conflict: true },
    ],
    [
      "a terminal error is an error that is not retried",
      { ok: false, error: new TerminalError("spec asks for quantity 0") },
      { result: "error", next: "forget", terminal: true, panic: false },
    ],
    [
      "an ordinary error is retried with backoff",
      { ok: false, error: new KubeNotFoundError(404) },
      { result: "error", next: "rate_limited", terminal: false, panic: false },
    ],
    [
      "a TypeError is a programming error, counted as a panic and retried",
      { ok: false, error: new TypeError("cannot read properties of undefined") },
      { result: "error", next: "rate_limited", terminal: false, panic: true },
    ],
    [
      "a thrown non-Error is counted as a panic",
      { ok: false, error: "a string" },
      { result: "error", next: "rate_limited", terminal: false, panic: true },
    ],
  ];
  it.each(cases)("%s", (_sentence, input, want) => {
    expect(classifyOutcome(input)).toEqual(want);
  });
});

/** metricLine finds the value of one sample in the registry's text exposition. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("Controller", () => {
  it("maps each reconcile outcome to exactly one controller_runtime_reconcile_total label", async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const script: Record<string, Array<() => ReconcileResult>> = {
      "ns/ok": [() => ({})],
      "ns/poll": [() => ({ requeueAfterMs: 60_000 }), () => ({})],
      "ns/conflict": [
        () => {
          throw new KubeConflictError(409);
        },
        () => ({}),
      ],
      "ns/flaky": [
        () => {
          throw new Error("soracom 503");
        },
        () => ({}),
      ],
      "ns/terminal": [
        () => {
          throw new TerminalError("quantity above 20");
        },
      ],
      "ns/bug": [
        () => {
          throw new TypeError("x is undefined");
        },
        () => ({}),
      ],
    };
    const calls: string[] = [];
    const controller = new Controller({
      name: "esimprofileorder",
      concurrency: 3,
      registry,
      clock,
      reconcile: async (key) => {
        calls.push(key);
        const step = script[key]?.shift();
        if (!step) throw new Error(`unexpected reconcile of ${key}`);
        return step();
      },
    });
    const running = controller.start();
    for (const key of Object.keys(script)) controller.enqueue(key);
    await clock.advance(1000); // backoffs (5 ms) fire
    await clock.advance(60_000); // the poll fires
    await controller.stop();
    await running;

    expect(calls.filter((k) => k === "ns/terminal")).toHaveLength(1);
    expect(Object.values(script).every((steps) => steps.length === 0)).toBe(true);
    const text = await registry.metrics();
    const c = 'controller="esimprofileorder"';
    expect(sample(text, `controller_runtime_reconcile_total{${c},result="success"}`)).toBe(5);
    expect(sample(text, `controller_runtime_reconcile_total{${c},result="requeue_after"}`)).toBe(1);
    expect(sample(text, `controller_runtime_reconcile_total{${c},result="requeue"}`)).toBe(1);
    expect(sample(text, `controller_runtime_reconcile_total{${c},result="error"}`)).toBe(3);
    expect(sample(text, `controller_runtime_reconcile_errors_total{${c}}`)).toBe(3);
    expect(sample(text, `controller_runtime_terminal_reconcile_errors_total{${c}}`)).toBe(1);
    expect(sample(text, `controller_runtime_reconcile_panics_total{${c}}`)).toBe(1);
    expect(sample(text, `controller_runtime_reconcile_time_seconds_count{${c}}`)).toBe(10);
    expect(sample(text, `controller_runtime_max_concurrent_reconciles{${c}}`)).toBe(3);
    expect(sample(text, `controller_runtime_active_workers{${c}}`)).toBe(0);
    expect(sample(text, `workqueue_retries_total{name="esimprofileorder",${c}}`)).toBe(3);
  });

  it("publishes zeroed series before the first reconcile", async () => {
    const registry = new Registry();
    new Controller({ name: "esimprofile", registry, reconcile: async () => ({}) });
    const text = await registry.metrics();
    for (const result of ["success", "error", "requeue", "requeue_after"]) {
      expect(sample(text, `controller_runtime_reconcile_total{controller="esimprofile",result="${result}"}`)).toBe(0);
    }
  });

  it("counts active workers while reconciles run and lets them finish on stop", async () => {
    const registry = new Registry();
    let release: () => void = () => {};
    let aborted = false;
    const controller = new Controller({
      name: "slow",
      registry,
      concurrency: 2,
      reconcile: async (_key, signal) => {
        await new Promise<void>((resolve) => (release = resolve));
        aborted = signal.aborted;
        return {};
      },
    });
    const running = controller.start();
    controller.enqueue("ns/a");
    await new Promise((r) => setImmediate(r));
    expect(sample(await registry.metrics(), 'controller_runtime_active_workers{controller="slow"}')).toBe(1);
    const stopping = controller.stop();
    release();
    await stopping;
    await running;
    expect(aborted).toBe(true);
    expect(
      sample(await registry.metrics(), 'controller_runtime_reconcile_total{controller="slow",result="success"}'),
    ).toBe(1);
  });
});
