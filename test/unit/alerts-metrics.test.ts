import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { controllerMetrics } from "../../controller/kube/reconciler.js";
import { workQueueMetrics } from "../../controller/kube/workqueue.js";
import { createMetrics } from "../../controller/metrics.js";
import { CONTROLLER_METRICS, metricsIn, REPO_ROOT } from "./chart-support.js";

// The alerts and the dashboard against the metrics the controller really registers: a renamed metric
// would make an alert silently never fire, or a panel silently empty.
const registry = new Registry();
createMetrics(registry);
controllerMetrics(registry);
workQueueMetrics(registry);
const registered = new Set(registry.getMetricsAsArray().map((m) => m.name));
/** Series Prometheus adds to every target. */
const FROM_PROMETHEUS = new Set(["up"]);

const alertExprs: [string, string][] = parse(readFileSync(join(REPO_ROOT, "deploy/prometheus/alerts.yaml"), "utf8"))
  .groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules)
  .map((r: { alert: string; expr: string }) => [r.alert, r.expr]);
const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, "deploy/grafana/soracom-esim-operator.json"), "utf8"));
const panelExprs: [string, string][] = dashboard.panels.flatMap((p: { title: string; targets?: { expr: string }[] }) =>
  (p.targets ?? []).map((t) => [p.title, t.expr] as [string, string]),
);

describe("metric names", () => {
  it("the contract's list (used by the other tests) is registered by the controller", () => {
    expect(CONTROLLER_METRICS.filter((n) => !registered.has(n))).toEqual([]);
  });

  for (const [where, exprs] of [
    ["alert", alertExprs],
    ["dashboard panel", panelExprs],
  ] as const) {
    it(`every ${where} reads only metrics the controller registers`, () => {
      const unknown = exprs.flatMap(([name, expr]) =>
        metricsIn(expr)
          .filter((m) => !registered.has(m) && !FROM_PROMETHEUS.has(m))
          .map((m) => `${name}: ${m}`),
      );
      expect(unknown).toEqual([]);
    });
  }
});

/** DEPRECATED metrics are still exported for one release; nothing of ours reads them any more. */
const DEPRECATED = ["soracom_esim_leader"];
/** The metrics with one series per Soracom account (an `account` label). */
const perAccount = registry
  .getMetricsAsArray()
  .filter((m) => (m as unknown as { labelNames: string[] }).labelNames.includes("account"))
  .map((m) => m.name);

describe("labels and names", () => {
  it("the budget, pause and poll metrics are per account", () => {
    expect(perAccount.sort()).toEqual(
      [
        "soracom_esim_budget_exceeded",
        "soracom_esim_budget_remaining",
        "soracom_esim_poll_budget_calls_per_minute",
        "soracom_esim_poll_interval_effective_seconds",
        "soracom_esim_terminations_paused",
      ].sort(),
    );
  });

  for (const [where, exprs] of [
    ["alert", alertExprs],
    ["dashboard panel", panelExprs],
  ] as const) {
    it(`no ${where} reads a deprecated metric`, () => {
      const stale = exprs.flatMap(([name, expr]) =>
        metricsIn(expr)
          .filter((m) => DEPRECATED.includes(m))
          .map((m) => `${name}: ${m}`),
      );
      expect(stale).toEqual([]);
    });

    it(`every ${where} over a per-account metric keeps the account apart`, () => {
      const merged = exprs.filter(
        ([, expr]) =>
          metricsIn(expr).some((m) => perAccount.includes(m)) &&
          /\b(sum|max|min|avg|count)\b/.test(expr) &&
          !/\bby\s*\([^)]*\baccount\b/.test(expr),
      );
      expect(merged.map(([name]) => name)).toEqual([]);
    });
  }
});

describe("the README's list of metrics", () => {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const ours = [...registered].filter((n) => /^(soracom_|leader_election_)/.test(n));

  it("names every domain metric the controller registers", () => {
    expect(ours.filter((n) => !readme.includes(`\`${n}`))).toEqual([]);
  });

  it("shows the account label of every per-account metric", () => {
    const unlabelled = perAccount.filter((n) => !new RegExp(`\`${n}\\{[^}]*\\baccount\\b`).test(readme));
    expect(unlabelled).toEqual([]);
  });
});
