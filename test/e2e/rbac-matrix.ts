/**
 * The controller's RBAC as docs/security.md's table ("RBAC, as the chart renders it") states it, as a
 * matrix the e2e shapes compare `kubectl auth can-i --list` with (test/unit/e2e-rbac-matrix.test.ts holds
 * the matrix to the table). Keys are can-i's resource column (resource.group[/subresource]), with
 * `[name]` when the grant is for one object only; values are verbs. Pure: no cluster, no environment.
 */
export type Grants = Record<string, readonly string[]>;

const G = "esim.soracom-operator.io";

/** `<release>`: the ClusterRole, or a Role in each of watchNamespaces. */
export function controllerRole(opts: { tenantCredentials?: boolean; watchActivationSecrets?: boolean } = {}): Grants {
  const secrets = ["create"];
  if (opts.tenantCredentials || opts.watchActivationSecrets) secrets.push("get");
  if (opts.watchActivationSecrets) secrets.push("list", "watch");
  return {
    [`esimprofileorders.${G}`]: ["get", "list", "watch", "update", "patch"],
    [`esimprofileorders.${G}/status`]: ["get", "update", "patch"],
    [`esimprofileorders.${G}/finalizers`]: ["update"],
    [`esimprofiles.${G}`]: ["get", "list", "watch", "create", "update", "patch", "delete"],
    [`esimprofiles.${G}/status`]: ["get", "update", "patch"],
    [`esimprofiles.${G}/finalizers`]: ["update"],
    secrets,
    events: ["create", "patch"],
  };
}

/** `<release>-accounts`: cluster-wide, whatever the controller watches. */
export const ACCOUNTS_ROLE: Grants = {
  [`soracomaccounts.${G}`]: ["get", "list", "watch"],
  [`soracomaccounts.${G}/status`]: ["get", "update", "patch"],
  namespaces: ["get", "list", "watch"],
};

/** `<release>-account-events`: in `default`, with watchNamespaces only. */
export const ACCOUNT_EVENTS_ROLE: Grants = { events: ["create", "patch"] };

/** `<release>-leader-election`: in the release namespace; get/update on the one Lease the controller uses. */
export function leaderElectionRole(lease: string): Grants {
  return {
    "leases.coordination.k8s.io": ["create"],
    [`leases.coordination.k8s.io[${lease}]`]: ["get", "update"],
    configmaps: ["create", "get", "update"],
    secrets: ["get"],
  };
}

/** What decides a release's matrix. */
export interface RbacShape {
  releaseNamespace: string;
  /** Empty or absent: every namespace (ClusterRole). */
  watchNamespaces?: readonly string[];
  tenantCredentials?: boolean;
  /** The Lease the controller uses: <leaderElection.id>, or <id>-<shard.name> when sharded. */
  lease: string;
}

/** expectedGrants: what can-i --list in `namespace` must show for the release's ServiceAccount, as tuples. */
export function expectedGrants(shape: RbacShape, namespace: string): Set<string> {
  const roles: Grants[] = [ACCOUNTS_ROLE];
  const namespaced = (shape.watchNamespaces?.length ?? 0) > 0;
  if (!namespaced || shape.watchNamespaces!.includes(namespace))
    roles.push(controllerRole({ tenantCredentials: shape.tenantCredentials }));
  if (namespaced && namespace === "default") roles.push(ACCOUNT_EVENTS_ROLE);
  if (namespace === shape.releaseNamespace) roles.push(leaderElectionRole(shape.lease));
  return new Set(roles.flatMap(tuples));
}

/** tuples: "resource[name]|verb" for every grant. */
export function tuples(grants: Grants): string[] {
  return Object.entries(grants).flatMap(([resource, verbs]) => verbs.map((v) => `${resource}|${v}`));
}

/**
 * parseCanIList: the resource lines of `kubectl auth can-i --list` (Resources, Non-Resource URLs, Resource
 * Names, Verbs) as tuples; non-resource URLs are left out.
 */
export function parseCanIList(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$/.exec(line);
    if (!m) continue;
    const [, resource, , names, verbs] = m as unknown as [string, string, string, string, string];
    const nameList = names.trim() ? names.trim().split(/\s+/) : [""];
    for (const n of nameList)
      for (const v of verbs.trim().split(/\s+/)) if (v) out.add(`${resource}${n ? `[${n}]` : ""}|${v}`);
  }
  return out;
}

/** diff: what `actual` has beyond `expected` (more) and lacks (less), sorted. */
export function diff(actual: Set<string>, expected: Set<string>): { more: string[]; less: string[] } {
  return {
    more: [...actual].filter((t) => !expected.has(t)).sort(),
    less: [...expected].filter((t) => !actual.has(t)).sort(),
  };
}
