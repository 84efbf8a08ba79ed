#!/usr/bin/env node
// doc-blocks.mjs FILE [--write DIR]: the shell blocks of a Markdown document that is also a test
// (docs/install.md, run by make e2e). A block is marked by the HTML comment on the line before its fence:
//   <!-- e2e: run NAME -->            make e2e runs it, as written
//   <!-- e2e: skip NAME: REASON -->   make e2e does not (REASON says what it does instead)
// Between <!-- e2e: path begins --> and <!-- e2e: path ends --> every shell block must be marked.
// Prints {blocks, errors} as JSON; with --write, writes the run blocks to DIR/NN-NAME.sh and prints their
// file names. Exits 1 on any error (an unmarked block in the path, a bad or duplicate mark, no path).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SHELL = new Set(["sh", "bash", "shell"]);
const MARK = /^<!--\s*e2e:\s*(run|skip)\s+([a-z0-9-]+)(?::\s*(.+?))?\s*-->$/;

export function docBlocks(text) {
  const lines = text.split("\n");
  const blocks = [];
  const errors = [];
  let inPath = false;
  let sawPath = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "<!-- e2e: path begins -->") {
      inPath = true;
      sawPath = true;
    }
    if (line === "<!-- e2e: path ends -->") inPath = false;
    const fence = /^(```+|~~~+)\s*([A-Za-z]*)/.exec(line);
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && l.trim().startsWith(fence[1]));
    if (end < 0) {
      errors.push(`line ${i + 1}: a code block that never ends`);
      break;
    }
    const indent = /^\s*/.exec(lines[i])[0].length;
    const code = lines.slice(i + 1, end).map((l) => l.slice(Math.min(indent, /^\s*/.exec(l)[0].length)));
    const lang = fence[2].toLowerCase();
    const prev = (lines[i - 1] ?? "").trim();
    const comment = /^<!--\s*e2e:/.test(prev) ? prev : undefined;
    const mark = comment ? MARK.exec(comment) : null;
    if (comment && !mark) errors.push(`line ${i}: not a mark (<!-- e2e: run|skip NAME[: reason] -->): ${comment}`);
    if (mark && !SHELL.has(lang)) errors.push(`line ${i + 1}: a mark on a ${lang || "plain"} block, not a shell block`);
    if (mark?.[1] === "skip" && !mark[3]) errors.push(`line ${i}: skip ${mark[2]} gives no reason`);
    if (SHELL.has(lang) && inPath && !mark) errors.push(`line ${i + 1}: a shell block in the e2e path without a mark`);
    if (SHELL.has(lang)) {
      blocks.push({
        line: i + 1,
        lang,
        inPath,
        mark: mark?.[1] ?? null,
        name: mark?.[2] ?? null,
        reason: mark?.[3] ?? null,
        code: `${code.join("\n")}\n`,
      });
    }
    i = end;
  }
  if (!sawPath) errors.push("no <!-- e2e: path begins --> mark");
  const names = blocks.map((b) => b.name).filter(Boolean);
  for (const n of new Set(names)) if (names.indexOf(n) !== names.lastIndexOf(n)) errors.push(`two blocks named ${n}`);
  return { blocks, errors };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, flag, dir] = process.argv.slice(2);
  const result = docBlocks(readFileSync(file, "utf8"));
  for (const e of result.errors) process.stderr.write(`${file}: ${e}\n`);
  if (flag === "--write") {
    mkdirSync(dir, { recursive: true });
    result.blocks
      .filter((b) => b.mark === "run")
      .forEach((b, n) => {
        const name = `${String(n + 1).padStart(2, "0")}-${b.name}.sh`;
        writeFileSync(join(dir, name), b.code);
        process.stdout.write(`${name}\n`);
      });
  } else {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  }
  process.exit(result.errors.length ? 1 : 0);
}
