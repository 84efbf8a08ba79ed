import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { ACCOUNT_REF, GROUP, ORDER_KIND, ORDER_REF, PROFILE_REF, VERSION } from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { namespaceName } from "../controlplane/fixture.js";
import { useCluster } from "../support/cluster.js";
import { type ControllerProcess, eventually, startControllerProcess } from "../support/controller-process.js";
import { condition } from "../support/e2e.js";
import { SIM_CREDENTIALS, type SimControl, type Simulator, startTestSimulator } from "../support/soracom-sim.js";
import { tenantIdentity } from "./tenant-support.js";

// Issue 24, defects 1 and 2: authority over a SIM comes only from what the controller wrote (an order's
// record of the child it made) and is keyed by the Soracom operator that owns the SIM, not by the
// SoracomAccount's name. Three teams share one Soracom operator (three SoracomAccounts on one credentials
// Secret, as docs/security.md allows); each tenant acts with a ServiceAccount bound to the chart's tenant
// roles. Judged by the simulator's counts of the calls that change a SIM, before and after each attack.
const cluster = useCluster({ namespacePrefix: "authority" });
const admin = new KubeClient(cluster.kc);
const suffix = randomBytes(3).toString("hex");
const ns = {
  ops: namespaceName("ops"),
  a: namespaceName("team-a"),
  b: namespaceName("team-b"),
  c: namespaceName("team-c"),
};
const acct = { a: `a-${suffix}`, b: `b-${suffix}`, c: `c-${suffix}` };
const MUTATIONS = ["enableSimTermination", "terminateSim", "suspendSim"] as const;
const table: Array<[string, string]> = [];

let sim: Simulator;
let control: SimControl;
let controller: ControllerProcess;
const tenant: Record<"a" | "b" | "c", KubeClient> = {} as never;
/** Team A's order-made profiles and the SIMs they hold: one per attack, so that each is judged alone. */
const held: Array<{ profile: string; simId: string }> = [];

const counts = async () => {
  const { counts } = await control.calls();
  return Object.fromEntries(MUTATIONS.map((op) => [op, counts[op] ?? 0])) as Record<(typeof MUTATIONS)[number], number>;
};
const delta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(MUTATIONS.map((op) => [op, (after[op] ?? 0) - (before[op] ?? 0)]));
const describeCounts = (d: Record<string, number>) => MUTATIONS.map((op) => `${op} ${d[op]}`).join(", ");

const create = <T>(client: KubeClient, namespace: string, kind: "EsimProfileOrder" | "EsimProfile", body: object) =>
  client.request<T>({
    method: "POST",
    path: resourcePath({ ...(kind === "EsimProfile" ? PROFILE_REF : ORDER_REF), namespace }),
    body: { apiVersion: `${GROUP}/${VERSION}`, kind, ...body },
  });
const readProfile = (namespace: string, name: string) =>
  admin.request<EsimProfile>({ path: resourcePath({ ...PROFILE_REF, namespace }, name) });
const gone = (namespace: string, name: string) =>
  eventually(
    () =>
      readProfile(namespace, name).then(
        () => false,
        () => true,
      ),
    { what: `${namespace}/${name} gone`, timeoutMs: 60_000 },
  );
const simStatus = async (simId: string) =>
  ((await control.state()) as { sims: Array<{ simId: string; status: string }> }).sims.find((s) => s.simId === simId)
    ?.status;

beforeAll(async () => {
  for (const [key, name] of Object.entries(ns)) {
    const labels = key === "ops" ? {} : { "authority-test": `${key}-${suffix}` };
    await admin.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name, labels } } });
  }
  const started = await startTestSimulator({ confirmDelayMs: 200, inProgressDelayMs: 300 });
  sim = started.sim;
  control = started.control;
  await admin.request({
    method: "POST",
    path: `/api/v1/namespaces/${ns.ops}/secrets`,
    body: { metadata: { name: "shared" }, stringData: SIM_CREDENTIALS },
  });
  const account = (name: string, team: string, adoption: object) =>
    admin.request({
      method: "POST",
      path: resourcePath(ACCOUNT_REF),
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "SoracomAccount",
        metadata: { name },
        spec: {
          credentialsSecretRef: { name: "shared" },
          namespaceSelector: { matchLabels: { "authority-test": `${team}-${suffix}` } },
          endpoint: sim.url,
          adoption,
        },
      },
    });
  // A and B: no adoption. C: adoption, terminating adopted SIMs included (what a team may well be given).
  await account(acct.a, "a", { allowed: false });
  await account(acct.b, "b", { allowed: false });
  await account(acct.c, "c", { allowed: true, terminate: true });
  controller = await startControllerProcess({
    controlPlane: cluster.info,
    soracomEndpoint: sim.url,
    credentials: null,
    namespaces: [ns.a, ns.b, ns.c],
    args: ["--operator-namespace", ns.ops, "--leader-election-namespace", ns.ops, "--watch-activation-secrets"],
  });
  for (const team of ["a", "b", "c"] as const) tenant[team] = (await tenantIdentity(cluster, ns[team], ns.ops)).client;
  // Team A orders one profile; its child holds the SIM the others will go after.
  await create(tenant.a, ns.a, "EsimProfileOrder", {
    metadata: { name: "fleet" },
    spec: { subscription: "planX3", quantity: 2, accountRef: { name: acct.a } },
  });
  const children = await eventually(
    async () => {
      const list = await admin.request<{ items: EsimProfile[] }>({
        path: resourcePath({ ...PROFILE_REF, namespace: ns.a }),
      });
      const ready = list.items.filter((x) => x.status?.simId && condition(x, "Ready")?.status === "True");
      return ready.length === 2 ? ready : undefined;
    },
    { what: "team A's two children Ready with their SIMs", timeoutMs: 90_000 },
  );
  for (const c of children) held.push({ profile: c.metadata.name ?? "", simId: c.status?.simId ?? "" });
}, 240_000);

