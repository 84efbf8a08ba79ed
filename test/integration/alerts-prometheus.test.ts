import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ANNOTATIONS } from "../../controller/api/vocabulary.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { useE2E } from "../support/e2e.js";
import { findTool, only, renderChart, requireToolInCi } from "../unit/chart-support.js";

// Alerting end to end: a real Prometheus (Debian's package) scrapes the real controller and evaluates the
// chart's PrometheusRule groups, rendered by helm with the stuck-order threshold and the `for:` of the two
// alerts lowered through chart values so this takes seconds. The simulator holds one order IN_PROGRESS and
// fails another; the test reads the alerts firing, then resolving, from Prometheus's own /api/v1/alerts.
// Prometheus listens on loopback only, keeps its data in a temp folder, and is stopped by the test.
const cluster = useCluster({ namespacePrefix: "alerts" });
const e2e = useE2E(cluster);
const helm = findTool("helm");
const prometheusBin = findTool("prometheus");

const STUCK_AFTER = "4s"; // controller.inProgressAlertAfter: the chart's threshold and the controller's flag
const FOR = "2s"; // prometheusRule.for of both alerts

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  activeAt: string;
}

class Prometheus {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly logs: string[],
  ) {}

  static async start(opts: { target: string; rules: unknown }): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), "prometheus-"));
    writeFileSync(join(dir, "rules.yaml"), stringify(opts.rules));
    writeFileSync(
      join(dir, "prometheus.yaml"),
      stringify({
        global: { scrape_interval: "500ms", evaluation_interval: "500ms" },
        rule_files: [join(dir, "rules.yaml")],
        // As the chart's ServiceMonitor: job soracom-esim-operator, the controller's namespace labels kept.
        scrape_configs: [
          { job_name: "soracom-esim-operator", honor_labels: true, static_configs: [{ targets: [opts.target] }] },
        ],
      }),
    );
    const port = await freePort();
    const logs: string[] = [];
    const child = spawn(
      prometheusBin as string,
      [
        `--config.file=${join(dir, "prometheus.yaml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    for (const stream of [child.stdout, child.stderr]) stream?.on("data", (b: Buffer) => logs.push(b.toString()));
    const prom = new Prometheus(`http://127.0.0.1:${port}`, child, dir, logs);
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${logs.join("").slice(-2000)}`);
        return (await fetch(`${prom.url}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, what: "Prometheus ready" },
    );
    return prom;
  }

  async alerts(): Promise<PromAlert[]> {
    const body = (await (await fetch(`${this.url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
    return body.data.alerts;
  }

  /** The state Prometheus gives a rule now: inactive, pending or firing. */
  async ruleState(alert: string): Promise<string | undefined> {
    const body = (await (await fetch(`${this.url}/api/v1/rules?type=alert`)).json()) as {
      data: { groups: { rules: { name: string; state: string }[] }[] };
    };
    return body.data.groups.flatMap((g) => g.rules).find((r) => r.name === alert)?.state;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

describe("a real Prometheus is installed (CI installs Debian's prometheus package)", () => {
  it("prometheus is installed, or the run is not CI", (ctx) => requireToolInCi("prometheus", prometheusBin, ctx));
  it("helm is built, or the run is not CI", (ctx) => requireToolInCi("helm", helm, ctx));
});

describe.skipIf(!prometheusBin || !helm)("the chart's alerts in a real Prometheus", () => {
  let prom: Prometheus | undefined;
  afterEach(async () => {
    await prom?.stop();
    prom = undefined;
  });

  it("SoracomEsimOrderStuckInProgress and SoracomEsimOrderFailed fire, then resolve", async () => {
    const rendered = only(
      renderChart(helm as string, {
        set: {
          "prometheusRule.enabled": "true",
          "controller.inProgressAlertAfter": STUCK_AFTER,
          "prometheusRule.for.SoracomEsimOrderStuckInProgress": FOR,
          "prometheusRule.for.SoracomEsimOrderFailed": FOR,
        },
      }),
      "PrometheusRule",
    );
    // Orders stay IN_PROGRESS for 10 minutes unless forced: no race between confirmation and the hold.
    const { sim, control } = await e2e.simulator({ inProgressDelayMs: 600_000 });
    const ctl = await e2e.controller(sim, { args: ["--in-progress-alert-after", STUCK_AFTER] });
    prom = await Prometheus.start({ target: new URL(ctl.url).host, rules: { groups: rendered.spec.groups } });
    const p = prom;
    const start = Date.now();
    const timeline: string[] = [];
    const mark = (what: string) => timeline.push(`${((Date.now() - start) / 1000).toFixed(1)} s  ${what}`);
    const alertFor = async (name: string, id: string) =>
      (await p.alerts()).find((a) => a.labels.alertname === name && a.labels.profile_order_id === id);
    const explain = async () => `alerts: ${JSON.stringify(await p.alerts())}\n${p.logs.join("").slice(-1500)}`;

    try {
      // Held IN_PROGRESS by the simulator.
      await e2e.applyOrder("slow", { subscription: "planX1", quantity: 1 });
      const slowId = await eventually(async () => (await e2e.order("slow")).status?.orders?.[0]?.profileOrderId, {
        what: "slow: order created",
      });
      await control.send("POST", `/orders/${slowId}/force`, { hold: true });
      await eventually(async () => (await e2e.order("slow")).status?.orders?.[0]?.status === "IN_PROGRESS", {
        what: "slow: IN_PROGRESS",
      });
      mark(`order ${slowId} IN_PROGRESS (held by the simulator)`);
      const pending = await eventually(async () => alertFor("SoracomEsimOrderStuckInProgress", slowId), {
        timeoutMs: 30_000,
        what: "stuck alert active",
        explain,
      });
      mark(`SoracomEsimOrderStuckInProgress ${pending.state}`);
      const firing = await eventually(
        async () => {
          const a = await alertFor("SoracomEsimOrderStuckInProgress", slowId);
          return a?.state === "firing" ? a : undefined;
        },
        { timeoutMs: 30_000, what: "stuck alert firing", explain },
      );
      mark("SoracomEsimOrderStuckInProgress firing");
      expect(firing.labels).toMatchObject({
        severity: "warning",
        namespace: cluster.namespace,
        name: "slow",
        status: "IN_PROGRESS",
        job: "soracom-esim-operator",
      });
      expect(firing.annotations.summary).toMatch(new RegExp(`^Soracom order ${slowId} has been IN_PROGRESS for \\d`));
      // It fired after the threshold (4 s IN_PROGRESS) and the `for:` (2 s), not before.
      const since = Number(
        (await (await fetch(`${ctl.url}/metrics`)).text()).match(
          new RegExp(
            `soracom_esim_order_status_since_timestamp_seconds\\{[^}]*profile_order_id="${slowId}"[^}]*\\} (\\S+)`,
          ),
        )?.[1],
      );
      expect(Date.parse(firing.activeAt) / 1000 - since).toBeGreaterThanOrEqual(4);

      // Released, the simulator completes it at once: the IN_PROGRESS series goes, and the alert resolves.
      await control.send("POST", `/orders/${slowId}/force`, { hold: false });
      await eventually(async () => (await e2e.order("slow")).status?.orders?.[0]?.status === "COMPLETED", {
        what: "slow: COMPLETED",
      });
      mark(`order ${slowId} COMPLETED`);
      await eventually(
        async () =>
          !(await alertFor("SoracomEsimOrderStuckInProgress", slowId)) &&
          (await p.ruleState("SoracomEsimOrderStuckInProgress")) === "inactive",
        { timeoutMs: 30_000, what: "stuck alert resolved", explain },
      );
      mark("SoracomEsimOrderStuckInProgress resolved (gone from /api/v1/alerts, rule inactive)");

      // FAILED at Soracom: the failed alert fires, and resolves once a person acknowledges it.
      await e2e.applyOrder("doomed", { subscription: "planX1", quantity: 1 });
      const doomedId = await eventually(async () => (await e2e.order("doomed")).status?.orders?.[0]?.profileOrderId, {
        what: "doomed: order created",
      });
      await control.send("POST", `/orders/${doomedId}/force`, { status: "FAILED" });
      await eventually(async () => (await e2e.order("doomed")).status?.orders?.[0]?.status === "FAILED", {
        what: "doomed: FAILED",
      });
      mark(`order ${doomedId} FAILED`);
      const failed = await eventually(
        async () => {
          const a = await alertFor("SoracomEsimOrderFailed", doomedId);
          return a?.state === "firing" ? a : undefined;
        },
        { timeoutMs: 30_000, what: "failed alert firing", explain },
      );
      mark("SoracomEsimOrderFailed firing");
      expect(failed.labels).toMatchObject({ severity: "warning", namespace: cluster.namespace, name: "doomed" });
      expect(failed.annotations.summary).toBe(`Soracom order ${doomedId} FAILED.`);

      await e2e.patchOrder("doomed", { metadata: { annotations: { [ANNOTATIONS.acknowledgeFailed]: doomedId } } });
      mark(`failure of ${doomedId} acknowledged`);
      await eventually(
        async () =>
          !(await alertFor("SoracomEsimOrderFailed", doomedId)) &&
          (await p.ruleState("SoracomEsimOrderFailed")) === "inactive",
        { timeoutMs: 30_000, what: "failed alert resolved", explain },
      );
      mark("SoracomEsimOrderFailed resolved");
    } finally {
      process.stdout.write(
        `\nalert timeline (Prometheus evaluating every 500 ms, for: ${FOR}):\n${timeline.join("\n")}\n`,
      );
    }
  });
});
