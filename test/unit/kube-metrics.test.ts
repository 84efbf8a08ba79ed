import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  type HealthServer,
  informersSynced,
  leaderHealthy,
  readiness,
  startHealthServer,
} from "../../controller/kube/health.js";
import { LeaderElector } from "../../controller/kube/leader.js";
import type { KubeApi } from "../../controller/kube/rest.js";
import {
  createMetrics,
  OrderStatusTracker,
  observeSoracomRequest,
  soracomCodeLabel,
} from "../../controller/metrics.js";

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("soracomCodeLabel", () => {
  const cases: Array<[string, Parameters<typeof soracomCodeLabel>[0], string]> = [
    ["an answer is labelled with its HTTP status", { operation: "getSim", status: 429, durationMs: 5 }, "429"],
    [
      "a timeout is labelled timeout",
      { operation: "getSim", durationMs: 5, error: { code: "SORACOM_ERR_TIMEOUT" } },
      "timeout",
    ],
    [
      "any other failure without an answer is labelled network",
      { operation: "getSim", durationMs: 5, error: { code: "SORACOM_ERR_NETWORK" } },
      "network",
    ],
  ];
  it.each(cases)("%s", (_sentence, event, want) => {
    expect(soracomCodeLabel(event)).toBe(want);
  });
});

describe("createMetrics", () => {
  it("registers the domain metrics and the process metrics on the registry it is given", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    expect(createMetrics(registry)).toBe(metrics); // a second call reuses, never double-registers
    observeSoracomRequest(metrics, { operation: "createProfileOrder", status: 201, durationMs: 250 });
    observeSoracomRequest(metrics, { operation: "getSim", durationMs: 30_000, error: { code: "SORACOM_ERR_TIMEOUT" } });
    metrics.budgetExceeded.set({ budget: "spend", account: "logistics" }, 1);
    metrics.profilesOrdered.inc({ namespace: "shop" }, 20);
    metrics.answersRefused.inc({ kind: "EsimProfileOrder", reason: "UnknownStatus" });
    const text = await registry.metrics();
    expect(sample(text, 'soracom_api_requests_total{operation="createProfileOrder",code="201"}')).toBe(1);
    expect(sample(text, 'soracom_api_requests_total{operation="getSim",code="timeout"}')).toBe(1);
    expect(sample(text, 'soracom_api_request_duration_seconds_sum{operation="createProfileOrder"}')).toBe(0.25);
    expect(sample(text, 'soracom_esim_budget_exceeded{budget="spend",account="logistics"}')).toBe(1);
    expect(sample(text, 'soracom_esim_profiles_ordered_total{namespace="shop"}')).toBe(20);
    expect(sample(text, 'soracom_esim_answers_refused_total{kind="EsimProfileOrder",reason="UnknownStatus"}')).toBe(1);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    for (const name of [
      "soracom_esim_order_status_since_timestamp_seconds",
      "soracom_esim_orders",
      "soracom_esim_profiles",
      "soracom_esim_profiles_deleted_on_device_billing",
      "soracom_esim_draft_expiry_timestamp_seconds",
      "soracom_esim_sims_terminated_total",
      "soracom_esim_terminations_paused",
      "soracom_esim_budget_remaining",
      "soracom_esim_orders_failed_total",
      "soracom_esim_orphan_orders",
      "soracom_esim_leader",
      "leader_election_master_status",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).not.toMatch(/iccid|imsi/i);
  });

  it("shares soracom_esim_leader with the leader elector, whichever registers first", () => {
    const idle: KubeApi = { request: async () => undefined as never, watch: async () => {} };
    const electorFirst = new Registry();
    new LeaderElector({ client: idle, namespace: "ops", name: "l", registry: electorFirst });
    expect(() => createMetrics(electorFirst)).not.toThrow();
    const metricsFirst = new Registry();
    createMetrics(metricsFirst);
    expect(
      () => new LeaderElector({ client: idle, namespace: "ops", name: "l", registry: metricsFirst }),
    ).not.toThrow();
  });

  it("OrderStatusTracker drops a settled order's status series, and a deleted resource's every series", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const tracker = new OrderStatusTracker(metrics);
    tracker.set("shop", "batch-1", "OPO1", "IN_PROGRESS", 1_700_000_000_000);
    tracker.set("shop", "batch-1", "OPO2", "IN_PROGRESS", 1_700_000_000_000);
    tracker.settle("shop", "batch-1", "OPO1");
    metrics.profilesMissing.set({ namespace: "shop", name: "batch-1", profile_order_id: "OPO1" }, 2);
    let text = await registry.metrics();
    expect(text).not.toMatch(/soracom_esim_order_status_since_timestamp_seconds\{[^}]*OPO1/);
    expect(text).toMatch(/soracom_esim_order_status_since_timestamp_seconds\{[^}]*OPO2/);
    tracker.forget("shop", "batch-1");
    text = await registry.metrics();
    expect(text).not.toContain('profile_order_id="OPO1"'); // the settled order's other series go too
    expect(text).not.toContain('profile_order_id="OPO2"');
  });

  it("OrderStatusTracker keeps one status series per order and forgets them all", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const tracker = new OrderStatusTracker(metrics);
    tracker.set("shop", "batch-1", "OPO1", "DRAFT", 1_700_000_000_000);
    tracker.set("shop", "batch-1", "OPO1", "CONFIRMED", 1_700_000_060_000);
    metrics.draftExpiry.set({ namespace: "shop", name: "batch-1", profile_order_id: "OPO1" }, 1_700_086_400);
    let text = await registry.metrics();
    const series = (status: string) =>
      `soracom_esim_order_status_since_timestamp_seconds{namespace="shop",name="batch-1",profile_order_id="OPO1",status="${status}"}`;
    expect(sample(text, series("DRAFT"))).toBeUndefined();
    expect(sample(text, series("CONFIRMED"))).toBe(1_700_000_060);
    tracker.forget("shop", "batch-1");
    text = await registry.metrics();
    expect(text).not.toContain('profile_order_id="OPO1"');
  });
});

describe("health server", () => {
  it("serves /healthz, /readyz (503 until every check passes) and /metrics from the given registry", async () => {
    const registry = new Registry();
    createMetrics(registry).leader.set(1);
    let synced = false;
    const server = await startHealthServer({
      port: 0,
      host: "127.0.0.1",
      registry,
      readiness: [informersSynced([{ hasSynced: () => synced }]), leaderHealthy({ healthy: () => true })],
    });
    servers.push(server);

    const healthz = await fetch(`${server.url}/healthz`);
    expect([healthz.status, await healthz.text()]).toEqual([200, "ok\n"]);

    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe("[-]informers-synced failed\n[+]leader-election ok\nreadyz check failed\n");

    synced = true;
    const ready = await fetch(`${server.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([
      200,
      "[+]informers-synced ok\n[+]leader-election ok\nreadyz check passed\n",
    ]);

    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect(sample(await metrics.text(), "soracom_esim_leader")).toBe(1);

    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz`, { method: "POST" })).status).toBe(405);
  });

  it("counts a check that throws as failed", async () => {
    const result = await readiness([
      {
        name: "broken",
        check: () => {
          throw new Error("no");
        },
      },
    ]);
    expect(result).toEqual({ ok: false, body: "[-]broken failed\nreadyz check failed\n" });
  });
});
