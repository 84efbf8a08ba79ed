import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { shippedNodeOptions } from "../../bench/controller.js";
import { leaseName, loadConfig } from "../../controller/config.js";
import {
  ciValuesFiles,
  findTool,
  type Manifest,
  only,
  REPO_ROOT,
  type RenderOptions,
  renderChart,
  verbTable,
} from "./chart-support.js";

// The chart's arguments and environment go through the controller's own flag parser (controller/config.ts),
// so a flag renamed on either side, or a value the controller rejects, fails here and not in a pod.
const helm = findTool("helm");

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { key: string; optional?: boolean }; fieldRef?: { fieldPath: string } };
}

/** What the kubelet would hand the process: fieldRefs resolved, Secret keys from a Secret holding `secret`. */
function processEnv(env: EnvVar[], secret: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const e of env) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") out[e.name] = "esim-system";
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") out[e.name] = "esim-soracom-esim-operator-abc12";
    else if (e.valueFrom?.secretKeyRef) {
      const v = secret[e.valueFrom.secretKeyRef.key];
      if (v !== undefined) out[e.name] = v;
      else if (!e.valueFrom.secretKeyRef.optional)
        throw new Error(`Secret key ${e.valueFrom.secretKeyRef.key} missing`);
    }
  }
  return out;
}

function configFor(opts: RenderOptions, secret: Record<string, string> = {}, manifests?: Manifest[]) {
  const container = only(manifests ?? renderChart(helm as string, opts), "Deployment").spec.template.spec.containers[0];
  const [command, ...flags] = container.args as string[];
  expect(command).toBe("controller");
  const cfg = loadConfig(flags, processEnv(container.env ?? [], secret));
  if (cfg === "help") throw new Error("the chart asked for --help");
  return cfg;
}

const credentials = { authKeyId: "keyId-test", authKey: "secret-test" };

