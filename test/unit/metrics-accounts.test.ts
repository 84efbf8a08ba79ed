import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { type GaugeAccount, refreshGauges, refreshPollGauges } from "../../controller/gauges.js";
import { createMetrics, pollLabels } from "../../controller/metrics.js";
import { KNOWN_STATUSES } from "../../controller/order/model.js";
import { PollPacer } from "../../controller/order/pacing.js";
import { settled } from "../../controller/order/reconciler.js";

// Every series about one Soracom account says which account (with several, an alert must name the blocked
// one), by the SoracomAccount's name and never by a Secret; a deleted account leaves no series behind.

const cache = <T>(items: T[]) => ({ get: () => undefined, list: () => items });
const stalled = (account: string | undefined, reason: string): EsimProfileOrder =>
  ({
    metadata: { namespace: "iot", name: `order-${account ?? "none"}` },
    spec: account ? { accountRef: { name: account } } : {},
    status: { conditions: [{ type: "Stalled", status: "True", reason, message: "m" }] },
  }) as unknown as EsimProfileOrder;
const paused = (account: string): EsimProfile =>
  ({
    metadata: { namespace: "iot", name: `p-${account}` },
    spec: { accountRef: { name: account } },
    status: { phase: "Installed", conditions: [{ type: "TerminationsPaused", status: "True", reason: "R" }] },
  }) as unknown as EsimProfile;
const account = (name: string, opts: { spendLeft?: number; ledgerPaused?: boolean } = {}): GaugeAccount => ({
  name,
  spend: { state: () => ({ remaining: opts.spendLeft ?? 10, limit: 10, windowMs: 1 }) },
  terminations: {
    check: () => ({
      allowed: !opts.ledgerPaused,
      remaining: opts.ledgerPaused ? 0 : 5,
      limit: 5,
      windowMs: 1,
      ...(opts.ledgerPaused ? { paused: { id: "x", since: 0, resume: "r" } } : {}),
    }),
  },
});

/** series lists a metric's samples as "labels value" lines. */
async function series(registry: Registry, name: string): Promise<string[]> {
  return (await registry.metrics())
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => l.slice(name.length))
    .sort();
}

describe("per-account gauges", () => {
  it("budget_exceeded and terminations_paused name the account, for every account, 0 or 1", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const caches = {
      orders: cache([stalled("logistics", "BudgetExceeded"), stalled("retail", "NamespaceNotAllowed")]),
      profiles: cache([paused("retail")]),
    };
    const accounts = [
      account("logistics", { spendLeft: 0 }),
      account("retail"),
      account("lab", { ledgerPaused: true }),
    ];
    refreshGauges(metrics, caches, accounts, 0);
    expect(await series(registry, "soracom_esim_budget_exceeded")).toEqual([
      '{budget="spend",account="lab"} 0',
      '{budget="spend",account="logistics"} 1',
      '{budget="spend",account="retail"} 0',
      '{budget="termination",account="lab"} 1',
      '{budget="termination",account="logistics"} 0',
      '{budget="termination",account="retail"} 1',
    ]);
    expect(await series(registry, "soracom_esim_terminations_paused")).toEqual([
      '{account="lab"} 1',
      '{account="logistics"} 0',
      '{account="retail"} 1',
    ]);
  });

  it("an object without accountRef counts for the default account", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const caches = { orders: cache([stalled(undefined, "BudgetExceeded")]), profiles: cache<EsimProfile>([]) };
    refreshGauges(metrics, caches, [account("default")], 0, undefined, (o) => o.spec?.accountRef?.name ?? "default");
    expect(await series(registry, "soracom_esim_budget_exceeded")).toContain('{budget="spend",account="default"} 1');
  });

  it("an account that is gone leaves no series of any per-account gauge", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const caches = { orders: cache<EsimProfileOrder>([]), profiles: cache<EsimProfile>([]) };
    refreshGauges(metrics, caches, [account("logistics"), account("retail")], 0);
    refreshGauges(metrics, caches, [account("retail")], 0);
    const text = await registry.metrics();
    expect(text).toContain('account="retail"');
    expect(text).not.toContain('account="logistics"');
  });
});

describe("poll gauges", () => {
  const TENANT = "account:default/secret:default/soracom-credentials#endpoint=https://api.soracom.io";
  const OWN = "account:logistics#endpoint=https://api.soracom.io";

  it("pollLabels: the SoracomAccount's name, and whose credentials, never a Secret reference", () => {
    expect(pollLabels(TENANT)).toEqual({ account: "default", credentials: "tenant:default" });
    expect(pollLabels(OWN)).toEqual({ account: "logistics", credentials: "account" });
  });

  it("refreshPollGauges labels each account that polled, and drops an account that is gone", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const pacer = new PollPacer({ pollActiveMs: 1_000, pollStableMs: 60_000, pollBudgetPerMinute: 30 });
    for (const key of [TENANT, OWN]) {
      pacer.budget(key, undefined);
      pacer.sawProfiles(key, "OPO1", [], 0, false);
    }
    refreshPollGauges(metrics, pacer, () => true);
    expect(await series(registry, "soracom_esim_poll_budget_calls_per_minute")).toEqual([
      '{account="default",credentials="tenant:default"} 30',
      '{account="logistics",credentials="account"} 30',
    ]);
    expect(await registry.metrics()).not.toContain("secret:");
    refreshPollGauges(metrics, pacer, (name) => name !== "logistics");
    expect(await series(registry, "soracom_esim_poll_interval_effective_seconds")).toEqual([
      '{account="default",credentials="tenant:default"} 60',
    ]);
  });
});

describe("settled: which Soracom orders keep a status series", () => {
  // In flight, or FAILED until a person acknowledged it (the alert's series): kept. Done: dropped.
  const cases: Array<[string, boolean, boolean]> = [
    ...(["DRAFT", "CONFIRMED", "IN_PROGRESS", "Pending"] as const).flatMap(
      (s): Array<[string, boolean, boolean]> => [
        [s, false, false],
        [s, true, false],
      ],
    ),
    ...(["COMPLETED", "NotCreated", "Expired", "Cancelled", "Rejected"] as const).map(
      (s): [string, boolean, boolean] => [s, false, true],
    ),
    ["FAILED", false, false],
    ["FAILED", true, true],
    ["SOMETHING_NEW", false, false],
  ];
  it("covers every status the controller knows", () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set([...KNOWN_STATUSES, "SOMETHING_NEW"]));
  });
  it.each(cases)("%s (acknowledged: %s) settles: %s", (status, acknowledged, want) => {
    expect(settled(status, acknowledged)).toBe(want);
  });
});
