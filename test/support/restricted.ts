import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GROUP } from "../../controller/api/vocabulary.js";
import { resolveBinaries } from "../controlplane/binaries.js";
import { kubeconfigFor } from "../controlplane/credentials.js";
import { runKubectl } from "../unit/chart-support.js";
import type { Cluster } from "./cluster.js";

/**
 * restrictedKubeconfig makes a ServiceAccount in `namespace` that may do everything the controller does
 * there, except list and watch the resources named in `noList`, and returns a kubeconfig holding a real
 * token for it: an informer of those resources never syncs, as when RBAC forgets a namespace.
 */
export async function restrictedKubeconfig(cluster: Cluster, namespace: string, noList: string[]): Promise<string> {
  const bin = (await resolveBinaries()).kubectl;
  const kubectl = async (args: string[], input?: string) => {
    const res = await runKubectl(bin, cluster.info.kubeconfigPath, args, input);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${res.stderr}`);
    return res.stdout;
  };
  const name = `restricted-${noList.join("-").replace(/[^a-z0-9-]/g, "")}`.slice(0, 60);
  const all = ["get", "list", "watch", "create", "update", "patch", "delete"];
  const rule = (group: string, resource: string) => ({
    apiGroups: [group],
    resources: [resource, `${resource}/status`],
    verbs: noList.includes(resource) ? all.filter((v) => v !== "list" && v !== "watch") : all,
  });
  const manifests = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace },
      rules: [
        rule(GROUP, "esimprofileorders"),
        rule(GROUP, "esimprofiles"),
        rule("", "secrets"),
        rule("", "configmaps"),
        rule("", "events"),
        rule("coordination.k8s.io", "leases"),
        rule("events.k8s.io", "events"),
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
  ];
  await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }));
  const token = (await kubectl(["create", "token", name, "-n", namespace, "--duration=1h"])).trim();
  const identity = { name: `system:serviceaccount:${namespace}:${name}`, token, groups: [] };
  const path = join(mkdtempSync(join(tmpdir(), "restricted-")), "kubeconfig");
  writeFileSync(path, kubeconfigFor(cluster.info.server, cluster.info.caPem, identity, namespace), { mode: 0o600 });
  return path;
}
