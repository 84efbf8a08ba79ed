import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CaseResult } from "./scenario.js";

/**
 * The benchmark's outputs: a Markdown table (one column per case, one row per figure, the targets of
 * issue 8 beside them) and the machine it ran on.
 */

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const MiB = 2 ** 20;
const int = (x: number) => Math.round(x).toLocaleString("en-US");
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ratio = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "∞");
const mib = (b: number) => `${Math.round(b / MiB)} MiB`;
const ms = (x: number) => `${Math.round(x)} ms`;

type Row = [label: string, target: string, cell: (c: CaseResult) => string];

const ROWS: Row[] = [
  ["Cold order: apply → all profiles Ready", "", (c) => s(c.cold.wallMs)],
  ["Cold order: profiles/s", "", (c) => c.cold.profilesPerSecond.toFixed(1)],
  [
    "  apply → first / last EsimProfile created",
    "",
    (c) => `${s(c.cold.timeline.firstSeenMs)} / ${s(c.cold.timeline.lastSeenMs)}`,
  ],
  [
    "  EsimProfile created → Ready (p50 / max)",
    "",
    (c) => `${ms(c.cold.timeline.readyLagP50Ms)} / ${ms(c.cold.timeline.readyLagMaxMs)}`,
  ],
  ["Ceiling (plain client loop): profiles/s", "", (c) => (c.ceiling ? c.ceiling.profilesPerSecond.toFixed(1) : "–")],
  ["Throughput / ceiling", "≥ 0.70", (c) => (c.cold.ceilingRatio === undefined ? "–" : ratio(c.cold.ceilingRatio))],
  ["Cold Soracom calls / minimum", "", (c) => `${int(c.cold.soracom.total)} / ${int(c.cold.soracom.minimumTotal)}`],
  ["Cold Soracom call ratio (one SIM search per order in the minimum)", "1.00", (c) => ratio(c.cold.soracom.ratio)],
  ["Cold Soracom call ratio (issue's minimum: no SIM lookups)", "", (c) => ratio(c.cold.soracom.issueRatio)],
  ["Cold SIM lookups (searchSims, getSubscriber, getSim)", "", (c) => int(c.cold.soracom.simLookups)],
  ["Cold apiserver requests (operator's kinds)", "", (c) => int(c.cold.apiserverTotal)],
  ["Cold controller CPU", "", (c) => `${c.cold.cpuSeconds.toFixed(1)} s`],
  [
    "Steady: Soracom calls/min (minimum)",
    "",
    (c) => `${int(c.steady.soracomPerMinute)} (${int(c.steady.minimumPerMinute)})`,
  ],
  ["Steady Soracom call ratio", "1.00", (c) => ratio(c.steady.soracom.ratio)],
  ["Steady: poll budget (calls/min), effective stable interval (reported; waited, by the simulator)", "", (c) => budgetCell(c)],
  [
    "Soracom 429s: cold / steady / restart",
    "0",
    (c) => `${int(c.cold.throttled ?? 0)} / ${int(c.steady.throttled ?? 0)} / ${int(c.restart.throttled ?? 0)}`,
  ],
  ["Steady: apiserver requests/min", "", (c) => int(c.steady.apiserverPerMinute)],
  ["Steady: controller CPU", "", (c) => `${c.steady.cpuPercent.toFixed(1)} %`],
  ["Restart: caches synced", "", (c) => s(c.restart.syncedMs)],
  ["Restart: everything reconciled", "≤ 60 s", (c) => s(c.restart.reconciledMs)],
  ["Restart: mutating Soracom calls", "0", (c) => int(c.restart.soracom.mutating)],
  [
    "Restart: Soracom reads / minimum",
    "",
    (c) => `${int(c.restart.soracom.total)} / ${int(c.restart.soracom.minimumTotal)}`,
  ],
  ["Restart: apiserver requests", "", (c) => int(c.restart.apiserverTotal)],
  ["Peak RSS", "< 512 MiB at 100,000", (c) => mib(c.memory.peakRssBytes)],
  ["Peak heap used", "", (c) => mib(c.memory.peakHeapUsedBytes)],
  ["Steady RSS / heap used", "", (c) => `${mib(c.steady.rssBytes ?? 0)} / ${mib(c.steady.heapUsedBytes ?? 0)}`],
  ["Apply → create p50", "< 200 ms", (c) => `${Math.round(c.latency.p50Ms)} ms`],
  ["Apply → create p99", "", (c) => `${Math.round(c.latency.p99Ms)} ms`],
  ["Controller NODE_OPTIONS", "", (c) => (c.nodeOptions ? `\`${c.nodeOptions}\`` : "Node's defaults")],
  ["Soracom client: requests/s, in flight", "", (c) => soracomLimits(c.controllerArgs)],
];

