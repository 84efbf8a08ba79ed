import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { findTool, lazy, only, REPO_ROOT, renderChart } from "./chart-support.js";

// The chart's PrometheusRule is deploy/prometheus/alerts.yaml (one source), with the two thresholds that
// follow the controller's flags rewritten from values, extra labels, and the runbook base URL.
const helm = findTool("helm");
const promtool = findTool("promtool");
const source = parse(readFileSync(join(REPO_ROOT, "deploy/prometheus/alerts.yaml"), "utf8"));
const work = mkdtempSync(join(tmpdir(), "chart-prometheusrule-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: rule groups are free-form YAML
type Groups = { name: string; rules: any[] }[];
const groupsOf = (set: Record<string, string>): Groups =>
  only(renderChart(helm as string, { set: { "prometheusRule.enabled": "true", ...set } }), "PrometheusRule").spec
    .groups;
const ruleOf = (groups: Groups, alert: string) => groups.flatMap((g) => g.rules).find((r) => r.alert === alert);

describe.skipIf(!helm)("the chart's PrometheusRule", () => {
  const defaults = lazy(() => groupsOf({}));
  const custom = lazy(() =>
    groupsOf({
      "controller.inProgressAlertAfter": "36h",
      "controller.draftExpiryWarning": "1h30m",
      "prometheusRule.additionalRuleLabels.team": "iot",
      "prometheusRule.runbookBaseUrl": "https://example.com/esim/",
    }),
  );

  it("with default values is exactly deploy/prometheus/alerts.yaml", () => {
    expect(defaults()).toEqual(source.groups);
  });

  it("moves the stuck-order threshold with controller.inProgressAlertAfter (36h = 129600 s)", () => {
    expect(ruleOf(custom(), "SoracomEsimOrderStuckInProgress").expr).toBe(
      ruleOf(source.groups, "SoracomEsimOrderStuckInProgress").expr.replace("> 86400", "> 129600"),
    );
  });

  it("moves the draft-expiry threshold with controller.draftExpiryWarning (1h30m = 5400 s)", () => {
    expect(ruleOf(custom(), "SoracomEsimDraftExpiringSoon").expr).toBe(
      ruleOf(source.groups, "SoracomEsimDraftExpiringSoon").expr.replace("< 7200", "< 5400"),
    );
  });

  it("changes no other expression", () => {
    const moved = new Set(["SoracomEsimOrderStuckInProgress", "SoracomEsimDraftExpiringSoon"]);
    for (const rule of source.groups.flatMap((g: Groups[number]) => g.rules)) {
      if (!moved.has(rule.alert)) expect(ruleOf(custom(), rule.alert).expr, rule.alert).toBe(rule.expr);
    }
  });

  it("prometheusRule.for replaces the `for:` of the named alerts and of no other", () => {
    const groups = groupsOf({
      "prometheusRule.for.SoracomEsimOrderStuckInProgress": "1s",
      "prometheusRule.for.SoracomEsimOrderFailed": "30s",
    });
    const want: Record<string, string> = { SoracomEsimOrderStuckInProgress: "1s", SoracomEsimOrderFailed: "30s" };
    for (const rule of source.groups.flatMap((g: Groups[number]) => g.rules)) {
      expect(ruleOf(groups, rule.alert).for, rule.alert).toBe(want[rule.alert] ?? rule.for);
    }
  });

  it("values.schema.json lets prometheusRule.for name every alert, and only those", () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, "charts/soracom-esim-operator/values.schema.json"), "utf8"));
    const names: string[] = schema.properties.prometheusRule.properties.for.propertyNames.enum;
    const alerts = source.groups.flatMap((g: Groups[number]) => g.rules.map((r) => r.alert as string));
    expect([...names].sort()).toEqual([...alerts].sort());
  });

  it("refuses prometheusRule.for for an alert that does not exist (a typo)", () => {
    expect(() => groupsOf({ "prometheusRule.for.SoracomEsimOrderStuck": "1s" })).toThrow(/SoracomEsimOrderStuck/);
  });

  it("adds the extra rule labels to every alert and keeps its severity", () => {
    for (const rule of custom().flatMap((g) => g.rules)) {
      expect(rule.labels).toEqual({ ...ruleOf(source.groups, rule.alert).labels, team: "iot" });
    }
  });

  it("prefixes every runbook_url with the base URL", () => {
    for (const rule of custom().flatMap((g) => g.rules)) {
      expect(rule.annotations.runbook_url).toBe(
        `https://example.com/esim/${ruleOf(source.groups, rule.alert).annotations.runbook_url}`,
      );
    }
  });

  describe.skipIf(!promtool)("checked by promtool", () => {
    it("the rendered rules are valid", () => {
      writeFileSync(join(work, "rendered.yaml"), stringify({ groups: custom() }));
      const res = spawnSync(promtool as string, ["check", "rules", "rendered.yaml"], { cwd: work, encoding: "utf8" });
      expect(res.stdout + res.stderr).toContain("SUCCESS");
    });

    it("with a 36 h threshold, an order IN_PROGRESS for 30 h stays quiet and one for 37 h fires", () => {
      writeFileSync(join(work, "rendered.yaml"), stringify({ groups: custom() }));
      const series = (id: string) =>
        `soracom_esim_order_status_since_timestamp_seconds{namespace="n",name="o",profile_order_id="${id}",status="IN_PROGRESS"}`;
      const test = {
        rule_files: ["rendered.yaml"],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            // Entered IN_PROGRESS at 7 h (PO-B) and at 0 (PO-A); evaluated at 37h10m.
            input_series: [
              { series: series("PO-A"), values: "0x2300" },
              { series: series("PO-B"), values: "25200x2300" },
            ],
            alert_rule_test: [
              { eval_time: "35h", alertname: "SoracomEsimOrderStuckInProgress", exp_alerts: [] },
              {
                eval_time: "37h10m",
                alertname: "SoracomEsimOrderStuckInProgress",
                exp_alerts: [
                  {
                    exp_labels: {
                      severity: "warning",
                      team: "iot",
                      namespace: "n",
                      name: "o",
                      profile_order_id: "PO-A",
                      status: "IN_PROGRESS",
                    },
                    exp_annotations: {
                      summary: "Soracom order PO-A has been IN_PROGRESS for 1d 13h 10m 0s.",
                      description:
                        "The Soracom order PO-A of EsimProfileOrder n/o has been IN_PROGRESS for 1d 13h 10m 0s, longer than the vendor usually takes. The profiles are paid for but not delivered yet: check the order in the Soracom console and contact Soracom support if it does not complete.",
                      runbook_url: "https://example.com/esim/docs/runbooks.md#soracomesimorderstuckinprogress",
                    },
                  },
                ],
              },
            ],
          },
        ],
      };
      writeFileSync(join(work, "threshold.test.yaml"), stringify(test));
      const res = spawnSync(promtool as string, ["test", "rules", "threshold.test.yaml"], {
        cwd: work,
        encoding: "utf8",
      });
      expect(res.stdout + res.stderr).toContain("SUCCESS");
    });
  });
});
