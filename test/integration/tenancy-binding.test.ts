import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { ACCOUNT_REF, GROUP, ORDER_REF, PROFILE_REF, VERSION } from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { MAX_ORDER_NAME } from "../../controller/order/profiles.js";
import { activationSecretName } from "../../controller/order/secret.js";
import { parseToken } from "../../controller/order/tokens.js";
import { namespaceName } from "../controlplane/fixture.js";
import { useCluster } from "../support/cluster.js";
import { type ControllerProcess, eventually, startControllerProcess } from "../support/controller-process.js";
import { condition } from "../support/e2e.js";
import { SIM_CREDENTIALS, type SimControl, type Simulator, startTestSimulator } from "../support/soracom-sim.js";
import { tenantIdentity } from "../support/tenants.js";

// Tenancy, round two (issue 24, defects 3 to 6), against the real apiserver with the chart's tenant role:
// each tenant acts with a ServiceAccount of its namespace bound to the chart's edit role. Judged by the
// Soracom orders each simulator holds for an EsimProfileOrder (by the UID in their descriptions) and the
// simulators' call counts.
const cluster = useCluster({ namespacePrefix: "binding" });
const admin = new KubeClient(cluster.kc);
const work = mkdtempSync(join(tmpdir(), "binding-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ns = {
  ops: namespaceName("ops"),
  team: namespaceName("team"),
  stray: namespaceName("stray"),
  listed: namespaceName("listed"),
};
const suffix = ns.team.slice(-6);
const acct = { a: `first-${suffix}`, b: `second-${suffix}`, c: `third-${suffix}` };
/** The closing table: scenario → what the simulators hold and were asked. */
const table: Array<[string, string]> = [];

let sims: { a: SimControl; b: SimControl; implicit: SimControl };
let running: Array<Simulator | ControllerProcess> = [];
let controller: ControllerProcess;
let tenant: Record<"team" | "stray" | "listed", KubeClient>;

/** tenantOf: a ServiceAccount of the namespace bound to the chart's tenant roles, as a client. */
const tenantOf = async (namespace: string): Promise<KubeClient> =>
  (await tenantIdentity(cluster, { namespace, operatorNamespace: ns.ops, dir: work, core: {} })).client;

const order = (client: KubeClient, namespace: string, name: string, spec: object) =>
  client.request<EsimProfileOrder>({
    method: "POST",
    path: resourcePath({ ...ORDER_REF, namespace }),
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: "EsimProfileOrder", metadata: { name }, spec },
  });

const read = (namespace: string, name: string) =>
  admin.request<EsimProfileOrder>({ path: resourcePath({ ...ORDER_REF, namespace }, name) });

/** ordersFor counts the Soracom orders a simulator holds for an EsimProfileOrder (its UID is in their token). */
async function ordersFor(sim: SimControl, uid: string | undefined): Promise<number> {
  const state = (await sim.state()) as { orders?: Array<{ description?: string }> };
  return (state.orders ?? []).filter((o) => parseToken(o.description)?.uid === uid).length;
}