describe.skipIf(!helm)("the controller accepts the chart's flags", () => {
  for (const file of ciValuesFiles()) {
    it(`${basename(file)}: loadConfig parses the rendered args and env`, () => {
      const cfg = configFor({ valuesFiles: [file] }, credentials);
      expect(cfg.leaderElect).toBe(true);
      expect(cfg.leaderElectionNamespace).toBe("esim-system");
      expect(cfg.httpAddress).toEqual({ host: "0.0.0.0", port: 8080 });
      expect(cfg.credentials).toEqual(credentials);
    });
  }

  it("the defaults configure the controller as values.yaml says", () => {
    const cfg = configFor({});
    expect(cfg).toMatchObject({
      namespaces: [],
      leaderElect: true,
      leaderElectionId: "esim-soracom-esim-operator",
      concurrency: 4,
      pollIntervalActiveMs: 5_000,
      pollIntervalStableMs: 300_000,
      inProgressAlertAfterMs: 24 * 3_600_000,
      draftExpiryWarningMs: 2 * 3_600_000,
      spendBudget: 100,
      spendBudgetWindowMs: 24 * 3_600_000,
      terminationBudget: 20,
      terminationBudgetWindowMs: 3_600_000,
      createGracePeriodMs: 60_000,
      orphanSweepIntervalMs: 600_000,
      orphanDrafts: "cancel",
      leaderElectionLeaseDurationMs: 15_000,
      leaderElectionRenewDeadlineMs: 10_000,
      leaderElectionRetryPeriodMs: 2_000,
      maxQuantityPerResource: 1000,
      dryRun: false,
      logLevel: "info",
      soracomSandbox: false,
    });
    expect(cfg.credentials).toBeUndefined();
    expect(cfg.soracomEndpoint).toBeUndefined();
  });

  it("credentials.namespaces are the namespaces the implicit account still serves once accounts exist", () => {
    expect(
      configFor({ set: { "credentials.existingSecret": "soracom" } }, credentials).implicitAccountNamespaces,
    ).toEqual([]);
    const cfg = configFor(
      { set: { "credentials.existingSecret": "soracom", "credentials.namespaces": "{legacy,lab}" } },
      credentials,
    );
    expect(cfg.implicitAccountNamespaces).toEqual(["legacy", "lab"]);
  });

  it("the orphan sweep and the lease timings are values, not extraArgs", () => {
    const cfg = configFor({
      set: {
        "controller.orphanSweepInterval": "30m",
        "controller.orphanDrafts": "report",
        "leaderElection.leaseDuration": "30s",
        "leaderElection.renewDeadline": "20s",
        "leaderElection.retryPeriod": "4s",
      },
    });
    expect(cfg).toMatchObject({
      orphanSweepIntervalMs: 1_800_000,
      orphanDrafts: "report",
      leaderElectionLeaseDurationMs: 30_000,
      leaderElectionRenewDeadlineMs: 20_000,
      leaderElectionRetryPeriodMs: 4_000,
    });
  });

  it("the sandbox values point the controller at Soracom's global sandbox with a tight budget", () => {
    const sandbox = ciValuesFiles().filter((f) => f.endsWith("sandbox-values.yaml"));
    const cfg = configFor({ valuesFiles: sandbox }, credentials);
    expect(cfg).toMatchObject({
      soracomEndpoint: "https://g.api-sandbox.soracom.io",
      soracomCoverage: "g",
      spendBudget: 10,
      terminationBudget: 5,
      logLevel: "debug",
    });
  });

  it("the credentials Secret's optional endpoint and coverage keys reach the controller", () => {
    const cfg = configFor(
      { set: { "credentials.existingSecret": "soracom-credentials" } },
      { ...credentials, endpoint: "https://api-sandbox.soracom.io", coverage: "g" },
    );
    expect(cfg.soracomEndpoint).toBe("https://api-sandbox.soracom.io");
    expect(cfg.soracomCoverage).toBe("g");
  });

  it("watched namespaces, dry run, unlimited budgets and no leader election parse as meant", () => {
    const cfg = configFor({
      set: {
        watchNamespaces: "{team-a,team-b}",
        "controller.dryRun": "true",
        "leaderElection.enabled": "false",
        "budgets.spend.limit": "unlimited",
        "budgets.termination.limit": "unlimited",
      },
    });
    expect(cfg).toMatchObject({
      namespaces: ["team-a", "team-b"],
      dryRun: true,
      leaderElect: false,
      spendBudget: null,
      terminationBudget: null,
    });
  });

  it("the heap ceilings reach the process as NODE_OPTIONS from the chart alone, as the benchmark measures", () => {
    const envOf = (opts: RenderOptions) =>
      (only(renderChart(helm as string, opts), "Deployment").spec.template.spec.containers[0].env ?? []) as EnvVar[];
    const shipped = envOf({}).find((e) => e.name === "NODE_OPTIONS")?.value;
    expect(shipped).toBe("--max-old-space-size=192 --max-semi-space-size=4");
    expect(shippedNodeOptions()).toBe(shipped);
    // The image sets none: with both values null, Node's own defaults apply.
    expect(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8")).not.toMatch(/^ENV NODE_OPTIONS/m);
    const nodeOptions = (set: Record<string, string>) => envOf({ set }).find((e) => e.name === "NODE_OPTIONS")?.value;
    expect(nodeOptions({ "controller.maxHeapMiB": "512" })).toBe("--max-old-space-size=512 --max-semi-space-size=4");
    expect(nodeOptions({ "controller.maxSemiSpaceMiB": "null" })).toBe("--max-old-space-size=192");
    expect(nodeOptions({ "controller.maxHeapMiB": "null" })).toBe("--max-semi-space-size=4");
    expect(
      envOf({ set: { "controller.maxHeapMiB": "null", "controller.maxSemiSpaceMiB": "null" } }).map((e) => e.name),
    ).not.toContain("NODE_OPTIONS");
  });

  // The Lease's name is computed by the controller from the flags the Deployment passes; the release Role
  // must grant get and update on exactly that name, or the controller never leads and reconciles nothing.
  const shapes: Record<string, RenderOptions> = {
    ...Object.fromEntries(ciValuesFiles().map((f) => [basename(f), { valuesFiles: [f] }])),
    sharded: { set: { "shard.name": "a", "shard.selector": "shard=a" } },
    "sharded with a custom lease id": {
      set: { "shard.name": "b", "shard.selector": "shard=b", "leaderElection.id": "esim-lease" },
    },
  };
  for (const [shape, opts] of Object.entries(shapes)) {
    it(`${shape}: the release Role grants get and update on the Lease the controller elects on`, () => {
      const manifests = renderChart(helm as string, opts);
      const cfg = configFor(opts, credentials, manifests);
      const role = manifests.find((m) => m.kind === "Role" && m.metadata.name.endsWith("-leader-election"));
      expect(verbTable(role?.rules ?? [])[`coordination.k8s.io/leases [${leaseName(cfg)}]`]).toEqual(["get", "update"]);
    });
  }
});
