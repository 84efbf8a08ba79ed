import { readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { findTool, only, REPO_ROOT, renderChart } from "./chart-support.js";

// No Docker engine here, so the Dockerfile is read, and what matters is checked against what it drives:
// the process the chart starts (entry point, user, NODE_OPTIONS), the programs each image holds (from
// their own tsconfig), and their production dependencies (from package.json and the npm workspace).
const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
const dockerignore = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
const helm = findTool("helm");

interface Stage {
  name: string;
  lines: string[];
}

const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const stages = instructions.reduce<Stage[]>((acc, line) => {
  const from = /^FROM \S+(?: AS (\S+))?$/i.exec(line);
  if (from) acc.push({ name: from[1] ?? String(acc.length), lines: [] });
  else acc[acc.length - 1]?.lines.push(line);
  return acc;
}, []);

function stage(name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
}

/** The value of the last instruction of this kind in a stage (ENTRYPOINT, CMD, USER, ...). */
function last(s: Stage, kind: string): string | undefined {
  return s.lines
    .filter((l) => l.startsWith(`${kind} `))
    .at(-1)
    ?.slice(kind.length + 1);
}

function envOf(s: Stage, name: string): string | undefined {
  const line = s.lines.filter((l) => new RegExp(`^ENV ${name}=`).test(l)).at(-1);
  return line ? JSON.parse(line.slice(`ENV ${name}=`.length)) : undefined;
}

/** copies lists a stage's COPY instructions as { from (stage or context), sources, destination }. */
function copies(s: Stage): Array<{ from?: string; sources: string[]; dest: string }> {
  return s.lines
    .filter((l) => l.startsWith("COPY "))
    .map((l) => {
      const words = l.split(/\s+/).slice(1);
      const from = words[0]?.startsWith("--from=") ? words.shift()?.slice("--from=".length) : undefined;
      return { ...(from ? { from } : {}), sources: words.slice(0, -1), dest: words.at(-1) as string };
    });
}

/** programFiles are the source files a tsconfig compiles, imports followed (what its output holds). */
function programFiles(tsconfig: string): string[] {
  const file = join(REPO_ROOT, tsconfig);
  const parsed = ts.getParsedCommandLineOfConfigFile(
    file,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!parsed) throw new Error(`cannot read ${tsconfig}`);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
  return program
    .getSourceFiles()
    .map((f) => relative(REPO_ROOT, f.fileName))
    .filter((f) => !f.startsWith("node_modules/") && !f.startsWith(".."));
}

const controller = stages.at(-1) as Stage;
const controllerFiles = programFiles("controller/tsconfig.json");

describe("the controller image (the Dockerfile's default target)", () => {
  it("is the last stage, and a simulator target exists beside it", () => {
    expect(controller.name).toBe("controller");
    expect(stages.map((s) => s.name)).toContain("simulator");
    expect(/^ARG NODE_IMAGE=node:(22|24)-(alpine|slim)$/m.test(dockerfile)).toBe(true);
  });

  it("starts the controller with the chart's arguments, as the chart's user, with the chart's NODE_OPTIONS", (ctx) => {
    if (!helm) return ctx.skip();
    const pod = only(renderChart(helm), "Deployment").spec.template.spec;
    const container = pod.containers[0];
    expect(container.command, "the chart keeps the image's entry point").toBeUndefined();
    const [node, script, ...rest] = [...JSON.parse(last(controller, "ENTRYPOINT") ?? "[]"), ...container.args];
    // Absolute paths: the entry point does not depend on PATH or on the working directory.
    expect(node).toBe("/usr/local/bin/node");
    expect(script).toMatch(new RegExp(`^${last(controller, "WORKDIR")}/dist/`));
    const argv = [node, script.replace(/^\/app\//, ""), ...rest];
    // The script is controller/cli.ts compiled by controller/tsconfig.json into the stage's dist/.
    expect(controllerFiles).toContain(argv[1].replace(/^dist\//, "").replace(/\.js$/, ".ts"));
    const cli = readFileSync(join(REPO_ROOT, argv[1].replace(/^dist\//, "").replace(/\.js$/, ".ts")), "utf8");
    expect(cli).toMatch(new RegExp(`^\\s+${argv[2]}: \\(\\) => import\\(`, "m"));
    expect(JSON.parse(last(controller, "CMD") ?? "[]")[0], "docker run without the chart").toBe(argv[2]);
    const user = `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`;
    expect(last(controller, "USER")).toBe(user);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    const chartNodeOptions = container.env.find((e: { name: string }) => e.name === "NODE_OPTIONS")?.value;
    expect(chartNodeOptions).toMatch(/--max-old-space-size=\d+/);
    // The chart alone decides: with its heap values null, Node's defaults apply, not an image default.
    expect(envOf(controller, "NODE_OPTIONS")).toBeUndefined();
    expect(last(controller, "EXPOSE")).toBe(String(container.ports[0].containerPort));
  });

  it("holds only the controller's program: no simulator, plugin or third_party/", () => {
    expect(controllerFiles.filter((f) => !f.startsWith("controller/"))).toEqual([]);
    const context = copies(controller).filter((c) => !c.from);
    expect(context.flatMap((c) => c.sources)).toEqual([]);
    // Compiled code comes from the build stage's output of controller/tsconfig.json alone.
    const build = stage("build");
    for (const c of copies(controller).filter((x) => x.from === "build")) {
      const [out] = c.sources;
      const compile = build.lines.find(
        (l) => l.startsWith("RUN ") && l.includes(`--outDir ${out?.replace(/\/$/, "")}`),
      );
      expect(compile, `${out} is compiled`).toMatch(/tsc -p controller\/tsconfig\.json --outDir \S+(\s|$)/);
    }
  });

  it("gets production dependencies from the lock file, without the simulator's workspace", () => {
    const deps = copies(controller).find((c) => c.dest === "node_modules/");
    const install = stage(deps?.from ?? "").lines.filter((l) => l.includes("npm "));
    expect(install.join("\n")).toMatch(/npm ci .*--omit=dev/);
    expect(install.join("\n")).toContain("--workspaces=false");
    expect(dockerfile).not.toMatch(/npm (install|i) /);
  });
});

describe("the simulator image (--target simulator)", () => {
  const simulator = stage("simulator");

  it("runs the simulator's own entry point as a non-root user, with the spec it validates against", () => {
    const [node, script] = JSON.parse(last(simulator, "ENTRYPOINT") ?? "[]");
    expect(node).toBe("/usr/local/bin/node");
    const program = script.replace(/^\/app\/dist\//, "").replace(/\.js$/, ".ts");
    expect(programFiles("simulator/tsconfig.json")).toContain(program);
    expect(last(simulator, "USER")).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(copies(simulator).flatMap((c) => c.sources)).toContain("third_party/");
  });
});

describe(".dockerignore", () => {
  const allowed = dockerignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""));
  const contextSources = stages.flatMap((s) => copies(s).filter((c) => !c.from)).flatMap((c) => c.sources);
  const allowedFor = (src: string) => allowed.find((a) => src.replace(/\/$/, "") === a || src.startsWith(`${a}/`));

  it("starts from nothing and lets in only what some stage copies", () => {
    expect(dockerignore[0]).toBe("*");
    for (const a of allowed)
      expect(
        contextSources.some((src) => allowedFor(src) === a),
        a,
      ).toBe(true);
  });

  it("lets in every file the Dockerfile copies from the context, and each exists", () => {
    for (const src of contextSources) {
      expect(allowedFor(src), src).toBeDefined();
      expect(statSync(join(REPO_ROOT, src)), src).toBeTruthy();
    }
  });

  it("keeps env files out even inside allowed folders", () => {
    expect(dockerignore).toContain("**/*.env");
    expect(dockerignore).toContain("**/.env");
  });
});

describe("production dependencies", () => {
  function importedPackages(files: string[]): Array<{ file: string; name: string }> {
    return files.flatMap((file) => {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      return [...text.matchAll(/^\s*(?:import|export)\s(?!type\b)[^;]*?from\s+"([^"]+)"/gms)]
        .map((m) => m[1] as string)
        .filter((spec) => !spec.startsWith(".") && !spec.startsWith("node:"))
        .map((spec) => ({
          file,
          name: spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!,
        }));
    });
  }

  it("of the controller cover every package it imports, and nothing only the simulator uses", () => {
    const used = importedPackages(controllerFiles);
    expect(used.filter((u) => !pkg.dependencies[u.name]).map((u) => `${u.file}: ${u.name}`)).toEqual([]);
    const simulatorPkg = JSON.parse(readFileSync(join(REPO_ROOT, "simulator/package.json"), "utf8"));
    const simulatorOnly = Object.keys(simulatorPkg.dependencies).filter((d) => !used.some((u) => u.name === d));
    for (const d of simulatorOnly) expect(pkg.dependencies[d], d).toBeUndefined();
    // The controller validates Soracom's answers with ajv: a production dependency of its own.
    expect(used.map((u) => u.name)).toContain("ajv");
    for (const d of ["ajv", "ajv-formats"]) expect(pkg.dependencies[d], d).toBeDefined();
    expect(pkg.workspaces).toContain(dirname("simulator/package.json"));
  });

  it("of the simulator (its workspace plus the root's) cover every package it imports", () => {
    const simulatorPkg = JSON.parse(readFileSync(join(REPO_ROOT, "simulator/package.json"), "utf8"));
    const have = { ...pkg.dependencies, ...simulatorPkg.dependencies };
    const files = programFiles("simulator/tsconfig.json");
    expect(importedPackages(files).filter((u) => !have[u.name])).toEqual([]);
  });
});

describe("the plugin", () => {
  it("is built from its own tsconfig into dist/plugin, the package's kubectl-esim bin", () => {
    const files = programFiles("plugin/tsconfig.json");
    expect(files).toContain("plugin/cli.ts");
    expect(pkg.bin["kubectl-esim"]).toBe("dist/plugin/cli.js");
    expect(controllerFiles.some((f) => f.startsWith("plugin/"))).toBe(false);
  });
});
