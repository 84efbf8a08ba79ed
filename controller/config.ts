import { parseArgs } from "node:util";
import { formatWindow } from "./api/duration.js";
import { type LabelSelector, parseSelector } from "./kube/labels.js";

/**
 * The controller's configuration: flags, each also readable from the environment as ESIM_<FLAG> (for
 * example ESIM_SPEND_BUDGET), validated at start with errors that name the flag. Budgets have safe
 * defaults; "unlimited" must be written out.
 */

export interface ControllerConfig {
  kubeconfig?: string;
  namespaces: string[];
  httpAddress: { host: string; port: number };
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaderElectionLeaseDurationMs: number;
  leaderElectionRenewDeadlineMs: number;
  leaderElectionRetryPeriodMs: number;
  concurrency: number;
  pollIntervalActiveMs: number;
  pollIntervalStableMs: number;
  inProgressAlertAfterMs: number;
  draftExpiryWarningMs: number;
  spendBudget: number | null;
  spendBudgetWindowMs: number;
  maxQuantityPerResource: number;
  terminationBudget: number | null;
  terminationBudgetWindowMs: number;
  createGracePeriodMs: number;
  /** How long the informers may take to list everything before the controller gives up and exits 1. */
  cacheSyncTimeoutMs: number;
  dryRun: boolean;
  orphanSweepIntervalMs: number;
  /** What the sweep does with a DRAFT orphan: cancel it, or only report it (installations sharing an account). */
  orphanDrafts: "cancel" | "report";
  logLevel: string;
  soracomEndpoint?: string;
  soracomCoverage?: "jp" | "g";
  soracomSandbox: boolean;
  soracomRequestsPerSecond: number;
  soracomMaxConcurrency: number;
  soracomRequestTimeoutMs: number;
  /** Longest pause a Soracom rate-limit header may impose; longer hints are cut (and counted). */
  soracomMaxServerWaitMs: number;
  /** Pages one Soracom list may have. */
  soracomMaxPages: number;
  /** Bytes one Soracom answer may have. */
  soracomMaxResponseBytes: number;
  /** One Soracom call's total time, retries included. */
  soracomCallDeadlineMs: number;
  /** Soracom calls per minute polling may spend per account (null: no budget); an account's spec may set its own. */
  soracomPollBudget: number | null;
  credentials?: { authKeyId: string; authKey: string };
  /** The account of orders and profiles that name none ("" : they must name one). */
  defaultAccount: string;
  /** Namespaces the implicit account (environment credentials) still serves once any SoracomAccount exists. */
  implicitAccountNamespaces: string[];
  /** Where account credentials and ledgers live: the operator's own namespace. */
  operatorNamespace: string;
  /** Namespaces this process owns (a label selector), with its shard name; undefined: every namespace. */
  shard?: { name: string; selector: LabelSelector };
  /** Watch activation Secrets (list/watch secrets) so a deleted one is rebuilt; off: their existence is what status recorded. */
  watchActivationSecrets: boolean;
}

