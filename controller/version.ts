import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * version is the package version, the one source of both binaries' `version` (the chart's appVersion
 * is kept equal to it): read from the nearest package.json named soracom-esim-operator, which is the
 * repository's in a checkout and /app/package.json in the image.
 */
export function version(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "soracom-esim-operator") return pkg.version ?? "unknown";
    }
    const parent = path.dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}
