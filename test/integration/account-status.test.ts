import { describe, expect, it, onTestFinished } from "vitest";
import type { SoracomAccount } from "../../controller/api/types.js";
import { ACCOUNT_REF, ANNOTATIONS, ORDER_REF } from "../../controller/api/vocabulary.js";
import { resourcePath } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { condition, lendAccount, useE2E } from "../support/e2e.js";

// Issue 25: a SoracomAccount's status tells the truth within seconds of what moves it (a ledger write, a
// resume, a namespace starting to use it), not at the next resync a minute later; and a field that no
// longer applies (the pause after a resume) is gone from it, not left behind by a merge patch.

const cluster = useCluster({ namespacePrefix: "acct-status" });
const e2e = useE2E(cluster);
/** Within this long of the change, the status must show it (the resync is 60 s). */
const WITHIN_MS = 5_000;

async function setup(spec: Record<string, unknown>) {
  const { sim, control } = await e2e.simulator();
  await cluster.core
    .createNamespacedSecret({
      namespace: cluster.namespace,
      body: {
        metadata: { name: "soracom" },
        stringData: { authKeyId: "keyId-simulator", authKey: "secret-simulator" },
      },
    })
    .catch(() => undefined);
  const account = await lendAccount(e2e.kube, {
    namespace: cluster.namespace,
    secret: "soracom",
    endpoint: sim.url,
    spec,
  });
  onTestFinished(account.remove);
  return { sim, control, account };
}

const readAccount = (name: string) => e2e.kube.request<SoracomAccount>({ path: resourcePath(ACCOUNT_REF, name) });

/** configMap reads a ledger of the account (the controller's namespace is the test's). */
const ledger = (account: string, kind: "spend" | "termination") =>
  cluster.core
    .readNamespacedConfigMap({ namespace: cluster.namespace, name: `soracom-esim-operator-${account}-${kind}-ledger` })
    .catch(() => undefined);

