import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// `kubectl explain` prints a field's description, or <empty>: every property of every CRD says what it is.
const root = join(import.meta.dirname, "../..");
const files = readdirSync(join(root, "crds")).filter((f) => f.endsWith(".yaml"));

interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

/** undescribed lists the paths of the properties (nested, in arrays and maps) that have no description. */
function undescribed(schema: Schema, path = ""): string[] {
  const own = Object.entries(schema.properties ?? {}).flatMap(([name, child]) => [
    ...(child.description?.trim() ? [] : [`${path}.${name}`]),
    ...undescribed(child, `${path}.${name}`),
  ]);
  const items = schema.items ? undescribed(schema.items, `${path}[]`) : [];
  const values =
    typeof schema.additionalProperties === "object" ? undescribed(schema.additionalProperties, `${path}{}`) : [];
  return [...own, ...items, ...values];
}

describe("every CRD field has a description", () => {
  it("the walk finds a property without one (the check can fail)", () => {
    const schema = {
      properties: { spec: { description: "x.", properties: { a: { items: { properties: { b: {} } } } } } },
    };
    expect(undescribed(schema as Schema)).toEqual([".spec.a", ".spec.a[].b"]);
  });

  for (const file of files) {
    it(file, () => {
      const crd = parse(readFileSync(join(root, "crds", file), "utf8"));
      expect(crd.spec.versions.length).toBeGreaterThan(0);
      for (const version of crd.spec.versions) {
        const schema = version.schema.openAPIV3Schema as Schema;
        expect(schema.description, `${version.name} root`).toBeTruthy();
        // The API server refuses anything but name and generateName under metadata, and describes it itself.
        expect(
          undescribed(schema).filter((p) => p !== ".metadata"),
          `${file} ${version.name}`,
        ).toEqual([]);
      }
    });
  }

  it("descriptions are whole sentences: a capital letter first, a full stop last", () => {
    const notSentences: string[] = [];
    const walk = (s: Schema, path: string) => {
      const d = s.description?.trim();
      if (d && !/^[A-Z0-9"`(]/.test(d)) notSentences.push(`${path}: starts "${d.slice(0, 20)}"`);
      if (d && !/[.)]$/.test(d)) notSentences.push(`${path}: ends "${d.slice(-20)}"`);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
      if (typeof s.additionalProperties === "object") walk(s.additionalProperties, `${path}{}`);
    };
    for (const file of files) {
      const crd = parse(readFileSync(join(root, "crds", file), "utf8"));
      for (const version of crd.spec.versions) walk(version.schema.openAPIV3Schema, file);
    }
    expect(notSentences).toEqual([]);
  });
});
