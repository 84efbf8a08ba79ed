import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import type { EsimProfileOrder, SoracomAccount } from "../../controller/api/types.js";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { resourcePath } from "../../controller/kube/rest.js";
import { orderDescription, orderToken, parseToken } from "../../controller/order/tokens.js";
import { useCluster } from "../support/cluster.js";
import { type ControllerProcess, eventually, metricValue } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";
import { testClient } from "../support/soracom-sim.js";

// Two shards on one control plane: two controller processes, each owning the namespaces with its value of
// one label, each with its own Lease, both ordering from one SoracomAccount. Judged from the outside: the
// simulator's call log (who called about which order), the controllers' logs and metrics, the Leases and
// the account's ledger. No object may be handled by both, no order may be created twice, no draft of the
// other shard cancelled, and the account's spend budget holds across both shards (their wants exceed it).

const cluster = useCluster();
const e2e = useE2E(cluster);

const ORDERS = { group: GROUP, version: VERSION, plural: "esimprofileorders" };
const ACCOUNTS = { group: GROUP, version: VERSION, plural: "soracomaccounts" };
const SPEND_LIMIT = 30;

interface SimOrder {
  profileOrderId: string;
  description?: string;
  quantity: number;
  status: string;
}

describe("sharding past one replica", () => {
  it("two shards own disjoint namespaces: nothing handled by both, nothing ordered twice or cancelled, one spend budget", async () => {
    const { sim, control } = await e2e.simulator();
    // Short namespace names: an order's description (token, then namespace/name, cut at 100 characters)
    // keeps them whole, so each shard can tell its orphans from the other's. The test's own namespace is
    // the operator's: credentials, Leases and ledgers.
    const op = cluster.namespace;
    const id = randomBytes(3).toString("hex");
    const label = `esim-test-${id}`; // only this test's namespaces carry it
    const nsA = `shard-a-${id}`;
    const nsB = `shard-b-${id}`;
    for (const [ns, shard] of [
      [nsA, "a"],
      [nsB, "b"],
    ] as const)
      await cluster.core.createNamespace({
        body: { metadata: { name: ns, labels: { [`esim.example/${label}`]: shard } } },
      });

    // One account for both shards, its credentials and ledgers in the operator's namespace.
    await cluster.core.createNamespacedSecret({
      namespace: op,
      body: {
        metadata: { name: "soracom" },
        stringData: { authKeyId: "keyId-simulator", authKey: "secret-simulator" },
      },
    });
    const account = `acct-${label}`;
    await e2e.kube.request({
      method: "POST",
      path: resourcePath(ACCOUNTS),
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "SoracomAccount",
        metadata: { name: account },
        spec: {
          credentialsSecretRef: { name: "soracom" },
          namespaceSelector: { matchExpressions: [{ key: `esim.example/${label}`, operator: "Exists" }] },
          endpoint: sim.url,
          budgets: { spend: { limit: SPEND_LIMIT } },
        },
      },
    });
    onTestFinished(async () => {
      await e2e.kube.request({ method: "DELETE", path: resourcePath(ACCOUNTS, account) }).catch(() => undefined);
    });

    // Orphans at Soracom: drafts of resources that are gone, one naming each namespace.
    const client = testClient(sim);
    const orphanOf = async (ns: string) =>
      (
        await client.createProfileOrder({
          subscription: "planX3",
          quantity: 1,
          description: orderDescription(orderToken(randomUUID(), 1), ns, "gone"),
        })
      ).profileOrderId;
    const orphans = { [nsA]: await orphanOf(nsA), [nsB]: await orphanOf(nsB) };
    await client.close();

    const shardArgs = (shard: string) => [
      ...["--shard-selector", `esim.example/${label}=${shard}`, "--shard-name", shard],
      ...["--leader-elect", "--leader-election-namespace", op, "--operator-namespace", op],
      ...["--orphan-sweep-interval", "1s", "--soracom-requests-per-second", "100"],
    ];
    const ctl = {
      a: await e2e.controller(sim, { namespaces: [], credentials: null, args: shardArgs("a") }),
      b: await e2e.controller(sim, { namespaces: [], credentials: null, args: shardArgs("b") }),
    };
    // Each shard leads on its own Lease, as the chart's ServiceAccount (the controller's identity here).
    for (const shard of ["a", "b"] as const)
      await eventually(async () => metricValue(await ctl[shard].metrics(), "soracom_esim_leader") === 1, {
        what: `shard ${shard} leads on soracom-esim-operator-${shard}`,
      });
    const owner = (ns: string) => (ns === nsA ? "a" : "b");

    // Each namespace: a draft awaiting approval (first, so that it fits the budget), then a fleet.
    const apply = (ns: string, name: string, spec: Record<string, unknown>) =>
      e2e.kube.request({
        method: "POST",
        path: resourcePath({ ...ORDERS, namespace: ns }),
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: "EsimProfileOrder", metadata: { name }, spec },
      });
    const get = (ns: string, name: string) =>
      e2e.kube.request<EsimProfileOrder>({ path: resourcePath({ ...ORDERS, namespace: ns }, name) });
    for (const ns of [nsA, nsB])
      await apply(ns, "awaiting", {
        subscription: "planX3",
        quantity: 1,
        confirmation: "Manual",
        accountRef: { name: account },
      });
    for (const ns of [nsA, nsB])
      await eventually(async () => (await get(ns, "awaiting")).status?.orders?.[0]?.status === "DRAFT", {
        what: `the draft awaiting approval in ${ns}`,
      });
    // 20 + 20 more wanted, 28 left in the shared budget: the shards together may order only what is left.
    for (const ns of [nsA, nsB])
      await apply(ns, "fleet", {
        subscription: "planX3",
        quantity: 20,
        maxProfilesPerOrder: 10,
        accountRef: { name: account },
      });

    const settled = async () => {
      const fleets = await Promise.all([get(nsA, "fleet"), get(nsB, "fleet")]);
      const done = fleets.every((o) => {
        const tracked = o.status?.orders ?? [];
        const completed = tracked.filter((t) => t.status === "COMPLETED").reduce((n, t) => n + t.quantity, 0);
        return (
          tracked.every((t) => t.status === "COMPLETED") &&
          o.status?.totals?.provisioned === completed &&
          (completed === 20 || condition(o, "Stalled")?.reason === "BudgetExceeded")
        );
      });
      const state = (await control.state()) as { orders: SimOrder[] };
      const orphansGone = !state.orders.some((o) => Object.values(orphans).includes(o.profileOrderId));
      return done && orphansGone ? { fleets, state } : undefined;
    };
    await eventually(settled, { timeoutMs: 90_000, what: "both fleets settled and both orphans cancelled" }).catch(
      async (err) => {
        const dump = {
          a: (await get(nsA, "fleet")).status,
          b: (await get(nsB, "fleet")).status,
          sim: await control.state(),
        };
        process.stderr.write(`${JSON.stringify(dump, null, 1)}\n`);
        throw err;
      },
    );
    // Every shard has swept several more times since: another shard's draft had every chance to be cancelled.
    await control.polls("listProfileOrders", 6);
    const { fleets, state } = (await settled())!;

    // Leases: one per shard, each held by its own process; the agents in the call log name those holders.
    const holder = async (shard: string) =>
      (await cluster.coordination.readNamespacedLease({ name: `soracom-esim-operator-${shard}`, namespace: op })).spec
        ?.holderIdentity;
    const agent = {
      a: `soracom-esim-operator (${await holder("a")})`,
      b: `soracom-esim-operator (${await holder("b")})`,
    };
    expect(agent.a).not.toBe(agent.b);

    // The simulator's call log: every call about an order came from the shard owning its namespace.
    const nsOf = new Map<string, string>();
    for (const o of state.orders) {
      const ns = /\s([^/\s]+)\//.exec(o.description ?? "")?.[1];
      if (ns) nsOf.set(o.profileOrderId, ns);
    }
    for (const [ns, id] of Object.entries(orphans)) nsOf.set(id, ns);
    const { calls } = await control.calls();
    const aboutOrders = calls.filter((c) => /\/sim_profile_orders\/[^/?]+/.test(c.path));
    expect(aboutOrders.length).toBeGreaterThan(0);
    for (const c of aboutOrders) {
      const id = /\/sim_profile_orders\/([^/?]+)/.exec(c.path)![1]!;
      expect(c.agent, `${c.operation} ${id}`).toBe(agent[owner(nsOf.get(id) ?? "") as "a" | "b"]);
    }
    // Creates: as many from each shard as its namespace has orders; no token twice.
    const ours = state.orders.filter((o) => parseToken(o.description));
    for (const shard of ["a", "b"] as const) {
      const creates = calls.filter((c) => c.operation === "createProfileOrder" && c.agent === agent[shard]).length;
      expect(creates, `creates by shard ${shard}`).toBe(
        ours.filter((o) => owner(nsOf.get(o.profileOrderId)!) === shard).length,
      );
    }
    const tokens = ours.map((o) => /^\S+/.exec(o.description!)![0]);
    expect(new Set(tokens).size).toBe(tokens.length);
    // Cancelled: exactly the two orphans, each by its own namespace's shard; both drafts awaiting approval live.
    const deletes = calls.filter((c) => c.operation === "deleteProfileOrder" && c.status === 204);
    expect(deletes.map((c) => [/\/sim_profile_orders\/([^/?]+)/.exec(c.path)![1], c.agent]).sort()).toEqual(
      Object.entries(orphans)
        .map(([ns, id]) => [id, agent[owner(ns) as "a" | "b"]])
        .sort(),
    );
    for (const ns of [nsA, nsB]) expect((await get(ns, "awaiting")).status?.orders?.[0]?.status).toBe("DRAFT");

    // One spend budget across both shards: what Soracom holds is what the one ledger recorded, within it.
    const ordered = ours.reduce((n, o) => n + o.quantity, 0);
    expect(ordered).toBeLessThanOrEqual(SPEND_LIMIT);
    expect(fleets.some((o) => condition(o, "Stalled")?.reason === "BudgetExceeded")).toBe(true);
    const ledger = await cluster.core.readNamespacedConfigMap({
      name: `soracom-esim-operator-${account}-spend-ledger`,
      namespace: op,
    });
    const entries = JSON.parse(ledger.data?.ledger ?? "[]") as Array<{ k: string; q: number }>;
    expect(entries.map((e) => e.k).sort()).toEqual([...tokens].sort());
    expect(entries.reduce((n, e) => n + e.q, 0)).toBe(ordered);

    // Logs and metrics: each process reconciled and reported only its own namespace's objects.
    for (const [shard, proc] of Object.entries(ctl) as Array<["a" | "b", ControllerProcess]>) {
      const mine = shard === "a" ? nsA : nsB;
      const other = shard === "a" ? nsB : nsA;
      const keys = reconciledKeys(proc.logs);
      expect(keys.length, `shard ${shard} reconciled something`).toBeGreaterThan(0);
      expect(
        keys.filter((k) => !k.startsWith(`${mine}/`)),
        `shard ${shard} reconciled only ${mine}`,
      ).toEqual([]);
      // The gauges are counted from the caches every 5 s.
      const metrics = await eventually(
        async () => {
          const text = await proc.metrics();
          return (metricValue(text, "soracom_esim_profiles", { namespace: mine }) ?? 0) > 0 ? text : undefined;
        },
        { what: `shard ${shard}: its profiles in soracom_esim_profiles` },
      );
      expect(metrics).not.toContain(`namespace="${other}"`);
    }

    // The account's status: one entry per shard under status.polling, written by each shard.
    await e2e.kube.request({
      method: "PATCH",
      path: resourcePath(ACCOUNTS, account),
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { "esim.example/touch": "1" } } },
    });
    const status = await eventually(
      async () => {
        const a = await e2e.kube.request<SoracomAccount>({ path: resourcePath(ACCOUNTS, account) });
        return a.status?.polling?.a && a.status.polling.b && a.status.budgets?.spend?.used === ordered
          ? a.status
          : undefined;
      },
      { timeoutMs: 30_000, what: `status.polling of both shards, and ${ordered} spent in status.budgets` },
    );
    expect(status.budgets?.spend?.remaining).toBe(SPEND_LIMIT - ordered);

    // Moving a namespace is relabelling it: shard a takes nsB's objects up, shard b lets go of them.
    const movedAt = (await control.clock()).now;
    await e2e.kube.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${nsB}`,
      contentType: "application/merge-patch+json",
      body: { metadata: { labels: { [`esim.example/${label}`]: "a" } } },
    });
    await eventually(
      async () => {
        const [a, b] = [await ctl.a.metrics(), await ctl.b.metrics()];
        // Counters keep what shard b did before the move (it confirmed nsB's orders); no gauge series stays.
        const gaugesOf = (text: string) =>
          text.split("\n").filter((l) => l.includes(`namespace="${nsB}"`) && !/^[a-z_]+_total\{/.test(l));
        return (metricValue(a, "soracom_esim_profiles", { namespace: nsB }) ?? 0) > 0 && gaugesOf(b).length === 0;
      },
      { what: `${nsB}'s series move from shard b to shard a` },
    );
    const bOrders = new Set(ours.filter((o) => nsOf.get(o.profileOrderId) === nsB).map((o) => o.profileOrderId));
    await control.polls(
      (c) => c.at > movedAt && bOrders.has(/\/sim_profile_orders\/([^/?]+)/.exec(c.path)?.[1] ?? ""),
      2,
    );
    const after = (await control.calls()).calls.filter((c) => c.at > movedAt);
    for (const c of after) {
      const id = /\/sim_profile_orders\/([^/?]+)/.exec(c.path)?.[1];
      if (id && bOrders.has(id)) expect(c.agent, `${c.operation} ${id} after the move`).toBe(agent.a);
    }
    expect(after.filter((c) => c.operation === "createProfileOrder" || c.operation === "deleteProfileOrder")).toEqual(
      [],
    );
  });
});

/** reconciledKeys are the namespace/name keys a controller process reconciled (its debug log). */
function reconciledKeys(logs: readonly string[]): string[] {
  const keys: string[] = [];
  for (const line of logs) {
    if (!line.includes('"msg":"reconciling"')) continue;
    const entry = JSON.parse(line) as { controller?: string; key?: string };
    if (entry.controller === "esimprofileorder" || entry.controller === "esimprofile") keys.push(entry.key ?? "");
  }
  return keys;
}