async function ready(namespace: string, name: string, timeoutMs = 30_000): Promise<EsimProfileOrder> {
  return eventually(
    async () => {
      const o = await read(namespace, name);
      return condition(o, "Ready")?.status === "True" ? o : undefined;
    },
    {
      what: `${namespace}/${name} Ready`,
      timeoutMs,
      explain: async () => `status then: ${JSON.stringify((await read(namespace, name)).status)}`,
    },
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let implicitUrl = "";
async function startController(args: string[]): Promise<ControllerProcess> {
  const started = await startControllerProcess({
    controlPlane: cluster.info,
    soracomEndpoint: implicitUrl,
    namespaces: [ns.team, ns.stray, ns.listed],
    args: ["--operator-namespace", ns.ops, "--leader-election-namespace", ns.ops, ...args],
  });
  running.push(started);
  return started;
}

beforeAll(async () => {
  const labels = { [`binding-${suffix}`]: "team" };
  for (const [key, name] of Object.entries(ns))
    await admin.request({
      method: "POST",
      path: "/api/v1/namespaces",
      body: { metadata: { name, ...(key === "team" ? { labels } : {}) } },
    });
  const started = await Promise.all(
    [0, 1, 2].map(() => startTestSimulator({ confirmDelayMs: 300, inProgressDelayMs: 500 })),
  );
  const [a, b, implicit] = started as [(typeof started)[0], (typeof started)[0], (typeof started)[0]];
  sims = { a: a.control, b: b.control, implicit: implicit.control };
  running = started.map((s) => s.sim);
  // One Secret, two accounts (first, second): the same credentials, each account with its own endpoint.
  // A third account, on a Secret of its own, at the second endpoint.
  const data = Object.fromEntries(
    Object.entries(SIM_CREDENTIALS).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
  );
  for (const secret of ["shared", "own"])
    await admin.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns.ops}/secrets`,
      body: { metadata: { name: secret }, data },
    });
  const accounts: Array<[string, string, Simulator]> = [
    [acct.a, "shared", a.sim],
    [acct.b, "shared", b.sim],
    [acct.c, "own", b.sim],
  ];
  for (const [name, secret, sim] of accounts)
    await admin.request({
      method: "POST",
      path: resourcePath(ACCOUNT_REF),
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "SoracomAccount",
        metadata: { name },
        spec: { credentialsSecretRef: { name: secret }, namespaceSelector: { matchLabels: labels }, endpoint: sim.url },
      },
    });
  implicitUrl = implicit.sim.url;
  // Credentials in the environment too (the chart's credentials.existingSecret): the implicit account.
  controller = await startController(["--implicit-account-namespaces", ns.listed]);
  tenant = {
    team: await tenantOf(ns.team),
    stray: await tenantOf(ns.stray),
    listed: await tenantOf(ns.listed),
  };
}, 120_000);

afterAll(async () => {
  for (const r of running.reverse()) await ("stop" in r ? r.stop() : r.close()).catch(() => undefined);
  console.log(
    `tenancy-binding: what each scenario left at the simulators\n${table.map(([s, c]) => `  ${s}: ${c}`).join("\n")}`,
  );
});

describe("tenancy, round two: authority bound to what the controller recorded and the admin owns", () => {
  it("two accounts on one Secret with other endpoints: each account's orders reach its own endpoint", async () => {
    const first = await order(tenant.team, ns.team, "via-first", {
      subscription: "planX3",
      quantity: 1,
      accountRef: { name: acct.a },
    });
    const second = await order(tenant.team, ns.team, "via-second", {
      subscription: "planX3",
      quantity: 1,
      accountRef: { name: acct.b },
    });
    await ready(ns.team, "via-first");
    await ready(ns.team, "via-second");
    const held = {
      firstAtA: await ordersFor(sims.a, first.metadata.uid),
      firstAtB: await ordersFor(sims.b, first.metadata.uid),
      secondAtA: await ordersFor(sims.a, second.metadata.uid),
      secondAtB: await ordersFor(sims.b, second.metadata.uid),
    };
    table.push(["two accounts, one Secret", JSON.stringify(held)]);
    expect(held).toEqual({ firstAtA: 1, firstAtB: 0, secondAtA: 0, secondAtB: 1 });
  });

  it("accountRef edited while the create is in flight: one Soracom order only", async () => {
    // The create takes 1.5 s at the first account: long enough to edit the order meanwhile, to the third
    // account (another Secret, another endpoint), as a GitOps sync might.
    await sims.a.fault("createProfileOrder", "latency", 1, 1_500);
    const made = await order(tenant.team, ns.team, "swapped", {
      subscription: "planX3",
      quantity: 1,
      accountRef: { name: acct.a },
    });
    await eventually(
      async () =>
        ((await read(ns.team, "swapped")).status?.orders ?? []).some((t) => t.status === "Pending") || undefined,
      { what: "the create's intent recorded", timeoutMs: 15_000, intervalMs: 20 },
    );
    let refusal = "";
    try {
      await tenant.team.request({
        method: "PATCH",
        path: resourcePath({ ...ORDER_REF, namespace: ns.team }, "swapped"),
        contentType: "application/merge-patch+json",
        body: { spec: { accountRef: { name: acct.c } } },
      });
    } catch (err) {
      refusal = (err as Error).message;
    }
    const total = async () =>
      (await ordersFor(sims.a, made.metadata.uid)) + (await ordersFor(sims.b, made.metadata.uid));
    // Ready (on the account bound), or a second order somewhere: then past the create grace period (3 s),
    // when a create that was not found would have been made again.
    await eventually(
      async () =>
        condition(await read(ns.team, "swapped"), "Ready")?.status === "True" || (await total()) > 1 || undefined,
      { what: "swapped Ready or ordered twice", timeoutMs: 30_000 },
    );
    await sleep(5_000);
    const held = { atA: await ordersFor(sims.a, made.metadata.uid), atB: await ordersFor(sims.b, made.metadata.uid) };
    table.push(["accountRef edited mid-create", `${JSON.stringify(held)}; edit ${refusal ? "refused" : "accepted"}`]);
    expect(held.atA + held.atB).toBe(1);
    expect(refusal).toContain("spec.accountRef is immutable once the order has recorded an intent");
    expect((await read(ns.team, "swapped")).status?.account).toBe(acct.a);
  });

  it("names: an order too long to name its children is refused at apply; one at the limit is fully recorded", async () => {
    const name = (n: number) => `n${"x".repeat(n - 2)}n`;
    let refusal = "";
    const before = await sims.a.count("createProfileOrder");
    try {
      await order(tenant.team, ns.team, name(230), {
        subscription: "planX3",
        quantity: 1,
        accountRef: { name: acct.a },
      });
    } catch (err) {
      refusal = (err as Error).message;
    }
    const longest = await order(tenant.team, ns.team, name(MAX_ORDER_NAME), {
      subscription: "planX3",
      quantity: 2,
      accountRef: { name: acct.a },
    });
    await ready(ns.team, name(MAX_ORDER_NAME));
    const profiles = (
      await admin.request<{ items: EsimProfile[] }>({ path: resourcePath({ ...PROFILE_REF, namespace: ns.team }) })
    ).items.filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === longest.metadata.uid));
    let secrets = 0;
    for (const p of profiles) {
      await admin.request({
        path: `/api/v1/namespaces/${ns.team}/secrets/${activationSecretName(p.metadata.name ?? "")}`,
      });
      secrets++;
    }
    const creates = (await sims.a.count("createProfileOrder")) - before;
    table.push([
      "long names",
      `230 chars ${refusal ? "refused at apply" : "accepted"}; ${MAX_ORDER_NAME} chars: ${creates} create(s), ${profiles.length} profiles, ${secrets} activation Secrets`,
    ]);
    expect(refusal).toContain(`name is at most ${MAX_ORDER_NAME} characters`);
    expect(creates).toBe(1);
    expect(profiles).toHaveLength(2);
    expect(secrets).toBe(2);
  });

  it("once accounts exist, the implicit account serves only the namespaces listed for it", async () => {
    const stray = await order(tenant.stray, ns.stray, "unaccounted", { subscription: "planX3", quantity: 1 });
    // Stalled with the reason, or (the defect) ordered through the implicit account.
    const seen = await eventually(
      async () => {
        const o = await read(ns.stray, "unaccounted");
        if (condition(o, "Stalled")?.reason === "ImplicitAccountClosed") return o;
        return (await ordersFor(sims.implicit, stray.metadata.uid)) > 0 ? o : undefined;
      },
      { what: "unaccounted Stalled ImplicitAccountClosed", timeoutMs: 20_000 },
    );
    const listed = await order(tenant.listed, ns.listed, "listed", { subscription: "planX3", quantity: 1 });
    await ready(ns.listed, "listed");
    // The stray order had its chances: its stalled retries went on while the listed one was ordered.
    await sims.implicit.polls(() => true, 3, { timeoutMs: 15_000 });
    const held = {
      stray: await ordersFor(sims.implicit, stray.metadata.uid),
      listed: await ordersFor(sims.implicit, listed.metadata.uid),
    };
    const logged = controller.logs.some((l) => l.includes("--implicit-account-namespaces") && l.includes(ns.stray));
    const reason = condition(seen, "Stalled")?.reason ?? "none";
    table.push([
      "implicit account after accounts exist",
      `${JSON.stringify(held)}; stray Stalled ${reason}; logged ${logged}`,
    ]);
    expect(held).toEqual({ stray: 0, listed: 1 });
    expect(reason).toBe("ImplicitAccountClosed");
    expect(condition(seen, "Stalled")?.message).toContain("--implicit-account-namespaces");
    expect(logged).toBe(true);
  });

  it("the default account changed under a bound order: Stalled AccountChanged, nothing sent, until it goes back", async () => {
    // What CEL cannot see: the order names no account, and the controller's default account changes.
    await controller.stop();
    const before = await startController(["--default-account", acct.a]);
    const made = await order(tenant.team, ns.team, "defaulted", { subscription: "planX3", quantity: 1 });
    await ready(ns.team, "defaulted");
    await before.stop();
    controller = await startController(["--default-account", acct.c]);
    await tenant.team.request({
      method: "PATCH",
      path: resourcePath({ ...ORDER_REF, namespace: ns.team }, "defaulted"),
      contentType: "application/merge-patch+json",
      body: { spec: { quantity: 2 } },
    });
    // Stalled with the reason, or (the defect) ordered at the new default account's endpoint.
    const seen = await eventually(
      async () => {
        const o = await read(ns.team, "defaulted");
        if (condition(o, "Stalled")?.reason === "AccountChanged") return o;
        return (await ordersFor(sims.b, made.metadata.uid)) > 0 ? o : undefined;
      },
      { what: "defaulted Stalled AccountChanged", timeoutMs: 20_000 },
    );
    await sleep(4_000); // past the create grace period: its stalled rounds had their chances
    const whileChanged = {
      atA: await ordersFor(sims.a, made.metadata.uid),
      atB: await ordersFor(sims.b, made.metadata.uid),
    };
    // Going back, as the condition says: the account the order is bound to, named.
    await tenant.team.request({
      method: "PATCH",
      path: resourcePath({ ...ORDER_REF, namespace: ns.team }, "defaulted"),
      contentType: "application/merge-patch+json",
      body: { spec: { accountRef: { name: acct.a } } },
    });
    await ready(ns.team, "defaulted");
    const after = { atA: await ordersFor(sims.a, made.metadata.uid), atB: await ordersFor(sims.b, made.metadata.uid) };
    const reason = condition(seen, "Stalled")?.reason ?? "none";
    table.push([
      "default account changed",
      `while changed ${JSON.stringify(whileChanged)} (${reason}); back ${JSON.stringify(after)}`,
    ]);
    expect(reason).toBe("AccountChanged");
    expect(condition(seen, "Stalled")?.message).toContain(`Set spec.accountRef.name back to ${acct.a}`);
    expect(whileChanged).toEqual({ atA: 1, atB: 0 });
    expect(after).toEqual({ atA: 2, atB: 0 });
  });
});
