import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveBinaries } from "../controlplane/binaries.js";
import { namespaceName } from "../controlplane/fixture.js";
import { useCluster } from "../support/cluster.js";
import {
  ciValuesFiles,
  findTool,
  parseManifests,
  renderChartText,
  requireToolInCi,
  runKubectl,
  toYamlStream,
} from "../unit/chart-support.js";

// The chart rendered with every ci/ values file and sent to a real kube-apiserver with
// `kubectl apply --dry-run=server`: the API server validates every object (schemas, names, references to
// namespaces) without storing anything. The release namespace warns on the "restricted" Pod Security
// Standard, so a pod template that would break it shows up as a warning, and the test fails on it.
const cluster = useCluster({ namespacePrefix: "chart-dry-run" });
const helm = findTool("helm");

// The Prometheus Operator's kinds need its CRDs, which this control plane does not have; their content is
// checked by the unit tests (promtool over the rendered rules, the ServiceMonitor's fields).
const NEEDS_PROMETHEUS_OPERATOR = new Set(["ServiceMonitor", "PrometheusRule"]);

async function kubectl(args: string[], input?: string) {
  return runKubectl((await resolveBinaries()).kubectl, cluster.info.kubeconfigPath, args, input);
}

async function createNamespace(prefix: string): Promise<string> {
  const name = namespaceName(prefix);
  await cluster.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

describe("helm is available (CI builds it)", () => {
  it("is installed, or the run is not CI", (ctx) => requireToolInCi("helm", helm, ctx));
});

describe.skipIf(!helm)("the rendered chart, applied to the API server with a server-side dry run", () => {
  for (const file of ciValuesFiles()) {
    it(`${basename(file)}: the API server accepts every object, and the pod meets the restricted Pod Security Standard`, async () => {
      const release = cluster.namespace;
      const labelled = await kubectl(["label", "namespace", release, "pod-security.kubernetes.io/warn=restricted"]);
      expect(labelled.code, labelled.stderr).toBe(0);
      // Watched namespaces must exist: use fresh ones instead of the file's team-a/team-b.
      const set = basename(file).startsWith("namespaced")
        ? { watchNamespaces: `{${await createNamespace("team-a")},${await createNamespace("team-b")}}` }
        : undefined;

      const manifests = parseManifests(
        renderChartText(helm as string, {
          namespace: release,
          valuesFiles: [file],
          includeCrds: true,
          ...(set ? { set } : {}),
        }),
      );
      const applicable = manifests.filter((m) => !NEEDS_PROMETHEUS_OPERATOR.has(m.kind));
      const res = await kubectl(["apply", "--dry-run=server", "-o", "name", "-f", "-"], toYamlStream(applicable));

      expect(res.stderr).not.toMatch(/would violate PodSecurity/);
      expect(res.code, res.stderr).toBe(0);
      const applied = res.stdout.trim().split("\n").sort();
      expect(applied).toHaveLength(applicable.length);
      expect(applied).toContain("deployment.apps/esim-soracom-esim-operator");
      expect(applied).toContain(
        "customresourcedefinition.apiextensions.k8s.io/esimprofileorders.esim.soracom-operator.io",
      );
    });
  }

  it("a pod template that breaks the restricted standard is reported (the check above can fail)", async () => {
    const release = cluster.namespace;
    await kubectl(["label", "namespace", release, "pod-security.kubernetes.io/warn=restricted"]);
    const manifests = parseManifests(renderChartText(helm as string, { namespace: release }));
    const deployment = manifests.filter((m) => m.kind === "Deployment");
    deployment[0]!.spec.template.spec.securityContext.seccompProfile = { type: "Unconfined" };
    const res = await kubectl(["apply", "--dry-run=server", "-f", "-"], toYamlStream(deployment));
    expect(res.stderr).toMatch(/would violate PodSecurity "restricted:latest"/);
  });
});
