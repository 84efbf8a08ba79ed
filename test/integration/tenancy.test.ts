import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import {
  ACCOUNT_REF,
  ANNOTATIONS,
  GROUP,
  ORDER_REF,
  PROFILE_REF,
  RETIRED_ANNOTATIONS,
  VERSION,
} from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { namespaceName } from "../controlplane/fixture.js";
import { useCluster } from "../support/cluster.js";
import {
  type ControllerProcess,
  eventually,
  reconciledAfterTouches,
  startControllerProcess,
} from "../support/controller-process.js";
import { condition } from "../support/e2e.js";
import { SIM_CREDENTIALS, type SimControl, type Simulator, startTestSimulator } from "../support/soracom-sim.js";
import { buildPlugin, runPlugin } from "./plugin-support.js";
import { tenantIdentity } from "./tenant-support.js";

// Tenancy against the real apiserver with real RBAC: every tenant acts with a ServiceAccount token of its
// own namespace, bound to the chart's aggregated roles; the cluster admin sets up SoracomAccounts. Each
// attack the issue lists is tried, and judged by the Soracom calls it caused (the simulators' call logs,
// and a local server's request count): where the operator must refuse, the count is zero.
const cluster = useCluster({ namespacePrefix: "tenancy" });
const admin = new KubeClient(cluster.kc);
const suffix = randomBytes(3).toString("hex");

const ns = { ops: namespaceName("ops"), a: namespaceName("team-a"), b: namespaceName("team-b") };
const acct = { a: `team-a-${suffix}`, b: `team-b-${suffix}`, t: `byo-${suffix}` };
/** What each scenario caused, for the closing table: scenario → Soracom calls (mutating calls). */
const table: Array<[string, string]> = [];

interface World {
  running: Array<Simulator | ControllerProcess>;
  controller: ControllerProcess;
  simA: SimControl;
  simB: SimControl;
  crafted: CountingServer;
  trap: CountingServer;
  tenant: { a: KubeClient; b: KubeClient };
  kubeconfig: { a: string; b: string };
}
let w: World;

