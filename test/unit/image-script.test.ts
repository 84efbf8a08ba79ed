import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./chart-support.js";

// scripts/image.sh (make image, image-push, image-kind) against stand-in podman, docker and kind that record
// their arguments: which engine it picks, what it builds, pushes and loads, and what it refuses.
const work = mkdtempSync(join(tmpdir(), "image-script-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const TOOLS = ["dirname", "mktemp", "rm", "cat"];

/** run runs `bash scripts/image.sh action` with only the given stand-ins (and a few coreutils) on PATH. */
function run(
  action: string,
  stubs: string[],
  env: Record<string, string>,
): { code: number | null; calls: string[]; stderr: string } {
  const dir = mkdtempSync(join(work, "bin-"));
  const log = join(dir, "calls.log");
  for (const name of stubs) {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/bash\necho "${name} $*" >> ${log}\n`);
    chmodSync(file, 0o755);
  }
  for (const tool of TOOLS) symlinkSync(`/usr/bin/${tool}`, join(dir, tool));
  mkdirSync(join(dir, "empty"));
  const res = spawnSync("/bin/bash", [join(REPO_ROOT, "scripts/image.sh"), action], {
    encoding: "utf8",
    env: { PATH: dir, ...env },
  });
  let calls: string[] = [];
  try {
    calls = readFileSync(log, "utf8").trim().split("\n");
  } catch {}
  return { code: res.status, calls, stderr: res.stderr };
}

const IMAGE = "registry.example.com/soracom-esim-operator:0.1.0";
const BUILD = `build --target controller -t ${IMAGE} -f Dockerfile .`;

describe("scripts/image.sh", () => {
  it("push builds and pushes $IMAGE with podman when there is podman", () => {
    const r = run("push", ["podman", "docker"], { IMAGE });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls).toEqual([`podman ${BUILD}`, `podman push ${IMAGE}`]);
  });

  it("push uses docker when there is no podman", () => {
    const r = run("push", ["docker"], { IMAGE });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls).toEqual([`docker ${BUILD}`, `docker push ${IMAGE}`]);
  });

  it("kind loads through kind's own command with docker, through an archive with podman", () => {
    const d = run("kind", ["docker", "kind"], { IMAGE, KIND_CLUSTER: "dev" });
    expect(d.code, d.stderr).toBe(0);
    expect(d.calls).toEqual([`docker ${BUILD}`, `kind load docker-image ${IMAGE} --name dev`]);
    const p = run("kind", ["podman", "kind"], { IMAGE });
    expect(p.code, p.stderr).toBe(0);
    expect(p.calls[0]).toBe(`podman ${BUILD}`);
    expect(p.calls[1]).toMatch(new RegExp(`^podman save -o (\\S+\\.tar) ${IMAGE.replace(/\./g, "\\.")}$`));
    const archive = /-o (\S+)/.exec(p.calls[1] ?? "")?.[1];
    expect(p.calls[2]).toBe(`kind load image-archive ${archive} --name kind`);
  });

  it("refuses, before building, a push without a registry, an image without a tag, and no engine", () => {
    for (const [action, env, says] of [
      ["push", {}, "names no registry"],
      ["build", { IMAGE: "registry.example.com:5000/operator" }, "has no tag"],
      ["push", { IMAGE: "registry.example.com/operator@sha256:00" }, "not a digest"],
    ] as const) {
      const r = run(action, ["podman"], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(says);
      expect(r.calls).toEqual([]);
    }
    const none = run("build", [], { IMAGE });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("neither podman nor docker");
  });

  it("is what make image, image-push and image-kind run", () => {
    for (const [target, action] of [
      ["image", "build"],
      ["image-push", "push"],
      ["image-kind", "kind"],
    ] as const) {
      const r = spawnSync("make", ["-n", "--no-print-directory", "-C", REPO_ROOT, target], { encoding: "utf8" });
      expect(r.stdout.trim()).toBe(`bash scripts/image.sh ${action}`);
    }
  });
});
