import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { findTool, helmTemplateArgs, only, parseManifests, REPO_ROOT, type RenderOptions } from "./chart-support.js";

// What stops an install that would never start a pod, or a render that fails without saying why: the
// placeholder image (no image is published) and a Kubernetes version below the CRDs' 1.29.
const helm = findTool("helm");
const PLACEHOLDER = "ghcr.io/soracom-esim-operator/soracom-esim-operator";
const work = mkdtempSync(join(tmpdir(), "chart-guards-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function template(opts: RenderOptions): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(helm as string, helmTemplateArgs(opts), { encoding: "utf8" });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe.skipIf(!helm)("the chart's image", () => {
  it("refuses the placeholder repository, naming it and the values to set", () => {
    const res = template({ set: { "image.repository": PLACEHOLDER } });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain(`image.repository is "${PLACEHOLDER}", a placeholder`);
    expect(res.stderr).toContain("--set image.repository=");
    expect(res.stderr).toContain("make image-push");
  });

  it("renders the repository and tag it is given", () => {
    const res = template({ set: { "image.repository": "registry.example.com/x", "image.tag": "1.2.3" } });
    expect(res.stderr).toBe("");
    const deployment = only(parseManifests(res.stdout), "Deployment");
    expect(deployment.spec.template.spec.containers[0].image).toBe("registry.example.com/x:1.2.3");
  });

  it("deploy/argocd/application.yaml sets an image the chart renders", () => {
    const app = parse(readFileSync(join(REPO_ROOT, "deploy/argocd/application.yaml"), "utf8"));
    const values = app.spec.source.helm.valuesObject;
    expect(values.image?.repository).toBeTruthy();
    expect(values.image.repository).not.toBe(PLACEHOLDER);
    const file = join(work, "argocd-values.yaml");
    writeFileSync(file, stringify(values));
    // Only the values file: no image.repository from the test helper may hide a missing one.
    const res = spawnSync(
      helm as string,
      ["template", "esim", join(REPO_ROOT, "charts/soracom-esim-operator")].concat([
        "-n",
        "esim-system",
        "--kube-version",
        "1.36.0",
        "--values",
        file,
      ]),
      { encoding: "utf8" },
    );
    expect(res.stderr).toBe("");
    expect(only(parseManifests(res.stdout), "Deployment").spec.template.spec.containers[0].image).toBe(
      `${values.image.repository}:${values.image.tag}`,
    );
  });
});

describe.skipIf(!helm)("the chart's Kubernetes version", () => {
  it("below 1.29, fails saying what it needs and how helm template is told the version", () => {
    const res = template({ kubeVersion: "1.28.9" });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain("needs Kubernetes 1.29 or later");
    expect(res.stderr).toContain("v1.28.9");
    expect(res.stderr).toContain("--kube-version");
  });

  it("from 1.29 (a provider's pre-release suffix included), renders", () => {
    for (const v of ["1.29.0", "1.29.3-eks-1", "1.36.0"]) expect(template({ kubeVersion: v }).stderr).toBe("");
  });

  it("without --kube-version, renders or fails with the hint (helm's default version is its build's)", () => {
    const res = template({ kubeVersion: null });
    if (res.status !== 0) expect(res.stderr).toContain("--kube-version");
    else expect(parseManifests(res.stdout).length).toBeGreaterThan(0);
  });
});