/** CountingServer answers like Soracom's API from a simulator, or by hand, and counts what reached it. */
class CountingServer {
  requests: string[] = [];
  private server!: http.Server;
  url = "";
  constructor(
    private readonly answer: (req: http.IncomingMessage, body: string) => Promise<{ status: number; body: string }>,
  ) {}
  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        this.requests.push(`${req.method} ${req.url}`);
        void this.answer(req, body).then(
          (a) => res.writeHead(a.status, { "content-type": "application/json" }).end(a.body),
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const calls = async (sim: SimControl) => (await sim.calls()).calls;
/**
 * caused: calls an object could have caused. Logging in (the account controller tries each account's
 * credentials) and listing every order (the orphan sweep) go on in the background whatever tenants do.
 */
const caused = (cs: Array<{ operation: string; path: string }>) =>
  cs.filter(
    (c) =>
      c.operation !== "auth" && c.operation !== "listProfileOrders" && !(teamA.order && c.path.includes(teamA.order)),
  ).length;
/** Team A's Ready order: its stable polls go on in the background too. */
const teamA = { order: "" };
const craftedCaused = (requests: string[]) =>
  requests.filter((r) => !r.startsWith("POST /v1/auth") && !/^GET \/v1\/sim_profile_orders(\?|$)/.test(r)).length;
const mutating = (cs: Array<{ method: string; path: string }>) =>
  cs.filter((c) => c.method !== "GET" && !c.path.startsWith("/v1/auth")).length;

const secret = (namespace: string, name: string, data: Record<string, string>) =>
  admin.request({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/secrets`,
    body: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
    },
  });

const account = (name: string, spec: Record<string, unknown>) =>
  admin.request({
    method: "POST",
    path: resourcePath(ACCOUNT_REF),
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: "SoracomAccount", metadata: { name }, spec },
  });

const apply = (
  client: KubeClient,
  namespace: string,
  kind: "EsimProfileOrder" | "EsimProfile",
  name: string,
  spec: object,
) =>
  client.request<EsimProfileOrder & EsimProfile>({
    method: "POST",
    path: resourcePath({ ...(kind === "EsimProfile" ? PROFILE_REF : ORDER_REF), namespace }),
    body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, spec },
  });

const read = (namespace: string, kind: "order" | "profile", name: string) =>
  admin.request<EsimProfileOrder & EsimProfile>({
    path: resourcePath({ ...(kind === "profile" ? PROFILE_REF : ORDER_REF), namespace }, name),
  });

/**
 * reconciledAgain touches an object (an annotation: every update is queued) twice and waits for a
 * reconcile after each, so that "it caused nothing" has been given its chances.
 */
function reconciledAgain(namespace: string, kind: "order" | "profile", name: string): Promise<void> {
  return reconciledAfterTouches(w.controller, kind === "profile" ? "esimprofile" : "esimprofileorder", (v) =>
    admin.request({
      method: "PATCH",
      path: resourcePath({ ...(kind === "profile" ? PROFILE_REF : ORDER_REF), namespace }, name),
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { "test.example/touch": v } } },
    }),
  );
}

async function stalledWith(namespace: string, kind: "order" | "profile", name: string, reason: string) {
  return eventually(
    async () => {
      const o = await read(namespace, kind, name);
      return condition(o, "Stalled")?.status === "True" && condition(o, "Stalled")?.reason === reason ? o : undefined;
    },
    {
      what: `${namespace}/${name} Stalled ${reason}`,
      explain: async () => `status then: ${JSON.stringify((await read(namespace, kind, name)).status)}`,
    },
  );
}

beforeAll(async () => {
  await buildPlugin();
  for (const [key, name] of Object.entries(ns)) {
    const labels = key === "ops" ? {} : { "tenancy-test": `${key}-${suffix}` };
    await admin.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name, labels } } });
  }
  const simA = await startTestSimulator({ confirmDelayMs: 300, inProgressDelayMs: 500 });
  // Another Soracom operator: SIM claims are per operator, and two simulators number their SIMs alike.
  const simB = await startTestSimulator({ confirmDelayMs: 300, inProgressDelayMs: 500, operatorId: "OP0000000002" });
  // Team B's account endpoint: Soracom's answers (from simulator B), except that a GET of an order answers
  // with the body of an order of team A (a crafted answer naming another tenant's order).
  let teamAOrder = "";
  const crafted = new CountingServer(async (req, body) => {
    const getOrder = req.method === "GET" && /^\/v1\/sim_profile_orders\/[^/]+$/.test(req.url ?? "");
    if (getOrder && teamAOrder) {
      const res = await fetch(`${simA.sim.url}/_sim/state`);
      const order = ((await res.json()) as { orders: Array<{ profileOrderId: string }> }).orders.find(
        (o) => o.profileOrderId === teamAOrder,
      );
      return { status: 200, body: JSON.stringify({ ...order, status: "COMPLETED" }) };
    }
    const res = await fetch(`${simB.sim.url}${req.url}`, {
      method: req.method ?? "GET",
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k.startsWith("x-soracom") || k === "content-type"),
      ) as Record<string, string>,
      ...(body ? { body } : {}),
    });
    return { status: res.status, body: await res.text() };
  });
  await crafted.start();
  const trap = new CountingServer(async () => ({ status: 200, body: "{}" }));
  await trap.start();

  await secret(ns.ops, "creds-a", SIM_CREDENTIALS);
  await secret(ns.ops, "creds-b", SIM_CREDENTIALS);
  await account(acct.a, {
    credentialsSecretRef: { name: "creds-a" },
    namespaceSelector: { matchLabels: { "tenancy-test": `a-${suffix}` } },
    endpoint: simA.sim.url,
    adoption: { allowed: true, terminate: false },
  });
  await account(acct.b, {
    credentialsSecretRef: { name: "creds-b" },
    namespaceSelector: { matchLabels: { "tenancy-test": `b-${suffix}` } },
    endpoint: crafted.url,
  });
  await account(acct.t, {
    credentialsSecretRef: { name: "creds-a" },
    namespaceSelector: { matchLabels: { "tenancy-test": `a-${suffix}` } },
    endpoint: simA.sim.url,
    tenantCredentials: { allowed: true },
  });
  const controller = await startControllerProcess({
    controlPlane: cluster.info,
    // Its accounts allow tenant credentials: the chart grants reading them with accounts.tenantCredentials.
    chart: { tenantCredentials: true },
    soracomEndpoint: simA.sim.url,
    credentials: null,
    namespaces: [ns.a, ns.b],
    args: ["--operator-namespace", ns.ops, "--leader-election-namespace", ns.ops],
  });
  const a = await tenantIdentity(cluster, ns.a, ns.ops);
  const b = await tenantIdentity(cluster, ns.b, ns.ops);
  w = {
    running: [simA.sim, simB.sim, controller],
    controller,
    simA: simA.control,
    simB: simB.control,
    crafted,
    trap,
    tenant: { a: a.client, b: b.client },
    kubeconfig: { a: a.kubeconfig, b: b.kubeconfig },
  };
  // Team A's order whose ID the crafted server will name (made and Ready before team B starts).
  await apply(w.tenant.a, ns.a, "EsimProfileOrder", "fleet", {
    subscription: "planX3",
    quantity: 1,
    accountRef: { name: acct.a },
  });
  const ready = await eventually(
    async () => {
      const o = await read(ns.a, "order", "fleet");
      return condition(o, "Ready")?.status === "True" ? o : undefined;
    },
    { timeoutMs: 60_000, what: "team A's order Ready" },
  );
  teamAOrder = ready.status?.orders?.[0]?.profileOrderId ?? "";
  teamA.order = teamAOrder;
}, 180_000);

afterAll(async () => {
  if (!w) return;
  for (const r of w.running) await ("stop" in r ? r.stop() : r.close()).catch(() => undefined);
  await w.crafted.close();
  await w.trap.close();
  for (const name of Object.values(acct))
    await admin.request({ method: "DELETE", path: resourcePath(ACCOUNT_REF, name) }).catch(() => undefined);
  console.log(
    ["", "| Attack | Soracom calls it caused |", "|---|---|", ...table.map(([a, c]) => `| ${a} | ${c} |`)].join("\n"),
  );
});

describe("tenancy: what a tenant can and cannot make the operator do", () => {
  it("a tenant referencing another team's account: Stalled NamespaceNotAllowed, zero Soracom calls", async () => {
    const before = craftedCaused(w.crafted.requests) + caused(await calls(w.simA));
    await apply(w.tenant.a, ns.a, "EsimProfileOrder", "steal", {
      subscription: "planX3",
      quantity: 5,
      accountRef: { name: acct.b },
    });
    const o = await stalledWith(ns.a, "order", "steal", "NamespaceNotAllowed");
    expect(condition(o, "Stalled")?.message).toContain(`SoracomAccount ${acct.b} does not select namespace ${ns.a}`);
    await reconciledAgain(ns.a, "order", "steal");
    const after = craftedCaused(w.crafted.requests) + caused(await calls(w.simA));
    table.push(["order in team A naming team B's account", String(after - before)]);
    expect(after - before).toBe(0);
  });

  it("adopting under an account that does not allow it: Stalled AdoptionNotAllowed, zero calls", async () => {
    const before = craftedCaused(w.crafted.requests);
    const sim = await w.simB.createSim();
    await apply(w.tenant.b, ns.b, "EsimProfile", "grab", {
      simId: sim.simId,
      deletionPolicy: "Terminate",
      accountRef: { name: acct.b },
    });
    await stalledWith(ns.b, "profile", "grab", "AdoptionNotAllowed");
    await reconciledAgain(ns.b, "profile", "grab");
    const n = craftedCaused(w.crafted.requests) - before;
    table.push(["adoption where the account forbids it", String(n)]);
    expect(n).toBe(0);
  });

  it("adopting a SIM another EsimProfile holds: conflict, zero mutating calls; deleting under Terminate leaves the SIM untouched", async () => {
    const iccid = "8942310099000000017";
    const sim = await w.simA.createSim({ iccid });
    await apply(w.tenant.a, ns.a, "EsimProfile", "holder", { iccid, accountRef: { name: acct.a } });
    await eventually(async () => (await read(ns.a, "profile", "holder")).status?.simId === sim.simId, { what: "held" });
    const before = mutating(await calls(w.simA));
    await apply(w.tenant.a, ns.a, "EsimProfile", "second", {
      simId: sim.simId,
      deletionPolicy: "Terminate",
      sim: { status: "suspended" },
      accountRef: { name: acct.a },
    });
    const second = await stalledWith(ns.a, "profile", "second", "SimHeldElsewhere");
    expect(condition(second, "Stalled")?.message).toContain(`${ns.a}/holder`);
    // Both go, under Terminate: the second holds nothing; the first is adopted, and the account forbids terminating adopted SIMs.
    for (const name of ["second", "holder"]) {
      await w.tenant.a.request({
        method: "PATCH",
        path: resourcePath({ ...PROFILE_REF, namespace: ns.a }, name),
        contentType: "application/merge-patch+json",
        body: { spec: { deletionPolicy: "Terminate" } },
      });
      await w.tenant.a.request({ method: "DELETE", path: resourcePath({ ...PROFILE_REF, namespace: ns.a }, name) });
      await eventually(
        async () =>
          read(ns.a, "profile", name).then(
            () => false,
            () => true,
          ),
        { what: `${name} gone` },
      );
    }
    const n = mutating(await calls(w.simA)) - before;
    const state = (await w.simA.state()) as { sims: Array<{ simId: string; status: string }> };
    table.push(["adopting a held SIM, then deleting both under Terminate", String(n)]);
    expect(n).toBe(0);
    expect(state.sims.find((s) => s.simId === sim.simId)?.status).not.toBe("terminated");
  });

  it("annotations and fields a tenant writes never terminate, override a budget or confirm beyond approval; status is out of reach", async () => {
    await apply(w.tenant.a, ns.a, "EsimProfileOrder", "manual", {
      subscription: "planX3",
      quantity: 1,
      confirmation: "Manual",
      accountRef: { name: acct.a },
    });
    await eventually(
      async () => condition(await read(ns.a, "order", "manual"), "AwaitingConfirmation")?.status === "True",
      {
        what: "a draft awaiting approval",
      },
    );
    const before = mutating(await calls(w.simA));
    const fleet = await read(ns.a, "profile", (await listProfiles(ns.a))[0]!);
    const forged = {
      [RETIRED_ANNOTATIONS.terminateRequested]: "ScaleDown",
      [RETIRED_ANNOTATIONS.terminationBudgetOverride]: "true",
      [ANNOTATIONS.resumeTerminations]: "any",
    };
    await w.tenant.a.request({
      method: "PATCH",
      path: resourcePath({ ...PROFILE_REF, namespace: ns.a }, fleet.metadata.name),
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: forged } },
    });
    await w.tenant.a.request({
      method: "PATCH",
      path: resourcePath({ ...ORDER_REF, namespace: ns.a }, "manual"),
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { ...forged, [ANNOTATIONS.approveOrders]: "not-this-orders-draft" } } },
    });
    // Writing status (where the controller records terminations and orders) is refused to tenants.
    const statusWrite = await w.tenant.a
      .request({
        method: "PATCH",
        path: resourcePath({ ...ORDER_REF, namespace: ns.a }, "fleet", "status"),
        contentType: "application/merge-patch+json",
        body: {
          status: {
            terminations: [
              { profile: fleet.metadata.name, iccid: "x", reason: "ScaleDown", requestedTime: "2026-01-01T00:00:00Z" },
            ],
          },
        },
      })
      .then(
        () => 200,
        (err: { status?: number }) => err.status,
      );
    expect(statusWrite).toBe(403);
    const polls = (await w.simA.count("listOrderedProfiles")) + 3;
    await eventually(async () => (await w.simA.count("listOrderedProfiles")) >= polls, { what: "three more polls" });
    const caused = mutating(await calls(w.simA)) - before;
    table.push([
      "forged annotations (terminate, budget override, resume, approve another draft); a status write",
      String(caused),
    ]);
    expect(caused).toBe(0);
  });

  it("a tenant's Secret pointing the controller at a server of its choice: refused before any request reaches it", async () => {
    await w.tenant.a.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns.a}/secrets`,
      body: {
        metadata: { name: "own" },
        stringData: { authKeyId: "k", authKey: "s", endpoint: w.trap.url },
      },
    });
    await apply(w.tenant.a, ns.a, "EsimProfileOrder", "redirect", {
      subscription: "planX3",
      quantity: 1,
      accountRef: { name: acct.t },
      credentialsRef: { name: "own" },
    });
    const o = await stalledWith(ns.a, "order", "redirect", "EndpointNotAllowed");
    expect(condition(o, "Stalled")?.message).toContain("neither one of Soracom's nor the account's");
    await reconciledAgain(ns.a, "order", "redirect");
    table.push([
      "tenant Secret with endpoint at a local server",
      `${w.trap.requests.length} (requests reaching that server)`,
    ]);
    expect(w.trap.requests).toEqual([]);
  });

  it("a crafted answer from one account's endpoint naming another tenant's order: rejected, the other order unaffected", async () => {
    const teamA = await read(ns.a, "order", "fleet");
    await apply(w.tenant.b, ns.b, "EsimProfileOrder", "fleet-b", {
      subscription: "planX3",
      quantity: 1,
      accountRef: { name: acct.b },
    });
    const created = await eventually(
      async () => {
        const o = await read(ns.b, "order", "fleet-b");
        return o.status?.orders?.[0]?.profileOrderId ? o : undefined;
      },
      { what: "team B's order created" },
    );
    const ownId = created.status?.orders?.[0]?.profileOrderId;
    const gets = () => w.crafted.requests.filter((r) => r.startsWith("GET /v1/sim_profile_orders/")).length;
    const base = gets();
    await eventually(async () => gets() >= base + 3, { what: "three crafted answers" });
    const b = await read(ns.b, "order", "fleet-b");
    expect(b.status?.orders?.[0]?.profileOrderId).toBe(ownId);
    expect(b.status?.orders?.[0]?.status).not.toBe("COMPLETED");
    expect(JSON.stringify(b.status)).not.toContain(teamA.status?.orders?.[0]?.profileOrderId);
    expect((await read(ns.a, "order", "fleet")).status?.orders).toEqual(teamA.status?.orders);
    table.push([
      "crafted answers naming another tenant's order (team B's endpoint)",
      "0 accepted; team A's order unchanged",
    ]);
  });

  it("no other namespace's Secrets are reachable through the operator: credentialsRef, status, Events, the plugin", async () => {
    await secret(ns.b, "b-only", { authKeyId: "b-secret-id", authKey: "b-secret-key" });
    await apply(w.tenant.a, ns.a, "EsimProfileOrder", "peek", {
      subscription: "planX3",
      quantity: 1,
      accountRef: { name: acct.t },
      credentialsRef: { name: "b-only" },
    });
    const o = await stalledWith(ns.a, "order", "peek", "CredentialsNotFound");
    expect(condition(o, "Stalled")?.message).toBe(`credentials Secret ${ns.a}/b-only does not exist`);
    const everything = JSON.stringify([await listAll(ns.a), await eventsOf(ns.a)]);
    expect(everything).not.toContain("b-secret-key");
    expect(everything).not.toContain(Buffer.from("b-secret-key").toString("base64"));
    const plugin = await runPlugin(["export", "-n", ns.b], w.kubeconfig.a);
    expect(plugin.code).not.toBe(0);
    expect(`${plugin.stdout}${plugin.stderr}`).not.toContain("b-secret-key");
    expect(`${plugin.stdout}${plugin.stderr}`.toLowerCase()).toContain("forbidden");
    table.push(["another namespace's Secret through credentialsRef, status, Events, kubectl esim", "0"]);
  });
});

async function listProfiles(namespace: string): Promise<string[]> {
  const list = await admin.request<{ items: EsimProfile[] }>({ path: resourcePath({ ...PROFILE_REF, namespace }) });
  return list.items.filter((p) => p.metadata.ownerReferences?.length).map((p) => p.metadata.name ?? "");
}

async function listAll(namespace: string) {
  const [orders, profiles] = await Promise.all([
    admin.request({ path: resourcePath({ ...ORDER_REF, namespace }) }),
    admin.request({ path: resourcePath({ ...PROFILE_REF, namespace }) }),
  ]);
  return { orders, profiles };
}

async function eventsOf(namespace: string) {
  return admin.request({ path: `/api/v1/namespaces/${namespace}/events` });
}
