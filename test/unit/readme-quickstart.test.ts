import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./chart-support.js";

// The README's quick start (its first shell block) against the demo. Each line must be a Makefile target
// whose recipe runs scripts that exist and parse, and every `make X` the README and docs/ mention must be
// a target. Running `make demo` itself here would start a control plane, the simulator and the controller
// on fixed ports (8080, 8081) for about a minute: too slow and too shared for a unit test; make e2e runs the
// install path (docs/install.md) for real instead.
const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const makefile = readFileSync(join(REPO_ROOT, "Makefile"), "utf8");
const targets = new Set([...makefile.matchAll(/^([\w-]+):/gm)].map((m) => m[1]));
const dryRun = (target: string) =>
  spawnSync("make", ["-n", "--no-print-directory", "-C", REPO_ROOT, target], { encoding: "utf8" });

const quickStart = /```(?:sh|bash)\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
const commands = quickStart
  .split("\n")
  .map((l) => l.replace(/#.*$/, "").trim())
  .filter(Boolean);

describe("the README's quick start", () => {
  it("is make demo, make test and make e2e", () => {
    expect(commands).toEqual(["make demo", "make test", "make e2e"]);
  });

  it.each(commands)("%s is a documented target whose scripts exist and parse", (command) => {
    const target = command.split(" ")[1] as string;
    expect(makefile).toMatch(new RegExp(`^## ${target}: `, "m"));
    const r = dryRun(target);
    expect(r.status, r.stderr).toBe(0);
    const scripts = [...r.stdout.matchAll(/\bbash ((?:scripts|test)\/[\w./-]+\.sh)/g)].map((m) => m[1] as string);
    for (const script of scripts) {
      const parsed = spawnSync("bash", ["-n", join(REPO_ROOT, script)], { encoding: "utf8" });
      expect(parsed.status, `${script}: ${parsed.stderr}`).toBe(0);
    }
  });

  it("every `make X` in README.md and docs/ is a Makefile target", () => {
    const files = ["README.md", ...readdirSync(join(REPO_ROOT, "docs")).map((f) => join("docs", f))];
    const missing: string[] = [];
    for (const file of files.filter((f) => f.endsWith(".md"))) {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      for (const m of text.matchAll(/(?:^|`)(?:[A-Z_]+=\S+ )*make ([a-z][\w-]*)/gm)) {
        if (!targets.has(m[1])) missing.push(`${file}: make ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
