/**
 * `make bench`: the operator against the limits of its platform (issue 8). Starts a fresh control plane
 * (etcd + kube-apiserver, test/controlplane/fixture.ts) per case and the Soracom simulator in-process,
 * runs the real controller from dist/, and prints a Markdown table; the JSON goes to bench-results/.
 *
 *   node bench-results/build/bench/main.js [--n 1000,10000] [--latency 0,100] [--out FILE] ...
 *
 * Flags are listed in USAGE. Needs `npm run build` (the controller) and the control-plane binaries
 * (`make controlplane`, built on first use).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "../controller/config.js";
import { ensureBinaries, REPO_ROOT } from "../test/controlplane/binaries.js";
import { ControlPlane } from "../test/controlplane/fixture.js";
import { BenchCluster } from "./cluster.js";
import { shippedNodeOptions } from "./controller.js";
import { callsTable, curveTable, machine, markdownTable, writeResults } from "./report.js";
import { type CaseResult, runCase } from "./scenario.js";

const USAGE = `usage: node bench-results/build/bench/main.js [flags]
  --n <list>                 profile counts (default 1000,10000)
  --latency <list>           simulator latency per call in ms (default 0,100)
  --poll-active <d>          controller --poll-interval-active (default 1s)
  --poll-stable <d>          controller --poll-interval-stable (default 30s)
  --concurrency <n>          controller --concurrency (default 4, the product default)
  --soracom-rps <n>          controller --soracom-requests-per-second (default 1000: the simulator, not
                             the client's self-imposed rate, is the platform being measured)
  --soracom-concurrency <n>  controller --soracom-max-concurrency (default 32)
  --ceiling-parallelism <n>  profiles at once in the plain client loop (default 8)
  --steady-window <d>        how long steady state is measured (default 60s)
  --latency-applies <n>      orders of quantity 1 applied one by one for apply→create latency (default 50)
  --timeout <d>              longest wait for a phase (default 30m)
  --skip-ceiling             do not run the plain client loop
  --cpu-prof                 run the controller under node --cpu-prof (profiles in bench-results/profiles/)
  --controller-log-level <l> the controller's --log-level (default warn); its logs go to bench-results/logs/
  --controller-cli <file>    run another build of the controller (cli.js), for a before/after comparison
  --controller-node-options <o>  NODE_OPTIONS for the controller (default: what the Helm chart sets,
                             from controller.maxHeapMiB; "none" for Node's own defaults)
  --soracom-poll-limit <n>   the simulator's per-minute limit on each polled path (getProfileOrder,
                             listOrderedProfiles; default 1000, the vendor's example; 0: none)
  --poll-budget <n>          controller --soracom-poll-budget (default 300, the product's; "unlimited" for none)
  --orders-of <n>            the fleet as EsimProfileOrders of at most n profiles (default: one order of N;
                             one order's status lists every Soracom order, ~5,000 at N=100,000)
  --heap-snapshot            write a heap snapshot of the controller in steady state (bench-results/profiles/)
  --out <file>               JSON results (default bench-results/bench-<time>.json)`;

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} [bench] ${line}\n`);

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: "string", default: "1000,10000" },
      latency: { type: "string", default: "0,100" },
      "poll-active": { type: "string", default: "1s" },
      "poll-stable": { type: "string", default: "30s" },
      concurrency: { type: "string", default: "4" },
      "soracom-rps": { type: "string", default: "1000" },
      "soracom-concurrency": { type: "string", default: "32" },
      "ceiling-parallelism": { type: "string", default: "8" },
      "steady-window": { type: "string", default: "60s" },
      "latency-applies": { type: "string", default: "50" },
      timeout: { type: "string", default: "30m" },
      "skip-ceiling": { type: "boolean", default: false },
      "cpu-prof": { type: "boolean", default: false },
      "heap-snapshot": { type: "boolean", default: false },
      "soracom-poll-limit": { type: "string", default: "1000" },
      "poll-budget": { type: "string", default: "300" },
      "orders-of": { type: "string" },
      "controller-log-level": { type: "string", default: "warn" },
      "controller-node-options": { type: "string" },
      "controller-cli": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const list = (s: string) => s.split(",").map((x) => Number(x.trim()));
  const resultsDir = path.join(REPO_ROOT, "bench-results");
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out = values.out ?? path.join(resultsDir, `bench-${stamp}.json`);
  const nodeOptions =
    values["controller-node-options"] === undefined
      ? shippedNodeOptions()
      : values["controller-node-options"] === "none"
        ? ""
        : values["controller-node-options"];
  const binaries = await ensureBinaries();
  const cases: CaseResult[] = [];
  for (const n of list(values.n)) {
    for (const latencyMs of list(values.latency)) {
      // A fresh control plane per case: objects of an earlier case would weigh on the apiserver's cache.
      // Without kube-controller-manager, so figures stay comparable with the runs docs/performance.md quotes.
      const cp = await ControlPlane.start({
        binaries,
        log: () => undefined,
        baseDir: path.join(resultsDir, "tmp"),
        controllerManager: false,
      });
      const cluster = new BenchCluster({
        kubeconfigPath: cp.kubeconfigPath,
        server: cp.server,
        caPem: cp.caPem,
        adminToken: cp.info().admin.token,
      });
      try {
        cases.push(
          await runCase(cluster, {
            n,
            latencyMs,
            pollActive: values["poll-active"],
            pollStable: values["poll-stable"],
            concurrency: Number(values.concurrency),
            soracomRequestsPerSecond: Number(values["soracom-rps"]),
            soracomMaxConcurrency: Number(values["soracom-concurrency"]),
            ceilingParallelism: Number(values["ceiling-parallelism"]),
            steadyWindowMs: parseDuration(values["steady-window"], "steady-window"),
            latencyApplies: Number(values["latency-applies"]),
            timeoutMs: parseDuration(values.timeout, "timeout"),
            ...(Number(values["soracom-poll-limit"]) > 0
              ? { pollLimitPerMinute: Number(values["soracom-poll-limit"]) }
              : {}),
            ...(values["poll-budget"] ? { pollBudget: values["poll-budget"] } : {}),
            ...(values["orders-of"] ? { ordersOf: Number(values["orders-of"]) } : {}),
            skipCeiling: values["skip-ceiling"],
            ...(values["cpu-prof"] ? { cpuProfileDir: path.join(resultsDir, "profiles", `n${n}-l${latencyMs}`) } : {}),
            controllerLogLevel: values["controller-log-level"],
            controllerNodeOptions: nodeOptions,
            ...(values["controller-cli"] ? { controllerCli: path.resolve(values["controller-cli"]) } : {}),
            logDir: path.join(resultsDir, "logs"),
            ...(values["heap-snapshot"]
              ? { heapSnapshotDir: path.join(resultsDir, "profiles", `n${n}-l${latencyMs}`) }
              : {}),
            log,
          }),
        );
      } finally {
        cluster.close();
        await cp.stop();
      }
      writeResults(out, cases);
    }
  }
  process.stdout.write(`\n${markdownTable(cases)}\n`);
  if (cases.length > 1) process.stdout.write(`\nThe curve:\n\n${curveTable(cases)}\n`);
  for (const c of cases) {
    process.stdout.write(`\nSoracom calls by operation, N=${c.n}, ${c.latencyMs} ms (minimum in brackets):\n\n`);
    process.stdout.write(`${callsTable(c)}\n`);
  }
  const m = machine();
  process.stdout.write(`\nMachine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}\n`);
  log(`results written to ${path.relative(process.cwd(), out)}`);
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
