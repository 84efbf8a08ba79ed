import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ACCOUNT_EVENTS_ROLE,
  ACCOUNTS_ROLE,
  controllerRole,
  expectedGrants,
  type Grants,
  leaderElectionRole,
  parseCanIList,
} from "../e2e/rbac-matrix.js";

// The matrix `make e2e`'s shapes (test/e2e/shapes.test.ts) hold the controller's ServiceAccount to is
// docs/security.md's RBAC table, read here row by row: the same resources, the same verbs, the same
// subresources, the Lease by name; nothing more, nothing less.

const DOC = readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8");
const VERBS = new Set(["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]);
const GROUPS: Record<string, string> = {
  esimprofileorders: ".esim.soracom-operator.io",
  esimprofiles: ".esim.soracom-operator.io",
  soracomaccounts: ".esim.soracom-operator.io",
  leases: ".coordination.k8s.io",
};

/** What a row of the table says about one resource. */
interface DocGrant {
  verbs: string[];
  /** Subresources named in "(+ status, finalizers)"; with their verbs when the row gives them. */
  subresources: Record<string, string[] | undefined>;
  byName: boolean;
}

function row(role: string): Record<string, DocGrant> {
  const line = DOC.split("\n").find((l) => l.startsWith(`| controller (\`${role}\``));
  if (!line) throw new Error(`docs/security.md has no RBAC row for ${role}`);
  const grants = line.split("|")[3]!.replaceAll("**", "").trim();
  const out: Record<string, DocGrant> = {};
  for (const clause of grants.split(";")) {
    const m = /^\s*(\w+):\s*([^(]*)(?:\((.*)\))?\s*$/.exec(clause);
    if (!m) throw new Error(`cannot read "${clause}" in the row of ${role}`);
    const [, resource, verbs, note] = m as unknown as [string, string, string, string | undefined];
    const subresources: DocGrant["subresources"] = {};
    if (note?.startsWith("+")) {
      // "+ status, finalizers" (verbs unsaid), or "+ status: get, update, patch".
      const [names, list] = note.slice(1).split(":");
      for (const name of names!.split(",")) subresources[name.trim()] = list ? words(list) : undefined;
    }
    out[resource + (GROUPS[resource] ?? "")] = {
      verbs: words(verbs),
      subresources,
      byName: /by name/.test(note ?? ""),
    };
  }
  return out;
}
const words = (s: string) => s.split(/[\s,/]+/).filter((w) => VERBS.has(w));

/** The matrix's grants, folded the way the table writes them. */
function folded(grants: Grants): Record<string, DocGrant> {
  const out: Record<string, DocGrant> = {};
  for (const [key, verbs] of Object.entries(grants)) {
    const m = /^([^/[]+)(?:\/(\w+))?(?:\[(.+)\])?$/.exec(key)!;
    const [, resource, sub, name] = m as unknown as [string, string, string | undefined, string | undefined];
    out[resource] ??= { verbs: [], subresources: {}, byName: false };
    const g = out[resource];
    if (sub) g.subresources[sub] = [...verbs];
    else g.verbs.push(...verbs);
    if (name) g.byName = true;
  }
  return out;
}

function expectRowMatches(role: string, grants: Grants): void {
  const doc = row(role);
  const mine = folded(grants);
  expect(Object.keys(mine).sort(), `resources of ${role}`).toEqual(Object.keys(doc).sort());
  for (const [resource, d] of Object.entries(doc)) {
    const m = mine[resource]!;
    expect(new Set(m.verbs), `${role}: verbs on ${resource}`).toEqual(new Set(d.verbs));
    expect(Object.keys(m.subresources).sort(), `${role}: subresources of ${resource}`).toEqual(
      Object.keys(d.subresources).sort(),
    );
    for (const [sub, verbs] of Object.entries(d.subresources))
      if (verbs) expect(new Set(m.subresources[sub]), `${role}: verbs on ${resource}/${sub}`).toEqual(new Set(verbs));
    expect(m.byName, `${role}: ${resource} by name`).toBe(d.byName);
  }
}

describe("the e2e RBAC matrix is docs/security.md's table", () => {
  it("controller (<release>)", () => expectRowMatches("<release>", controllerRole()));
  it("controller (<release>-accounts)", () => expectRowMatches("<release>-accounts", ACCOUNTS_ROLE));
  it("controller (<release>-account-events)", () => expectRowMatches("<release>-account-events", ACCOUNT_EVENTS_ROLE));
  it("controller (<release>-leader-election)", () =>
    expectRowMatches("<release>-leader-election", leaderElectionRole("x")));

  it("a row that says a verb the matrix lacks does not match (the check can fail)", () => {
    expect(() => expectRowMatches("<release>", { ...controllerRole(), events: ["create"] })).toThrow();
    expect(() => expectRowMatches("<release>-leader-election", { configmaps: ["create", "get", "update"] })).toThrow();
  });

  it("the values the table's prose adds: tenant credentials add get on Secrets, activation watching get, list, watch", () => {
    const prose = DOC.replace(/\s+/g, " ");
    expect(prose).toContain("`accounts.tenantCredentials: true` adds get on Secrets there");
    expect(prose).toContain("`controller.watchActivationSecrets: true` adds get, list and watch on Secrets");
    expect(controllerRole({ tenantCredentials: true }).secrets).toEqual(["create", "get"]);
    expect(controllerRole({ watchActivationSecrets: true }).secrets).toEqual(["create", "get", "list", "watch"]);
  });
});

describe("expectedGrants and parseCanIList", () => {
  const canI = `Resources                                       Non-Resource URLs   Resource Names            Verbs
leases.coordination.k8s.io                      []                  [soracom-esim-operator]   [get update]
secrets                                         []                  []                        [create get]
                                                [/healthz]          []                        [get]
`;
  it("reads resource lines with names, leaves non-resource URLs out", () => {
    expect([...parseCanIList(canI)].sort()).toEqual([
      "leases.coordination.k8s.io[soracom-esim-operator]|get",
      "leases.coordination.k8s.io[soracom-esim-operator]|update",
      "secrets|create",
      "secrets|get",
    ]);
  });
  it("a namespaced release's controller role is only in its watched namespaces; account events only in default", () => {
    const shape = { releaseNamespace: "ops", watchNamespaces: ["team-a"], lease: "x" };
    expect(expectedGrants(shape, "team-a").has("secrets|create")).toBe(true);
    expect(expectedGrants(shape, "team-c").has("secrets|create")).toBe(false);
    expect(expectedGrants(shape, "default").has("events|create")).toBe(true);
    expect(expectedGrants(shape, "ops").has("leases.coordination.k8s.io[x]|get")).toBe(true);
    expect(expectedGrants({ releaseNamespace: "ops", lease: "x" }, "team-c").has("secrets|create")).toBe(true);
  });
});
