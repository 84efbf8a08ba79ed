import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART_DIR, REPO_ROOT } from "./chart-support.js";

// No Docker engine here, so the Dockerfile is checked by reading it: two stages on a current Node LTS, a
// runtime with production dependencies only, the numeric non-root user the chart runs as, and a build
// context (.dockerignore) that holds every file the Dockerfile copies and nothing secret.
const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
const dockerignore = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));

const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const stages = instructions.reduce<string[][]>((acc, line) => {
  if (/^FROM /i.test(line)) acc.push([line]);
  else acc[acc.length - 1]?.push(line);
  return acc;
}, []);
const runtime = stages[stages.length - 1] ?? [];
const build = stages[0] ?? [];

describe("Dockerfile", () => {
  it("builds in two stages on a current Node LTS image", () => {
    expect(stages).toHaveLength(2);
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(image).toMatch(/^node:(22|24)-(alpine|slim)$/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile build argument, not a JavaScript template
    expect(build[0]).toBe("FROM ${NODE_IMAGE} AS build");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile build argument, not a JavaScript template
    expect(runtime[0]).toBe("FROM ${NODE_IMAGE}");
  });

  it("installs from the lock file and compiles in the build stage, then drops the dev dependencies", () => {
    const runs = build.filter((l) => l.startsWith("RUN ")).join("\n");
    expect(runs).toContain("npm ci");
    expect(runs).toContain("tsc -p tsconfig.json");
    expect(runs).toContain("npm prune --omit=dev");
  });

  it("runs no package install in the runtime stage: it copies the pruned node_modules, dist, crds and third_party", () => {
    expect(runtime.some((l) => l.startsWith("RUN "))).toBe(false);
    const copies = runtime.filter((l) => l.startsWith("COPY ")).map((l) => l.replace(/\s+/g, " "));
    expect(copies).toEqual([
      "COPY --from=build /src/package.json ./",
      "COPY --from=build /src/node_modules/ node_modules/",
      "COPY --from=build /src/dist/ dist/",
      "COPY crds/ crds/",
      "COPY third_party/ third_party/",
    ]);
  });

  it("runs as the numeric non-root user the chart's securityContext names", () => {
    expect(runtime).toContain(`USER ${values.podSecurityContext.runAsUser}:${values.podSecurityContext.runAsGroup}`);
    expect(values.podSecurityContext.runAsUser).toBeGreaterThan(0);
  });

  it("starts the controller through the CLI, on the port the chart probes", () => {
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/controller/cli.js"]');
    expect(runtime).toContain('CMD ["controller"]');
    expect(runtime).toContain(`EXPOSE ${values.controller.port}`);
    expect(pkg.bin["soracom-esim-operator"]).toBe("dist/controller/cli.js");
  });
});

describe(".dockerignore", () => {
  const allowed = dockerignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""));

  it("starts from nothing and lets in only what the image needs", () => {
    expect(dockerignore[0]).toBe("*");
    expect(allowed.sort()).toEqual(
      ["controller", "crds", "package-lock.json", "package.json", "third_party", "tsconfig.json"].sort(),
    );
  });

  it("lets in every file the Dockerfile copies from the context, and each exists", () => {
    const sources = instructions
      .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    for (const src of sources) {
      const path = src.replace(/\/$/, "");
      expect(allowed, src).toContain(path);
      expect(statSync(join(REPO_ROOT, path)), src).toBeTruthy();
    }
  });

  it("keeps env files out even inside allowed folders", () => {
    expect(dockerignore).toContain("**/*.env");
    expect(dockerignore).toContain("**/.env");
  });
});

describe("the image's production dependencies", () => {
  function tsFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
    );
  }

  it("cover every package the compiled controller imports (dev dependencies are pruned away)", () => {
    const tsconfig = JSON.parse(readFileSync(join(REPO_ROOT, "tsconfig.json"), "utf8"));
    expect(tsconfig.include).toEqual(["controller/**/*.ts"]);
    const missing: string[] = [];
    for (const file of tsFiles(join(REPO_ROOT, "controller"))) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^\s*(?:import|export)\s(?!type\b)[^;]*?from\s+"([^"]+)"/gms)) {
        const spec = m[1] as string;
        if (spec.startsWith(".") || spec.startsWith("node:")) continue;
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string);
        if (!pkg.dependencies[name]) missing.push(`${relative(REPO_ROOT, file)}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
