import { describe, expect, it } from "vitest";
import { findTool, lazy, type Manifest, only, renderChart, type VerbTable, verbTable } from "./chart-support.js";

// Least privilege, written down: the verbs per resource the controller's contract lists, and not one more.
// When the controller needs a new permission, this table and the chart change together, on purpose.
const helm = findTool("helm");

/** In the watched namespaces (ClusterRole for all, Role per namespace): the two kinds, events, Secret creation. */
const CONTROLLER_VERBS: VerbTable = {
  "core/events": ["create", "patch"],
  // Activation Secrets are created, never read back, listed or watched by default.
  "core/secrets": ["create"],
  "esim.soracom-operator.io/esimprofileorders": ["get", "list", "patch", "update", "watch"],
  "esim.soracom-operator.io/esimprofileorders/finalizers": ["update"],
  "esim.soracom-operator.io/esimprofileorders/status": ["get", "patch", "update"],
  "esim.soracom-operator.io/esimprofiles": ["create", "delete", "get", "list", "patch", "update", "watch"],
  "esim.soracom-operator.io/esimprofiles/finalizers": ["update"],
  "esim.soracom-operator.io/esimprofiles/status": ["get", "patch", "update"],
};

/** Cluster-wide however many namespaces are watched: the admin's accounts and namespace labels. */
const ACCOUNT_VERBS: VerbTable = {
  "core/namespaces": ["get", "list", "watch"],
  "esim.soracom-operator.io/soracomaccounts": ["get", "list", "watch"],
  "esim.soracom-operator.io/soracomaccounts/status": ["get", "patch", "update"],
};

/** In the release namespace only: the Lease, the ledgers, the accounts' credentials (read only). */
const releaseVerbs = (id: string, leaderElection = true): VerbTable => ({
  "core/configmaps": ["create", "get", "update"],
  "core/secrets": ["get"],
  ...(leaderElection
    ? { "coordination.k8s.io/leases": ["create"], [`coordination.k8s.io/leases [${id}]`]: ["get", "update"] }
    : {}),
});

const rbacKinds = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
const rbacOf = (manifests: Manifest[]) => manifests.filter((m) => rbacKinds.includes(m.kind));
const where = (m: Manifest) => `${m.kind} ${m.metadata.namespace ?? "(cluster)"}/${m.metadata.name}`;
const aggregated = (m: Manifest) =>
  Object.keys(m.metadata.labels ?? {}).some((k) => k.startsWith("rbac.authorization.k8s.io/aggregate-to-"));
const controllerRoles = (manifests: Manifest[]) => manifests.filter((m) => m.kind === "ClusterRole" && !aggregated(m));

