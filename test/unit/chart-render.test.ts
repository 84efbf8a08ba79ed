import { execFileSync } from "node:child_process";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CHART_DIR,
  ciValuesFiles,
  findTool,
  KUBE_VERSION,
  lazy,
  type Manifest,
  only,
  type RenderOptions,
  renderChart,
  requireToolInCi,
} from "./chart-support.js";

// `helm lint` and `helm template` over every values file in the chart's ci/ folder, and what the rendered
// Deployment must be: hardened, probed, configured from values, with credentials only from a Secret.
const helm = findTool("helm");
const render = (opts: RenderOptions = {}) => renderChart(helm as string, opts);
const deploymentOf = (manifests: Manifest[]) => only(manifests, "Deployment");
const containerOf = (manifests: Manifest[]) => deploymentOf(manifests).spec.template.spec.containers[0];
const argsOf = (opts: RenderOptions = {}): string[] => containerOf(render(opts)).args;

/** The controller's flags (the brief's contract); the chart may pass no other. */
const CONTROLLER_FLAGS = new Set([
  "--kubeconfig",
  "--namespaces",
  "--http-address",
  "--leader-elect",
  "--leader-election-namespace",
  "--leader-election-id",
  "--operator-namespace",
  "--default-account",
  "--watch-activation-secrets",
  "--leader-election-lease-duration",
  "--leader-election-renew-deadline",
  "--leader-election-retry-period",
  "--orphan-sweep-interval",
  "--orphan-drafts",
  "--concurrency",
  "--poll-interval-active",
  "--poll-interval-stable",
  "--in-progress-alert-after",
  "--draft-expiry-warning",
  "--spend-budget",
  "--spend-budget-window",
  "--max-quantity-per-resource",
  "--termination-budget",
  "--termination-budget-window",
  "--create-grace-period",
  "--dry-run",
  "--log-level",
  "--soracom-endpoint",
  "--soracom-coverage",
  "--soracom-sandbox",
  "--soracom-poll-budget",
  "--soracom-max-server-wait",
  "--soracom-max-pages",
  "--soracom-max-response-size",
  "--soracom-call-deadline",
  "--shard-name",
  "--shard-selector",
]);
const BOOLEAN_FLAGS = new Set(["--leader-elect", "--dry-run", "--soracom-sandbox", "--watch-activation-secrets"]);

describe("helm is available (CI builds it)", () => {
  it("is installed, or the run is not CI", (ctx) => requireToolInCi("helm", helm, ctx));
});

