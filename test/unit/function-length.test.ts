import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The controller reads in functions a newcomer can hold in view: none over 80 lines, main.ts's over 60.
const ROOT = path.resolve(import.meta.dirname, "../..");
const LIMIT = 80;
const MAIN_LIMIT = 60;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith(".ts") && !e.name.endsWith(".generated.ts") ? [full] : [];
  });
}

/** functionLengths lists every function-like node of a file with its length in lines (nested ones too). */
function functionLengths(file: string, text: string): Array<{ name: string; lines: number }> {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Array<{ name: string; lines: number }> = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = node.name && ts.isIdentifier(node.name) ? node.name.text : undefined;
      const line = start + 1;
      found.push({ name: `${path.relative(ROOT, file)}:${line} ${named ?? "(anonymous)"}`, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe("function length in controller/", () => {
  it("measures what it claims to (a 3-line function is 3 lines)", () => {
    const lengths = functionLengths("x.ts", "function f() {\n  return 1;\n}\nconst g = () => 2;\n");
    expect(lengths.map((l) => l.lines)).toEqual([3, 1]);
  });

  it(`has no function over ${LIMIT} lines, and none over ${MAIN_LIMIT} in main.ts`, () => {
    const long = sourceFiles(path.join(ROOT, "controller")).flatMap((file) => {
      const limit = path.basename(file) === "main.ts" && path.dirname(file).endsWith("controller") ? MAIN_LIMIT : LIMIT;
      return functionLengths(file, fs.readFileSync(file, "utf8"))
        .filter((f) => f.lines > limit)
        .map((f) => `${f.name}: ${f.lines} lines (limit ${limit})`);
    });
    expect(long).toEqual([]);
  });
});
