import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadKubeAccess } from "../../controller/kube/access.js";
import { KubeClient } from "../../controller/kube/rest.js";
import { resolveBinaries } from "../controlplane/binaries.js";
import { kubeconfigFor } from "../controlplane/credentials.js";
import { findTool, renderChart, runKubectl } from "../unit/chart-support.js";
import type { Cluster } from "./cluster.js";

/** kubectl runs the control plane's kubectl as the admin; a non-zero exit throws with its stderr. */
export async function kubectl(cluster: Cluster, args: string[], input?: string): Promise<string> {
  const res = await runKubectl((await resolveBinaries()).kubectl, cluster.info.kubeconfigPath, args, input);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${res.stderr}`);
  return res.stdout;
}

/**
 * tenantIdentity makes a ServiceAccount "tenant" in the namespace, bound to the chart's view and edit roles
 * (rendered from the chart as installed in `operatorNamespace`) and to a Role with `core` (verbs on
 * Secrets and ConfigMaps of its own namespace, as a team typically has), and returns a client and a
 * kubeconfig with its token: every request is the tenant's, under real RBAC.
 */
export async function tenantIdentity(
  cluster: Cluster,
  opts: { namespace: string; operatorNamespace: string; dir: string; core: Record<string, string[]>; hours?: number },
): Promise<{ client: KubeClient; kubeconfig: string }> {
  const { namespace } = opts;
  const helm = findTool("helm");
  if (!helm) throw new Error("helm is not available");
  const roles = renderChart(helm, { namespace: opts.operatorNamespace, release: "esim" }).filter((m) =>
    ["esim-soracom-esim-operator-view", "esim-soracom-esim-operator-edit"].includes(m.metadata.name),
  );
  const binding = (name: string, kind: string, role: string) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: role },
    subjects: [{ kind: "ServiceAccount", name: "tenant", namespace }],
  });
  const items = [
    ...roles,
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "tenant", namespace } },
    binding("tenant-view", "ClusterRole", "esim-soracom-esim-operator-view"),
    binding("tenant-edit", "ClusterRole", "esim-soracom-esim-operator-edit"),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "tenant-core", namespace },
      rules: Object.entries(opts.core).map(([resource, verbs]) => ({ apiGroups: [""], resources: [resource], verbs })),
    },
    binding("tenant-core", "Role", "tenant-core"),
  ];
  await kubectl(cluster, ["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
  const duration = `${Math.max(1, Math.ceil(opts.hours ?? 1))}h`;
  const token = (
    await kubectl(cluster, ["create", "token", "tenant", "-n", namespace, `--duration=${duration}`])
  ).trim();
  const kubeconfig = join(opts.dir, `${namespace}.kubeconfig`);
  const identity = { name: `system:serviceaccount:${namespace}:tenant`, token, groups: [] };
  writeFileSync(kubeconfig, kubeconfigFor(cluster.info.server, cluster.info.caPem, identity, namespace), {
    mode: 0o600,
  });
  const access = await loadKubeAccess(kubeconfig);
  if (!access) throw new Error(`cannot load ${kubeconfig}`);
  return { client: new KubeClient(access), kubeconfig };
}
