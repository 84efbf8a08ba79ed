/**
 * Where a controller's CPU went: reads a V8 .cpuprofile (`make bench BENCH_ARGS=--cpu-prof`) and prints
 * self time by function and by where the code lives (the controller's own folders, each npm package,
 * Node's internals, garbage collection, idle), the figures docs/performance.md quotes.
 *
 *   node bench-results/build/bench/cpuprofile.js FILE.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/** summarize sums self time (from the sample deltas) by function and by area; shares are of the profile's wall time. */
export function summarize(profile: CpuProfile): { wallMs: number; byFunction: SelfTime[]; byArea: SelfTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // A sample's time is the gap to the next sample (V8 records the gap before each one).
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    const us = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, us));
  }
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = areaOf(functionName, url);
    const label = `${functionName || "(anonymous)"} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ""}`.trim();
    fn.set(label, (fn.get(label) ?? 0) + us / 1000);
    area.set(where, (area.get(where) ?? 0) + us / 1000);
  }
  const sorted = (m: Map<string, number>) =>
    [...m]
      .map(([name, ms]) => ({ name, ms, share: wallMs > 0 ? ms / wallMs : 0 }))
      .sort((a, b) => b.ms - a.ms);
  return { wallMs, byFunction: sorted(fn), byArea: sorted(area) };
}

/** areaOf names where a frame's code lives: (idle), (garbage collector), node:internals, a package, or controller/<folder>. */
export function areaOf(functionName: string, url: string): string {
  if (functionName === "(idle)" || functionName === "(program)" || functionName === "(garbage collector)")
    return functionName;
  if (!url) return "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  if (url.startsWith("node:")) return "node:internals";
  const own = /\/dist\/(controller\/[^/]+)\//.exec(url) ?? /\/dist\/(controller)\/[^/]+$/.exec(url);
  if (own) return own[1]!;
  return shortUrl(url);
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, "$1/");
}

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  const file = positionals[0];
  if (!file) {
    process.stderr.write("usage: node bench-results/build/bench/cpuprofile.js FILE.cpuprofile [--top N]\n");
    return 2;
  }
  const s = summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const out = [`Profile of ${(s.wallMs / 1000).toFixed(1)} s`, "", "| where | self time | of wall time |", "| --- | ---: | ---: |"];
  for (const a of s.byArea) out.push(`| ${a.name} | ${(a.ms / 1000).toFixed(2)} s | ${pct(a.share)} |`);
  out.push("", "| function | self time | of wall time |", "| --- | ---: | ---: |");
  for (const f of s.byFunction.slice(0, Number(values.top))) out.push(`| ${f.name} | ${f.ms.toFixed(0)} ms | ${pct(f.share)} |`);
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}

if (process.argv[1]?.endsWith("cpuprofile.js")) process.exit(main(process.argv.slice(2)));
