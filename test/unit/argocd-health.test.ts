import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findTool, requireToolInCi } from "./chart-support.js";

// Argo CD's own layout: resource_customizations/<group>/<Kind>/{health.lua,health_test.yaml,testdata/}.
// Each case runs health.lua through lua5.1 (the dialect of the gopher-lua Argo CD embeds) with the
// testdata object as `obj`, and compares the status and message with health_test.yaml.
const root = join(import.meta.dirname, "../..");
const customizations = join(root, "deploy/argocd/resource_customizations/esim.soracom-operator.io");
const runner = join(root, "deploy/argocd/run_health_tests.lua");
const KINDS = ["EsimProfileOrder", "EsimProfile"] as const;
const lua = findTool("lua5.1");
const work = mkdtempSync(join(tmpdir(), "argocd-health-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface HealthTest {
  healthStatus: { status: string; message: string };
  inputPath: string;
}

function testsOf(kind: string): HealthTest[] {
  return parse(readFileSync(join(customizations, kind, "health_test.yaml"), "utf8")).tests;
}

/** toLua writes a JSON-like value as a Lua table literal, the shape Argo CD hands a health script. */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  if (typeof value === "string") return luaString(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(", ")}}`;
  const fields = Object.entries(value as Record<string, unknown>).map(([k, v]) => `[${luaString(k)}] = ${toLua(v)}`);
  return `{${fields.join(", ")}}`;
}

const LUA_ESCAPES: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function luaString(s: string): string {
  // Lua 5.1 has no \u escapes: control characters as decimal escapes, UTF-8 bytes as they are.
  let out = "";
  for (const c of s) {
    const code = c.charCodeAt(0);
    out += LUA_ESCAPES[c] ?? (code < 0x20 || code === 0x7f ? `\\${code}` : c);
  }
  return `"${out}"`;
}

function runHealth(kind: string, object: unknown): { status: string; message: string } {
  const objectFile = join(work, `${kind}-${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(objectFile, `return ${toLua(object)}\n`);
  const out = execFileSync(lua as string, [runner, join(customizations, kind, "health.lua"), objectFile], {
    encoding: "utf8",
  });
  const newline = out.indexOf("\n");
  return { status: out.slice(0, newline), message: out.slice(newline + 1) };
}

describe("lua5.1 is available (CI installs it)", () => {
  it("is installed, or the run is not CI", (ctx) => requireToolInCi("lua5.1", lua, ctx));
});

describe.skipIf(!lua)("the Lua runner itself", () => {
  it("turns YAML values into Lua tables that round-trip strings, numbers, lists and nesting", () => {
    const probe = join(work, "probe.lua");
    const value = { s: 'a "quoted"\\ line\nnext\ttab é', n: 3, b: false, list: ["x", "y"], nested: { k: [1, 2] } };
    writeFileSync(
      probe,
      `local v = ${toLua(value)}\nio.write(v.s, "|", v.n + 1, "|", tostring(v.b), "|", #v.list, v.list[2], "|", v.nested.k[2])`,
    );
    expect(execFileSync(lua as string, [probe], { encoding: "utf8" })).toBe(
      'a "quoted"\\ line\nnext\ttab é|4|false|2y|2',
    );
  });

  it("runs health.lua without io, os or require, as Argo CD's sandbox does", () => {
    const sneaky = join(work, "sneaky.lua");
    writeFileSync(sneaky, 'local f = io.open("/etc/hostname")\nreturn { status = "Healthy" }\n');
    const objectFile = join(work, "empty.lua");
    writeFileSync(objectFile, "return {}\n");
    const res = spawnSync(lua as string, [runner, sneaky, objectFile], { encoding: "utf8" });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/health\.lua failed: .*io/);
  });
});

for (const kind of KINDS) {
  describe.skipIf(!lua)(`${kind} health check (health_test.yaml)`, () => {
    for (const test of testsOf(kind)) {
      it(`${test.inputPath} is ${test.healthStatus.status}`, () => {
        const object = parse(readFileSync(join(customizations, kind, test.inputPath), "utf8"));
        expect(runHealth(kind, object)).toEqual(test.healthStatus);
      });
    }
  });

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

    it("feeds only objects that the CRD's schema accepts", () => {
      const crd = parse(
        readFileSync(join(root, "crds", `esim.soracom-operator.io_${kind.toLowerCase()}s.yaml`), "utf8"),
      );
      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats.default(ajv);
      const validate = ajv.compile(crd.spec.versions[0].schema.openAPIV3Schema);
      for (const t of tests) {
        const object = parse(readFileSync(join(customizations, kind, t.inputPath), "utf8"));
        expect(validate(object) ? [] : validate.errors, t.inputPath).toEqual([]);
      }
    });
  });
}
