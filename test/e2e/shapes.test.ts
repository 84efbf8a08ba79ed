import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diff, expectedGrants, parseCanIList, type RbacShape } from "./rbac-matrix.js";
import { apply, calls, condition, E2E, helm, items, json, type K8sObject, kubectl, order, waitFor } from "./support.js";

// Every values shape docs/install.md and charts/soracom-esim-operator/ci/ document, installed from the chart
// as users install it: the controller runs as its pod, under the ServiceAccount and RBAC the chart renders.
// For each: its pods Ready; an order in a namespace it serves Ready, with the Soracom calls one order of one
// profile takes (1 create, 1 confirm), made by its own pods; an order in a namespace it must not serve
// untouched (no call, no status; a controller that watches every namespace may only refuse it with a
// condition, as docs/security.md says); and `kubectl auth can-i --list` for its ServiceAccount equal to
// docs/security.md's table (rbac-matrix.ts), in every namespace that matters. Shapes whose controllers
// watch disjoint namespaces run side by side; each that watches every namespace runs alone.

const NS = "esim-shapes"; // every release of this stage; the simulator stays in esim-system
const CHART = "charts/soracom-esim-operator";
const SIM_ENDPOINT = E2E.simulator;
const IMAGE = process.env.E2E_OPERATOR_IMAGE ?? "localhost/soracom-esim-operator:test";
const RESULTS = process.env.E2E_SHAPES_RESULTS;
const fullname = (release: string) => `${release}-soracom-esim-operator`;
const stage0 = Date.now();

interface Release {
  release: string;
  valuesFile: string;
  set: string[];
  replicas: number;
  rbac: Omit<RbacShape, "releaseNamespace">;
}
interface Served {
  ns: string;
  labels?: Record<string, string>;
  /** Extra spec lines of its order (accountRef, credentialsRef). */
  extra?: string;
  /** A tenant credentials Secret the order names. */
  tenantSecret?: string;
}
interface Shape {
  name: string;
  releases: Release[];
  served: Served[];
  foreign: Served & {
    /** A controller watching every namespace refuses the order with this reason (0 calls); else: no status. */
    refusal?: string;
  };
  /** Cluster-admin steps before the install (a second account). */
  before?: () => Promise<void>;
  /** Extra checks of the shape (HA: PDB, Lease), returning a failure or "". */
  extraCheck?: () => Promise<string>;
}

/** What every shape sets to run here: the node's image, fast polling, the simulator as Soracom. */
function common(release: string): string[] {
  return [
    `image.repository=${IMAGE.split(":")[0]}`,
    `image.tag=${IMAGE.split(":")[1]}`,
    "image.pullPolicy=Never",
    "controller.pollIntervalActive=1s",
    // All shapes share the simulator's one Soracom operator: each one's drafts are orphans to the others.
    "controller.orphanDrafts=report",
    `fullnameOverride=${fullname(release)}`,
  ];
}
/** The account docs/install.md's "Install with Helm" creates, named for the shape, lent to `namespaces`. */
function account(name: string, namespaces: string[]): string[] {
  return [
    "accounts.create.enabled=true",
    `accounts.create.name=${name}`,
    "accounts.create.credentialsSecret=soracom-credentials",
    `accounts.create.namespaces={${namespaces.join(",")}}`,
    `accounts.create.endpoint=${SIM_ENDPOINT}`,
  ];
}
const ci = (file: string) => `${CHART}/ci/${file}`;

