import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { runCli } from "../../controller/commands.js";
import { version } from "../../controller/version.js";

const ROOT = path.join(import.meta.dirname, "../..");

describe("soracom-esim-operator: version and completion", () => {
  const capture = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) };
    const code = await runCli(argv, io, { controller: () => import("../../controller/main.js") });
    return { code, out: out.join(""), err: err.join("") };
  };
  it("version, --version and controller --version print the one version (package.json = the chart's appVersion)", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const chart = parse(fs.readFileSync(path.join(ROOT, "charts/soracom-esim-operator/Chart.yaml"), "utf8"));
    expect(version()).toBe(pkg.version);
    expect(chart.appVersion).toBe(pkg.version);
    expect(await capture(["version"])).toEqual({ code: 0, out: `soracom-esim-operator ${pkg.version}\n`, err: "" });
    expect((await capture(["--version"])).out).toBe(`soracom-esim-operator ${pkg.version}\n`);
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      expect(await capture(["controller", "--version"])).toMatchObject({ code: 0 });
      expect(write).toHaveBeenCalledWith(`soracom-esim-operator ${pkg.version}\n`);
    } finally {
      write.mockRestore();
    }
  });
  it("completion bash completes the commands; zsh and fish name them; anything else is exit 2", async () => {
    const script = (await capture(["completion", "bash"])).out;
    const words = execFileSync(
      "bash",
      [
        "-c",
        `${script}\nCOMP_WORDS=(soracom-esim-operator c); COMP_CWORD=1; _soracom_esim_operator; echo "\${COMPREPLY[*]}"`,
      ],
      { encoding: "utf8" },
    ).trim();
    expect(words).toBe("controller completion");
    for (const shell of ["zsh", "fish"]) expect((await capture(["completion", shell])).out).toContain("controller");
    expect((await capture(["completion", "csh"])).code).toBe(2);
    const unknown = await capture(["contoller"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown command "contoller"');
  });
});
