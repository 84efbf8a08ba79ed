import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { resourcePath } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";
import { useE2E } from "../support/e2e.js";
import { REPO_ROOT } from "../unit/chart-support.js";

// kubectl conventions, checked with the real kubectl against the test apiserver: the CRDs' short names and
// categories collide with nothing the apiserver serves (`kubectl api-resources`) nor with the short names
// of common CRDs, each short name finds our kind, and `kubectl get esim` lists both kinds.
const cluster = useCluster({ namespacePrefix: "kubectl-names" });
const e2e = useE2E(cluster);

interface Names {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
}
const ours: Names[] = readdirSync(join(REPO_ROOT, "crds"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => parse(readFileSync(join(REPO_ROOT, "crds", f), "utf8")).spec.names as Names);

/**
 * Short names of CRDs many clusters run (from each project's CRDs): cert-manager, Prometheus Operator, Argo CD,
 * Flux, Istio, KEDA, External Secrets.
 */
const COMMON_CRD_SHORT_NAMES = [
  ...["cert", "certs", "cr", "crs", "iss", "ciss"],
  ...["prom", "smon", "pmon", "promrule", "am", "amcfg"],
  ...["app", "apps", "appproj", "appprojs", "appset", "appsets"],
  ...["ks", "hr", "gitrepo", "helmrepo", "helmchart"],
  ...["vs", "gw", "dr", "se", "pa", "ra"],
  ...["so", "sj", "ta", "cta"],
  ...["es", "ss", "css"],
];

/** apiResources parses `kubectl api-resources -o wide` by its header's column positions (cells may be empty). */
function apiResources(table: string): Array<Record<string, string>> {
  const [header = "", ...lines] = table.split("\n").filter((l) => l.trim());
  const columns = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index ?? 0 }));
  return lines.map((line) =>
    Object.fromEntries(columns.map((c, i) => [c.name, line.slice(c.at, columns[i + 1]?.at ?? line.length).trim()])),
  );
}

describe("kubectl names", () => {
  it("short names and categories collide with nothing the apiserver serves nor with common CRDs", async () => {
    const res = await e2e.kubectl(["api-resources", "-o", "wide"]);
    expect(res.code, res.stderr).toBe(0);
    const rows = apiResources(res.stdout);
    const mine = rows.filter((r) => r.APIVERSION === `${GROUP}/${VERSION}`);
    // The parse is right: our own rows carry our names, short names and categories.
    expect(mine.map((r) => [r.NAME, r.SHORTNAMES, r.CATEGORIES]).sort()).toEqual(
      ours.map((n) => [n.plural, n.shortNames.join(","), n.categories.join(",")]).sort(),
    );
    const others = rows.filter((r) => r.APIVERSION !== `${GROUP}/${VERSION}`);
    expect(others.length).toBeGreaterThan(40);
    const taken = new Set([
      ...others.flatMap((r) => [r.NAME?.split("/")[0] ?? "", r.KIND?.toLowerCase() ?? ""]),
      ...others.flatMap((r) => (r.SHORTNAMES ? r.SHORTNAMES.split(",") : [])),
      ...COMMON_CRD_SHORT_NAMES,
    ]);
    expect(taken).toContain("ep"); // core Endpoints: why EsimProfile's `ep` had to go
    const othersCategories = new Set(others.flatMap((r) => (r.CATEGORIES ? r.CATEGORIES.split(",") : [])));
    for (const n of ours) {
      for (const name of [...n.shortNames, ...n.categories]) expect(taken.has(name), `${n.kind}: ${name}`).toBe(false);
      // A short name equal to a category is never used: kubectl expands the category first.
      for (const s of n.shortNames) expect(n.categories, `${n.kind}: ${s}`).not.toContain(s);
      for (const s of n.shortNames) expect(othersCategories.has(s), `${n.kind}: ${s}`).toBe(false);
    }
  });

  it("each short name finds its kind, `kubectl get esim` lists both kinds, and `ep` is Endpoints alone", async () => {
    await e2e.applyOrder("sensors", { subscription: "planX1", quantity: 1 });
    await e2e.kube.request({
      method: "POST",
      path: resourcePath({ group: GROUP, version: VERSION, plural: "esimprofiles", namespace: cluster.namespace }),
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "EsimProfile",
        metadata: { name: "gateway" },
        spec: { iccid: "8942310000000000001" },
      },
    });
    // SoracomAccount is cluster-scoped and the control plane is shared: one of this test's own, got by name.
    const account = `names-${cluster.namespace.slice(-8)}`;
    await e2e.kube.request({
      method: "POST",
      path: resourcePath({ group: GROUP, version: VERSION, plural: "soracomaccounts" }),
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "SoracomAccount",
        metadata: { name: account },
        spec: { credentialsSecretRef: { name: "none" }, namespaceSelector: { matchLabels: { none: "none" } } },
      },
    });
    const want: Record<string, string> = {
      EsimProfileOrder: `esimprofileorder.${GROUP}/sensors`,
      EsimProfile: `esimprofile.${GROUP}/gateway`,
      SoracomAccount: `soracomaccount.${GROUP}/${account}`,
    };
    for (const n of ours) {
      for (const s of n.shortNames) {
        const args = n.kind === "SoracomAccount" ? ["get", s, account, "-o", "name"] : ["get", s, "-o", "name"];
        const res = await e2e.kubectl(args);
        expect({ s, code: res.code, out: res.stdout.trim(), err: res.stderr }).toEqual({
          s,
          code: 0,
          out: want[n.kind],
          err: "",
        });
      }
    }
    const mineOnly = (out: string) =>
      out
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("soracomaccount.") || l === want.SoracomAccount)
        .sort();
    const res = await e2e.kubectl(["get", "esim", "-o", "name"]);
    expect(mineOnly(res.stdout), "esim").toEqual([want.EsimProfileOrder, want.EsimProfile].sort());
    const all = await e2e.kubectl(["get", "soracom", "-o", "name"]);
    expect(mineOnly(all.stdout), "soracom").toEqual(Object.values(want).sort());
    const ep = await e2e.kubectl(["get", "ep", "-o", "name"]);
    expect(ep.code, ep.stderr).toBe(0);
    expect(ep.stderr).not.toMatch(/esimprofile/);
    expect(ep.stdout).not.toMatch(/esimprofile/);
    await e2e.kube.request({
      method: "DELETE",
      path: resourcePath({ group: GROUP, version: VERSION, plural: "soracomaccounts" }, account),
    });
  });
});
