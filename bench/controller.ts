import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../test/controlplane/binaries.js";
import { freePort } from "../test/controlplane/process.js";

/**
 * The controller under test: `soracom-esim-operator controller` from dist/ as a child process, as it runs
 * in a pod, with the benchmark's flags. Its /metrics is the source of memory, CPU and queue figures.
 */

export const CLI = path.join(REPO_ROOT, "dist/controller/cli.js");

/**
 * shippedNodeOptions is the NODE_OPTIONS the Helm chart gives the controller by default (from
 * controller.maxHeapMiB and controller.maxSemiSpaceMiB in values.yaml, as templates/deployment.yaml
 * renders them), so that the benchmark measures the operator as it is installed; "" when the chart
 * leaves Node's defaults.
 */
export function shippedNodeOptions(
  valuesFile = path.join(REPO_ROOT, "charts/soracom-esim-operator/values.yaml"),
): string {
  const values = parse(readFileSync(valuesFile, "utf8")) as {
    controller?: { maxHeapMiB?: number | null; maxSemiSpaceMiB?: number | null };
  };
  const { maxHeapMiB: heap, maxSemiSpaceMiB: semi } = values.controller ?? {};
  return [
    typeof heap === "number" ? `--max-old-space-size=${heap}` : "",
    typeof semi === "number" ? `--max-semi-space-size=${semi}` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

/** BenchControllerOptions are the knobs of one controller run; everything else is the product default. */
export interface BenchControllerOptions {
  kubeconfig: string;
  soracomEndpoint: string;
  namespaces: string[];
  pollActive: string;
  pollStable: string;
  soracomRequestsPerSecond: number;
  /** --soracom-max-concurrency (default: the product's). */
  soracomMaxConcurrency?: number;
  concurrency: number;
  /** Write a V8 CPU profile (node --cpu-prof) into this folder when the process exits. */
  cpuProfileDir?: string;
  /** Let heapSnapshot() write V8 heap snapshots into this folder (node --heapsnapshot-signal). */
  heapSnapshotDir?: string;
  /** Another build of the controller's cli.js (a before/after comparison); default: this tree's dist/. */
  cli?: string;
  /** NODE_OPTIONS for the controller (V8 heap flags); "" or unset: Node's defaults. */
  nodeOptions?: string;
  /** The controller's --log-level (default warn) and a file that gets every line it logs. */
  logLevel?: string;
  logFile?: string;
  extraArgs?: string[];
}

export interface ControllerRun {
  url: string;
  child: ChildProcess;
  startedAt: number;
  logs: string[];
  metrics(): Promise<string>;
  /** Asks for a heap snapshot (only with heapSnapshotDir); it lands in that folder within seconds. */
  heapSnapshot(): void;
  /** SIGTERM and wait (graceful: in-flight reconciles finish). */
  stop(): Promise<number | null>;
}

/** controllerArgs are the flags the bench runs with (recorded in the JSON so a run can be repeated). */
export function controllerArgs(o: BenchControllerOptions, port = 0): string[] {
  return [
    "--kubeconfig",
    o.kubeconfig,
    "--http-address",
    `127.0.0.1:${port}`,
    "--soracom-endpoint",
    o.soracomEndpoint,
    "--namespaces",
    o.namespaces.join(","),
    "--spend-budget",
    "unlimited",
    "--max-quantity-per-resource",
    "100000",
    "--concurrency",
    String(o.concurrency),
    "--poll-interval-active",
    o.pollActive,
    "--poll-interval-stable",
    o.pollStable,
    "--soracom-requests-per-second",
    String(o.soracomRequestsPerSecond),
    ...(o.soracomMaxConcurrency ? ["--soracom-max-concurrency", String(o.soracomMaxConcurrency)] : []),
    "--log-level",
    o.logLevel ?? "warn",
    ...(o.extraArgs ?? []),
  ];
}

export async function startController(o: BenchControllerOptions): Promise<ControllerRun> {
  const cli = o.cli ?? CLI;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const nodeArgs: string[] = [];
  if (o.cpuProfileDir) {
    mkdirSync(o.cpuProfileDir, { recursive: true });
    nodeArgs.push("--cpu-prof", "--cpu-prof-dir", o.cpuProfileDir);
  }
  if (o.heapSnapshotDir) {
    mkdirSync(o.heapSnapshotDir, { recursive: true });
    nodeArgs.push("--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${o.heapSnapshotDir}`);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SORACOM_AUTH_KEY_ID: "keyId-simulator",
    SORACOM_AUTH_KEY: "secret-simulator",
    // A fallback only: the benchmark passes --soracom-poll-budget (300 unless --poll-budget), which wins;
    // builds given with --controller-cli that predate the flag read this instead (or ignore it).
    ESIM_SORACOM_POLL_BUDGET: process.env.ESIM_SORACOM_POLL_BUDGET ?? "unlimited",
    ...(o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}),
  };
  // The controller logs its address at info level; the bench runs it at warn, so it picks the port.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...nodeArgs, cli, "controller", ...controllerArgs(o, port)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  let buffered = "";
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line) logs.push(line);
    if (logs.length > 2_000) logs.splice(0, logs.length - 2_000);
  };
  const file = o.logFile ? createWriteStream(o.logFile, { flags: "a" }) : undefined;
  const tee = (chunk: Buffer) => {
    file?.write(chunk);
    onData(chunk);
  };
  child.stdout?.on("data", tee);
  child.stderr?.on("data", tee);
  child.once("exit", () => file?.end());
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // The bench dying (Ctrl-C, a crash) must not leave its controller running.
  const orphan = () => child.kill("SIGKILL");
  process.once("exit", orphan);
  void exited.then(() => process.off("exit", orphan));
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`controller exited (${child.exitCode}) before serving:\n${logs.slice(-20).join("\n")}`);
    }
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url,
    child,
    startedAt,
    logs,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    heapSnapshot: () => {
      if (o.heapSnapshotDir) child.kill("SIGUSR2");
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** readyz asks the controller whether its caches are synced. */
export async function readyz(run: ControllerRun): Promise<boolean> {
  try {
    return (await fetch(`${run.url}/readyz`)).status === 200;
  } catch {
    return false;
  }
}
