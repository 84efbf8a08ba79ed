import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import {
  ACCOUNT_REF,
  API_VERSION,
  ORDER_KIND,
  ORDER_REF,
  PROFILE_KIND,
  PROFILE_REF,
} from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { orderToken } from "../../controller/order/tokens.js";
import type { CallRecord } from "../../simulator/index.js";
import { namespaceName } from "../controlplane/fixture.js";
import { useCluster } from "../support/cluster.js";
import { type ControllerProcess, eventually, startControllerProcess } from "../support/controller-process.js";
import { condition } from "../support/e2e.js";
import { Rng } from "../support/safety-random.js";
import { SIM_CREDENTIALS, type SimControl, type Simulator, startTestSimulator } from "../support/soracom-sim.js";
import { Adversary, type Knowledge, type SimIds } from "../support/tenant-adversary.js";
import { type Endpoint, emptyRecord, type Holder, judge, type Row, table } from "../support/tenant-invariants.js";
import { Tracker } from "../support/tenant-tracker.js";
import { tenantIdentity } from "../support/tenants.js";

/**
 * The tenant adversary test. Two teams in two namespaces; three SoracomAccounts on ONE credentials Secret
 * (the victim's and the adversary's on one Soracom operator, the adversary's second on another endpoint
 * with adoption off and tenant credentials on) and a fourth of the adversary's on a Secret and an endpoint
 * of its own (swapping to it mid-create must not order twice); the controller also has credentials in its environment
 * (an implicit account, which may serve no namespace once accounts exist). The victim orders a few
 * profiles and holds a few adopted SIMs; then seeded random adversaries (the chart's tenant edit role,
 * plus Secrets and ConfigMaps of their namespace) do every write they may for ADVERSARY_MINUTES while the
 * controller is SIGKILLed and restarted now and then, and finally delete everything they have.
 *
 * Judged from the simulators' own record only (tenant-invariants.ts): (a) no mutating call on a SIM the
 * other team holds, (b) no SIM terminated but by its own team deleting its holder under Terminate, (c)
 * spend per account within budget, (d) no order beyond what the orders wanted, (e) no call to an
 * endpoint no account names, (f) cross-namespace writes refused. A self-test then does deliberately bad
 * things straight at the simulator and the trap and checks that every invariant sees them.
 *
 * ADVERSARY_SEEDS (comma-separated; default two fixed seeds, one adversary each) and ADVERSARY_MINUTES
 * (default 2) replay or lengthen a run: e.g. ADVERSARY_MINUTES=30 ADVERSARY_SEEDS=7,8,9.
 */
