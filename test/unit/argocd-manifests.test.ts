import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { crdFiles, findTool, parseManifests, REPO_ROOT } from "./chart-support.js";

// The argocd-cm snippet must carry exactly the tested health checks, and the example Applications must
// follow the guidance in docs/argocd.md: the operator first, orders after, nothing pruned or cascaded.
const customizations = join(REPO_ROOT, "deploy/argocd/resource_customizations/esim.soracom-operator.io");
const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
const kubectl = findTool("kubectl");
/** The kinds of the operator's CRDs, read from crds/. */
const CRD_KINDS = crdFiles().map((c) => c.spec.names.kind);

describe("deploy/argocd/argocd-cm.yaml", () => {
  const cm = parse(read("deploy/argocd/argocd-cm.yaml"));

  it("is the argocd-cm ConfigMap of the argocd namespace", () => {
    expect(cm).toMatchObject({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "argocd-cm", namespace: "argocd" },
    });
  });

  it("has a health check for every kind in crds/ (an Application shows each one's health)", () => {
    expect(Object.keys(cm.data).sort()).toEqual(
      CRD_KINDS.map((k) => `resource.customizations.health.esim.soracom-operator.io_${k}`).sort(),
    );
  });

  for (const kind of CRD_KINDS) {
    it(`embeds ${kind}/health.lua byte for byte under Argo CD's key for the kind`, () => {
      const key = `resource.customizations.health.esim.soracom-operator.io_${kind}`;
      expect(cm.data[key]).toBe(readFileSync(join(customizations, kind, "health.lua"), "utf8"));
    });
  }

  it("scripts/sync-argocd-cm.sh --check agrees (what CI runs)", () => {
    const res = spawnSync("bash", [join(REPO_ROOT, "scripts/sync-argocd-cm.sh"), "--check"], { encoding: "utf8" });
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
  });
});

interface Application {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; finalizers?: string[] };
  spec: {
    source: { path: string; helm?: { valuesObject?: Record<string, unknown> } };
    destination: { namespace: string };
    syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean }; syncOptions?: string[] };
  };
}

describe("the example Argo CD Applications", () => {
  const operator: Application = parse(read("deploy/argocd/application.yaml"));
  const orders: Application = parse(read("examples/argocd/application.yaml"));

  it("are Argo CD Applications in the argocd namespace", () => {
    for (const app of [operator, orders]) {
      expect(app).toMatchObject({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: { namespace: "argocd" },
      });
    }
  });

  it("point at paths that exist in this repository (the chart, and a kustomize overlay)", () => {
    expect(operator.spec.source.path).toBe("charts/soracom-esim-operator");
    expect(existsSync(join(REPO_ROOT, orders.spec.source.path, "kustomization.yaml"))).toBe(true);
  });

  it("sync the operator (and its CRDs) in an earlier wave than the orders", () => {
    const wave = (app: Application) => Number(app.metadata.annotations?.["argocd.argoproj.io/sync-wave"]);
    expect(wave(operator)).toBeLessThan(wave(orders));
  });

  it("never prune, and never cascade-delete through Argo CD's resources finalizer", () => {
    for (const app of [operator, orders]) {
      expect(app.spec.syncPolicy?.automated?.prune).toBe(false);
      expect(app.metadata.finalizers ?? []).not.toContain("resources-finalizer.argocd.argoproj.io");
    }
  });

  it("the orders wait for the CRDs instead of failing their first dry run", () => {
    expect(orders.spec.syncPolicy?.syncOptions).toContain("SkipDryRunOnMissingResource=true");
  });

  it("the orders' namespace is the overlay's", () => {
    const overlay = parse(read(join(orders.spec.source.path, "kustomization.yaml")));
    expect(orders.spec.destination.namespace).toBe(overlay.namespace);
  });

  it("the operator uses an account lent to the orders' namespace, its credentials from an existing Secret", () => {
    const values = operator.spec.source.helm?.valuesObject as {
      credentials?: Record<string, unknown>;
      accounts?: {
        create?: { enabled?: boolean; name?: string; credentialsSecret?: string; namespaces?: string[] };
        tenantCredentials?: boolean;
      };
    };
    // Not single-tenant mode, whose credentials would serve every watched namespace.
    expect(values.credentials?.existingSecret ?? "").toBe("");
    expect(values.accounts?.create).toMatchObject({ enabled: true, credentialsSecret: expect.any(String) });
    expect(values.accounts?.create?.namespaces).toEqual([orders.spec.destination.namespace]);
  });

  it.skipIf(!kubectl)(
    "the orders name the account the operator's Application creates, which takes no tenant credentials",
    () => {
      const values = operator.spec.source.helm?.valuesObject as {
        accounts?: { create?: { name?: string; tenantCredentials?: boolean }; tenantCredentials?: boolean };
      };
      const overlay = join(REPO_ROOT, orders.spec.source.path);
      const built = parseManifests(execFileSync(kubectl as string, ["kustomize", overlay], { encoding: "utf8" }));
      const accountRefs = built.filter((m) => m.kind === "EsimProfileOrder").map((m) => m.spec.accountRef);
      expect(accountRefs.length).toBeGreaterThan(0);
      for (const ref of accountRefs) expect(ref).toEqual({ name: values.accounts?.create?.name });
      // The chart's defaults (off) stand: orders use the account's credentials only.
      expect(values.accounts?.create?.tenantCredentials ?? false).toBe(false);
      expect(values.accounts?.tenantCredentials ?? false).toBe(false);
    },
  );
});