afterAll(async () => {
  await controller?.stop().catch(() => undefined);
  await sim?.close().catch(() => undefined);
  for (const name of Object.values(acct))
    await admin.request({ method: "DELETE", path: resourcePath(ACCOUNT_REF, name) }).catch(() => undefined);
  console.log(
    ["", "| Attack | SIM calls it caused |", "|---|---|", ...table.map(([a, c]) => `| ${a} | ${c} |`)].join("\n"),
  );
});

/**
 * forgeAndDelete: team B makes a quantity-0 order (no Soracom call), an EsimProfile naming `simId` under
 * Terminate with an owner reference to that order, waits for the finalizer, and deletes it.
 */
async function forgeAndDelete(name: string, simId: string): Promise<void> {
  const order = await create<EsimProfileOrder>(tenant.b, ns.b, "EsimProfileOrder", {
    metadata: { name: `${name}-order` },
    spec: { subscription: "planX3", quantity: 0, accountRef: { name: acct.b } },
  });
  await create(tenant.b, ns.b, "EsimProfile", {
    metadata: {
      name,
      ownerReferences: [
        { apiVersion: `${GROUP}/${VERSION}`, kind: ORDER_KIND, name: `${name}-order`, uid: order.metadata.uid },
      ],
    },
    spec: { simId, deletionPolicy: "Terminate", accountRef: { name: acct.b } },
  });
  await eventually(async () => ((await readProfile(ns.b, name)).metadata.finalizers ?? []).length > 0, {
    what: `${name} has its finalizer`,
  });
  await tenant.b.request({ method: "DELETE", path: resourcePath({ ...PROFILE_REF, namespace: ns.b }, name) });
  await gone(ns.b, name);
}