const FLAGS = {
  kubeconfig: { type: "string", help: "kubeconfig file (default: KUBECONFIG, then in-cluster)" },
  namespaces: { type: "string", default: "", help: "comma-separated namespaces to watch (default: all)" },
  "http-address": { type: "string", default: "0.0.0.0:8080", help: "address of /healthz, /readyz and /metrics" },
  "leader-elect": { type: "boolean", default: false, help: "elect a leader on a Lease; only the leader reconciles" },
  "leader-election-namespace": {
    type: "string",
    default: "",
    help: "namespace of the Lease and the termination ledger (default: POD_NAMESPACE or default)",
  },
  "leader-election-id": { type: "string", default: "soracom-esim-operator", help: "name of the Lease" },
  "leader-election-lease-duration": {
    type: "string",
    default: "15s",
    help: "how long followers wait after the leader's last renewal before taking over",
  },
  "leader-election-renew-deadline": {
    type: "string",
    default: "10s",
    help: "how long the leader tries to renew before it stops leading (shorter than the lease duration)",
  },
  "leader-election-retry-period": { type: "string", default: "2s", help: "pace of lease acquire and renew attempts" },
  concurrency: { type: "string", default: "4", help: "reconciles at once per kind" },
  "poll-interval-active": { type: "string", default: "5s", help: "poll period while an order or profile changes" },
  "poll-interval-stable": { type: "string", default: "5m", help: "poll period once everything is stable" },
  "in-progress-alert-after": {
    type: "string",
    default: "24h",
    help: "an order In Progress longer than this is reported stuck",
  },
  "draft-expiry-warning": {
    type: "string",
    default: "2h",
    help: "report drafts this close to the vendor's 24h expiry",
  },
  "spend-budget": {
    type: "string",
    default: "100",
    help: "profiles that may be ordered per window across all orders, or 'unlimited'",
  },
  "spend-budget-window": { type: "string", default: "24h", help: "the spend budget's rolling window" },
  "max-quantity-per-resource": {
    type: "string",
    default: "1000",
    help: "largest spec.quantity one EsimProfileOrder may ask for",
  },
  "termination-budget": { type: "string", default: "20", help: "SIM terminations per window, or 'unlimited'" },
  "termination-budget-window": { type: "string", default: "1h", help: "the termination budget's rolling window" },
  "create-grace-period": {
    type: "string",
    default: "60s",
    help: "how long an order whose create outcome is unknown is looked for before it counts as not created",
  },
  "default-account": {
    type: "string",
    default: "",
    help: "the SoracomAccount of orders and profiles that name none (with SORACOM_AUTH_KEY_ID/KEY and no such account: an implicit one from them); empty: they must name one",
  },
  "implicit-account-namespaces": {
    type: "string",
    default: "",
    help: "comma-separated namespaces the implicit account (SORACOM_AUTH_KEY_ID/KEY) still serves once any SoracomAccount exists (default: none, every other namespace must use a SoracomAccount)",
  },
  "operator-namespace": {
    type: "string",
    default: "",
    help: "namespace of the account credentials Secrets and the ledgers (default: POD_NAMESPACE, then --leader-election-namespace)",
  },
  "watch-activation-secrets": {
    type: "boolean",
    default: false,
    help: "watch activation Secrets (needs list/watch on secrets) so that a deleted one is rebuilt",
  },
  "cache-sync-timeout": {
    type: "string",
    default: "2m",
    help: "how long the caches may take to sync before the controller exits with an error",
  },
  "dry-run": { type: "boolean", default: false, help: "observe, plan and report, but make no mutating Soracom call" },
  "orphan-drafts": {
    type: "string",
    default: "cancel",
    help: "cancel or report a DRAFT orphan (report when several installations share one Soracom account)",
  },
  "orphan-sweep-interval": {
    type: "string",
    default: "10m",
    help: "how often Soracom orders are listed to find orders whose EsimProfileOrder is gone",
  },
  "shard-selector": {
    type: "string",
    default: "",
    help: "reconcile only namespaces whose labels match this selector (e.g. shard=a); several shards own disjoint sets",
  },
  "shard-name": {
    type: "string",
    default: "",
    help: "the shard's name, with --shard-selector: its Lease is <leader-election-id>-<shard-name>; ledgers stay shared per account",
  },
  "log-level": { type: "string", default: "info", help: "trace, debug, info, warn, error" },
  "soracom-endpoint": { type: "string", help: "Soracom API host (overrides coverage/sandbox; also SORACOM_ENDPOINT)" },
  "soracom-coverage": { type: "string", help: "jp or g" },
  "soracom-sandbox": { type: "boolean", default: false, help: "use the Soracom API sandbox" },
  "soracom-requests-per-second": { type: "string", default: "10", help: "client-side rate limit of Soracom calls" },
  "soracom-max-concurrency": { type: "string", default: "8", help: "Soracom calls in flight at once" },
  "soracom-request-timeout": { type: "string", default: "30s", help: "timeout of one Soracom call" },
  "soracom-call-deadline": {
    type: "string",
    default: "60s",
    help: "total time of one Soracom call, retries and body read included (at least the request timeout)",
  },
  "soracom-max-server-wait": {
    type: "string",
    default: "15m",
    help: "longest pause a Soracom Retry-After or rate-limit header may impose; longer hints are cut",
  },
  "soracom-max-pages": { type: "string", default: "1000", help: "pages one Soracom list may have" },
  "soracom-max-response-size": {
    type: "string",
    default: "4MiB",
    help: "largest Soracom answer read (bytes, or with KiB/MiB)",
  },
  "soracom-poll-budget": {
    type: "string",
    default: "300",
    help: "Soracom calls per minute polling may spend per account (lowered to 80% of the vendor's announced per-path limit), or 'unlimited'",
  },
  help: { type: "boolean", short: "h", default: false, help: "show this help" },
} as const;

