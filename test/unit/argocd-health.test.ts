import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { crdFiles, findTool, requireToolInCi } from "./chart-support.js";

// Argo CD's own layout: resource_customizations/<group>/<Kind>/{health.lua,health_test.yaml,testdata/}.
// Every case runs through Argo CD's own code (v3.2.12, test/argocd/, built by build-go-helpers.sh): the
// argocd-cm snippet users merge is read by Argo CD's settings manager, and each object is judged by
// gitops-engine's GetResourceHealth as the application controller calls it, deletion handling included;
// once with the libraries an argocd-cm script gets (base, table, package, a restricted os: no string, no
// math) and once with useOpenLibs.
const root = join(import.meta.dirname, "../..");
const customizations = join(root, "deploy/argocd/resource_customizations/esim.soracom-operator.io");
const argocdCm = join(root, "deploy/argocd/argocd-cm.yaml");
/** Every kind in crds/ has a health check. */
const KINDS = crdFiles().map((c) => c.spec.names.kind);
const argocd = findTool("argocd-health");
const work = mkdtempSync(join(tmpdir(), "argocd-health-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Health {
  status: string;
  message: string;
  error?: string;
}
/** What test/argocd/main.go reports for one object. */
interface ArgoResult {
  /** The application controller's answer (gitops-engine health.GetResourceHealth with the argocd-cm overrides). */
  controller: Health;
  /** The script's own answer (VM.ExecuteHealthLua), what Argo CD's health_test.yaml harness compares. */
  script: Health;
  /** hs.deletionMessage, what Argo CD 3.6+ shows with the script's status for an object being deleted. */
  deletionMessage: string;
  useOpenLibs: boolean;
}
interface HealthTest {
  // deletionMessage as in Argo CD 3.6's health_test.yaml files.
  healthStatus: { status: string; message: string; deletionMessage?: string };
  inputPath: string;
}
// biome-ignore lint/suspicious/noExplicitAny: fixtures are free-form YAML
type Obj = Record<string, any>;

function testsOf(kind: string): HealthTest[] {
  return parse(readFileSync(join(customizations, kind, "health_test.yaml"), "utf8")).tests;
}
const fixture = (kind: string, t: HealthTest): Obj =>
  parse(readFileSync(join(customizations, kind, t.inputPath), "utf8"));

/** evaluate runs objects through Argo CD with the given argocd-cm, one process for all of them. */
function evaluate(cm: string, objects: Obj[], useOpenLibs: boolean): ArgoResult[] {
  const out = execFileSync(argocd as string, ["--argocd-cm", cm, ...(useOpenLibs ? ["--use-open-libs"] : [])], {
    input: JSON.stringify(objects),
    encoding: "utf8",
  });
  return JSON.parse(out);
}

describe("Argo CD's health evaluation is built (CI builds it)", () => {
  it("is built, or the run is not CI", (ctx) => requireToolInCi("argocd-health", argocd, ctx));
});

const LIBRARIES = [
  { name: "with the libraries argocd-cm scripts get", useOpenLibs: false },
  { name: "with useOpenLibs", useOpenLibs: true },
];

for (const libs of LIBRARIES) {
  for (const kind of KINDS) {
    describe.skipIf(!argocd)(`${kind} in Argo CD v3.2.12, ${libs.name} (health_test.yaml)`, () => {
      const tests = testsOf(kind);
      let results: ArgoResult[] | undefined;
      const resultOf = (i: number): ArgoResult => {
        results ??= evaluate(
          argocdCm,
          tests.map((t) => fixture(kind, t)),
          libs.useOpenLibs,
        );
        return results[i] as ArgoResult;
      };

      tests.forEach((test, i) => {
        const deleting = fixture(kind, test).metadata?.deletionTimestamp !== undefined;
        const want = test.healthStatus;

        it(`${test.inputPath}: the script says ${want.status} (Argo CD's own harness)`, () => {
          const r = resultOf(i);
          expect(r.useOpenLibs).toBe(libs.useOpenLibs);
          expect(r.script).toEqual({ status: want.status, message: want.message });
          expect(r.deletionMessage).toBe(want.deletionMessage ?? "");
        });

        if (deleting) {
          it(`${test.inputPath}: being deleted, the application controller shows Progressing "Pending deletion" (up to 3.5)`, () => {
            expect(resultOf(i).controller).toEqual({ status: "Progressing", message: "Pending deletion" });
          });
          it(`${test.inputPath}: sets hs.deletionMessage, so Argo CD 3.6+ shows ${want.status} with its message`, () => {
            expect(want.deletionMessage, "health_test.yaml states the deletionMessage").toBeDefined();
            expect(resultOf(i).deletionMessage).toBe(want.message);
          });
        } else {
          it(`${test.inputPath}: the application controller shows ${want.status} with the script's message`, () => {
            expect(resultOf(i).controller).toEqual({ status: want.status, message: want.message });
          });
        }
      });
    });
  }
}

describe.skipIf(!argocd)("the libraries Argo CD gives a health script (why both are tested)", () => {
  // A script reaching for the string library: fine under lua5.1 or useOpenLibs, broken in a plain argocd-cm.
  const probeCm = join(work, "probe-cm.yaml");
  writeFileSync(
    probeCm,
    stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "argocd-cm", namespace: "argocd", labels: { "app.kubernetes.io/part-of": "argocd" } },
      data: {
        "resource.customizations.health.esim.soracom-operator.io_EsimProfileOrder":
          'return { status = "Healthy", message = ("fine"):upper() .. " " .. math.floor(2.5) }',
      },
    }),
  );
  const order = { apiVersion: "esim.soracom-operator.io/v1alpha1", kind: "EsimProfileOrder", metadata: { name: "x" } };

  it("without useOpenLibs, a script using string or math is Unknown, with Argo CD's error", () => {
    const [r] = evaluate(probeCm, [order], false);
    expect(r?.controller.status).toBe("Unknown");
    expect(r?.controller.error).toMatch(/failed to get resource health/);
  });

  it("with useOpenLibs, the same script is Healthy", () => {
    const [r] = evaluate(probeCm, [order], true);
    expect(r?.controller).toEqual({ status: "Healthy", message: "FINE 2" });
  });
});

for (const kind of KINDS) {
  describe(`${kind} health tests cover every state`, () => {
    const tests = testsOf(kind);
    it("has a case for each of Healthy, Progressing, Degraded and Suspended", () => {
      const statuses = new Set(tests.map((t) => t.healthStatus.status));
      expect([...statuses].sort()).toEqual(["Degraded", "Healthy", "Progressing", "Suspended"]);
    });

    it("uses every file in testdata/ exactly once", () => {
      const files = readdirSync(join(customizations, kind, "testdata")).map((f) => `testdata/${f}`);
      expect(tests.map((t) => t.inputPath).sort()).toEqual(files.sort());
    });

    it("has a case of an object being deleted", () => {
      expect(tests.some((t) => fixture(kind, t).metadata?.deletionTimestamp)).toBe(true);
    });

    it("feeds only objects that the CRD's schema accepts", () => {
      const crd = parse(
        readFileSync(join(root, "crds", `esim.soracom-operator.io_${kind.toLowerCase()}s.yaml`), "utf8"),
      );
      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats.default(ajv);
      const validate = ajv.compile(crd.spec.versions[0].schema.openAPIV3Schema);
      for (const t of tests) {
        const object = fixture(kind, t);
        expect(validate(object) ? [] : validate.errors, t.inputPath).toEqual([]);
      }
    });
  });
}