describe("tenancy: authority only from the controller's record, claims by Soracom operator (issue 24)", () => {
  it("regression (defect 1): a forged owner reference on a profile naming another team's held SIM terminates nothing", async () => {
    const before = await counts();
    await forgeAndDelete("forged-held", held[0]!.simId);
    const d = delta(before, await counts());
    table.push(["forged owner ref, another team's held SIM, deleted under Terminate", describeCounts(d)]);
    expect(d).toEqual({ enableSimTermination: 0, terminateSim: 0, suspendSim: 0 });
    expect(await simStatus(held[0]!.simId)).not.toBe("terminated");
  });

  it("regression (defect 1): the same on an unmanaged SIM, under an account without adoption, terminates nothing", async () => {
    const unmanaged = await control.createSim();
    const before = await counts();
    await forgeAndDelete("forged-unmanaged", unmanaged.simId);
    const d = delta(before, await counts());
    table.push(["forged owner ref, unmanaged SIM, adoption off, deleted under Terminate", describeCounts(d)]);
    expect(d).toEqual({ enableSimTermination: 0, terminateSim: 0, suspendSim: 0 });
    expect(await simStatus(unmanaged.simId)).not.toBe("terminated");
  });

  it("regression (defect 2): another SoracomAccount on the same credentials cannot adopt and suspend a held SIM", async () => {
    const before = await counts();
    await create(tenant.c, ns.c, "EsimProfile", {
      metadata: { name: "steal" },
      spec: {
        simId: held[1]!.simId,
        deletionPolicy: "Terminate",
        sim: { status: "suspended" },
        accountRef: { name: acct.c },
      },
    });
    const stalled = await eventually(
      async () => {
        const p = await readProfile(ns.c, "steal");
        return condition(p, "Stalled")?.reason === "SimHeldElsewhere" ? p : undefined;
      },
      {
        what: "steal Stalled SimHeldElsewhere",
        timeoutMs: 30_000,
        explain: async () => JSON.stringify((await readProfile(ns.c, "steal")).status),
      },
    ).catch(() => undefined);
    await tenant.c.request({ method: "DELETE", path: resourcePath({ ...PROFILE_REF, namespace: ns.c }, "steal") });
    await gone(ns.c, "steal");
    const d = delta(before, await counts());
    table.push([
      "second account on the same Secret adopts a held SIM, suspends, deletes under Terminate",
      describeCounts(d),
    ]);
    expect(d).toEqual({ enableSimTermination: 0, terminateSim: 0, suspendSim: 0 });
    expect(stalled && condition(stalled, "Stalled")?.message).toContain(`${ns.a}/${held[1]!.profile}`);
    expect(await simStatus(held[1]!.simId)).not.toMatch(/suspended|terminated/);
  });

  it("regression (defect 7): an activation Secret a tenant made in the place of the controller's is not used, and is reported", async () => {
    const child = await readProfile(ns.a, held[0]!.profile);
    const ref = child.status?.activationSecretRef as { name: string; uid?: string };
    expect(ref.uid).toBeTruthy(); // the UID of the Secret the controller made, recorded as it made it
    const orderPath = resourcePath({ ...ORDER_REF, namespace: ns.a }, "fleet");
    const pause = (paused: boolean) =>
      tenant.a.request({
        method: "PATCH",
        path: orderPath,
        contentType: "application/merge-patch+json",
        body: { spec: { paused } },
      });
    const secrets = `/api/v1/namespaces/${ns.a}/secrets`;
    const ours = await admin.request<{ metadata: { labels?: Record<string, string>; ownerReferences?: unknown[] } }>({
      path: `${secrets}/${ref.name}`,
    });
    // Paused, so the controller cannot remake its own first; the impostor copies labels and owner reference.
    await pause(true);
    await tenant.a.request({ method: "DELETE", path: `${secrets}/${ref.name}` });
    const impostor = await tenant.a.request<{ metadata: { uid: string } }>({
      method: "POST",
      path: secrets,
      body: {
        metadata: { name: ref.name, labels: ours.metadata.labels, ownerReferences: ours.metadata.ownerReferences },
        stringData: { activationCode: "LPA:1$evil.example$X" },
      },
    });
    await pause(false);
    const reported = await eventually(
      async () => {
        const p = await readProfile(ns.a, held[0]!.profile);
        return condition(p, "ActivationSecretNotOwned")?.status === "True" ? p : undefined;
      },
      { what: "ActivationSecretNotOwned", timeoutMs: 30_000 },
    );
    expect(reported.status?.activationSecretRef).toBeUndefined();
    const kept = await admin.request<{ metadata: { uid: string }; data: Record<string, string> }>({
      path: `${secrets}/${ref.name}`,
    });
    expect(kept.metadata.uid).toBe(impostor.metadata.uid); // not written to: the tenant's, as it made it
    expect(Object.keys(kept.data)).toEqual(["activationCode"]);
    table.push(["activation Secret replaced by a tenant's", "not used; ActivationSecretNotOwned on the profile"]);
    // The tenant deletes it: the controller makes the real one and records it.
    await tenant.a.request({ method: "DELETE", path: `${secrets}/${ref.name}` });
    await eventually(
      async () => {
        const p = await readProfile(ns.a, held[0]!.profile);
        const again = p.status?.activationSecretRef as { uid?: string } | undefined;
        return again?.uid && again.uid !== impostor.metadata.uid && !condition(p, "ActivationSecretNotOwned");
      },
      { what: "the real Secret made again and recorded", timeoutMs: 30_000 },
    );
  });

  it("the control: the SIM's own holder, the order's child, still terminates it when deleted under Terminate", async () => {
    const before = await counts();
    await tenant.a.request({
      method: "PATCH",
      path: resourcePath({ ...ORDER_REF, namespace: ns.a }, "fleet"),
      contentType: "application/merge-patch+json",
      body: { spec: { quantity: 0 } },
    });
    await tenant.a.request({
      method: "DELETE",
      path: resourcePath({ ...PROFILE_REF, namespace: ns.a }, held[1]!.profile),
    });
    await gone(ns.a, held[1]!.profile);
    const d = delta(before, await counts());
    table.push(["team A deletes its own child under Terminate (control)", describeCounts(d)]);
    expect(d.terminateSim).toBe(1);
    expect(await simStatus(held[1]!.simId)).toBe("terminated");
  });
});