type FlagName = keyof typeof FLAGS;

/** ConfigError is a bad flag or environment value; the message names it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** usage renders the flags for --help. */
export function usage(): string {
  const lines = Object.entries(FLAGS).map(([name, f]) => {
    const def = "default" in f && f.default !== "" && f.default !== false ? ` (default ${String(f.default)})` : "";
    return `  --${name.padEnd(28)} ${f.help}${def}\n  ${" ".repeat(30)} env ESIM_${name.toUpperCase().replaceAll("-", "_")}`;
  });
  return `Usage: soracom-esim-operator controller [flags]\n\nFlags:\n${lines.join("\n")}\n\nDefault Soracom credentials: SORACOM_AUTH_KEY_ID and SORACOM_AUTH_KEY.\n`;
}

/** parseDuration reads 500ms, 30s, 5m, 24h, 1h30m; a bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0)
    throw new ConfigError(`--${flag}: "${text}" is not a duration (examples: 30s, 5m, 24h)`);
  return total;
}

function parseCount(text: string, flag: string, opts: { min: number; unlimited?: boolean }): number | null {
  if (opts.unlimited && text === "unlimited") return null;
  if (!/^\d+$/.test(text) || Number(text) < opts.min) {
    throw new ConfigError(
      `--${flag}: "${text}" must be a whole number ≥ ${opts.min}${opts.unlimited ? ' or "unlimited"' : ""}`,
    );
  }
  return Number(text);
}

/** parseSize reads a byte count: 4194304, 512KiB, 4MiB. */
function parseSize(text: string, flag: string): number {
  const m = /^(\d+)(KiB|MiB)?$/.exec(text);
  if (!m || Number(m[1]) <= 0)
    throw new ConfigError(`--${flag}: "${text}" must be a size such as 4MiB, 512KiB or 65536`);
  return Number(m[1]) * (m[2] === "MiB" ? 1024 * 1024 : m[2] === "KiB" ? 1024 : 1);
}

/** parseRate reads a positive rate such as 10 or 0.5 (one call every two seconds). */
function parseRate(text: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(text) || !(Number(text) > 0)) {
    throw new ConfigError(`--${flag}: "${text}" must be a positive number (calls per second, e.g. 10 or 0.5)`);
  }
  return Number(text);
}

/** FlagReader reads one flag as given, else from its ESIM_* environment variable, else its default. */
interface FlagReader {
  str(name: FlagName): string;
  bool(name: FlagName): boolean;
}