describe.skipIf(!helm)("helm lint and helm template over ci/*.yaml", () => {
  it("has the seven values files CI checks", () => {
    expect(ciValuesFiles().map((f) => basename(f))).toEqual([
      "accounts-values.yaml",
      "default-values.yaml",
      "ha-values.yaml",
      "namespaced-values.yaml",
      "sandbox-values.yaml",
      "shard-a-values.yaml",
      "shard-b-values.yaml",
    ]);
  });

  for (const file of ciValuesFiles()) {
    describe(basename(file), () => {
      it("passes helm lint --strict", () => {
        const out = execFileSync(
          helm as string,
          ["lint", CHART_DIR, "--strict", "--values", file, "--kube-version", KUBE_VERSION],
          { encoding: "utf8" },
        );
        expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
      });

      const manifests = lazy(() => render({ valuesFiles: [file] }));
      const pod = () => deploymentOf(manifests()).spec.template.spec;
      const container = () => containerOf(manifests());

      it("runs as a numeric non-root user with the RuntimeDefault seccomp profile", () => {
        expect(pod().securityContext.runAsNonRoot).toBe(true);
        expect(pod().securityContext.runAsUser).toBeGreaterThan(0);
        expect(pod().securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
      });

      it("has no privilege escalation, a read-only root filesystem and no capabilities", () => {
        expect(container().securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ["ALL"] },
        });
      });

      it("requests resources and limits memory", () => {
        expect(container().resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect(container().resources.limits.memory).toEqual(expect.any(String));
      });

      it("probes /healthz (liveness) and /readyz (readiness) on the http port the controller listens on", () => {
        expect(container().livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
        expect(container().readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
        const port = container().ports.find((p: { name: string }) => p.name === "http");
        expect(container().args).toContain(`--http-address=0.0.0.0:${port.containerPort}`);
      });

      it("runs the controller command with only the controller's flags", () => {
        const [command, ...flags] = container().args as string[];
        expect(command).toBe("controller");
        for (const arg of flags) {
          const [flag, value] = arg.split(/=(.*)/s);
          expect(CONTROLLER_FLAGS, arg).toContain(flag);
          // Boolean flags are given bare: a parser may refuse --flag=true.
          if (BOOLEAN_FLAGS.has(flag as string)) expect(value, arg).toBeUndefined();
          else expect(value, arg).toBeDefined();
        }
      });

      it("takes the Soracom credentials only from the existing Secret, never as plain values", () => {
        const env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] =
          container().env ?? [];
        const byName = Object.fromEntries(env.map((e) => [e.name, e]));
        expect(byName.SORACOM_AUTH_KEY_ID?.valueFrom?.secretKeyRef).toMatchObject({ key: "authKeyId" });
        expect(byName.SORACOM_AUTH_KEY?.valueFrom?.secretKeyRef).toMatchObject({ key: "authKey" });
        // The one plain value is the heap ceilings (controller.maxHeapMiB, controller.maxSemiSpaceMiB).
        expect(env.filter((e) => e.value !== undefined).map((e) => e.name)).toEqual(["NODE_OPTIONS"]);
        expect(manifests().filter((m) => m.kind === "Secret")).toEqual([]);
      });

      it("elects its leader with a Lease in the release namespace", () => {
        expect(container().args).toContain("--leader-elect");
        expect(container().args).toContain("--leader-election-namespace=esim-system");
      });

      it("has a metrics Service selecting the pods on the http port", () => {
        const service = only(manifests(), "Service");
        expect(service.spec.ports).toEqual([{ name: "metrics", port: 8080, targetPort: "http", protocol: "TCP" }]);
        expect(service.spec.selector).toEqual(deploymentOf(manifests()).spec.selector.matchLabels);
      });
    });
  }
});

describe.skipIf(!helm)("values become the controller's flags", () => {
  const cases: { name: string; set: Record<string, string>; has: string[]; lacks: string[] }[] = [
    {
      name: "the defaults watch all namespaces, elect a leader and change things for real",
      set: {},
      has: ["--leader-elect", "--log-level=info", "--spend-budget=100", "--spend-budget-window=24h"],
      lacks: ["--dry-run", "--soracom-sandbox", "--soracom-endpoint", "--soracom-coverage"],
    },
    {
      name: "watchNamespaces become --namespaces",
      set: { watchNamespaces: "{team-a,team-b}" },
      has: ["--namespaces=team-a,team-b"],
      lacks: [],
    },
    {
      name: "dryRun adds --dry-run",
      set: { "controller.dryRun": "true" },
      has: ["--dry-run"],
      lacks: [],
    },
    {
      name: "leader election off drops --leader-elect but keeps the namespace and id that also name the ledger",
      set: { "leaderElection.enabled": "false" },
      has: ["--leader-election-namespace=esim-system", "--leader-election-id=esim-soracom-esim-operator"],
      lacks: ["--leader-elect"],
    },
    {
      name: "budgets, windows and intervals pass through as given",
      set: {
        "budgets.spend.limit": "unlimited",
        "budgets.termination.limit": "3",
        "budgets.termination.window": "6h",
        "controller.pollIntervalActive": "10s",
        "controller.pollIntervalStable": "15m",
        "controller.inProgressAlertAfter": "36h",
        "controller.draftExpiryWarning": "3h",
        "controller.createGracePeriod": "2m",
        "controller.concurrency": "8",
        "controller.logLevel": "debug",
        "controller.maxQuantityPerResource": "200",
      },
      has: [
        "--spend-budget=unlimited",
        "--termination-budget=3",
        "--termination-budget-window=6h",
        "--poll-interval-active=10s",
        "--poll-interval-stable=15m",
        "--in-progress-alert-after=36h",
        "--draft-expiry-warning=3h",
        "--create-grace-period=2m",
        "--concurrency=8",
        "--log-level=debug",
        "--max-quantity-per-resource=200",
      ],
      lacks: [],
    },
    {
      name: "the sandbox, a coverage and an endpoint are passed on",
      set: {
        "soracom.sandbox": "true",
        "soracom.coverage": "g",
        "soracom.endpoint": "https://g.api-sandbox.soracom.io",
      },
      has: ["--soracom-sandbox", "--soracom-coverage=g", "--soracom-endpoint=https://g.api-sandbox.soracom.io"],
      lacks: [],
    },
    {
      name: "a custom lease name is used as the leader-election id",
      set: { "leaderElection.id": "esim-lease" },
      has: ["--leader-election-id=esim-lease"],
      lacks: [],
    },
    {
      name: "a shard passes its name and namespace selector; the leader-election id (the ledgers' prefix) stays shared",
      set: { "shard.name": "a", "shard.selector": "esim.example/shard=a", "leaderElection.id": "esim" },
      has: ["--shard-name=a", "--shard-selector=esim.example/shard=a", "--leader-election-id=esim"],
      lacks: [],
    },
  ];
  it("no shard by default (one controller owns every watched namespace), and a poll budget of 300", () => {
    const args = argsOf();
    expect(args.filter((a) => a.startsWith("--shard"))).toEqual([]);
    expect(args).toContain("--soracom-poll-budget=300");
  });
  for (const c of cases) {
    it(c.name, () => {
      const args = argsOf({ set: c.set });
      for (const want of c.has) expect(args).toContain(want);
      for (const unwanted of c.lacks) expect(args).not.toContain(unwanted);
    });
  }
});

describe.skipIf(!helm)("credentials", () => {
  it("without credentials.existingSecret the pod gets no credentials at all (orders bring their own)", () => {
    const names = (containerOf(render()).env as { name: string }[]).map((e) => e.name);
    expect(names).toEqual(["POD_NAME", "POD_NAMESPACE", "NODE_OPTIONS"]);
  });

  it("maps the Secret's optional endpoint and coverage keys, so one Secret picks sandbox or production", () => {
    const env = containerOf(render({ set: { "credentials.existingSecret": "soracom-sandbox" } })).env;
    expect(env.filter((e: { name: string }) => !e.name.startsWith("POD_") && e.name !== "NODE_OPTIONS")).toEqual([
      { name: "SORACOM_AUTH_KEY_ID", valueFrom: { secretKeyRef: { name: "soracom-sandbox", key: "authKeyId" } } },
      { name: "SORACOM_AUTH_KEY", valueFrom: { secretKeyRef: { name: "soracom-sandbox", key: "authKey" } } },
      {
        name: "SORACOM_ENDPOINT",
        valueFrom: { secretKeyRef: { name: "soracom-sandbox", key: "endpoint", optional: true } },
      },
      {
        name: "ESIM_SORACOM_COVERAGE",
        valueFrom: { secretKeyRef: { name: "soracom-sandbox", key: "coverage", optional: true } },
      },
    ]);
  });
});

describe.skipIf(!helm)("optional objects", () => {
  const haValues = ciValuesFiles().filter((f) => f.endsWith("ha-values.yaml"));
  const ha = lazy(() => render({ valuesFiles: haValues }));

  it("the HA values run two replicas with a PDB that keeps one up", () => {
    expect(deploymentOf(ha()).spec.replicas).toBe(2);
    expect(only(ha(), "PodDisruptionBudget").spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: deploymentOf(ha()).spec.selector.matchLabels },
    });
  });

  it("the default PDB allows one pod down, so a single replica never blocks a node drain", () => {
    expect(only(render(), "PodDisruptionBudget").spec.maxUnavailable).toBe(1);
  });

  it("the ServiceMonitor scrapes the metrics port, keeps the metrics' namespace label and sets the alerts' job", () => {
    const endpoint = only(ha(), "ServiceMonitor").spec.endpoints[0];
    expect(endpoint).toMatchObject({ port: "metrics", path: "/metrics", honorLabels: true });
    expect(endpoint.relabelings).toEqual([
      { action: "replace", targetLabel: "job", replacement: "soracom-esim-operator" },
    ]);
    expect(only(ha(), "Service").metadata.labels).toMatchObject(only(ha(), "ServiceMonitor").spec.selector.matchLabels);
  });

  it("ServiceMonitor and PrometheusRule are off by default (they need the Prometheus Operator's CRDs)", () => {
    const kinds = render().map((m) => m.kind);
    expect(kinds).not.toContain("ServiceMonitor");
    expect(kinds).not.toContain("PrometheusRule");
  });

  it("renders the CRDs from crds/ only when asked (helm installs crds/ itself and never deletes them)", () => {
    const crds = render({ includeCrds: true }).filter((m) => m.kind === "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      "esimprofileorders.esim.soracom-operator.io",
      "esimprofiles.esim.soracom-operator.io",
      "soracomaccounts.esim.soracom-operator.io",
    ]);
    expect(render().filter((m) => m.kind === "CustomResourceDefinition")).toEqual([]);
  });
});
