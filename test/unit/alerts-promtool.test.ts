import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findTool, githubAnchor, metricsIn, REPO_ROOT, requireToolInCi, unknownMetrics } from "./chart-support.js";

// deploy/prometheus/alerts.yaml checked by promtool, its unit tests (alerts.test.yaml) run by promtool, and
// the promises around them: every alert the issue asks for exists, has a summary, a description and a
// runbook section, and is tested both firing and staying quiet.
const promtool = findTool("promtool");
const dir = join(REPO_ROOT, "deploy/prometheus");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTest {
  name: string;
  alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
}
const rules: Rule[] = parse(readFileSync(join(dir, "alerts.yaml"), "utf8")).groups.flatMap(
  (g: { rules: Rule[] }) => g.rules,
);
const tests: AlertTest[] = parse(readFileSync(join(dir, "alerts.test.yaml"), "utf8")).tests;
const runbooks = readFileSync(join(REPO_ROOT, "docs/runbooks.md"), "utf8");

/** What the issue asks to alert on, and the alert that does it. */
const WANTED: Record<string, string> = {
  "an order stuck IN_PROGRESS over 24 h (configurable)": "SoracomEsimOrderStuckInProgress",
  "an order FAILED": "SoracomEsimOrderFailed",
  "a draft awaiting confirmation close to expiry": "SoracomEsimDraftExpiringSoon",
  "a COMPLETED order listing fewer profiles than ordered": "SoracomEsimOrderShortDelivery",
  "a profile deleted on its device whose SIM still bills": "SoracomEsimProfileDeletedOnDeviceStillBilling",
  "a budget exceeded": "SoracomEsimBudgetExceeded",
  "terminations paused": "SoracomEsimTerminationsPaused",
  "Soracom answers the controllers keep refusing": "SoracomEsimAnswersRefused",
  "Soracom answers the client keeps refusing": "SoracomEsimApiAnswersRefused",
  "a high Soracom error rate": "SoracomEsimApiErrorRateHigh",
  "a high Soracom 429 rate": "SoracomEsimApiRateLimited",
  "reconcile errors": "SoracomEsimReconcileErrors",
  "the controller absent": "SoracomEsimControllerAbsent",
  "the controller without a leader": "SoracomEsimNoLeader",
};

describe("promtool is available (CI installs Debian's prometheus package)", () => {
  it("is installed, or the run is not CI", (ctx) => requireToolInCi("promtool", promtool, ctx));
});

describe.skipIf(!promtool)("promtool", () => {
  it("check rules: alerts.yaml is valid", () => {
    const res = spawnSync(promtool as string, ["check", "rules", "alerts.yaml"], { cwd: dir, encoding: "utf8" });
    expect(res.stdout + res.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(res.status).toBe(0);
  });

  it("test rules: every case in alerts.test.yaml passes", () => {
    const res = spawnSync(promtool as string, ["test", "rules", "alerts.test.yaml"], { cwd: dir, encoding: "utf8" });
    expect(res.stdout + res.stderr).toContain("SUCCESS");
    expect(res.status).toBe(0);
  });
});

describe("the alerts", () => {
  for (const [want, alert] of Object.entries(WANTED)) {
    it(`alerts on ${want} (${alert})`, () => {
      expect(rules.map((r) => r.alert)).toContain(alert);
    });
  }

  it("are exactly the wanted ones, each once", () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(Object.values(WANTED).sort());
  });

  for (const rule of rules) {
    describe(rule.alert, () => {
      it("has a severity, a one-line summary and a description", () => {
        expect(["warning", "critical"]).toContain(rule.labels?.severity);
        expect(rule.annotations?.summary).toMatch(/^[^\n]+\.$/);
        expect(rule.annotations?.description?.length).toBeGreaterThan(80);
      });

      it("links to its own section of docs/runbooks.md", () => {
        const anchor = githubAnchor(rule.alert);
        expect(rule.annotations?.runbook_url).toBe(`docs/runbooks.md#${anchor}`);
        const headings = [...runbooks.matchAll(/^## (.+)$/gm)].map((m) => githubAnchor(m[1] as string));
        expect(headings).toContain(anchor);
      });

      it("reads only metrics the controller exposes", () => {
        expect(metricsIn(rule.expr).length).toBeGreaterThan(0);
        expect(unknownMetrics(rule.expr)).toEqual([]);
      });

      it("is tested firing and tested staying quiet", () => {
        const cases = tests.flatMap((t) => (t.alert_rule_test ?? []).filter((c) => c.alertname === rule.alert));
        expect(cases.filter((c) => c.exp_alerts.length > 0).length, "cases where it fires").toBeGreaterThan(0);
        expect(cases.filter((c) => c.exp_alerts.length === 0).length, "cases where it must not").toBeGreaterThan(0);
      });
    });
  }

  it("docs/runbooks.md has no section for an alert that does not exist", () => {
    const sections = [...runbooks.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(sections.sort()).toEqual(rules.map((r) => r.alert).sort());
  });
});

describe("metricsIn (how the tests read PromQL)", () => {
  const cases: Record<string, [string, string[]]> = {
    "a bare selector with labels": ['soracom_esim_orders{status="FAILED"} > 0', ["soracom_esim_orders"]],
    "a ratio of rates grouped by a label": [
      'sum by (operation) (rate(a_total{code="429"}[10m])) / sum by (operation) (rate(a_total[10m]))',
      ["a_total"],
    ],
    "a histogram quantile (bucket suffix folded)": [
      "histogram_quantile(0.95, sum by (le, op) (rate(d_seconds_bucket[5m])))",
      ["d_seconds"],
    ],
    "time() arithmetic": ["time() - since_seconds > 86400", ["since_seconds"]],
    "absent over a comparison": ['absent(up{job="x"} == 1)', ["up"]],
  };
  for (const [name, [expr, want]] of Object.entries(cases)) {
    it(name, () => expect(metricsIn(expr)).toEqual(want));
  }
});
