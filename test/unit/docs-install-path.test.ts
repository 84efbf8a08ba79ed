import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./chart-support.js";

// docs/install.md is a test: make e2e runs its marked blocks as written (scripts/e2e/install-doc.sh, through
// scripts/doc-blocks.mjs). These checks keep the marks honest without a cluster: no marked block goes
// missing, no shell block joins the path unmarked, and what the blocks name exists.
interface Block {
  line: number;
  inPath: boolean;
  mark: "run" | "skip" | null;
  name: string | null;
  reason: string | null;
  code: string;
}
const work = mkdtempSync(join(tmpdir(), "doc-blocks-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function extract(file: string): { code: number | null; blocks: Block[]; stderr: string } {
  const res = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/doc-blocks.mjs"), file], { encoding: "utf8" });
  return { code: res.status, blocks: (JSON.parse(res.stdout) as { blocks: Block[] }).blocks, stderr: res.stderr };
}
function extractText(text: string) {
  const file = join(work, `doc-${Math.random().toString(36).slice(2)}.md`);
  writeFileSync(file, text);
  return extract(file);
}

const DOC = join(REPO_ROOT, "docs/install.md");
const doc = extract(DOC);
const marked = doc.blocks.filter((b) => b.mark);
const runBlocks = marked.filter((b) => b.mark === "run");
const byName = (name: string) => marked.find((b) => b.name === name) as Block;

describe("docs/install.md's path (make e2e runs it)", () => {
  it("parses without an error: every shell block in the path is marked", () => {
    expect(doc.stderr).toBe("");
    expect(doc.code).toBe(0);
  });

  it("has these marked blocks, in this order (a missing, renamed or re-marked block fails here)", () => {
    expect(marked.map((b) => `${b.mark} ${b.name}`)).toEqual([
      "skip image-push",
      "skip image-kind",
      "skip your-values",
      "run install",
      "run first-order",
    ]);
    for (const b of marked) expect(b.inPath, `${b.name} lies in the path`).toBe(true);
  });

  it("ends at a Ready order, installed by helm install from the chart in this repository", () => {
    expect(byName("install").code).toMatch(/^helm install soracom-esim-operator charts\/soracom-esim-operator /m);
    expect(runBlocks.at(-1)?.code).toMatch(/kubectl wait .*--for=condition=Ready esimprofileorder\//);
  });

  it("the run blocks use only the variables the your-values block sets, and make e2e sets the same", () => {
    const set = [...byName("your-values").code.matchAll(/\b([A-Z_]+)=/g)].map((m) => m[1]).sort();
    const used = new Set(runBlocks.flatMap((b) => [...b.code.matchAll(/\$\{?([A-Z_]+)/g)].map((m) => m[1])));
    expect([...used].sort()).toEqual(set);
    const e2e = readFileSync(join(REPO_ROOT, "scripts/e2e/install-doc.sh"), "utf8");
    const exported = [...e2e.matchAll(/^export (.*)$/gm)].flatMap((m) => [...(m[1] ?? "").matchAll(/\b([A-Z_]+)=/g)]);
    expect(exported.map((m) => m[1]).sort()).toEqual(set);
  });

  it("the files the run blocks name exist in the repository", () => {
    const paths = runBlocks.flatMap((b) => [...b.code.matchAll(/\b((?:charts|examples|deploy)\/[\w./-]+)/g)]);
    expect(paths.length).toBeGreaterThan(0);
    for (const [p] of paths) expect(existsSync(join(REPO_ROOT, p)), p).toBe(true);
  });

  it("the skipped blocks' make targets exist", () => {
    const targets = marked.flatMap((b) => [...b.code.matchAll(/\bmake ([\w-]+)/g)].map((m) => m[1] as string));
    expect(targets).toEqual(["image-push", "image-kind"]);
    for (const t of targets) {
      const r = spawnSync("make", ["-n", "--no-print-directory", "-C", REPO_ROOT, t], { encoding: "utf8" });
      expect(r.status, `make ${t}: ${r.stderr}`).toBe(0);
    }
  });
});

describe("every helm install the README and docs/ write", () => {
  it("sets image.repository (the chart's default is a placeholder no pod can pull)", () => {
    const files = ["README.md", ...readdirSync(join(REPO_ROOT, "docs")).map((f) => join("docs", f))];
    const installs = files
      .filter((f) => f.endsWith(".md"))
      .flatMap((f) =>
        extract(join(REPO_ROOT, f)).blocks.flatMap((b) =>
          // One command: the helm install line and its continuation lines.
          [...b.code.matchAll(/^helm install (?:[^\n]*\\\n)*[^\n]*$/gm)].map((m) => ({
            where: `${f}:${b.line}`,
            command: m[0],
          })),
        ),
      );
    expect(installs.length).toBeGreaterThan(0);
    for (const { where, command } of installs) expect(command, where).toContain("--set image.repository=");
  });
});

describe("scripts/doc-blocks.mjs", () => {
  const path = (inside: string) =>
    `# Doc\n\n\`\`\`sh\nbefore\n\`\`\`\n\n<!-- e2e: path begins -->\n${inside}\n<!-- e2e: path ends -->\n\n\`\`\`sh\nafter\n\`\`\`\n`;
  const fence = (code: string, lang = "bash") => `\`\`\`${lang}\n${code}\n\`\`\``;

  it("refuses an unmarked shell block in the path, and leaves those outside it alone", () => {
    const r = extractText(path(`<!-- e2e: run a -->\n${fence("echo a")}\n\ntext\n\n${fence("echo b", "sh")}`));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("a shell block in the e2e path without a mark");
    expect(r.stderr.match(/without a mark/g)).toHaveLength(1);
  });

  it("refuses a skip without a reason, a duplicate name, a malformed mark, and a doc without a path", () => {
    const cases: [string, string][] = [
      [path(`<!-- e2e: skip a -->\n${fence("x")}`), "gives no reason"],
      [path(`<!-- e2e: run a -->\n${fence("x")}\n\n<!-- e2e: run a -->\n${fence("y")}`), "two blocks named a"],
      [path(`<!-- e2e: runs a -->\n${fence("x")}`), "not a mark"],
      [`<!-- e2e: run a -->\n${fence("x")}\n`, "no <!-- e2e: path begins --> mark"],
    ];
    for (const [text, says] of cases) {
      const r = extractText(text);
      expect(r.code, says).toBe(1);
      expect(r.stderr).toContain(says);
    }
  });

  it("writes the run blocks, in order and as written, for make e2e", () => {
    const file = join(work, "w.md");
    const heredoc = "cat <<'EOF'\n  indented $HOME\nEOF";
    writeFileSync(
      file,
      path(
        `<!-- e2e: run one -->\n${fence(heredoc)}\n\n<!-- e2e: skip two: no -->\n${fence("no")}\n\n<!-- e2e: run three -->\n${fence("echo 3")}`,
      ),
    );
    const dir = join(work, "out");
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/doc-blocks.mjs"), file, "--write", dir], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["01-one.sh", "02-three.sh"]);
    expect(readFileSync(join(dir, "01-one.sh"), "utf8")).toBe(`${heredoc}\n`);
  });
});
