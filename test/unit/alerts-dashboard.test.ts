import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { findTool, REPO_ROOT } from "./chart-support.js";

// deploy/grafana/soracom-esim-operator.json: the panels the issue asks for, a layout Grafana can place, and
// PromQL that parses (promtool checks every query as a recording rule).
const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, "deploy/grafana/soracom-esim-operator.json"), "utf8"));
const promtool = findTool("promtool");
const work = mkdtempSync(join(tmpdir(), "dashboard-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
}
const panels: Panel[] = dashboard.panels;
const queries = panels.filter((p) => p.type !== "row");
/** Grafana's variable for the data source, as the panels must reference it. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template
const DATASOURCE_VARIABLE = "${datasource}";
const exprOf = (title: string) => (panels.find((p) => p.title === title)?.targets ?? []).map((t) => t.expr).join("\n");

describe("the Grafana dashboard", () => {
  it("has a stable uid and title, and a data source variable", () => {
    expect(dashboard.uid).toBe("soracom-esim-operator");
    expect(dashboard.title).toBe("soracom-esim-operator");
    expect(dashboard.templating.list.map((v: { name: string }) => v.name)).toEqual(["datasource", "namespace"]);
  });

  const wanted: Record<string, [string, RegExp]> = {
    "orders by status": ["Orders by status", /sum by \(status\) \(soracom_esim_orders/],
    "profiles by phase": ["Profiles by phase", /sum by \(phase\) \(soracom_esim_profiles/],
    "Soracom latency": ["Latency p95 by operation", /soracom_api_request_duration_seconds_bucket/],
    "Soracom errors": ["Errors and rate limiting", /soracom_api_requests_total\{code!~"\[1-4\]\.\."\}/],
    "reconcile rate": ["Reconciles by result", /rate\(controller_runtime_reconcile_total/],
    "reconcile errors": ["Reconcile errors", /rate\(controller_runtime_reconcile_errors_total/],
    "queue depth": ["Work queue depth", /workqueue_depth/],
  };
  for (const [what, [title, query]] of Object.entries(wanted)) {
    it(`shows ${what}`, () => {
      expect(exprOf(title)).toMatch(query);
    });
  }

  it("gives every panel a unique id and the dashboard's data source variable", () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of queries) {
      expect(p.datasource?.uid, p.title).toBe(DATASOURCE_VARIABLE);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe(DATASOURCE_VARIABLE);
    }
  });

  it("places panels on the 24-column grid without overlaps", () => {
    const cells = new Set<string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
      }
    }
  });

  it.skipIf(!promtool)("has only queries that parse as PromQL", () => {
    const rules = queries.flatMap((p, i) =>
      (p.targets ?? []).map((t, j) => ({
        record: `dashboard:panel_${i}_${j}`,
        // Grafana's variables become what they select.
        expr: t.expr.replaceAll("$namespace", ".*"),
      })),
    );
    writeFileSync(join(work, "dashboard.rules.yaml"), stringify({ groups: [{ name: "dashboard", rules }] }));
    const res = spawnSync(promtool as string, ["check", "rules", "dashboard.rules.yaml"], {
      cwd: work,
      encoding: "utf8",
    });
    expect(res.stdout + res.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});