const SHAPES: Record<string, Shape> = {
  namespaced: {
    name: "namespaced (watchNamespaces team-a, team-b)",
    releases: [
      {
        release: "shape-ns",
        valuesFile: ci("namespaced-values.yaml"),
        set: [...common("shape-ns"), ...account("shape-ns", ["team-a", "team-b"])],
        replicas: 1,
        rbac: { watchNamespaces: ["team-a", "team-b"], lease: fullname("shape-ns") },
      },
    ],
    served: [{ ns: "team-a" }, { ns: "team-b" }],
    foreign: { ns: "team-c" },
  },
  sharded: {
    name: "two shards, two releases (a, b)",
    releases: ["a", "b"].map((s) => ({
      release: `shape-shard-${s}`,
      valuesFile: ci(`shard-${s}-values.yaml`),
      set: [
        ...common(`shape-shard-${s}`),
        ...(s === "a" ? account("shape-shards", ["shard-a", "shard-b"]) : ["accounts.default=shape-shards"]),
      ],
      replicas: 1,
      rbac: { lease: `soracom-esim-operator-${s}` },
    })),
    served: ["a", "b"].map((s) => ({ ns: `shard-${s}`, labels: { "esim.example/shard": s } })),
    foreign: { ns: "shard-none", labels: { "esim.example/shard": "c" } },
  },
  default: {
    name: "default (docs/install.md)",
    releases: [
      {
        release: "shape-default",
        valuesFile: ci("default-values.yaml"),
        set: [...common("shape-default"), ...account("shape-default", ["default-fleet"])],
        replicas: 1,
        rbac: { lease: fullname("shape-default") },
      },
    ],
    served: [{ ns: "default-fleet" }],
    foreign: { ns: "default-other", refusal: "NamespaceNotAllowed" },
  },
  ha: {
    name: "HA (2 replicas, election, PDB)",
    releases: [
      {
        release: "shape-ha",
        valuesFile: ci("ha-values.yaml"),
        // No Prometheus Operator on this node: its CRDs are what ServiceMonitor and PrometheusRule need.
        set: [
          ...common("shape-ha"),
          ...account("shape-ha", ["ha-fleet"]),
          "serviceMonitor.enabled=false",
          "prometheusRule.enabled=false",
        ],
        replicas: 2,
        rbac: { lease: fullname("shape-ha") },
      },
    ],
    served: [{ ns: "ha-fleet" }],
    foreign: { ns: "ha-other", refusal: "NamespaceNotAllowed" },
    extraCheck: haCheck,
  },
  accounts: {
    name: "several accounts, tenant credentials",
    releases: [
      {
        release: "shape-acct",
        valuesFile: ci("accounts-values.yaml"),
        set: [
          ...common("shape-acct"),
          "accounts.create.name=shape-acct-a",
          "accounts.create.namespaces={acct-a}",
          `accounts.create.endpoint=${SIM_ENDPOINT}`,
        ],
        replicas: 1,
        rbac: { lease: fullname("shape-acct"), tenantCredentials: true },
      },
    ],
    served: [
      { ns: "acct-a" },
      {
        ns: "acct-b",
        extra: "  accountRef: {name: shape-acct-b}\n  credentialsRef: {name: tenant-soracom}\n",
        tenantSecret: "tenant-soracom",
      },
    ],
    foreign: { ns: "acct-other", extra: "  accountRef: {name: shape-acct-b}\n", refusal: "NamespaceNotAllowed" },
    before: () =>
      apply(`apiVersion: esim.soracom-operator.io/v1alpha1
kind: SoracomAccount
metadata: {name: shape-acct-b}
spec:
  credentialsSecretRef: {name: soracom-credentials}
  namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [acct-b]}]}
  endpoint: "${SIM_ENDPOINT}"
  tenantCredentials: {allowed: true}
`),
  },
  sandbox: {
    name: "sandbox (endpoint: the simulator)",
    releases: [
      {
        release: "shape-sandbox",
        valuesFile: ci("sandbox-values.yaml"),
        // Single-tenant mode: SoracomAccounts exist (the earlier shapes'), so the environment's credentials
        // serve only credentials.namespaces.
        set: [...common("shape-sandbox"), `soracom.endpoint=${SIM_ENDPOINT}`, "credentials.namespaces={sandbox}"],
        replicas: 1,
        rbac: { lease: fullname("shape-sandbox") },
      },
    ],
    served: [{ ns: "sandbox" }],
    foreign: { ns: "sandbox-other", refusal: "ImplicitAccountClosed" },
  },
};

