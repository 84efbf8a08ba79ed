import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKubeAccess } from "../../controller/kube/access.js";
import { KubeClient } from "../../controller/kube/rest.js";
import { resolveBinaries } from "../controlplane/binaries.js";
import { kubeconfigFor } from "../controlplane/credentials.js";
import type { useCluster } from "../support/cluster.js";
import { findTool, renderChart, runKubectl } from "../unit/chart-support.js";

type Cluster = ReturnType<typeof useCluster>;

/**
 * tenantIdentity makes a tenant of `namespace` as a cluster admin would: a ServiceAccount bound to the
 * chart's own view and edit roles (rendered from the chart, as installed by a release in `release`'s
 * namespace), and a kubeconfig with its token. Everything a test does as that tenant goes through RBAC.
 */
export async function tenantIdentity(
  cluster: Cluster,
  namespace: string,
  releaseNamespace: string,
): Promise<{ client: KubeClient; kubeconfig: string }> {
  const kubectl = async (args: string[], input?: string) => {
    const res = await runKubectl((await resolveBinaries()).kubectl, cluster.info.kubeconfigPath, args, input);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${res.stderr}`);
    return res.stdout;
  };
  const roles = renderChart(findTool("helm") as string, { namespace: releaseNamespace, release: "esim" }).filter((m) =>
    ["esim-soracom-esim-operator-view", "esim-soracom-esim-operator-edit"].includes(m.metadata.name),
  );
  const items = [
    ...roles,
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "tenant", namespace } },
    ...["view", "edit"].map((r) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: `tenant-${r}`, namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `esim-soracom-esim-operator-${r}` },
      subjects: [{ kind: "ServiceAccount", name: "tenant", namespace }],
    })),
    // Kubernetes' own edit role lets tenants manage the Secrets of their namespace; so does this.
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "tenant-secrets", namespace },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["create", "get", "list", "delete"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "tenant-secrets", namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "tenant-secrets" },
      subjects: [{ kind: "ServiceAccount", name: "tenant", namespace }],
    },
  ];
  await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
  const token = (await kubectl(["create", "token", "tenant", "-n", namespace, "--duration=1h"])).trim();
  const kubeconfig = join(mkdtempSync(join(tmpdir(), "tenant-")), `${namespace}.kubeconfig`);
  const identity = { name: `system:serviceaccount:${namespace}:tenant`, token, groups: [] };
  writeFileSync(kubeconfig, kubeconfigFor(cluster.info.server, cluster.info.caPem, identity, namespace), {
    mode: 0o600,
  });
  const access = await loadKubeAccess(kubeconfig);
  return { client: new KubeClient(access!), kubeconfig };
}
