import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BenchCluster } from "../../bench/cluster.js";
import { shippedNodeOptions } from "../../bench/controller.js";
import { curveTable, markdownTable, writeResults } from "../../bench/report.js";
import { type CaseResult, runCase } from "../../bench/scenario.js";
import { useCluster } from "../support/cluster.js";

/**
 * The CI smoke of `make bench` (bench/): every phase of the benchmark at 40 profiles, with the simulator
 * answering at once and 20 ms away, against the shared control plane. It holds the figures that must
 * not move with the machine: Soracom calls at the minimum, no mutating call after a restart, every
 * profile Ready, the JSON written. The 20 ms case runs the way the 100,000-profile run does: the fleet
 * as two EsimProfileOrders, the polled paths limited below what the fleet would need polled naively,
 * and the poll budget keeping every answer a 200. Throughput and memory are left to the full run.
 */

/** Per-minute limit on the polled paths: 7 open orders at a 10 s stable interval would need 42 lists a minute. */
const POLL_LIMIT = 30;

const cluster = useCluster({ namespacePrefix: "bench-smoke" });

describe("benchmark smoke (make bench at N=40)", () => {
  it("40 profiles at 0 and 20 ms (polled paths limited): calls at the minimum or the budget, no 429, no mutating call on restart", async () => {
    // The benchmark's controller logs in as admin: make bench runs without helm, and measures the controller,
    // not RBAC (the chart's identity is held by every other test that runs the controller).
    const bench = new BenchCluster({
      kubeconfigPath: cluster.info.kubeconfigPath,
      server: cluster.info.server,
      caPem: cluster.info.caPem,
      adminToken: cluster.info.admin.token,
    });
    const cases: CaseResult[] = [];
    try {
      for (const latencyMs of [0, 20]) {
        cases.push(
          await runCase(bench, {
            n: 40,
            latencyMs,
            pollActive: "500ms",
            pollStable: "10s", // long enough that no stable poll falls into a cold order or a restart on a busy CI machine
            concurrency: 4,
            soracomRequestsPerSecond: 50,
            soracomMaxConcurrency: 16,
            controllerNodeOptions: shippedNodeOptions(),
            ceilingParallelism: 8,
            steadyWindowMs: 20_000,
            latencyApplies: 5,
            timeoutMs: 90_000,
            pollBudget: "300", // the product's, as a flag: the bench's environment may lift it
            ...(latencyMs === 20 ? { pollLimitPerMinute: POLL_LIMIT, ordersOf: 20 } : {}),
            log: () => undefined,
          }),
        );
      }
    } finally {
      bench.close();
    }

    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-smoke-")), "bench.json");
    writeResults(file, cases);
    const written = JSON.parse(fs.readFileSync(file, "utf8")) as { machine: { cpus: number }; cases: CaseResult[] };
    expect(written.machine.cpus).toBeGreaterThan(0);
    expect(written.cases.map((c) => [c.n, c.latencyMs])).toEqual([
      [40, 0],
      [40, 20],
    ]);
    expect(markdownTable(cases)).toMatch(/\| Cold order: apply → all profiles Ready \| \d+\.\d s \| \d+\.\d s \|/);
    // The controller ran as the chart installs it, and the table says so.
    expect(written.cases.map((c) => c.nodeOptions)).toEqual([shippedNodeOptions(), shippedNodeOptions()]);
    expect(markdownTable(cases)).toContain(`| Soracom client: requests/s, in flight | 50, 16 | 50, 16 |`);

    expect(curveTable(cases)).toMatch(/^\| N \| peak RSS \|/);
    for (const c of cases) {
      const at = `N=${c.n}, ${c.latencyMs} ms`;
      const limited = c.latencyMs === 20;
      expect(c.cold.soracom.calls, `${at}: cold calls`).toEqual(expect.objectContaining({ createProfileOrder: 2 }));
      expect(c.cold.soracom.simLookups, `${at}: one SIM search per order`).toBe(2);
      expect(c.restart.soracom.mutating, `${at}: mutating calls after a restart`).toBe(0);
      expect([c.cold.throttled, c.steady.throttled, c.restart.throttled], `${at}: Soracom 429s`).toEqual([0, 0, 0]);
      expect(c.steady.pollBudgetPerMinute, `${at}: poll budget reported`).toBeGreaterThan(0);
      if (!limited) {
        expect(c.cold.soracom.ratio, `${at}: cold Soracom calls / minimum`).toBe(1);
      } else {
        // Below the naive need: the budget adapts to 80 % of the announced limit and spreads the polls out.
        expect(c.steady.pollBudgetPerMinute, `${at}: budget under the announced limit`).toBeLessThanOrEqual(
          POLL_LIMIT * 0.8,
        );
        expect(c.steady.soracomPerMinute, `${at}: steady calls/min within the budget`).toBeLessThanOrEqual(
          c.steady.pollBudgetPerMinute ?? 0,
        );
        expect(c.steady.effectivePollIntervalS, `${at}: effective interval past 10 s`).toBeGreaterThan(10);
        // What the controller reports against what the simulator saw orders wait between two lists.
        console.info(
          `${at}: effective interval reported ${c.steady.effectivePollIntervalS} s, waited ${c.steady.waitedPollIntervalS} s`,
        );
        expect(c.steady.waitedPollIntervalS, `${at}: lists in the steady window`).toBeGreaterThan(0);
        expect(c.steady.effectivePollIntervalS, `${at}: reported interval not optimistic`).toBeGreaterThanOrEqual(
          0.9 * (c.steady.waitedPollIntervalS ?? 0),
        );
      }
      // After a restart every poll takes its turn in the budget's calendar: at most one read per open order.
      expect(c.restart.soracom.total, `${at}: restart reads within the minimum`).toBeLessThanOrEqual(
        c.restart.soracom.minimumTotal,
      );
      expect(c.restart.readyAfter, `${at}: profiles still Ready after the restart`).toBe(40);
      expect(c.steady.soracom.ratio, `${at}: steady calls / minimum`).toBeLessThanOrEqual(1);
      expect(c.latency.samplesMs, `${at}: apply → create samples`).toHaveLength(5);
      expect(c.memory.peakRssBytes, `${at}: memory was sampled`).toBeGreaterThan(0);
    }
  });
});
