import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { TestContext } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";

/**
 * Helpers for the tests of the shipping artefacts (chart, alerts, Argo CD health checks). They shell out to
 * helm, promtool, prometheus and the Go helpers (argocd-health, kstatus): a test skips with the install
 * command when a tool is missing on a developer's machine, and fails when CI is set, because CI installs
 * all of them.
 */

export const REPO_ROOT = join(import.meta.dirname, "../..");

/** CrdFile is what the tests read of a CRD in crds/. */
export interface CrdFile {
  metadata: { name: string };
  spec: { names: { kind: string }; versions: { name: string; storage: boolean }[] };
}

/** crdFiles are the operator's CRDs, read from crds/ (the single source every hand-kept list must match). */
export function crdFiles(): CrdFile[] {
  return readdirSync(join(REPO_ROOT, "crds"))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => parse(readFileSync(join(REPO_ROOT, "crds", f), "utf8")) as CrdFile);
}
export const CHART_DIR = join(REPO_ROOT, "charts/soracom-esim-operator");
/** Kubernetes version the chart is rendered for (the control plane's; helm built from source defaults to 1.20). */
export const KUBE_VERSION = "1.36.0";
/** The image the tests render with: the chart refuses its placeholder repository (docs/install.md). */
export const TEST_IMAGE_REPOSITORY = "registry.example.com/soracom-esim-operator";

const INSTALL_HINTS: Record<string, string> = {
  helm: "bash test/controlplane/build.sh helm",
  kubectl: "bash test/controlplane/build.sh kubernetes",
  promtool: "apt-get install -y prometheus",
  prometheus: "apt-get install -y prometheus",
  "argocd-health": "bash test/controlplane/build-go-helpers.sh argocd-health",
  kstatus: "bash test/controlplane/build-go-helpers.sh kstatus",
};

/** Tools built into the cache, and the script whose --print-env says where (HELM_BIN, KSTATUS_BIN, ...). */
const BUILT_TOOLS: Record<string, { script: string; variable: string }> = {
  helm: { script: "build.sh", variable: "HELM_BIN" },
  kubectl: { script: "build.sh", variable: "KUBECTL_BIN" },
  "argocd-health": { script: "build-go-helpers.sh", variable: "ARGOCD_HEALTH_BIN" },
  kstatus: { script: "build-go-helpers.sh", variable: "KSTATUS_BIN" },
};

/** findTool returns the path of an executable: where the build scripts put the tools they build, else $PATH. */
export function findTool(name: string): string | undefined {
  const built = BUILT_TOOLS[name];
  if (built) {
    const { variable } = built;
    const env = execFileSync("bash", [join(REPO_ROOT, "test/controlplane", built.script), "--print-env"], {
      encoding: "utf8",
    });
    const file = new RegExp(`^${variable}=(.*)$`, "m").exec(env)?.[1];
    return file && isExecutable(file) ? file : undefined;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const file = join(dir, name);
    if (dir && isExecutable(file)) return file;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * requireToolInCi is the body of a test that fails in CI when a tool is missing (so its tests cannot
 * silently skip there) and skips elsewhere, saying how to install it.
 */
export function requireToolInCi(name: string, path: string | undefined, ctx?: TestContext): void {
  if (path) return;
  const hint = `${name} is not installed (${INSTALL_HINTS[name] ?? "install it"}); its tests are skipped`;
  if (process.env.CI) throw new Error(`${hint}, but CI must run them`);
  ctx?.skip(hint);
}

/** The values files the chart is checked with: charts/soracom-esim-operator/ci/*.yaml. */
export function ciValuesFiles(): string[] {
  return readdirSync(join(CHART_DIR, "ci"))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(CHART_DIR, "ci", f));
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  /** --set-string / --set pairs, e.g. { "watchNamespaces": "{a,b}" }; image.repository defaults to TEST_IMAGE_REPOSITORY. */
  set?: Record<string, string>;
  includeCrds?: boolean;
  /** --kube-version; null renders without it (helm's own default). */
  kubeVersion?: string | null;
}

/** Manifest is one rendered object; everything below metadata is free-form YAML. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are free-form YAML
  [k: string]: any;
};

/** helmArgs are the arguments of `helm template` for these options. */
export function helmTemplateArgs(opts: RenderOptions = {}): string[] {
  const args = ["template", opts.release ?? "esim", CHART_DIR, "--namespace", opts.namespace ?? "esim-system"];
  const kubeVersion = opts.kubeVersion === undefined ? KUBE_VERSION : opts.kubeVersion;
  if (kubeVersion !== null) args.push("--kube-version", kubeVersion);
  for (const f of opts.valuesFiles ?? []) args.push("--values", f);
  const set = { "image.repository": TEST_IMAGE_REPOSITORY, ...opts.set };
  for (const [k, v] of Object.entries(set)) args.push("--set", `${k}=${v}`);
  if (opts.includeCrds) args.push("--include-crds");
  return args;
}

/** renderChart runs `helm template` and returns the manifests (throws with helm's stderr on failure). */
export function renderChart(helm: string, opts: RenderOptions = {}): Manifest[] {
  return parseManifests(renderChartText(helm, opts));
}

export function renderChartText(helm: string, opts: RenderOptions = {}): string {
  return execFileSync(helm, helmTemplateArgs(opts), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === "object");
}

/** only returns the one manifest of a kind (and name, when given), or throws. */
export function only(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0] as Manifest;
}

