import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART_DIR, findTool, REPO_ROOT } from "./chart-support.js";

// The chart can only read files inside its folder, so it carries copies of the single sources: the CRDs
// (crds/) and the alert rules (deploy/prometheus/alerts.yaml). scripts/sync-chart-crds.sh makes the copies;
// these tests fail on any drift, so the chart never installs a schema or alerts other than the tested ones.
const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort();

describe("the chart's copies of the single sources", () => {
  it("has the same CRD files as crds/", () => {
    expect(yamlFiles(join(CHART_DIR, "crds"))).toEqual(yamlFiles(join(REPO_ROOT, "crds")));
  });

  for (const file of yamlFiles(join(REPO_ROOT, "crds"))) {
    it(`crds/${file} is byte for byte the chart's`, () => {
      expect(readFileSync(join(CHART_DIR, "crds", file), "utf8")).toBe(
        readFileSync(join(REPO_ROOT, "crds", file), "utf8"),
      );
    });
  }

  it("files/alerts.yaml is byte for byte deploy/prometheus/alerts.yaml", () => {
    expect(readFileSync(join(CHART_DIR, "files/alerts.yaml"), "utf8")).toBe(
      readFileSync(join(REPO_ROOT, "deploy/prometheus/alerts.yaml"), "utf8"),
    );
  });

  it("scripts/sync-chart-crds.sh --check agrees (what CI runs)", () => {
    const res = spawnSync("bash", [join(REPO_ROOT, "scripts/sync-chart-crds.sh"), "--check"], { encoding: "utf8" });
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
  });
});

describe("scripts/sync-chart-crds.sh", () => {
  it("detects drift, repairs it, and removes a CRD that no longer has a source", () => {
    const tmp = mkdtempSync(join(tmpdir(), "chart-sync-"));
    try {
      for (const dir of ["crds", "charts", "deploy/prometheus", "scripts"]) {
        cpSync(join(REPO_ROOT, dir), join(tmp, dir), { recursive: true });
      }
      const script = join(tmp, "scripts/sync-chart-crds.sh");
      const chartCrd = join(tmp, "charts/soracom-esim-operator/crds/esim.soracom-operator.io_esimprofiles.yaml");
      writeFileSync(chartCrd, `${readFileSync(chartCrd, "utf8")}# edited by hand\n`);
      writeFileSync(join(tmp, "charts/soracom-esim-operator/crds/stale.yaml"), "kind: Stale\n");

      const check = spawnSync("bash", [script, "--check"], { encoding: "utf8" });
      expect(check.status).toBe(1);
      expect(check.stderr).toContain(
        "drift: charts/soracom-esim-operator/crds/esim.soracom-operator.io_esimprofiles.yaml",
      );
      expect(check.stderr).toContain("drift: charts/soracom-esim-operator/crds/stale.yaml has no source");

      expect(spawnSync("bash", [script], { encoding: "utf8" }).status).toBe(0);
      expect(spawnSync("bash", [script, "--check"], { encoding: "utf8" }).status).toBe(0);
      expect(yamlFiles(join(tmp, "charts/soracom-esim-operator/crds"))).toEqual(yamlFiles(join(tmp, "crds")));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("the chart's version", () => {
  it("its appVersion (the default image tag) is the package's version", () => {
    const chart = parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8"));
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
    expect(chart.appVersion).toBe(pkg.version);
  });
});

describe("the shell checks for CI without Node (scripts/check-*.sh)", () => {
  it.skipIf(!findTool("helm"))("check-chart.sh passes", () => {
    const res = spawnSync("bash", [join(REPO_ROOT, "scripts/check-chart.sh")], { encoding: "utf8" });
    expect(res.stderr).toBe("");
    // One "ok" line per values file in ci/, each named.
    const ci = readdirSync(join(CHART_DIR, "ci")).filter((f) => f.endsWith("-values.yaml"));
    expect(res.stdout.trim().split("\n").sort()).toEqual(
      ci.map((f) => `ok: ${f} (helm lint --strict, helm template)`).sort(),
    );
    expect(res.status).toBe(0);
  });

  it.skipIf(!findTool("promtool"))("check-alerts.sh passes", () => {
    const res = spawnSync("bash", [join(REPO_ROOT, "scripts/check-alerts.sh")], { encoding: "utf8" });
    expect(res.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(res.status).toBe(0);
  });
});
