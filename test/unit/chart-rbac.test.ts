import { describe, expect, it } from "vitest";
import { findTool, lazy, type Manifest, only, renderChart, type VerbTable, verbTable } from "./chart-support.js";

// Least privilege, written down: the verbs per resource the controller's contract lists, and not one more.
// When the controller needs a new permission, this table and the chart change together, on purpose.
const helm = findTool("helm");

/** The controller's Kubernetes API use (the brief's contract), as "<group>/<resource>" → verbs. */
const CONTROLLER_VERBS: VerbTable = {
  "core/events": ["create", "patch"],
  "core/secrets": ["create", "get", "list", "patch", "update", "watch"],
  "esim.soracom-operator.io/esimprofileorders": ["get", "list", "patch", "update", "watch"],
  "esim.soracom-operator.io/esimprofileorders/finalizers": ["update"],
  "esim.soracom-operator.io/esimprofileorders/status": ["get", "patch", "update"],
  "esim.soracom-operator.io/esimprofiles": ["create", "delete", "get", "list", "patch", "update", "watch"],
  "esim.soracom-operator.io/esimprofiles/finalizers": ["update"],
  "esim.soracom-operator.io/esimprofiles/status": ["get", "patch", "update"],
};
/**
 * In the release namespace: the Lease (leader election) and the spend and termination ledger ConfigMaps,
 * each read and updated by name only. The controller also needs them in its code (kube/leader.ts, budget.ts).
 */
const leaseAndLedgerVerbs = (id: string, leaderElection = true): VerbTable => ({
  "core/configmaps": ["create"],
  [`core/configmaps [${id}-spend-ledger,${id}-termination-ledger]`]: ["get", "update"],
  ...(leaderElection
    ? { "coordination.k8s.io/leases": ["create"], [`coordination.k8s.io/leases [${id}]`]: ["get", "update"] }
    : {}),
});

const rbacKinds = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
const rbacOf = (manifests: Manifest[]) => manifests.filter((m) => rbacKinds.includes(m.kind));
const where = (m: Manifest) => `${m.kind} ${m.metadata.namespace ?? "(cluster)"}/${m.metadata.name}`;

describe.skipIf(!helm)("RBAC when watching all namespaces (the default)", () => {
  const manifests = lazy(() => renderChart(helm as string, { namespace: "esim-system", release: "esim" }));

  it("grants exactly the controller's verbs through one ClusterRole", () => {
    const roles = manifests().filter((m) => m.kind === "ClusterRole");
    expect(roles.map(where)).toEqual(["ClusterRole (cluster)/esim-soracom-esim-operator"]);
    expect(verbTable(roles[0]?.rules)).toEqual(CONTROLLER_VERBS);
  });

  it("grants the Lease and the termination ledger only in the release namespace, and only by name", () => {
    const roles = manifests().filter((m) => m.kind === "Role");
    expect(roles.map(where)).toEqual(["Role esim-system/esim-soracom-esim-operator-leader-election"]);
    expect(verbTable(roles[0]?.rules)).toEqual(leaseAndLedgerVerbs("esim-soracom-esim-operator"));
  });

  it("binds both to the chart's ServiceAccount and nobody else", () => {
    const sa = manifests().find((m) => m.kind === "ServiceAccount");
    const bindings = manifests().filter((m) => m.kind.endsWith("Binding"));
    expect(bindings.map(where).sort()).toEqual([
      "ClusterRoleBinding (cluster)/esim-soracom-esim-operator",
      "RoleBinding esim-system/esim-soracom-esim-operator-leader-election",
    ]);
    for (const b of bindings) {
      expect(b.subjects).toEqual([{ kind: "ServiceAccount", name: sa?.metadata.name, namespace: "esim-system" }]);
    }
  });
});

describe.skipIf(!helm)("RBAC when watching listed namespaces", () => {
  const manifests = lazy(() =>
    renderChart(helm as string, {
      namespace: "esim-system",
      release: "esim",
      set: { watchNamespaces: "{team-a,team-b}" },
    }),
  );

  it("creates no cluster-wide role at all", () => {
    expect(manifests().filter((m) => m.kind.startsWith("Cluster"))).toEqual([]);
  });

  it("grants the same verbs with a Role and RoleBinding in each watched namespace", () => {
    const roles = rbacOf(manifests()).filter((m) => m.kind === "Role" && !m.metadata.name.endsWith("leader-election"));
    expect(roles.map(where).sort()).toEqual([
      "Role team-a/esim-soracom-esim-operator",
      "Role team-b/esim-soracom-esim-operator",
    ]);
    for (const role of roles) expect(verbTable(role.rules), where(role)).toEqual(CONTROLLER_VERBS);
    const bindings = rbacOf(manifests()).filter((m) => m.kind === "RoleBinding");
    expect(bindings.map(where).sort()).toEqual([
      "RoleBinding esim-system/esim-soracom-esim-operator-leader-election",
      "RoleBinding team-a/esim-soracom-esim-operator",
      "RoleBinding team-b/esim-soracom-esim-operator",
    ]);
  });
});

describe.skipIf(!helm)("RBAC never reaches for more", () => {
  const variants = {
    default: {},
    namespaced: { watchNamespaces: "{team-a}" },
    "no leader election": { "leaderElection.enabled": "false" },
  };
  for (const [name, set] of Object.entries(variants)) {
    it(`${name}: no wildcard, no escalate/bind/impersonate, no deletecollection, no pods/exec`, () => {
      const rules = rbacOf(renderChart(helm as string, { set })).flatMap((m) => m.rules ?? []);
      const flat = JSON.stringify(rules);
      expect(flat).not.toContain('"*"');
      for (const verb of ["escalate", "bind", "impersonate", "deletecollection"])
        expect(flat).not.toContain(`"${verb}"`);
      expect(flat).not.toContain("pods");
      // Secrets are never deleted by the controller: an activation Secret goes with its EsimProfile (owner reference).
      expect(verbTable(rules)["core/secrets"]).not.toContain("delete");
    });
  }

  it("without leader election there is no lease permission, but the termination ledger stays", () => {
    const manifests = renderChart(helm as string, { set: { "leaderElection.enabled": "false" } });
    const role = only(manifests, "Role");
    expect(verbTable(role.rules)).toEqual(leaseAndLedgerVerbs("esim-soracom-esim-operator", false));
  });

  it("a custom lease name moves both resource names", () => {
    const manifests = renderChart(helm as string, { set: { "leaderElection.id": "esim-lease" } });
    expect(verbTable(only(manifests, "Role").rules)).toEqual(leaseAndLedgerVerbs("esim-lease"));
  });

  it("rbac.create false renders no RBAC (for clusters where admins grant it)", () => {
    expect(rbacOf(renderChart(helm as string, { set: { "rbac.create": "false" } }))).toEqual([]);
  });
});