interface Row {
  shape: string;
  podsReady: boolean;
  orderReady: boolean;
  foreignUntouched: boolean;
  canIMatches: boolean;
  creates: number;
  confirms: number;
  seconds: number;
  problems: string[];
}
const rows: Row[] = [];

// With managedFields (kubectl leaves them out unless asked): who wrote the order is the foreign check.
const orderOf = (ns: string) =>
  json<K8sObject>(["get", "esimprofileorder", "shape", "-n", ns, "--show-managed-fields"]);
const podsOf = (release: string) =>
  items<K8sObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>([
    "get",
    "pods",
    "-n",
    NS,
    "-l",
    `app.kubernetes.io/instance=${release}`,
  ]);

async function namespaceWith(s: Served): Promise<void> {
  const labels = Object.entries(s.labels ?? {})
    .map(([k, v]) => `${k}: "${v}"`)
    .join(", ");
  await apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${s.ns}, labels: {${labels}}}\n`);
  if (s.tenantSecret) await kubectl(["-n", s.ns, "create", "secret", "generic", s.tenantSecret, ...CREDENTIALS]);
}
const CREDENTIALS = ["--from-literal=authKeyId=keyId-simulator", "--from-literal=authKey=secret-simulator"];
const retained = (s: Served) =>
  order(s.ns, "shape", 1, s.extra ?? "").replace("deletionPolicy: Terminate", "deletionPolicy: Retain");

async function install(r: Release): Promise<string> {
  const args = ["upgrade", "--install", r.release, CHART, "-n", NS, "-f", r.valuesFile];
  for (const s of r.set) args.push("--set", s);
  try {
    await helm([...args, "--wait", "--timeout", "90s"]);
    return "";
  } catch (err) {
    return `helm install ${r.release}: ${String(err).slice(0, 300)}`;
  }
}

/** podsReady: the release's pods, as many as its replicas, all Ready now. */
async function podsReady(r: Release): Promise<string> {
  const pods = await podsOf(r.release);
  const ready = pods.filter((p) => condition(p, "Ready")?.status === "True" && !p.metadata.deletionTimestamp);
  return ready.length === r.replicas ? "" : `${r.release}: ${ready.length} of ${r.replicas} pods Ready`;
}

/** canI: can-i --list for the release's ServiceAccount, less what any ServiceAccount there has, against the table. */
async function canI(r: Release, namespaces: string[]): Promise<string[]> {
  const shape: RbacShape = { releaseNamespace: NS, ...r.rbac };
  const problems: string[] = [];
  const one = async (ns: string) => {
    const list = async (sa: string) =>
      parseCanIList(await kubectl(["auth", "can-i", "--list", "-n", ns, `--as=system:serviceaccount:${NS}:${sa}`]));
    const [mine, baseline] = await Promise.all([list(fullname(r.release)), list("shapes-nobody")]);
    const actual = new Set([...mine].filter((t) => !baseline.has(t)));
    const { more, less } = diff(actual, expectedGrants(shape, ns));
    if (more.length || less.length)
      problems.push(`${r.release} in ${ns}: more ${JSON.stringify(more)}, less ${JSON.stringify(less)}`);
  };
  await Promise.all(namespaces.map(one));
  return problems;
}

/** Order IDs at Soracom an order's status records. */
const idsOf = (o: K8sObject | undefined) =>
  (o?.status?.orders ?? []).map((x) => x.profileOrderId).filter((x): x is string => !!x);

/** runShapes installs the shapes side by side, checks each, and uninstalls them (always). */
async function runShapes(shapes: Shape[]): Promise<Row[]> {
  const t0 = Date.now();
  const start = (await calls()).length;
  const all = shapes.flatMap((s) => [...s.served, s.foreign]);
  try {
    for (const s of shapes) await s.before?.();
    await Promise.all(all.map(namespaceWith));
    // The orders first: the controllers find them when they start (one wait less).
    await Promise.all(all.map((s) => apply(retained(s))));
    const installed = await Promise.all(shapes.flatMap((s) => s.releases.map(install)));
    const tInstalled = Date.now();
    const judged = await Promise.all(shapes.map((s) => judge(s, installed.filter(Boolean), start)));
    const tJudged = Date.now();
    await cleanup(shapes, all);
    const took = (a: number, b: number) => `${Math.round((b - a) / 100) / 10}s`;
    console.log(
      `${shapes.map((s) => s.name).join(" + ")}: installed in ${took(t0, tInstalled)}, judged in ${took(tInstalled, tJudged)}, cleaned up in ${took(tJudged, Date.now())}`,
    );
    return judged.map((row) => ({ ...row, seconds: Math.round((Date.now() - t0) / 1000) }));
  } catch (err) {
    await cleanup(shapes, all);
    throw err;
  }
}

async function judge(shape: Shape, installErrors: string[], start: number): Promise<Row> {
  const problems = installErrors.filter((e) => shape.releases.some((r) => e.includes(r.release)));
  const installProblems = problems.length;
  const namespaces = [NS, "default", ...shape.served.map((s) => s.ns), shape.foreign.ns];
  const rbacChecked = Promise.all(shape.releases.map((r) => canI(r, namespaces)));
  // Served orders Ready (a shard whose controller cannot lead never gets there).
  const served = await Promise.all(
    shape.served.map((s) =>
      waitFor(
        `${s.ns}/shape Ready`,
        async () => {
          const o = await orderOf(s.ns);
          return condition(o, "Ready")?.status === "True" && o;
        },
        45_000,
      ).catch((err: Error) => {
        problems.push(err.message.slice(0, 200));
        return undefined;
      }),
    ),
  );
  const orderReady = served.every((o) => o !== undefined);
  const foreign = await foreignProblem(shape, orderReady);
  if (foreign) problems.push(foreign);

  const agents = shape.releases.map((r) => `(${fullname(r.release)}-`);
  const mine = (await calls()).slice(start).filter((c) => c.status < 400);
  const ours = mine.filter((c) => agents.some((a) => c.agent?.includes(a)));
  const count = (op: string) => ours.filter((c) => c.operation === op).length;
  const creates = count("createProfileOrder");
  const confirms = count("confirmProfileOrder");
  const want = shape.served.length; // one order of one profile each: one create, one confirm
  if (creates !== want || confirms !== want)
    problems.push(`${creates} creates and ${confirms} confirms by its pods, want ${want} each`);
  for (const op of ["deleteProfileOrder", "terminateSim"]) if (count(op)) problems.push(`${count(op)} calls of ${op}`);
  // Calls about its orders come from its pods only; its pods call about its orders only.
  const servedIds = new Set(served.flatMap(idsOf));
  for (const c of mine) {
    const id = /sim_profile_orders\/([^/?]+)/.exec(c.path)?.[1];
    if (id && servedIds.has(id) && !agents.some((a) => c.agent?.includes(a)))
      problems.push(`${c.operation} on its order ${id} by ${c.agent}`);
    if (id && c.operation === "confirmProfileOrder" && agents.some((a) => c.agent?.includes(a)) && !servedIds.has(id))
      problems.push(`its pods confirmed ${id}, no order of its namespaces`);
  }

  const pods = (await Promise.all(shape.releases.map(podsReady))).filter(Boolean);
  problems.push(...pods);
  const extra = (await shape.extraCheck?.()) ?? "";
  if (extra) problems.push(extra);
  const rbac = (await rbacChecked).flat();
  problems.push(...rbac);
  return {
    shape: shape.name,
    podsReady: installProblems === 0 && pods.length === 0 && !extra,
    orderReady: orderReady && creates === want && confirms === want,
    foreignUntouched: !foreign,
    canIMatches: rbac.length === 0,
    creates,
    confirms,
    seconds: 0,
    problems,
  };
}

/**
 * foreignProblem: the order in the foreign namespace has no status and no finalizer, or (a controller
 * watching every namespace) only the refusal the shape expects, with no order at Soracom. Judged after its
 * served orders are Ready, so the controller had the time to act on it.
 */
async function foreignProblem(shape: Shape, servedReady: boolean): Promise<string> {
  const { ns, refusal } = shape.foreign;
  const read = () => orderOf(ns);
  if (refusal) {
    const o = await waitFor(
      `${ns}/shape refused`,
      async () => {
        const x = await read();
        return condition(x, "Stalled")?.reason === refusal && x;
      },
      20_000,
    ).catch(() => read());
    const stalled = condition(o, "Stalled");
    if (stalled?.reason !== refusal) return `foreign order: Stalled ${stalled?.reason ?? "absent"}, want ${refusal}`;
    if (idsOf(o).length) return `foreign order has Soracom orders ${idsOf(o).join(",")}`;
    return "";
  }
  await new Promise((r) => setTimeout(r, 2000));
  const o = await read();
  const others = writers(o);
  if (others.length) return `foreign order written by ${others.join(", ")}`;
  if (o.metadata.finalizers?.length) return `foreign order has finalizers ${o.metadata.finalizers.join(",")}`;
  // The same look at a served order must see the controller's writes, or it proves nothing here.
  if (servedReady && !writers(await orderOf(shape.served[0]!.ns)).length)
    return "managedFields show no writer of a served order";
  return "";
}

/** writers: who wrote the object beyond kubectl's create (managedFields; the CRD's defaults show in status unwritten). */
function writers(o: K8sObject): string[] {
  const fields = (o.metadata as { managedFields?: Array<{ manager: string; subresource?: string }> }).managedFields;
  return (fields ?? [])
    .filter((f) => !f.manager.startsWith("kubectl") || f.subresource)
    .map((f) => `${f.manager}${f.subresource ? `/${f.subresource}` : ""}`);
}

/** HA: both pods Ready (checked above), one holds the Lease, the PDB keeps one up and allows one disruption. */
async function haCheck(): Promise<string> {
  const name = fullname("shape-ha");
  const pdb = await json<{ spec: { minAvailable?: number }; status?: { disruptionsAllowed?: number } }>([
    "get",
    "pdb",
    name,
    "-n",
    NS,
  ]);
  if (pdb.spec.minAvailable !== 1 || pdb.status?.disruptionsAllowed !== 1)
    return `PDB: minAvailable ${pdb.spec.minAvailable}, disruptionsAllowed ${pdb.status?.disruptionsAllowed}`;
  const lease = await json<{ spec?: { holderIdentity?: string } }>(["get", "lease", name, "-n", NS]);
  const pods = (await podsOf("shape-ha")).map((p) => p.metadata.name);
  if (!pods.some((p) => lease.spec?.holderIdentity?.includes(p)))
    return `Lease held by ${lease.spec?.holderIdentity}, none of ${pods.join(",")}`;
  return "";
}

/** cleanup: the orders go while their controllers run (Retain: nothing terminated), then the releases. */
async function cleanup(shapes: Shape[], all: Served[]): Promise<void> {
  await Promise.all(
    all.map((s) => kubectl(["delete", "esimprofileorders,esimprofiles", "--all", "-n", s.ns, "--wait=false"])),
  ).catch(() => undefined);
  const left = () => Promise.all(all.map((s) => items(["get", "esimprofileorders,esimprofiles", "-n", s.ns])));
  await waitFor(
    "the shapes' orders and profiles gone",
    async () => (await left()).every((l) => l.length === 0),
    30_000,
  ).catch(async () => {
    // A controller that never ran (the failure being reported) cannot take its finalizers off.
    for (const l of await left())
      for (const o of l)
        await kubectl([
          "patch",
          (o as { kind?: string }).kind ?? "esimprofileorder",
          o.metadata.name,
          "-n",
          o.metadata.namespace!,
          "--type=merge",
          "-p",
          '{"metadata":{"finalizers":null}}',
        ]).catch(() => undefined);
  });
  const releases = shapes.flatMap((s) => s.releases.map((r) => r.release));
  await Promise.all(
    releases.map((r) => helm(["uninstall", r, "-n", NS, "--wait", "--timeout", "60s"]).catch(() => undefined)),
  );
  // The next shapes start once these pods stopped (a stopping pod must not act on their objects).
  await waitFor(
    "the shapes' pods gone",
    async () => (await Promise.all(releases.map(podsOf))).flat().length === 0,
    60_000,
  ).catch(() => undefined);
  await Promise.all(all.map((s) => kubectl(["delete", "namespace", s.ns, "--wait=false"]).catch(() => undefined)));
}

function printTable(): void {
  const cols = ["pods Ready", "order Ready", "foreign untouched", "can-i matches"] as const;
  const yes = (b: boolean) => (b ? "yes" : "NO");
  const line = (a: string, rest: string[]) =>
    `| ${a.padEnd(40)} | ${rest.map((v, i) => v.padEnd([...cols, "calls (create/confirm)", "s"][i]!.length)).join(" | ")} |`;
  const text = [
    line("shape", [...cols, "calls (create/confirm)", "s"]),
    ...rows.map((r) =>
      line(r.shape, [
        yes(r.podsReady),
        yes(r.orderReady),
        yes(r.foreignUntouched),
        yes(r.canIMatches),
        `${r.creates}/${r.confirms}`,
        String(r.seconds),
      ]),
    ),
  ];
  const problems = rows.flatMap((r) => r.problems.map((p) => `- ${r.shape}: ${p}`));
  const seconds = Math.round((Date.now() - stage0) / 1000);
  console.log(`\nChart shapes on the node (${seconds}s):\n${text.join("\n")}\n${problems.join("\n")}\n`);
  if (RESULTS) writeFileSync(RESULTS, `${JSON.stringify({ seconds, rows }, null, 2)}\n`);
}

beforeAll(async () => {
  // A kept cluster (E2E_KEEP=1) may hold a previous run's releases: start from none.
  const left = (await helm(["list", "-n", NS, "-q"]).catch(() => "")).split("\n").filter(Boolean);
  await Promise.all(left.map((r) => helm(["uninstall", r, "-n", NS, "--wait", "--timeout", "60s"])));
  const mine = Object.values(SHAPES).flatMap((s) => [...s.served, s.foreign].map((x) => x.ns));
  await waitFor("the previous run's namespaces gone", async () => {
    const names = new Set((await items(["get", "namespaces"])).map((n) => n.metadata.name));
    return mine.every((n) => !names.has(n));
  });
  // The scenarios' SoracomAccount "default" (kept on uninstall) would stand in for the single-tenant
  // shapes' implicit account, which bears the same name: this stage starts without it.
  await kubectl(["delete", "soracomaccount", "default", "--ignore-not-found"]);
  await apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  for (const name of ["soracom-credentials", "soracom-sandbox-credentials"])
    await kubectl(["-n", NS, "create", "secret", "generic", name, ...CREDENTIALS]).catch(() => undefined);
});
afterAll(async () => {
  printTable();
  const accounts = Object.values(SHAPES)
    .flatMap((s) => s.releases.flatMap((r) => r.set))
    .filter((s) => s.startsWith("accounts.create.name="))
    .map((s) => s.split("=")[1]!);
  await kubectl(["delete", "soracomaccounts", ...new Set(accounts), "shape-acct-b", "--ignore-not-found"]).catch(
    () => undefined,
  );
});

async function check(...names: Array<keyof typeof SHAPES>): Promise<void> {
  const result = await runShapes(names.map((n) => SHAPES[n]!));
  rows.push(...result);
  for (const r of result) expect(r.problems, r.shape).toEqual([]);
}

describe.sequential("every documented chart shape, under its own ServiceAccount", () => {
  it("namespaced and two shards, side by side (disjoint namespaces)", () => check("namespaced", "sharded"));
  it("default", () => check("default"));
  it("HA", () => check("ha"));
  it("several accounts with tenant credentials", () => check("accounts"));
  it("sandbox endpoint", () => check("sandbox"));
});
