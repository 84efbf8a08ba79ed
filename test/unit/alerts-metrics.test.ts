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