/** readFlags parses argv; "help" when --help was given. */
function readFlags(argv: string[], env: NodeJS.ProcessEnv): FlagReader | "help" {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true; allowPositionals: false }>>;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${usage()}`);
  }
  if (parsed.values.help) return "help";
  const given = new Set(argv.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")[0]));
  const value = (name: FlagName): string | boolean | undefined => {
    const envName = `ESIM_${name.toUpperCase().replaceAll("-", "_")}`;
    if (!given.has(name) && env[envName] !== undefined) {
      const raw = env[envName]!;
      return FLAGS[name].type === "boolean" ? raw === "true" || raw === "1" : raw;
    }
    return parsed.values[name as keyof typeof parsed.values] as string | boolean | undefined;
  };
  return { str: (name) => (value(name) as string | undefined) ?? "", bool: (name) => value(name) === true };
}

/**
 * leaseName is the Lease this process elects on: each shard elects its own leader, while the ledgers keep
 * the installation's name (shared per account). The chart's leaseName helper grants exactly this name.
 */
export function leaseName(cfg: Pick<ControllerConfig, "leaderElectionId" | "shard">): string {
  return cfg.shard ? `${cfg.leaderElectionId}-${cfg.shard.name}` : cfg.leaderElectionId;
}

/** loadConfig reads flags, then ESIM_* environment variables for flags not given, and validates them. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ControllerConfig | "help" {
  const flags = readFlags(argv, env);
  if (flags === "help") return "help";
  const { str, bool } = flags;
  const dur = (name: FlagName) => parseDuration(str(name), name);
  const [host, portText] = splitHostPort(str("http-address"));
  const coverage = str("soracom-coverage") || env.SORACOM_COVERAGE_TYPE || undefined;
  if (coverage && coverage !== "jp" && coverage !== "g")
    throw new ConfigError(`--soracom-coverage: "${coverage}" must be "jp" or "g"`);
  const authKeyId = env.SORACOM_AUTH_KEY_ID;
  const authKey = env.SORACOM_AUTH_KEY;
  if (Boolean(authKeyId) !== Boolean(authKey))
    throw new ConfigError("set both SORACOM_AUTH_KEY_ID and SORACOM_AUTH_KEY, or neither");
  const logLevel = str("log-level");
  if (!["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(logLevel))
    throw new ConfigError(`--log-level: "${logLevel}" is not a level`);
  const orphanDrafts = str("orphan-drafts");
  if (orphanDrafts !== "cancel" && orphanDrafts !== "report")
    throw new ConfigError(`--orphan-drafts: "${orphanDrafts}" is neither cancel nor report`);
  const cfg: ControllerConfig = {
    kubeconfig: str("kubeconfig") || undefined,
    namespaces: splitNamespaces(str("namespaces")),
    httpAddress: { host, port: parseCount(portText, "http-address port", { min: 0 })! },
    leaderElect: bool("leader-elect"),
    leaderElectionNamespace: str("leader-election-namespace") || env.POD_NAMESPACE || "default",
    leaderElectionId: str("leader-election-id"),
    leaderElectionLeaseDurationMs: dur("leader-election-lease-duration"),
    leaderElectionRenewDeadlineMs: dur("leader-election-renew-deadline"),
    leaderElectionRetryPeriodMs: dur("leader-election-retry-period"),
    concurrency: parseCount(str("concurrency"), "concurrency", { min: 1 })!,
    pollIntervalActiveMs: dur("poll-interval-active"),
    pollIntervalStableMs: dur("poll-interval-stable"),
    inProgressAlertAfterMs: dur("in-progress-alert-after"),
    draftExpiryWarningMs: dur("draft-expiry-warning"),
    spendBudget: parseCount(str("spend-budget"), "spend-budget", { min: 0, unlimited: true }),
    spendBudgetWindowMs: dur("spend-budget-window"),
    maxQuantityPerResource: parseCount(str("max-quantity-per-resource"), "max-quantity-per-resource", { min: 1 })!,
    terminationBudget: parseCount(str("termination-budget"), "termination-budget", { min: 0, unlimited: true }),
    terminationBudgetWindowMs: dur("termination-budget-window"),
    createGracePeriodMs: dur("create-grace-period"),
    cacheSyncTimeoutMs: dur("cache-sync-timeout"),
    dryRun: bool("dry-run"),
    orphanSweepIntervalMs: dur("orphan-sweep-interval"),
    orphanDrafts,
    logLevel,
    soracomEndpoint: str("soracom-endpoint") || env.SORACOM_ENDPOINT || undefined,
    soracomCoverage: coverage as "jp" | "g" | undefined,
    soracomSandbox: bool("soracom-sandbox"),
    soracomRequestsPerSecond: parseRate(str("soracom-requests-per-second"), "soracom-requests-per-second"),
    soracomMaxConcurrency: parseCount(str("soracom-max-concurrency"), "soracom-max-concurrency", { min: 1 })!,
    soracomRequestTimeoutMs: dur("soracom-request-timeout"),
    soracomCallDeadlineMs: dur("soracom-call-deadline"),
    soracomMaxServerWaitMs: dur("soracom-max-server-wait"),
    soracomMaxPages: parseCount(str("soracom-max-pages"), "soracom-max-pages", { min: 1 })!,
    soracomMaxResponseBytes: parseSize(str("soracom-max-response-size"), "soracom-max-response-size"),
    soracomPollBudget: parseCount(str("soracom-poll-budget"), "soracom-poll-budget", { min: 1, unlimited: true }),
    ...(authKeyId && authKey ? { credentials: { authKeyId, authKey } } : {}),
    // With credentials in the environment (single-tenant mode) objects without an account use them.
    defaultAccount: str("default-account") || (authKeyId && authKey ? "default" : ""),
    implicitAccountNamespaces: splitNamespaces(str("implicit-account-namespaces")),
    operatorNamespace: "",
    watchActivationSecrets: bool("watch-activation-secrets"),
  };
  cfg.operatorNamespace = str("operator-namespace") || env.POD_NAMESPACE || cfg.leaderElectionNamespace;
  const shard = shardOf(str("shard-selector"), str("shard-name"));
  if (shard) cfg.shard = shard;
  checkTimings(cfg);
  return cfg;
}

/** shardOf reads --shard-selector and --shard-name: both or neither. */
function shardOf(selector: string, name: string): ControllerConfig["shard"] {
  if (!selector && !name) return undefined;
  if (!selector || !name) throw new ConfigError("--shard-selector and --shard-name go together: set both, or neither");
  if (!/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/.test(name))
    throw new ConfigError(`--shard-name: "${name}" must be a DNS label of at most 32 characters (it names a Lease)`);
  try {
    return { name, selector: parseSelector(selector) };
  } catch (err) {
    throw new ConfigError(`--shard-selector: ${(err as Error).message}`);
  }
}

/** checkTimings rejects settings that contradict each other. */
function checkTimings(cfg: ControllerConfig): void {
  if (cfg.pollIntervalActiveMs > cfg.pollIntervalStableMs)
    throw new ConfigError("--poll-interval-active must not be longer than --poll-interval-stable");
  if (cfg.pollIntervalActiveMs < 100) throw new ConfigError("--poll-interval-active must be at least 100ms");
  if (cfg.soracomCallDeadlineMs < cfg.soracomRequestTimeoutMs) {
    throw new ConfigError(
      `--soracom-call-deadline (${formatWindow(cfg.soracomCallDeadlineMs)}) must be at least --soracom-request-timeout (${formatWindow(cfg.soracomRequestTimeoutMs)})`,
    );
  }
  if (cfg.soracomMaxServerWaitMs <= 0) throw new ConfigError("--soracom-max-server-wait must be longer than 0");
  if (cfg.createGracePeriodMs <= cfg.soracomRequestTimeoutMs) {
    // A create still in flight when the order list is read could be applied after it: the list would not
    // show it, and the order would be created twice.
    throw new ConfigError(
      `--create-grace-period (${formatWindow(cfg.createGracePeriodMs)}) must be longer than --soracom-request-timeout (${formatWindow(cfg.soracomRequestTimeoutMs)}), or a create still in flight could be ordered again`,
    );
  }
  if (cfg.leaderElectionRenewDeadlineMs >= cfg.leaderElectionLeaseDurationMs)
    throw new ConfigError("--leader-election-renew-deadline must be shorter than --leader-election-lease-duration");
  if (cfg.leaderElectionRetryPeriodMs >= cfg.leaderElectionRenewDeadlineMs)
    throw new ConfigError("--leader-election-retry-period must be shorter than --leader-election-renew-deadline");
  if (cfg.orphanSweepIntervalMs < 1_000) throw new ConfigError("--orphan-sweep-interval must be at least 1s");
}

/** splitNamespaces reads a comma-separated list of namespaces. */
function splitNamespaces(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function splitHostPort(text: string): [string, string] {
  const i = text.lastIndexOf(":");
  if (i < 0) throw new ConfigError(`--http-address: "${text}" must be host:port`);
  return [text.slice(0, i) || "0.0.0.0", text.slice(i + 1)];
}