const cluster = useCluster({ namespacePrefix: "adversary" });
const admin = new KubeClient(cluster.kc);
const SEEDS = (process.env.ADVERSARY_SEEDS ?? "20261207,4242").split(",").map((s) => Number(s.trim()) >>> 0);
const MINUTES = Number(process.env.ADVERSARY_MINUTES ?? "2");
const suffix = randomBytes(3).toString("hex");
const work = mkdtempSync(join(tmpdir(), "adversary-"));
const ns = { ops: namespaceName("adv-ops"), v: namespaceName("victim"), x: namespaceName("adversary") };
const acct = { v: `victim-${suffix}`, x: `adv-${suffix}`, x2: `adv-sandbox-${suffix}`, x3: `adv-own-${suffix}` };
/** The adversary soon spends its first two accounts' budgets; its third has room, so a double order can show. */
const BUDGET = { v: 10, x: 8, x2: 6, x3: 40 };
const LEASE = ["--leader-elect", "--leader-election-lease-duration", "4s", "--leader-election-renew-deadline", "3s"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sim {
  name: string;
  sim: Simulator;
  control: SimControl;
  calls: CallRecord[];
}

interface World {
  sims: { shared: Sim; x: Sim; own: Sim; implicit: Sim };
  trap: http.Server;
  trapUrl: string;
  tracker: Tracker;
  victim: KubeClient;
  adversary: KubeClient;
  seeded: { victim: SimIds[]; spare: SimIds[]; forbidden: SimIds[] };
  controller?: ControllerProcess;
  incarnations: number;
  rows?: Row[];
}
let w: World;

/**
 * startSim starts a simulator as one Soracom operator and keeps its whole call log (it trims its own at
 * 10,000). Its creates take 800 ms, as from a distant API: a change made while one is in flight is tried.
 */
async function startSim(name: string, operatorId: string): Promise<Sim> {
  const { sim, control } = await startTestSimulator({ confirmDelayMs: 300, inProgressDelayMs: 500, operatorId });
  await control.fault("createProfileOrder", "latency", 1_000_000, 800);
  const calls: CallRecord[] = [];
  const record = sim.engine.recordCall.bind(sim.engine);
  sim.engine.recordCall = (c: CallRecord) => {
    calls.push(c);
    record(c);
  };
  return { name, sim, control, calls };
}

async function seedSims(s: Sim, n: number, holder: Holder): Promise<SimIds[]> {
  const out: SimIds[] = [];
  for (let i = 0; i < n; i++) {
    const sim = (await s.control.createSim({ subscription: "planX3" })) as unknown as {
      simId: string;
      activeProfileId: string;
      profiles: Record<string, { primaryImsi: string }>;
    };
    out.push({
      simId: sim.simId,
      iccid: sim.activeProfileId,
      imsi: sim.profiles[sim.activeProfileId]?.primaryImsi ?? "",
    });
    w.tracker.rec.seeded.set(`${s.name}/${sim.simId}`, holder);
  }
  return out;
}

async function create<T>(path: string, body: object, client = admin): Promise<T> {
  return client.request<T>({ method: "POST", path, body });
}

function account(name: string, team: string, endpoint: string, spend: number, extra: object) {
  return create(resourcePath(ACCOUNT_REF), {
    apiVersion: API_VERSION,
    kind: "SoracomAccount",
    metadata: { name },
    spec: {
      credentialsSecretRef: { name: "creds-shared" },
      namespaceSelector: { matchLabels: { "adversary-test": `${team}-${suffix}` } },
      endpoint,
      budgets: { spend: { limit: spend, window: "24h" }, termination: { limit: 50, window: "1h" } },
      ...extra,
    },
  });
}

/** startController starts one incarnation: accounts, plus the implicit account from its environment. */
async function startController(): Promise<void> {
  w.controller = await startControllerProcess({
    controlPlane: cluster.info,
    // Its accounts allow tenant credentials: the chart grants reading them with accounts.tenantCredentials.
    chart: { tenantCredentials: true },
    soracomEndpoint: w.sims.implicit.sim.url,
    namespaces: [ns.v, ns.x],
    args: [
      "--operator-namespace",
      ns.ops,
      "--leader-election-namespace",
      ns.ops,
      ...LEASE,
      "--soracom-requests-per-second",
      "200",
    ],
    // A client that falls back to the environment's endpoint reaches the trap, never the real API.
    env: { SORACOM_ENDPOINT: w.trapUrl },
  });
  w.incarnations++;
}

async function setupWorld(): Promise<void> {
  for (const [key, name] of Object.entries(ns)) {
    const labels = key === "ops" ? {} : { "adversary-test": `${key}-${suffix}` };
    await create("/api/v1/namespaces", { metadata: { name, labels } });
  }
  const [shared, x, own, implicit] = await Promise.all([
    startSim("shared", "OPSHARED0001"),
    startSim("sandbox", "OPSANDBOX001"),
    startSim("own", "OPOWN0000001"),
    startSim("implicit", "OPIMPLICIT01"),
  ]);
  const rec = emptyRecord(
    [
      { name: acct.v, endpoint: "shared", team: "victim", limit: BUDGET.v },
      { name: acct.x, endpoint: "shared", team: "adversary", limit: BUDGET.x },
      { name: acct.x2, endpoint: "sandbox", team: "adversary", limit: BUDGET.x2 },
      { name: acct.x3, endpoint: "own", team: "adversary", limit: BUDGET.x3 },
    ],
    "implicit",
  );
  const trap = http.createServer((req, res) => {
    rec.strayRequests.push(`${req.method} ${req.url}`);
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
  const core = {
    secrets: ["create", "get", "list", "update", "patch", "delete"],
    configmaps: ["create", "get", "list", "update", "patch", "delete"],
  };
  const id = (namespace: string) =>
    tenantIdentity(cluster, { namespace, operatorNamespace: ns.ops, dir: work, core, hours: MINUTES / 60 + 1 });
  w = {
    sims: { shared, x, own, implicit },
    trap,
    trapUrl: `http://127.0.0.1:${(trap.address() as AddressInfo).port}`,
    tracker: new Tracker(rec, { [ns.v]: "victim", [ns.x]: "adversary" }),
    victim: (await id(ns.v)).client,
    adversary: (await id(ns.x)).client,
    seeded: { victim: [], spare: [], forbidden: [] },
    incarnations: 0,
  };
  w.seeded.victim = await seedSims(shared, 3, "victim");
  w.seeded.spare = await seedSims(shared, 3, "adversary");
  w.seeded.forbidden = await seedSims(x, 3, "nobody");
  await accounts();
  await startController();
}

/**
 * accounts: the victim's and the adversary's first account on one Secret and one Soracom operator; the
 * adversary's second on the same Secret at another endpoint (adoption off, tenant credentials on); its
 * third on a Secret of its own at a third endpoint (adoption on, terminating adopted SIMs off).
 */
async function accounts(): Promise<void> {
  for (const name of ["creds-shared", "creds-own"])
    await create(`/api/v1/namespaces/${ns.ops}/secrets`, { metadata: { name }, stringData: SIM_CREDENTIALS });
  const adopt = { allowed: true, terminate: true };
  await account(acct.v, "v", w.sims.shared.sim.url, BUDGET.v, { adoption: adopt });
  await account(acct.x, "x", w.sims.shared.sim.url, BUDGET.x, { adoption: adopt });
  await account(acct.x2, "x", w.sims.x.sim.url, BUDGET.x2, {
    adoption: { allowed: false },
    tenantCredentials: { allowed: true },
  });
  await account(acct.x3, "x", w.sims.own.sim.url, BUDGET.x3, {
    credentialsSecretRef: { name: "creds-own" },
    adoption: { allowed: true, terminate: false },
  });
}

const victimOrder = (name: string, quantity: number) =>
  create<EsimProfileOrder>(
    resourcePath({ ...ORDER_REF, namespace: ns.v }),
    {
      apiVersion: API_VERSION,
      kind: ORDER_KIND,
      metadata: { name },
      spec: { subscription: "planX3", quantity, accountRef: { name: acct.v } },
    },
    w.victim,
  ).then((o) => w.tracker.noteOrder(o));

/** victimStarts: the victim holds three SIMs by adoption (by SIM ID, ICCID, IMSI) and orders three profiles. */
async function victimStarts(): Promise<void> {
  const keys = ["simId", "iccid", "imsi"] as const;
  for (const [i, sim] of w.seeded.victim.entries()) {
    const p = await create<EsimProfile>(
      resourcePath({ ...PROFILE_REF, namespace: ns.v }),
      {
        apiVersion: API_VERSION,
        kind: PROFILE_KIND,
        metadata: { name: `held-${i}` },
        spec: { [keys[i]!]: sim[keys[i]!], accountRef: { name: acct.v } },
      },
      w.victim,
    );
    w.tracker.noteProfile(p);
  }
  await victimOrder("fleet", 2);
  await victimOrder("spare", 1);
  await eventually(
    async () => {
      await w.tracker.snapshot(admin);
      const profiles = w.tracker.profiles.get(ns.v) ?? [];
      const orders = w.tracker.orders.get(ns.v) ?? [];
      return (
        orders.every((o) => condition(o, "Ready")?.status === "True") &&
        profiles.length === 6 &&
        profiles.every((p) => p.status?.simId)
      );
    },
    { timeoutMs: 90_000, what: "the victim's orders Ready and its six SIMs held" },
  );
}

function knowledge(): Knowledge {
  const statusSims = (namespace: string) =>
    (w.tracker.profiles.get(namespace) ?? [])
      .filter((p) => p.status?.simId)
      .map((p) => ({ simId: p.status?.simId ?? "", iccid: p.status?.iccid ?? "", imsi: p.status?.imsi ?? "" }));
  return {
    victimNamespace: ns.v,
    victimSims: () => [...w.seeded.victim, ...statusSims(ns.v)],
    spareSims: w.seeded.spare,
    forbiddenSims: w.seeded.forbidden,
    accounts: [acct.x, acct.x, acct.x2, acct.x3, acct.v, `missing-${suffix}`],
    ownAccounts: [acct.x, acct.x2, acct.x3],
    endpoints: [w.sims.x.sim.url, w.sims.shared.sim.url, w.sims.own.sim.url, w.sims.implicit.sim.url, w.trapUrl],
    profileOrderIds: () =>
      [...(w.tracker.orders.get(ns.v) ?? []), ...(w.tracker.orders.get(ns.x) ?? [])].flatMap((o) =>
        (o.status?.orders ?? []).map((t) => t.profileOrderId ?? "").filter(Boolean),
      ),
  };
}

beforeAll(async () => {
  await setupWorld();
  await victimStarts();
}, 180_000);

afterAll(async () => {
  await w?.controller?.kill().catch(() => undefined);
  for (const s of Object.values(w?.sims ?? {})) await s.sim.close().catch(() => undefined);
  await new Promise((r) => w?.trap.close(() => r(undefined)) ?? r(undefined));
  for (const name of Object.values(acct))
    await admin.request({ method: "DELETE", path: resourcePath(ACCOUNT_REF, name) }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** endpoints reads what the simulators recorded: their state and every call they answered. */
async function endpoints(): Promise<Endpoint[]> {
  return Promise.all(
    Object.values(w.sims).map(async (s) => {
      const state = (await s.control.state()) as unknown as Omit<Endpoint, "name" | "calls">;
      return { name: s.name, sims: state.sims, orders: state.orders, calls: [...s.calls] };
    }),
  );
}

/** chaos runs the adversaries, the snapshot loop, the controller killer and the victim's one change, until `until`. */
async function chaos(adversaries: Adversary[], until: number): Promise<void> {
  const killer = new Rng((SEEDS[0] ?? 0) ^ 0x5bd1e995);
  const loops = [
    ...adversaries.map(async (a, i) => {
      const pace = new Rng((SEEDS[i] ?? 0) ^ 0x27d4eb2f);
      while (Date.now() < until) {
        await a.step();
        await sleep(pace.int(100, 600));
      }
    }),
    (async () => {
      while (Date.now() < until) {
        await w.tracker.snapshot(admin).catch(() => undefined);
        await sleep(1_000);
      }
    })(),
    (async () => {
      for (
        let next = Date.now() + killer.int(8_000, 25_000);
        next < until;
        next = Date.now() + killer.int(8_000, 25_000)
      ) {
        await sleep(next - Date.now());
        await w.controller?.kill();
        await sleep(killer.int(200, 2_500));
        await startController();
      }
    })(),
    (async () => {
      await sleep((until - Date.now()) / 2);
      await w.victim
        .request<EsimProfileOrder>({
          method: "PATCH",
          path: resourcePath({ ...ORDER_REF, namespace: ns.v }, "fleet"),
          contentType: "application/merge-patch+json",
          body: { spec: { quantity: 3 } },
        })
        .then((o) => w.tracker.noteOrder(o));
      await victimOrder("late", 1);
    })(),
  ];
  await Promise.all(loops);
}

function outcomeSummary(adversaries: Adversary[]): string {
  const counts = new Map<string, number>();
  for (const o of adversaries.flatMap((a) => a.outcomes)) {
    const key = `${o.action} ${o.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort()
    .map(([k, n]) => `${k}: ${n}`)
    .join(", ");
}

describe("tenant adversary", () => {
  it(
    `a seeded adversary for ${MINUTES} min (seeds ${SEEDS.join(",")}) breaks no invariant, judged from the simulators' record`,
    async () => {
      const started = Date.now();
      console.log(`tenant adversary: seeds ${SEEDS.join(",")} (ADVERSARY_SEEDS), ${MINUTES} min (ADVERSARY_MINUTES)`);
      const know = knowledge();
      const adversaries = SEEDS.map(
        (seed, i) => new Adversary(new Rng(seed), w.adversary, ns.x, w.tracker, know, `a${i}`),
      );
      await chaos(adversaries, Date.now() + MINUTES * 60_000);
      if (!w.controller || w.controller.child.exitCode !== null) await startController();
      await w.tracker.snapshot(admin);
      for (const a of adversaries) await a.teardown();
      await sleep(8_000);
      await w.tracker.snapshot(admin).catch(() => undefined);
      await w.controller?.stop();
      w.rows = judge(await endpoints(), w.tracker.rec);
      console.log(
        [
          table(
            w.rows,
            `Tenant adversary: seeds ${SEEDS.join(",")}, ${MINUTES} min, ${w.incarnations} controller incarnations, ${Math.round((Date.now() - started) / 1000)} s`,
          ),
          "",
          `Adversary writes (action status: count): ${outcomeSummary(adversaries)}`,
        ].join("\n"),
      );
      for (const r of w.rows) expect(r.violations, r.invariant).toEqual([]);
    },
    (MINUTES * 60 + 150) * 1000,
  );

  it("self-test: deliberately bad actions straight at the simulator and the trap are seen by every invariant", async () => {
    const before = w.rows ?? judge(await endpoints(), w.tracker.rec);
    await badActions();
    const after = judge(await endpoints(), w.tracker.rec);
    // New violations (sentences not there before) in each of (a) to (e): each check can fail.
    const added = after.map((r, i) => r.violations.filter((v) => !before[i]?.violations.includes(v)));
    console.log(
      table(
        after.map((r, i) => ({ ...r, violations: added[i] ?? [] })),
        "Self-test: violations the bad actions added",
      ),
    );
    for (const [i, r] of after.slice(0, 5).entries()) expect(added[i]?.length, r.invariant).toBeGreaterThan(0);
  });
});

/**
 * badActions, with the controller stopped: terminate a SIM of the victim's (a fresh one, recorded as held
 * by the victim: the adversary may have terminated all the others) and buy 20 profiles (twice
 * the victim's budget, more than it can ever want) under the token of one of its orders, straight at the shared simulator (what a buggy
 * controller would do), and send one request to the trap.
 */
async function badActions(): Promise<void> {
  const url = w.sims.shared.sim.url;
  const auth = (await (
    await fetch(`${url}/v1/auth`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(SIM_CREDENTIALS),
    })
  ).json()) as { apiKey: string; token: string };
  const call = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${url}/v1${path}`, {
      method,
      headers: { "content-type": "application/json", "x-soracom-api-key": auth.apiKey, "x-soracom-token": auth.token },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json().catch(() => ({})) as Promise<Record<string, unknown>>;
  };
  const canary = (await seedSims(w.sims.shared, 1, "victim"))[0]?.simId;
  await call("POST", `/sims/${canary}/enable_termination`);
  await call("POST", `/sims/${canary}/terminate`);
  const fleet = [...w.tracker.rec.orders].find(([, o]) => o.team === "victim")?.[0] ?? "";
  const order = await call("POST", "/sim_profile_orders", {
    subscription: "planX3",
    quantity: 20,
    description: orderToken(fleet, 999),
  });
  await call("POST", `/sim_profile_orders/${String(order.profileOrderId)}/confirm`);
  await fetch(`${w.trapUrl}/v1/self-test`, { method: "POST" }).catch(() => undefined);
}
