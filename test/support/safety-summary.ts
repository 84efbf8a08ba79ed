import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, inject } from "vitest";

/**
 * The fault suite's summary: every scenario of every safety-*.test.ts file appends one record to a JSON
 * file under the OS temp folder, named after the run's control plane (so the files of one `vitest run`
 * share it and two runs never mix). Each file prints the table of the run so far when it ends and fails
 * if any of the four numbers that must be zero is not; the last file to finish prints the whole run.
 */

/** ScenarioRecord is what one scenario contributes to the summary. */
export interface ScenarioRecord {
  file: string;
  scenario: string;
  /** Faults injected: crashes, SIGKILLs, simulator faults, apiserver restarts, conflicts... */
  faults: number;
  /** Soracom orders beyond the first for one token (THE invariant: must be 0). */
  duplicates: number;
  /** Profiles ordered beyond what the resource wants, whatever the tokens say (must be 0). */
  overOrdered: number;
  /** Profiles of COMPLETED orders with no EsimProfile (must be 0). */
  lost: number;
  /** SIMs terminated beyond the termination budget without an override (must be 0). */
  terminationsBeyondBudget: number;
  /** Mutating Soracom calls made in dry run (must be 0). */
  dryRunMutations: number;
  seconds: number;
  note?: string;
}

/** summaryPath is the run's summary file (one per control plane, so per `vitest run`). */
export function summaryPath(): string {
  const cp = inject("controlPlane");
  const run = createHash("sha256").update(`${cp.controlUrl}|${cp.kubeconfigPath}`).digest("hex").slice(0, 12);
  return join(tmpdir(), `soracom-esim-safety-${run}.json`);
}

export function readRecords(path = summaryPath()): ScenarioRecord[] {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as ScenarioRecord[]) : [];
}

/** recordScenario appends one scenario's record (files run one at a time in the integration project). */
export function recordScenario(record: ScenarioRecord, path = summaryPath()): void {
  const all = readRecords(path);
  all.push(record);
  writeFileSync(path, JSON.stringify(all, null, 1));
}

const MUST_BE_ZERO = ["duplicates", "overOrdered", "lost", "terminationsBeyondBudget", "dryRunMutations"] as const;

/** totals sums the records. */
export function totals(records: readonly ScenarioRecord[]) {
  const sum = (k: keyof ScenarioRecord) => records.reduce((n, r) => n + (r[k] as number), 0);
  return {
    scenarios: records.length,
    faults: sum("faults"),
    duplicates: sum("duplicates"),
    overOrdered: sum("overOrdered"),
    lost: sum("lost"),
    terminationsBeyondBudget: sum("terminationsBeyondBudget"),
    dryRunMutations: sum("dryRunMutations"),
    seconds: sum("seconds"),
  };
}

/** summaryTable renders the run's totals, then one row per scenario, as Markdown. */
export function summaryTable(records: readonly ScenarioRecord[], header = ""): string {
  const t = totals(records);
  const lines = [
    header,
    "| Scenarios run | Faults injected | Duplicate orders | Profiles ordered beyond wanted | Profiles lost | Terminations beyond the budget | Mutating calls in dry run |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    `| ${t.scenarios} | ${t.faults} | ${t.duplicates} | ${t.overOrdered} | ${t.lost} | ${t.terminationsBeyondBudget} | ${t.dryRunMutations} |`,
    "",
    "| File | Scenario | Faults | Dup. | Over | Lost | Term. beyond | Dry-run calls | Seconds |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ...records.map(
      (r) =>
        `| ${r.file} | ${r.scenario.replaceAll("|", "/")}${r.note ? ` (${r.note})` : ""} | ${r.faults} | ${r.duplicates} | ${r.overOrdered} | ${r.lost} | ${r.terminationsBeyondBudget} | ${r.dryRunMutations} | ${r.seconds.toFixed(1)} |`,
    ),
  ];
  return lines.join("\n");
}

/**
 * useSafetySummary registers the file's afterAll: print the run's table so far (also written next to the
 * JSON as .md) and check that the four numbers are zero over every scenario recorded.
 */
export function useSafetySummary(file: string): void {
  afterAll(() => {
    const path = summaryPath();
    const records = readRecords(path);
    const mine = records.filter((r) => r.file === file);
    const header = `## Fault suite summary (after ${file}; ${new Set(records.map((r) => r.file)).size} file(s), ${records.length} scenario(s) so far)\n`;
    const table = summaryTable(records, header);
    writeFileSync(path.replace(/\.json$/, ".md"), `${table}\n`);
    process.stdout.write(`\n${table}\n\n(summary: ${path.replace(/\.json$/, ".md")})\n`);
    const t = totals(records);
    for (const k of MUST_BE_ZERO) expect(t[k], `${k} over the run (${mine.length} scenario(s) from ${file})`).toBe(0);
  });
}
