import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CHART_DIR, findTool, KUBE_VERSION, parseManifests, TEST_IMAGE_REPOSITORY } from "./chart-support.js";

// NOTES.txt is what `helm install` prints. `helm template` does not render it, so the test renders it
// through a copy of the chart whose extra template puts tpl(NOTES.txt) into a ConfigMap.
const helm = findTool("helm");
const work = mkdtempSync(join(tmpdir(), "chart-notes-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function notes(set: Record<string, string> = {}): string {
  const chart = join(work, "chart");
  rmSync(chart, { recursive: true, force: true });
  cpSync(CHART_DIR, chart, { recursive: true });
  cpSync(join(chart, "templates/NOTES.txt"), join(chart, "files/NOTES.txt"));
  writeFileSync(
    join(chart, "templates/notes-probe.yaml"),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "files/NOTES.txt") . | quote }}\n',
  );
  const args = ["template", "esim", chart, "-n", "esim-system", "--kube-version", KUBE_VERSION];
  for (const [k, v] of Object.entries({ "image.repository": TEST_IMAGE_REPOSITORY, ...set }))
    args.push("--set", `${k}=${v}`);
  const out = execFileSync(helm as string, [...args, "--show-only", "templates/notes-probe.yaml"], {
    encoding: "utf8",
  });
  return parseManifests(out)[0]?.data.notes as string;
}

describe.skipIf(!helm)("NOTES.txt", () => {
  it("warns when there are no default credentials", () => {
    expect(notes()).toContain("WARNING: no default credentials");
  });

  it("with an account the chart creates (or names as default), names it instead of warning", () => {
    const created = notes({ "accounts.create.enabled": "true", "accounts.create.credentialsSecret": "creds" });
    expect(created).toContain("Default account: SoracomAccount default");
    expect(created).not.toContain("WARNING");
    expect(notes({ "accounts.default": "fleet" })).toContain("Default account: SoracomAccount fleet");
    expect(notes()).toContain("must name a SoracomAccount");
  });

  it("names the credentials Secret and how to create it with kubectl, with placeholders only", () => {
    const text = notes({ "credentials.existingSecret": "soracom-credentials" });
    expect(text).toContain("Secret esim-system/soracom-credentials");
    expect(text).toContain("kubectl create secret generic soracom-credentials -n esim-system");
    expect(text).not.toContain("WARNING: no default credentials");
  });

  it("says the default credentials serve only credentials.namespaces once a SoracomAccount exists", () => {
    const none = notes({ "credentials.existingSecret": "soracom-credentials" });
    expect(none).toContain("only while no SoracomAccount exists");
    expect(none).toContain("credentials.namespaces (none now)");
    const listed = notes({ "credentials.existingSecret": "soracom-credentials", "credentials.namespaces": "{a,b}" });
    expect(listed).toContain("a, b (credentials.namespaces)");
  });

  it("states the budgets in force, and a dry run when on", () => {
    const text = notes({ "budgets.spend.limit": "30", "controller.dryRun": "true" });
    expect(text).toContain("spend budget:       30 profiles ordered per 24h");
    expect(text).toContain("termination budget: 20 SIM terminations per 1h");
    expect(text).toContain("DRY RUN");
  });

  it("says which Soracom API it talks to, sandbox included", () => {
    expect(notes({ "soracom.sandbox": "true", "soracom.coverage": "g" })).toContain(
      "Soracom API: coverage g (SANDBOX)",
    );
    expect(notes({ "soracom.endpoint": "https://g.api-sandbox.soracom.io" })).toContain(
      "Soracom API: https://g.api-sandbox.soracom.io",
    );
  });

  it("warns that uninstalling keeps the CRDs and points to the safe uninstall", () => {
    expect(notes()).toMatch(/Uninstalling keeps the CRDs[\s\S]*docs\/install\.md/);
  });
});
