import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { crdFiles, REPO_ROOT } from "./chart-support.js";

// Wherever the CRDs are listed by hand, every CRD in crds/ is there: uninstall step 4 once deleted 2 of
// the 3, and Chart.yaml's artifacthub.io/crds named 2 kinds.

const crds = crdFiles();

describe("the CRDs listed by hand", () => {
  it("crds/ holds the operator's CRDs (the lists below are checked against it)", () => {
    expect(crds.length).toBeGreaterThanOrEqual(3);
  });

  it("docs/install.md's Safe uninstall deletes every CRD in crds/", () => {
    const doc = readFileSync(join(REPO_ROOT, "docs/install.md"), "utf8");
    const section = /^## Safe uninstall\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(doc)?.[1] ?? "";
    const commands = [...section.matchAll(/kubectl delete crd((?:\s+[a-z0-9.-]+)+)/g)];
    expect(commands, "a `kubectl delete crd …` command in the section").toHaveLength(1);
    const named = (commands[0]?.[1] ?? "").trim().split(/\s+/).sort();
    expect(named).toEqual(crds.map((c) => c.metadata.name).sort());
  });

  it("Chart.yaml's artifacthub.io/crds names every kind, at its storage version", () => {
    const chart = parse(readFileSync(join(REPO_ROOT, "charts/soracom-esim-operator/Chart.yaml"), "utf8"));
    const listed: { kind: string; version: string }[] = parse(chart.annotations["artifacthub.io/crds"]);
    const want = crds.map((c) => ({
      kind: c.spec.names.kind,
      version: c.spec.versions.find((v) => v.storage)?.name ?? "",
    }));
    const byKind = (a: { kind: string }, b: { kind: string }) => a.kind.localeCompare(b.kind);
    expect(listed.map(({ kind, version }) => ({ kind, version })).sort(byKind)).toEqual(want.sort(byKind));
  });
});
