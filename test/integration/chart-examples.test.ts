import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveBinaries } from "../controlplane/binaries.js";
import { useCluster } from "../support/cluster.js";
import { parseManifests, REPO_ROOT, runKubectl, toYamlStream } from "../unit/chart-support.js";

// Every example, and what each kustomize overlay builds, sent to the real API server with a server-side
// dry run: the CRDs' CEL rules (plan pairings, immutability, approvedQuantity only with Manual) run here,
// which the schema check in the unit tests cannot do.
const cluster = useCluster({ namespacePrefix: "chart-examples" });
const examples = join(REPO_ROOT, "examples");
const work = mkdtempSync(join(tmpdir(), "chart-examples-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The manifests of a YAML stream, moved into this test's namespace (the run owns no other). */
function intoTestNamespace(yaml: string): string {
  const manifests = parseManifests(yaml);
  for (const m of manifests) delete m.metadata.namespace;
  return toYamlStream(manifests);
}

async function dryRun(yaml: string) {
  const { kubectl } = await resolveBinaries();
  return runKubectl(
    kubectl,
    cluster.info.kubeconfigPath,
    ["apply", "--dry-run=server", "-n", cluster.namespace, "-o", "name", "-f", "-"],
    yaml,
  );
}

describe("examples accepted by the API server (server-side dry run)", () => {
  for (const file of readdirSync(examples).filter((f) => f.endsWith(".yaml"))) {
    it(file, async () => {
      // credentials-secret.yaml names the operator's namespace (esim-system), which this run does not own.
      const res = await dryRun(intoTestNamespace(readFileSync(join(examples, file), "utf8")));
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout.trim()).not.toBe("");
    });
  }

  for (const overlay of ["sandbox", "production"]) {
    it(`kustomize/overlays/${overlay}`, async () => {
      const { kubectl } = await resolveBinaries();
      const built = execFileSync(kubectl, ["kustomize", join(examples, "kustomize/overlays", overlay)], {
        encoding: "utf8",
      });
      // Into this test's namespace instead of fleet-<env>, which the run does not own.
      const res = await dryRun(intoTestNamespace(built));
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout.trim()).toBe("esimprofileorder.esim.soracom-operator.io/sensors");
    });

    it(`kustomize/overlays/${overlay}/credentials (what the admin applies)`, async () => {
      const { kubectl } = await resolveBinaries();
      const dir = join(work, overlay);
      cpSync(join(examples, "kustomize/overlays", overlay, "credentials"), dir, { recursive: true });
      cpSync(join(dir, "soracom-auth.env.example"), join(dir, "soracom-auth.env"));
      const res = await dryRun(intoTestNamespace(execFileSync(kubectl, ["kustomize", dir], { encoding: "utf8" })));
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout.trim().split("\n")).toContain(`secret/soracom-${overlay}`);
    });
  }

  it("the API server would refuse a broken example (the check above can fail)", async () => {
    const order = parseManifests(readFileSync(join(examples, "minimal-order.yaml"), "utf8"))[0]!;
    order.spec.approvedQuantity = 1; // only meaningful with confirmation: Manual (a CEL rule)
    const res = await dryRun(toYamlStream([order]));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("approvedQuantity is only meaningful with confirmation: Manual");
  });
});