/** VerbTable is "<apiGroup>/<resource>" → sorted verbs, the shape RBAC is compared in. */
export type VerbTable = Record<string, string[]>;

/**
 * verbTable flattens RBAC rules into one sorted verb list per group/resource; a rule limited to some
 * objects gets its own key, "<group>/<resource> [name,...]".
 */
export function verbTable(
  rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[],
): VerbTable {
  const table: Record<string, Set<string>> = {};
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        const names = rule.resourceNames?.length ? ` [${[...rule.resourceNames].sort().join(",")}]` : "";
        const key = `${group || "core"}/${resource}${names}`;
        table[key] ??= new Set();
        for (const verb of rule.verbs) table[key].add(verb);
      }
    }
  }
  return Object.fromEntries(
    Object.entries(table)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, [...v].sort()]),
  );
}

/** lazy computes a value on first use: suites skipped for a missing tool must not run helm while collecting. */
export function lazy<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => {
    value ??= { v: make() };
    return value.v;
  };
}

/**
 * CONTROLLER_METRICS are the metric names the controller exposes (the brief's contract): the alerts and the
 * dashboard may use no other, or they would silently never fire or stay empty.
 */
export const CONTROLLER_METRICS = [
  "controller_runtime_reconcile_total",
  "controller_runtime_reconcile_errors_total",
  "controller_runtime_terminal_reconcile_errors_total",
  "controller_runtime_reconcile_time_seconds",
  "controller_runtime_active_workers",
  "controller_runtime_max_concurrent_reconciles",
  "workqueue_depth",
  "workqueue_adds_total",
  "workqueue_retries_total",
  "soracom_esim_order_status_since_timestamp_seconds",
  "soracom_esim_orders",
  "soracom_esim_profiles",
  "soracom_esim_profiles_deleted_on_device_billing",
  "soracom_esim_draft_expiry_timestamp_seconds",
  "soracom_esim_order_profiles_missing",
  "soracom_esim_profiles_ordered_total",
  "soracom_esim_sims_terminated_total",
  "soracom_esim_budget_exceeded",
  "soracom_esim_terminations_paused",
  "soracom_esim_budget_remaining",
  "soracom_esim_orders_failed_total",
  "soracom_esim_orphan_orders",
  "soracom_api_requests_total",
  "soracom_api_request_duration_seconds",
  "soracom_esim_answers_refused_total",
  "soracom_api_answers_refused_total",
  "soracom_esim_poll_interval_effective_seconds",
  "soracom_esim_poll_budget_calls_per_minute",
  "leader_election_master_status",
  // Deprecated: leader_election_master_status replaces it; removed in the release after next.
  "soracom_esim_leader",
] as const;

/** Series every Prometheus target has, and Node's default process metrics. */
const SCRAPE_SERIES = /^(up|process_[a-z_]+|nodejs_[a-z_]+)$/;

/** metricsIn lists the metric names a PromQL expression reads (histogram suffixes folded away). */
export function metricsIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  const functionsAndKeywords = new Set([
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "by",
    "without",
    "rate",
    "increase",
    "irate",
    "time",
    "absent",
    "histogram_quantile",
    "le",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
  ]);
  const names = new Set<string>();
  // An identifier that is not a label name (inside braces, or inside by/without parentheses) is a metric.
  const cleaned = withoutStrings.replace(/\{[^}]*\}/g, "{}").replace(/\b(by|without)\s*\([^)]*\)/g, "");
  for (const m of cleaned.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    if (functionsAndKeywords.has(word) || /^\d/.test(word)) continue;
    const next = cleaned.slice((m.index ?? 0) + word.length).trimStart();
    if (next.startsWith("(") && !next.startsWith("()")) continue; // a function call
    names.add(word.replace(/_(bucket|sum|count)$/, ""));
  }
  return [...names].filter((n) => !/^[smhdwy]$/.test(n)).sort();
}

/** unknownMetrics are the names an expression reads that the controller does not expose. */
export function unknownMetrics(expr: string): string[] {
  const known = new Set<string>(CONTROLLER_METRICS);
  return metricsIn(expr).filter((n) => !known.has(n) && !SCRAPE_SERIES.test(n));
}

/** githubAnchor is the anchor GitHub gives a Markdown heading. */
export function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** KubectlResult is a finished kubectl run; failures are returned, not thrown, so tests can assert on them. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** runKubectl runs kubectl with a kubeconfig (never the user's current context), optionally feeding stdin. */
export function runKubectl(
  kubectl: string,
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectl,
      ["--kubeconfig", kubeconfig, ...args],
      { maxBuffer: 64 << 20, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.once("error", reject);
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** toYamlStream writes manifests back as one multi-document YAML stream. */
export function toYamlStream(manifests: Manifest[]): string {
  return manifests.map((m) => stringify(m)).join("---\n");
}
