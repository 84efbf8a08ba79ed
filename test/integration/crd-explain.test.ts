import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { resolveBinaries } from "../controlplane/binaries.js";
import { useCluster } from "../support/cluster.js";
import { REPO_ROOT, runKubectl } from "../unit/chart-support.js";

// What a user reads with `kubectl explain`, from the API server's published OpenAPI of the installed CRDs:
// no field of any kind says <empty> (test/unit/crd-descriptions.test.ts checks the files themselves).
const cluster = useCluster({ namespacePrefix: "crd-explain" });

interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
}

/** objectPaths lists the field paths whose fields `kubectl explain <kind>.<path>` prints (arrays see through). */
function objectPaths(schema: Schema, path: string): string[] {
  const node = schema.items ?? schema;
  if (!node.properties) return [];
  return [path, ...Object.entries(node.properties).flatMap(([k, v]) => objectPaths(v, `${path}.${k}`))];
}

const crds = readdirSync(join(REPO_ROOT, "crds"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => parse(readFileSync(join(REPO_ROOT, "crds", f), "utf8")));

describe("kubectl explain shows a description for every field", () => {
  for (const crd of crds) {
    const version = crd.spec.versions[0];
    const plural: string = crd.spec.names.plural;
    it(crd.spec.names.kind, async () => {
      const { kubectl } = await resolveBinaries();
      const paths = objectPaths(version.schema.openAPIV3Schema, plural);
      expect(paths.length).toBeGreaterThan(3);
      const outputs = await Promise.all(
        paths.map((p) =>
          runKubectl(kubectl, cluster.info.kubeconfigPath, [
            "explain",
            p,
            `--api-version=${crd.spec.group}/${version.name}`,
          ]),
        ),
      );
      const empty = outputs.flatMap((res, i) => {
        expect(res.code, `${paths[i]}: ${res.stderr}`).toBe(0);
        expect(res.stdout).toContain("FIELDS:");
        return res.stdout.includes("<empty>") ? [`${paths[i]}:\n${res.stdout}`] : [];
      });
      expect(empty).toEqual([]);
    });
  }
});