describe("SoracomAccount status, within seconds", () => {
  it("an account that spent 5 of 5 reads 0 left, 5 used and the namespace using it, within seconds of the ledger write; BudgetExceeded names the account's spec", async () => {
    const { sim, account } = await setup({ budgets: { spend: { limit: 5, window: "24h" } } });
    await e2e.controller(sim, { credentials: null });
    await eventually(async () => condition(await readAccount(account.name), "Ready")?.status === "True", {
      what: "the account Ready",
    });
    await e2e.applyOrder("fleet", { subscription: "planX3", quantity: 5, accountRef: { name: account.name } });
    await eventually(
      async () => {
        const cm = await ledger(account.name, "spend");
        const entries = JSON.parse(cm?.data?.ledger ?? "[]") as Array<{ q: number }>;
        return entries.reduce((n, e) => n + e.q, 0) === 5;
      },
      { intervalMs: 50, what: "5 profiles in the spend ledger" },
    );
    const status = await eventually(
      async () => {
        const s = (await readAccount(account.name)).status;
        const spend = s?.budgets?.spend;
        return spend?.used === 5 && spend.remaining === 0 && s?.namespaces?.includes(cluster.namespace) ? s : undefined;
      },
      {
        timeoutMs: WITHIN_MS,
        intervalMs: 100,
        what: `the account's status to show 5 of 5 spent and namespace ${cluster.namespace}`,
        explain: async () => JSON.stringify((await readAccount(account.name)).status?.budgets),
      },
    );
    expect(status.budgets?.spend).toMatchObject({ limit: 5, used: 5, remaining: 0, window: "24h" });

    // One more profile: refused, and the message names where the 5 comes from.
    await e2e.applyOrder("more", { subscription: "planX3", quantity: 1, accountRef: { name: account.name } });
    const stalled = await eventually(async () => {
      const c = condition(await e2e.order("more"), "Stalled");
      return c?.reason === "BudgetExceeded" ? c : undefined;
    });
    expect(stalled.message).toContain(`5 per 24h, set in SoracomAccount ${account.name} spec.budgets.spend`);
    expect(stalled.message).not.toContain("--spend-budget");
  });

  it("a resume removes the pause from the status within seconds: no pausedSince, no pauseId, no TerminationsPaused", async () => {
    const { sim, account } = await setup({ budgets: { termination: { limit: 3, window: "1h" } } });
    // Terminations were paused before the controller started (the budget ran out on an earlier run).
    await cluster.core.createNamespacedConfigMap({
      namespace: cluster.namespace,
      body: {
        metadata: { name: `soracom-esim-operator-${account.name}-termination-ledger` },
        data: { ledger: "[]", pause: JSON.stringify({ id: "p-test", since: Date.now() - 60_000 }) },
      },
    });
    await e2e.controller(sim, { credentials: null });
    const paused = await eventually(
      async () => {
        const a = await readAccount(account.name);
        return a.status?.budgets?.termination?.pauseId === "p-test" ? a : undefined;
      },
      { what: "the pause in the account's status" },
    );
    expect(paused.status?.budgets?.termination).toMatchObject({ remaining: 0, pausedSince: expect.any(String) });
    expect(condition(paused, "TerminationsPaused")?.status).toBe("True");

    await e2e.kube.request({
      method: "PATCH",
      path: resourcePath(ACCOUNT_REF, account.name),
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { [ANNOTATIONS.resumeTerminations]: "p-test" } } },
    });
    const resumed = await eventually(
      async () => {
        const a = await readAccount(account.name);
        const t = a.status?.budgets?.termination;
        return t && t.pausedSince === undefined && t.pauseId === undefined && t.remaining === 3 ? a : undefined;
      },
      {
        timeoutMs: WITHIN_MS,
        intervalMs: 100,
        what: "the pause gone from the account's status",
        explain: async () => JSON.stringify((await readAccount(account.name)).status),
      },
    );
    expect(condition(resumed, "TerminationsPaused")).toBeUndefined();
    expect(resumed.status?.conditions?.filter((c) => c.status === "False" && c.message === "")).toEqual([]);
    // kubectl get shows READY and REASON, and no PAUSED time any more.
    const table = await e2e.kubectl(["get", "soracomaccount", account.name, "-o", "wide"]);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+REASON\s/);
    expect(table.stdout).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
  });

  it("a namespace that starts or stops using the account shows in status.namespaces within seconds", async () => {
    const { sim, account } = await setup({});
    await e2e.controller(sim, { credentials: null });
    await eventually(async () => condition(await readAccount(account.name), "Ready")?.status === "True", {
      what: "the account Ready",
    });
    const namespaces = async () => (await readAccount(account.name)).status?.namespaces ?? [];
    expect(await namespaces()).toEqual([]);
    // A paused order orders nothing, but uses the account all the same.
    await e2e.applyOrder("idle", {
      subscription: "planX3",
      quantity: 1,
      paused: true,
      accountRef: { name: account.name },
    });
    await eventually(async () => (await namespaces()).includes(cluster.namespace), {
      timeoutMs: WITHIN_MS,
      intervalMs: 100,
      what: `namespace ${cluster.namespace} in the account's status.namespaces`,
    });
    await e2e.kube.request({
      method: "DELETE",
      path: resourcePath({ ...ORDER_REF, namespace: cluster.namespace }, "idle"),
    });
    await eventually(async () => (await namespaces()).length === 0, {
      timeoutMs: WITHIN_MS,
      intervalMs: 100,
      what: "no namespace in the account's status.namespaces once the order is gone",
    });
  });

  it("a termination that finds the budget used up pauses, and the account reads 0 left and the pause within seconds", async () => {
    const { sim, control, account } = await setup({
      adoption: { allowed: true, terminate: true },
      budgets: { termination: { limit: 1, window: "1h" } },
    });
    await e2e.controller(sim, { credentials: null });
    const names = ["device-1", "device-2"];
    for (const name of names) {
      const { simId } = await control.createSim();
      await e2e.applyProfile(name, { simId, deletionPolicy: "Terminate", accountRef: { name: account.name } });
    }
    await eventually(
      async () => (await e2e.profiles()).every((p) => p.status?.simId && p.metadata.finalizers?.length),
      { what: "both profiles managed" },
    );
    await Promise.all(names.map((n) => e2e.deleteProfile(n)));
    await eventually(
      async () => (await e2e.profiles()).some((p) => condition(p, "TerminationsPaused")?.status === "True"),
      { what: "a profile waiting with TerminationsPaused", intervalMs: 100 },
    );
    const status = await eventually(
      async () => {
        const s = (await readAccount(account.name)).status;
        return s?.budgets?.termination?.pauseId && s.budgets.termination.remaining === 0 ? s : undefined;
      },
      {
        timeoutMs: WITHIN_MS,
        intervalMs: 100,
        what: "the account's status to show the pause and 0 terminations left",
        explain: async () => JSON.stringify((await readAccount(account.name)).status?.budgets),
      },
    );
    expect(status.budgets?.termination).toMatchObject({ limit: 1, used: 1, window: "1h" });
    expect(condition({ status }, "TerminationsPaused")?.status).toBe("True");
  });
});