function budgetCell(c: CaseResult): string {
  if (c.steady.pollBudgetPerMinute === undefined) return "none";
  const interval = c.steady.effectivePollIntervalS;
  const waited = c.steady.waitedPollIntervalS;
  const reported = interval === undefined ? "–" : s(interval * 1000);
  return `${int(c.steady.pollBudgetPerMinute)}, ${reported}; ${waited === undefined ? "–" : s(waited * 1000)}`;
}

/**
 * curveTable puts the cases in order of N, one row each, with the marginal memory per profile (the slope of
 * peak and steady RSS from the case before).
 */
export function curveTable(cases: readonly CaseResult[]): string {
  const sorted = [...cases].sort((a, b) => a.n - b.n || a.latencyMs - b.latencyMs);
  const head = [
    "N",
    "peak RSS",
    "peak heap",
    "steady RSS / heap",
    "slope: peak RSS, steady RSS, steady heap per added profile",
    "restart reconciled",
    "steady calls/min (budget)",
    "429s",
    "throughput / ceiling",
  ];
  const lines = [row(head), row(head.map(() => "---"))];
  sorted.forEach((c, i) => {
    const prev = sorted[i - 1];
    const slope = (f: (x: CaseResult) => number) =>
      prev && c.n > prev.n ? `${((f(c) - f(prev)) / (c.n - prev.n) / 1024).toFixed(2)} KiB` : "–";
    lines.push(
      row([
        `${int(c.n)} (${c.latencyMs} ms)`,
        mib(c.memory.peakRssBytes),
        mib(c.memory.peakHeapUsedBytes),
        `${mib(c.steady.rssBytes ?? 0)} / ${mib(c.steady.heapUsedBytes ?? 0)}`,
        [
          slope((x) => x.memory.peakRssBytes),
          slope((x) => x.steady.rssBytes ?? 0),
          slope((x) => x.steady.heapUsedBytes ?? 0),
        ].join(", "),
        s(c.restart.reconciledMs),
        `${int(c.steady.soracomPerMinute)} (${c.steady.pollBudgetPerMinute === undefined ? "none" : int(c.steady.pollBudgetPerMinute)})`,
        int((c.cold.throttled ?? 0) + (c.steady.throttled ?? 0) + (c.restart.throttled ?? 0)),
        c.cold.ceilingRatio === undefined ? "–" : ratio(c.cold.ceilingRatio),
      ]),
    );
  });
  return lines.join("\n");
}

function soracomLimits(args: readonly string[]): string {
  const flag = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
  };
  return `${flag("--soracom-requests-per-second", "10")}, ${flag("--soracom-max-concurrency", "8")}`;
}

/** markdownTable renders the cases side by side. */
export function markdownTable(cases: readonly CaseResult[]): string {
  const head = ["", ...cases.map((c) => `N=${int(c.n)}, ${c.latencyMs} ms`), "Target"];
  const lines = [row(head), row(head.map(() => "---"))];
  for (const [label, target, cell] of ROWS) lines.push(row([label, ...cases.map(cell), target]));
  return lines.join("\n");
}

/** callsTable shows the calls per operation against the minimum, for one case and phase. */
export function callsTable(c: CaseResult): string {
  const phases = [
    ["cold", c.cold.soracom],
    ["steady", c.steady.soracom],
    ["restart", c.restart.soracom],
  ] as const;
  const ops = new Set<string>();
  for (const [, r] of phases) for (const op of [...Object.keys(r.calls), ...Object.keys(r.minimum)]) ops.add(op);
  const head = ["operation", ...phases.map(([p]) => `${p} (min)`)];
  const lines = [row(head), row(head.map(() => "---"))];
  for (const op of [...ops].sort()) {
    lines.push(row([op, ...phases.map(([, r]) => `${int(r.calls[op] ?? 0)} (${int(r.minimum[op] ?? 0)})`)]));
  }
  return lines.join("\n");
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** writeResults writes the JSON results (machine and every case so far). */
export function writeResults(file: string, cases: readonly CaseResult[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const body = { generatedAt: new Date().toISOString(), machine: machine(), cases };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
}