describe.skipIf(!helm)("RBAC when watching all namespaces (the default)", () => {
  const manifests = lazy(() => renderChart(helm as string, { namespace: "esim-system", release: "esim" }));

  it("grants exactly the controller's verbs through its ClusterRoles", () => {
    const roles = controllerRoles(manifests());
    expect(roles.map(where).sort()).toEqual([
      "ClusterRole (cluster)/esim-soracom-esim-operator",
      "ClusterRole (cluster)/esim-soracom-esim-operator-accounts",
    ]);
    expect(verbTable(only(roles, "ClusterRole", "esim-soracom-esim-operator").rules)).toEqual(CONTROLLER_VERBS);
    expect(verbTable(only(roles, "ClusterRole", "esim-soracom-esim-operator-accounts").rules)).toEqual(ACCOUNT_VERBS);
  });

  it("no cluster-wide role lists, watches or reads Secrets by default (issue 13)", () => {
    for (const role of manifests().filter((m) => m.kind === "ClusterRole")) {
      const secrets = verbTable(role.rules)["core/secrets"] ?? [];
      for (const verb of ["list", "watch", "get"])
        expect(secrets, `${where(role)} ${verb} secrets`).not.toContain(verb);
    }
  });

  it("grants the Lease, the ledgers and the accounts' credentials only in the release namespace", () => {
    const roles = manifests().filter((m) => m.kind === "Role");
    expect(roles.map(where)).toEqual(["Role esim-system/esim-soracom-esim-operator-leader-election"]);
    expect(verbTable(roles[0]?.rules)).toEqual(releaseVerbs("esim-soracom-esim-operator"));
  });

  it("binds its roles to the chart's ServiceAccount and nobody else", () => {
    const sa = manifests().find((m) => m.kind === "ServiceAccount");
    const bindings = manifests().filter((m) => m.kind.endsWith("Binding"));
    expect(bindings.map(where).sort()).toEqual([
      "ClusterRoleBinding (cluster)/esim-soracom-esim-operator",
      "ClusterRoleBinding (cluster)/esim-soracom-esim-operator-accounts",
      "RoleBinding esim-system/esim-soracom-esim-operator-leader-election",
    ]);
    for (const b of bindings) {
      expect(b.subjects).toEqual([{ kind: "ServiceAccount", name: sa?.metadata.name, namespace: "esim-system" }]);
    }
  });

  it("tenants: the view, edit and admin roles get the two kinds (not their status, never accounts)", () => {
    const view = only(manifests(), "ClusterRole", "esim-soracom-esim-operator-view");
    const edit = only(manifests(), "ClusterRole", "esim-soracom-esim-operator-edit");
    expect(Object.keys(view.metadata.labels ?? {}).filter((k) => k.includes("aggregate-to"))).toEqual([
      "rbac.authorization.k8s.io/aggregate-to-view",
      "rbac.authorization.k8s.io/aggregate-to-edit",
      "rbac.authorization.k8s.io/aggregate-to-admin",
    ]);
    expect(verbTable(view.rules)).toEqual({
      "esim.soracom-operator.io/esimprofileorders": ["get", "list", "watch"],
      "esim.soracom-operator.io/esimprofileorders/status": ["get", "list", "watch"],
      "esim.soracom-operator.io/esimprofiles": ["get", "list", "watch"],
      "esim.soracom-operator.io/esimprofiles/status": ["get", "list", "watch"],
    });
    expect(verbTable(edit.rules)).toEqual({
      "esim.soracom-operator.io/esimprofileorders": ["create", "delete", "deletecollection", "patch", "update"],
      "esim.soracom-operator.io/esimprofiles": ["create", "delete", "deletecollection", "patch", "update"],
    });
    expect(JSON.stringify([view.rules, edit.rules])).not.toContain("soracomaccounts");
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

  it("the only cluster-wide roles are the accounts' reads and the tenants' aggregated roles", () => {
    expect(controllerRoles(manifests()).map(where)).toEqual([
      "ClusterRole (cluster)/esim-soracom-esim-operator-accounts",
    ]);
  });

  it("Events about accounts: create and patch in the default namespace only, not cluster-wide", () => {
    const accounts = only(manifests(), "ClusterRole", "esim-soracom-esim-operator-accounts");
    expect(verbTable(accounts.rules)["core/events"]).toBeUndefined();
    const role = manifests().find((m) => m.kind === "Role" && m.metadata.name.endsWith("account-events"));
    expect(role && where(role)).toBe("Role default/esim-soracom-esim-operator-account-events");
    expect(verbTable(role?.rules)).toEqual({ "core/events": ["create", "patch"] });
    const binding = manifests().find((m) => m.kind === "RoleBinding" && m.metadata.name.endsWith("account-events"));
    expect(binding?.metadata.namespace).toBe("default");
    expect(binding?.subjects).toEqual([
      { kind: "ServiceAccount", name: "esim-soracom-esim-operator", namespace: "esim-system" },
    ]);
  });

  it("grants the same verbs with a Role and RoleBinding in each watched namespace", () => {
    const roles = rbacOf(manifests()).filter(
      (m) => m.kind === "Role" && !/(leader-election|account-events)$/.test(m.metadata.name),
    );
    expect(roles.map(where).sort()).toEqual([
      "Role team-a/esim-soracom-esim-operator",
      "Role team-b/esim-soracom-esim-operator",
    ]);
    for (const role of roles) expect(verbTable(role.rules), where(role)).toEqual(CONTROLLER_VERBS);
  });
});

describe.skipIf(!helm)("RBAC grows only with the values that ask for it", () => {
  it("watching activation Secrets adds get, list and watch on Secrets; tenant credentials add get only", () => {
    const secrets = (set: Record<string, string>) =>
      verbTable(only(renderChart(helm as string, { set }), "ClusterRole", "esim-soracom-esim-operator").rules)[
        "core/secrets"
      ];
    expect(secrets({ "controller.watchActivationSecrets": "true" })).toEqual(["create", "get", "list", "watch"]);
    expect(secrets({ "accounts.tenantCredentials": "true" })).toEqual(["create", "get"]);
  });

  it("rbac.aggregate false renders no tenant roles", () => {
    const manifests = renderChart(helm as string, { set: { "rbac.aggregate": "false" } });
    expect(manifests.filter(aggregated)).toEqual([]);
  });
});

describe.skipIf(!helm)("RBAC never reaches for more", () => {
  const variants = {
    default: {},
    namespaced: { watchNamespaces: "{team-a}" },
    "no leader election": { "leaderElection.enabled": "false" },
  };
  for (const [name, set] of Object.entries(variants)) {
    it(`${name}: no wildcard, no escalate/bind/impersonate, no pods/exec; the controller deletes no Secret`, () => {
      const rules = rbacOf(renderChart(helm as string, { set }))
        .filter((m) => !aggregated(m))
        .flatMap((m) => m.rules ?? []);
      const flat = JSON.stringify(rules);
      expect(flat).not.toContain('"*"');
      for (const verb of ["escalate", "bind", "impersonate", "deletecollection"])
        expect(flat).not.toContain(`"${verb}"`);
      expect(flat).not.toContain("pods");
      // An activation Secret goes with its EsimProfile (owner reference): the controller never deletes one.
      expect(verbTable(rules)["core/secrets"]).not.toContain("delete");
    });
  }

  it("without leader election there is no lease permission, but the ledgers stay", () => {
    const manifests = renderChart(helm as string, { set: { "leaderElection.enabled": "false" } });
    expect(verbTable(only(manifests, "Role").rules)).toEqual(releaseVerbs("esim-soracom-esim-operator", false));
  });

  it("a custom lease name moves the lease's resource name", () => {
    const manifests = renderChart(helm as string, { set: { "leaderElection.id": "esim-lease" } });
    expect(verbTable(only(manifests, "Role").rules)).toEqual(releaseVerbs("esim-lease"));
  });

  it("rbac.create false renders no RBAC for the controller (the tenants' roles stay with rbac.aggregate)", () => {
    const rbac = rbacOf(renderChart(helm as string, { set: { "rbac.create": "false", "rbac.aggregate": "false" } }));
    expect(rbac).toEqual([]);
  });
});
