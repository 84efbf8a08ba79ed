import { describe, expect, it } from "vitest";
import { ConfigError, type ControllerConfig, loadConfig, parseDuration } from "../../controller/config.js";

const load = (argv: string[], env: Record<string, string> = {}) => loadConfig(argv, env) as ControllerConfig;

describe("controller configuration", () => {
  it("has safe defaults: budgets on, dry run off, no leader election", () => {
    const cfg = load([]);
    expect(cfg).toMatchObject({
      spendBudget: 100,
      spendBudgetWindowMs: 24 * 3_600_000,
      terminationBudget: 20,
      terminationBudgetWindowMs: 3_600_000,
      maxQuantityPerResource: 1000,
      createGracePeriodMs: 60_000,
      soracomRequestTimeoutMs: 30_000,
      dryRun: false,
      leaderElect: false,
      namespaces: [],
      httpAddress: { host: "0.0.0.0", port: 8080 },
      soracomPollBudget: 300,
    });
    expect(cfg.credentials).toBeUndefined();
    expect(cfg.shard).toBeUndefined();
  });

  it("a shard is a name and a namespace label selector; the poll budget may be unlimited", () => {
    expect(
      load([
        "--shard-selector",
        "esim.example/shard in (a,b)",
        "--shard-name",
        "ab",
        "--soracom-poll-budget",
        "unlimited",
      ]),
    ).toMatchObject({
      shard: {
        name: "ab",
        selector: { matchExpressions: [{ key: "esim.example/shard", operator: "In", values: ["a", "b"] }] },
      },
      soracomPollBudget: null,
    });
  });

  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["2d", 172_800_000],
    ["45", 45_000],
  ])("reads the duration %s", (text, ms) => {
    expect(parseDuration(text, "x")).toBe(ms);
  });

  it("bounds what Soracom's answers can make the client do, by default and by flag", () => {
    expect(load([])).toMatchObject({
      soracomMaxServerWaitMs: 15 * 60_000,
      soracomMaxPages: 1000,
      soracomMaxResponseBytes: 4 * 1024 * 1024,
      soracomCallDeadlineMs: 60_000,
    });
    const argv = ["--soracom-max-server-wait", "2m", "--soracom-max-pages", "50"];
    argv.push("--soracom-max-response-size", "512KiB", "--soracom-call-deadline", "45s");
    expect(load(argv)).toMatchObject({
      soracomMaxServerWaitMs: 120_000,
      soracomMaxPages: 50,
      soracomMaxResponseBytes: 512 * 1024,
      soracomCallDeadlineMs: 45_000,
    });
  });

  it("a Soracom rate may be below one call a second", () => {
    expect(
      (loadConfig(["--soracom-requests-per-second", "0.5"]) as { soracomRequestsPerSecond: number })
        .soracomRequestsPerSecond,
    ).toBe(0.5);
  });

  it("budgets are unlimited only when written out", () => {
    expect(load(["--spend-budget", "unlimited", "--termination-budget", "unlimited"])).toMatchObject({
      spendBudget: null,
      terminationBudget: null,
    });
  });

  it("flags not given are read from ESIM_* environment variables; a given flag wins", () => {
    const env = { ESIM_SPEND_BUDGET: "7", ESIM_DRY_RUN: "true", ESIM_NAMESPACES: "a, b", ESIM_CONCURRENCY: "9" };
    expect(load(["--concurrency", "2"], env)).toMatchObject({
      spendBudget: 7,
      dryRun: true,
      namespaces: ["a", "b"],
      concurrency: 2,
    });
  });

  it("default credentials come from SORACOM_AUTH_KEY_ID and SORACOM_AUTH_KEY", () => {
    expect(load([], { SORACOM_AUTH_KEY_ID: "keyId-1", SORACOM_AUTH_KEY: "secret-1" }).credentials).toEqual({
      authKeyId: "keyId-1",
      authKey: "secret-1",
    });
  });

  it.each([
    ["an unknown flag", ["--spend"], {}, "Unknown option"],
    [
      "a duration that is not one",
      ["--poll-interval-stable", "soon"],
      {},
      '--poll-interval-stable: "soon" is not a duration',
    ],
    ["a negative budget", ["--spend-budget", "-1"], {}, "--spend-budget"],
    ["a budget in words", ["--termination-budget", "lots"], {}, '"unlimited"'],
    [
      "only half of the credentials",
      [],
      { SORACOM_AUTH_KEY_ID: "keyId-1" },
      "set both SORACOM_AUTH_KEY_ID and SORACOM_AUTH_KEY",
    ],
    ["a coverage that does not exist", ["--soracom-coverage", "eu"], {}, 'must be "jp" or "g"'],
    ["an unknown log level", ["--log-level", "loud"], {}, "--log-level"],
    [
      "an active poll slower than the stable one",
      ["--poll-interval-active", "10m"],
      {},
      "must not be longer than --poll-interval-stable",
    ],
    ["an address without a port", ["--http-address", "localhost"], {}, "must be host:port"],
    ["a shard selector without a shard name", ["--shard-selector", "shard=a"], {}, "go together"],
    ["a shard name without a selector", ["--shard-name", "a"], {}, "go together"],
    [
      "a shard selector that is not one",
      ["--shard-selector", "shard in a", "--shard-name", "a"],
      {},
      "--shard-selector",
    ],
    ["a shard name that cannot name a Lease", ["--shard-selector", "s=a", "--shard-name", "A_1"], {}, "--shard-name"],
    ["a poll budget of zero", ["--soracom-poll-budget", "0"], {}, "--soracom-poll-budget"],
    ["an orphan-draft policy that is not one", ["--orphan-drafts", "delete"], {}, "neither cancel nor report"],
    ["a rate of zero", ["--soracom-requests-per-second", "0"], {}, "must be a positive number"],
    ["a rate in words", ["--soracom-requests-per-second", "fast"], {}, "must be a positive number"],
    ["a cache sync timeout that is not a duration", ["--cache-sync-timeout", "never"], {}, "--cache-sync-timeout"],
    [
      "a grace period shorter than a create may take",
      ["--create-grace-period", "20s"],
      {},
      "must be longer than --soracom-request-timeout (30s)",
    ],
    ["a call deadline shorter than one attempt", ["--soracom-call-deadline", "10s"], {}, "--soracom-call-deadline"],
    ["a page bound of zero", ["--soracom-max-pages", "0"], {}, "--soracom-max-pages"],
    ["an answer size in gigabytes", ["--soracom-max-response-size", "1GiB"], {}, "--soracom-max-response-size"],
    ["a server wait of zero", ["--soracom-max-server-wait", "0s"], {}, "--soracom-max-server-wait"],
  ])("refuses %s with a message naming it", (_what, argv, env, words) => {
    expect(() => loadConfig(argv as string[], env as Record<string, string>)).toThrow(ConfigError);
    expect(() => loadConfig(argv as string[], env as Record<string, string>)).toThrow(words as string);
  });

  it("--help asks for the usage text", () => {
    expect(loadConfig(["--help"], {})).toBe("help");
  });
});
