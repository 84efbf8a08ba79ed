import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
// @ts-expect-error: a plain ESM script without types
import { generate } from "../../scripts/gen-types.mjs";

const root = join(import.meta.dirname, "../..");
const crds = Object.fromEntries(
  readdirSync(join(root, "crds"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => {
      const crd = parse(readFileSync(join(root, "crds", f), "utf8"));
      return [crd.spec.names.kind as string, crd];
    }),
);
const schemaOf = (kind: string) => crds[kind].spec.versions[0].schema.openAPIV3Schema;

function findKeys(node: unknown, key: string, path = "$"): string[] {
  if (!node || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) => [
    ...(k === key ? [`${path}.${k}`] : []),
    ...findKeys(v, key, `${path}.${k}`),
  ]);
}

describe("CRDs are the one source of schema truth", () => {
  it("the committed TypeScript types are exactly what the CRDs generate", async () => {
    const committed = readFileSync(join(root, "controller/api/types.generated.ts"), "utf8");
    expect(await generate()).toBe(committed);
  });

  it("the tenants' kinds are namespaced, the admin's account cluster-scoped, each with a status subresource", () => {
    expect(Object.keys(crds).sort()).toEqual(["EsimProfile", "EsimProfileOrder", "SoracomAccount"]);
    for (const crd of Object.values(crds)) {
      expect(crd.spec.scope).toBe(crd.spec.names.kind === "SoracomAccount" ? "Cluster" : "Namespaced");
      expect(crd.spec.versions[0].subresources).toEqual({ status: {} });
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
    }
  });

  it("schemas are structural: no $ref, no unknown-field escape hatch", () => {
    for (const kind of Object.keys(crds)) {
      expect(findKeys(schemaOf(kind), "$ref")).toEqual([]);
      expect(findKeys(schemaOf(kind), "x-kubernetes-preserve-unknown-fields")).toEqual([]);
    }
  });

  it("an order's profile template uses the same SIM schema as EsimProfile.spec.sim", () => {
    const fromOrder =
      schemaOf("EsimProfileOrder").properties.spec.properties.profileTemplate.properties.spec.properties.sim;
    const fromProfile = schemaOf("EsimProfile").properties.spec.properties.sim;
    expect(fromOrder).toEqual(fromProfile);
  });

  it("both kinds share one condition schema", () => {
    expect(schemaOf("EsimProfileOrder").properties.status.properties.conditions).toEqual(
      schemaOf("EsimProfile").properties.status.properties.conditions,
    );
  });
});

describe("printer columns (issue 25: kubectl get shows READY and REASON by default)", () => {
  for (const kind of Object.keys(crds)) {
    it(`${kind}: READY and REASON of the Ready condition are default columns`, () => {
      const columns = crds[kind].spec.versions[0].additionalPrinterColumns as Array<{
        name: string;
        jsonPath: string;
        priority?: number;
      }>;
      const shown = columns.filter((c) => (c.priority ?? 0) === 0);
      expect(shown.find((c) => c.name === "Ready")?.jsonPath).toBe('.status.conditions[?(@.type=="Ready")].status');
      expect(shown.find((c) => c.name === "Reason")?.jsonPath).toBe('.status.conditions[?(@.type=="Ready")].reason');
    });
  }
});
