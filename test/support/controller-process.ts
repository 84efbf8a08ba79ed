import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ControlPlaneInfo } from "../controlplane/fixture.js";
import { type ChartExtras, kubeconfigForFlags } from "./chart-identity.js";

const ROOT = join(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/controller/cli.js");

/** ControllerProcess is the real controller running as a child process, as it runs in a pod. */
export interface ControllerProcess {
  /** Base URL of /healthz, /readyz and /metrics. */
  url: string;
  child: ChildProcess;
  /** Every line it wrote (JSON logs). */
  logs: string[];
  metrics(): Promise<string>;
  /** SIGTERM and wait for exit (graceful). */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit (a crash). */
  kill(): Promise<void>;
}

export interface ControllerProcessOptions {
  /**
   * The run's control plane: the controller logs in as the chart's ServiceAccount, bound by the RBAC the
   * chart renders for the values its flags imply (chart-identity.ts).
   */
  controlPlane?: ControlPlaneInfo;
  /** An explicit kubeconfig instead of the chart's identity: a test that passes one says why. */
  kubeconfig?: string;
  /** Chart values that add RBAC without a flag of their own (tenant credentials). */
  chart?: ChartExtras;
  soracomEndpoint: string;
  namespaces?: string[];
  args?: string[];
  env?: Record<string, string>;
  /** Default credentials for the controller (the simulator's by default); null for none. */
  credentials?: { authKeyId: string; authKey: string } | null;
}

/**
 * startControllerProcess runs `soracom-esim-operator controller` from dist/ (built by `make test`)
 * and resolves once it serves HTTP. Fast polls by default so tests follow orders in seconds.
 */
export async function startControllerProcess(opts: ControllerProcessOptions): Promise<ControllerProcess> {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` (make test does) before the integration tests`);
  const creds =
    opts.credentials === undefined ? { authKeyId: "keyId-simulator", authKey: "secret-simulator" } : opts.credentials;
  const flags = [
    "--http-address",
    "127.0.0.1:0",
    "--soracom-endpoint",
    opts.soracomEndpoint,
    "--poll-interval-active",
    "300ms",
    "--poll-interval-stable",
    "2s",
    "--create-grace-period",
    "3s",
    "--soracom-request-timeout",
    "2s",
    "--log-level",
    "debug",
    ...(opts.namespaces?.length ? ["--namespaces", opts.namespaces.join(",")] : []),
    // Each test's controller keeps its Lease and termination ledger in its own namespace: a shared ledger
    // would let one test's terminations use up another's termination budget.
    ...(opts.namespaces?.length ? ["--leader-election-namespace", opts.namespaces[0]!] : []),
    ...(opts.args ?? []),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  delete env.SORACOM_AUTH_KEY_ID;
  delete env.SORACOM_AUTH_KEY;
  if (creds) {
    env.SORACOM_AUTH_KEY_ID = creds.authKeyId;
    env.SORACOM_AUTH_KEY = creds.authKey;
  }
  const args = [CLI, "controller", "--kubeconfig", await kubeconfigOf(opts, flags, env), ...flags];
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  let buffered = "";
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    logs.push(...lines.filter(Boolean));
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // What RBAC refused is worth seeing even when the test passes: a permission the chart may lack.
  void exited.then(() => reportRefusals(logs));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      for (const line of logs) {
        const m = /"url":"(http:\/\/[^"]+)"/.exec(line);
        if (m && line.includes("/metrics")) {
          clearInterval(timer);
          resolve(m[1]!);
          return;
        }
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`controller exited (${code}) before serving:\n${logs.slice(-20).join("\n")}`));
    });
  });
  return {
    url,
    child,
    logs,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** reportRefusals writes the distinct requests the apiserver refused (403) to stderr, for the record. */
function reportRefusals(logs: string[]): void {
  const refused = new Set<string>();
  for (const line of logs) {
    if (!line.includes("forbidden")) continue;
    for (const m of line.matchAll(/"(?:message|msg)":"((?:[^"\\]|\\.)*)"/g))
      if (m[1]?.includes("is forbidden")) refused.add(m[1].replaceAll('\\"', '"'));
  }
  for (const r of refused) process.stderr.write(`[controller refused] ${r}\n`);
}

/** kubeconfigOf is the explicit kubeconfig, else the chart's identity for these flags. */
async function kubeconfigOf(opts: ControllerProcessOptions, flags: string[], env: NodeJS.ProcessEnv): Promise<string> {
  if (opts.kubeconfig) return opts.kubeconfig;
  if (!opts.controlPlane) throw new Error("startControllerProcess needs the control plane (or a kubeconfig)");
  // Flags the controller rejects never reach the apiserver: any identity does, the admin's is at hand.
  return (await kubeconfigForFlags(opts.controlPlane, flags, env, opts.chart)) ?? opts.controlPlane.kubeconfigPath;
}

/** metricValue reads one sample from Prometheus text: the value of `name{labels}` (labels as a subset). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** reconciles is controller_runtime_reconcile_total of one controller, summed over results. */
export async function reconciles(proc: { metrics(): Promise<string> }, controller: string): Promise<number> {
  let sum = 0;
  for (const m of (await proc.metrics()).matchAll(/^controller_runtime_reconcile_total\{([^}]*)\}\s+(\S+)/gm))
    if (m[1]?.includes(`controller="${controller}"`)) sum += Number(m[2]);
  return sum;
}

/**
 * reconciledAfterTouches calls touch (a change to one object: every update is queued) `times` times and
 * after each waits until the controller reconciled once more, so that an assertion that nothing
 * happened has been given that many rounds instead of a stretch of time.
 */
export async function reconciledAfterTouches(
  proc: { metrics(): Promise<string> },
  controller: string,
  touch: (value: string) => Promise<unknown>,
  times = 2,
): Promise<void> {
  for (let i = 1; i <= times; i++) {
    const before = await reconciles(proc, controller);
    await touch(String(i));
    await eventually(async () => (await reconciles(proc, controller)) > before, {
      what: `${controller} reconciled after touch ${i}`,
    });
  }
}

/**
 * eventually polls fn until it returns a truthy value, or fails with the last value after timeoutMs
 * (and what `explain` says about the state then, for a failure that can be understood from CI output).
 */
export async function eventually<T>(
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string; explain?: () => Promise<string> } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  const explained = opts.explain ? await opts.explain().catch((err) => `(explain failed: ${String(err)})`) : "";
  throw new Error(
    `timed out waiting for ${opts.what ?? "condition"}; last value: ${JSON.stringify(last)}${lastErr ? `; last error: ${String(lastErr)}` : ""}${explained ? `\n${explained}` : ""}`,
  );
}
