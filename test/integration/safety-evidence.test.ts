import { rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANNOTATIONS, RETIRED_ANNOTATIONS } from "../../controller/api/vocabulary.js";
import { kubeconfigFor } from "../controlplane/credentials.js";
import { useCluster } from "../support/cluster.js";
import { eventually, metricValue } from "../support/controller-process.js";
import { condition } from "../support/e2e.js";
import { restrictedKubeconfig } from "../support/restricted.js";
import { useSafety } from "../support/safety-harness.js";
import { useSafetySummary } from "../support/safety-summary.js";
import type { SimControl } from "../support/soracom-sim.js";

// Money is decided only from evidence: synced caches, durable status, fresh Soracom reads, and only by
// the replica that holds the lease. Each scenario below is one way 57e4de9 spent or terminated what
// nobody asked for; each is judged from the simulator's call log and state, not from what the controller
// says of itself.
const FILE = "safety-evidence";
const cluster = useCluster();
const h = useSafety(cluster, FILE);
useSafetySummary(FILE);

const FAST = ["--soracom-requests-per-second", "200"];

/** morePolls waits until the simulator saw `n` more calls of `operation`: absence is asserted after them. */
async function morePolls(control: SimControl, operation: string, n: number, timeoutMs = 60_000): Promise<void> {
  const base = await control.count(operation);
  await eventually(async () => (await control.count(operation)) >= base + n, {
    timeoutMs,
    what: `${n} more ${operation} call(s)`,
  });
}

/** orderOf is the Soracom order (from the simulator's state) created for sequence `seq` of a resource. */
async function ordersIn(control: SimControl) {
  return ((await control.state()) as { orders: Array<{ profileOrderId: string; status: string; quantity: number }> })
    .orders;
}

describe("caches that never synced", () => {
  it("regression (defect 1): without a synced profile cache the controller exits 1 and orders nothing again", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const first = await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 3 });
    await h.ready("fleet");
    await h.materialized("fleet", 3);
    await first.proc!.stop();
    const creates = await control.count("createProfileOrder");

    // RBAC forgot to let it list EsimProfiles here: that informer can never sync.
    const kubeconfig = await restrictedKubeconfig(cluster, h.namespace, ["esimprofiles"]);
    try {
      const inc = await h.spawn(sim, { kubeconfig, args: [...FAST, "--cache-sync-timeout", "4s"] });
      await h.waitDeath(inc, 30_000);
      expect(inc.proc?.child.exitCode).toBe(1);
      const line = inc.proc?.logs.find((l) => l.includes("caches did not sync"));
      expect(line).toContain("esimprofiles.esim.soracom-operator.io in namespace");
      expect(await control.count("createProfileOrder")).toBe(creates);
    } finally {
      rmSync(dirname(kubeconfig), { recursive: true, force: true });
    }
    await h.finish(control, "profile informer never synced (RBAC): exit 1, nothing reordered", { started, faults: 1 });
  });

  it("regression (defect 1): without a synced order cache no orphan sweep runs: a Manual draft awaiting approval stays", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const first = await h.spawn(sim, { args: FAST });
    await h.applyOrder("manual", { subscription: "planX3", quantity: 2, confirmation: "Manual" });
    await eventually(async () => condition(await h.order("manual"), "AwaitingConfirmation")?.status === "True", {
      what: "a draft awaiting approval",
    });
    await first.proc!.stop();

    const kubeconfig = await restrictedKubeconfig(cluster, h.namespace, ["esimprofileorders"]);
    try {
      const inc = await h.spawn(sim, { kubeconfig, args: [...FAST, "--cache-sync-timeout", "4s"] });
      await h.waitDeath(inc, 30_000);
      expect(inc.proc?.child.exitCode).toBe(1);
    } finally {
      rmSync(dirname(kubeconfig), { recursive: true, force: true });
    }
    expect(await control.count("deleteProfileOrder")).toBe(0);
    expect((await ordersIn(control)).map((o) => o.status)).toEqual(["DRAFT"]);
    await h.finish(control, "order informer never synced (RBAC): exit 1, no draft cancelled", {
      started,
      faults: 1,
      invariants: { converged: [] },
    });
  });
});

describe("an uncertain create is planned again against what is wanted now", () => {
  it("regression (defect 3): the quantity lowered during the grace period: the dropped intent is never created", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const first = await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 2 });
    await h.ready("fleet");
    const [gone] = await h.materialized("fleet", 2);
    await first.proc!.stop();
    const creates = await control.count("createProfileOrder");

    // The replacement's intent is written, then the process dies before its create.
    await h.deleteProfile(gone!.metadata.name!);
    const crashing = await h.spawn(sim, { args: FAST, crashAt: "before-create" });
    await h.waitDeath(crashing);
    const intent = (await h.order("fleet")).status?.orders?.find((t) => t.status === "Pending");
    expect(intent).toBeDefined();
    await h.patchOrder("fleet", { spec: { quantity: 1 } });

    await h.spawn(sim, { args: FAST });
    await eventually(
      async () =>
        (await h.order("fleet")).status?.orders?.find((t) => t.sequence === intent!.sequence)?.status === "NotCreated",
      { what: "the intent found not created after its grace period" },
    );
    await h.ready("fleet");
    await morePolls(control, "listOrderedProfiles", 2);
    expect(await control.count("createProfileOrder")).toBe(creates);
    await h.finish(control, "quantity lowered while a create's outcome was unknown", {
      started,
      faults: 1,
      invariants: { gone: new Set([gone!.status!.iccid!]), expectOrdered: { fleet: 2 } },
    });
  });
});

describe("a confirm whose answer was lost", () => {
  it("regression (defect 4): applied but unanswered: read again, never confirmed twice", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    await control.fault("confirmProfileOrder", "drop-response", 1);
    await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 5 });
    await h.ready("fleet");
    const calls = (await control.calls()).calls;
    const confirms = calls.filter((c) => c.operation === "confirmProfileOrder");
    expect(confirms).toHaveLength(1);
    const id = confirms[0]!.path.split("/")[3];
    expect(
      calls.some((c) => c.operation === "getProfileOrder" && c.path.includes(id!) && c.at >= confirms[0]!.at),
    ).toBe(true);
    await h.finish(control, "confirm applied, answer lost: one confirm", { started, faults: 1 });
  });

  it("not applied (reset): the order is read as DRAFT before the confirm is sent again", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    await control.fault("confirmProfileOrder", "reset", 1);
    await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 5 });
    await h.ready("fleet");
    const calls = (await control.calls()).calls;
    const confirms = calls.filter((c) => c.operation === "confirmProfileOrder");
    expect(confirms).toHaveLength(2);
    const read = calls.filter(
      (c) => c.operation === "getProfileOrder" && c.at >= confirms[0]!.at && c.at <= confirms[1]!.at,
    );
    expect(read.length).toBeGreaterThan(0);
    await h.finish(control, "confirm reset before it applied: read, then confirmed once", { started, faults: 1 });
  });
});

describe("Soracom answers the controller does not understand fail closed", () => {
  it("regression (defect 7): an order in an unknown status holds its profiles: refused, shown, nothing reordered", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator({ inProgressDelayMs: 600_000 });
    await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 5 });
    await eventually(async () => (await h.order("fleet")).status?.orders?.[0]?.status === "IN_PROGRESS", {
      what: "the order In Progress",
    });
    const [o] = await ordersIn(control);
    await control.send("POST", `/orders/${o!.profileOrderId}/force`, { rawStatus: "ON_HOLD" });
    // Not a vendor status: the answer is refused (by the client's schema or the planner), never recorded.
    const refused = await eventually(
      async () => {
        const x = await h.order("fleet");
        return condition(x, "Reconciling")?.reason === "SoracomAnswerInvalid" ? x : undefined;
      },
      { what: "Reconciling SoracomAnswerInvalid" },
    );
    expect(refused.status?.orders?.[0]?.status).toBe("IN_PROGRESS");
    expect(condition(refused, "Ready")?.status).toBe("False");
    await morePolls(control, "getProfileOrder", 3);
    expect(await control.count("createProfileOrder")).toBe(1);
    expect((await h.events()).some((e) => e.reason === "SoracomAnswerInvalid" && e.type === "Warning")).toBe(true);
    await h.finish(control, "an order in a status the operator does not know", {
      started,
      faults: 1,
      invariants: { converged: [] },
    });
  });

  it("regression (defect 7): a short profile list is reported and held until a person acknowledges it", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator({ inProgressDelayMs: 600_000 });
    const inc = await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 3 });
    await eventually(async () => (await h.order("fleet")).status?.orders?.[0]?.status === "IN_PROGRESS", {
      what: "the order In Progress",
    });
    const [o] = await ordersIn(control);
    await control.send("POST", `/orders/${o!.profileOrderId}/force`, { listShortBy: 1 });
    await control.send("POST", `/orders/${o!.profileOrderId}/force`, { status: "COMPLETED" });
    await h.materialized("fleet", 2);
    await eventually(async () => condition(await h.order("fleet"), "ProfileListShort")?.status === "True", {
      what: "ProfileListShort",
    });
    await morePolls(control, "listOrderedProfiles", 2);
    expect(await control.count("createProfileOrder")).toBe(1);
    expect((await h.events()).some((e) => e.reason === "ShortProfileList")).toBe(true);
    const labels = { profile_order_id: o!.profileOrderId };
    expect(metricValue(await inc.proc!.metrics(), "soracom_esim_order_profiles_missing", labels)).toBe(1);

    // A person has looked into it: the missing profile is ordered again.
    await h.patchOrder("fleet", {
      metadata: { annotations: { [ANNOTATIONS.acknowledgeShort]: o!.profileOrderId } },
    });
    await eventually(async () => (await ordersIn(control)).length === 2, { what: "the replacement order" });
    const second = (await ordersIn(control)).find((x) => x.profileOrderId !== o!.profileOrderId)!;
    await eventually(
      async () =>
        (await ordersIn(control)).find((x) => x.profileOrderId === second.profileOrderId)?.status === "IN_PROGRESS",
      { what: "the replacement In Progress" },
    );
    await control.send("POST", `/orders/${second.profileOrderId}/force`, { status: "COMPLETED" });
    await h.materialized("fleet", 3);
    await h.ready("fleet");
    expect(await control.count("createProfileOrder")).toBe(2);
    const hidden = ((await control.state()) as { orders: Array<{ profileOrderId: string; iccids: string[] }> }).orders
      .find((x) => x.profileOrderId === o!.profileOrderId)!
      .iccids.at(-1)!;
    // The reorder after the acknowledgement is a person's decision: judged by the end state, not at its create.
    await h.finish(control, "a COMPLETED order listing fewer profiles than ordered", {
      started,
      faults: 1,
      invariants: { expectOrdered: { fleet: 4 }, gone: new Set([hidden]), history: {} },
    });
  });
});

describe("nothing a namespace user writes on an EsimProfile terminates its SIM", () => {
  it("regression (defect 2): terminate-requested and budget-override annotations on an adopted and an ordered profile", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    await h.spawn(sim, { args: FAST });
    const adopted = await control.createSim();
    await h.createProfile("lab-gateway", { simId: adopted.simId });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 1 });
    await h.ready("fleet");
    const [ordered] = await h.materialized("fleet", 1);
    await eventually(async () => (await h.profile("lab-gateway")).status?.simId === adopted.simId, {
      what: "lab-gateway adopted",
    });
    const forged = {
      [RETIRED_ANNOTATIONS.terminateRequested]: "ScaleDown",
      [RETIRED_ANNOTATIONS.terminationBudgetOverride]: "true",
    };
    for (const name of ["lab-gateway", ordered!.metadata.name!])
      await h.patchProfile(name, { metadata: { annotations: forged } });
    await morePolls(control, "listOrderedProfiles", 3);
    const counts = (await control.calls()).counts;
    expect(counts.terminateSim ?? 0).toBe(0);
    expect(counts.enableSimTermination ?? 0).toBe(0);
    await h.finish(control, "forged terminate-requested / budget-override annotations", {
      started,
      faults: 2,
      terminationsBeyondBudget: counts.terminateSim ?? 0,
    });
  });
});

/**
 * CutProxy forwards TCP to the apiserver for one replica, until cut: then every connection is closed and
 * new ones are dropped, as a network partition cuts one node off while the apiserver stays up for others.
 */
class CutProxy {
  private readonly sockets = new Set<net.Socket>();
  private cut = false;
  private server!: net.Server;
  port = 0;

  async start(target: { host: string; port: number }): Promise<void> {
    this.server = net.createServer((client) => {
      if (this.cut) return client.destroy();
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  partition(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    this.partition();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe("a replica that lost its lease sends nothing more", () => {
  it("regression (defect 5): the leader cut off from the apiserver with creates queued: none is sent after the other replica leads", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const apiserver = new URL(cluster.info.server);
    const proxy = new CutProxy();
    await proxy.start({ host: apiserver.hostname, port: Number(apiserver.port) });
    // A's kubeconfig goes through the proxy that cuts it off, as admin (the cut is under test, not RBAC);
    // replica B runs under the chart's identity.
    const kubeconfig = join(h.cluster.info.dir, `cut-${h.namespace}.kubeconfig`);
    writeFileSync(
      kubeconfig,
      kubeconfigFor(`https://127.0.0.1:${proxy.port}`, cluster.info.caPem, cluster.info.admin, h.namespace),
      { mode: 0o600 },
    );
    // Grace 8 s, request timeout 2 s: an intent's create may be sent until 6 s after it was written, and the
    // next leader concludes "not created" from a list read 8 s after it. 57e4de9 sent A's queued creates
    // long after that, with the same tokens as B's re-creates: duplicates.
    const election = [
      "--create-grace-period",
      "8s",
      "--leader-elect",
      "--leader-election-lease-duration",
      "4s",
      "--leader-election-renew-deadline",
      "3s",
      "--leader-election-retry-period",
      "500ms",
      "--spend-budget",
      "unlimited",
    ];
    try {
      // A creates slowly: one create every 3 s from its limiter, so most of its creates wait there.
      const a = await h.spawn(sim, {
        kubeconfig,
        env: { POD_NAME: "replica-a" },
        args: [...election, "--soracom-requests-per-second", "0.3"],
      });
      await eventually(async () => metricValue(await a.proc!.metrics(), "soracom_esim_leader") === 1, {
        what: "replica A leads",
      });
      const b = await h.spawn(sim, { env: { POD_NAME: "replica-b" }, args: [...election, ...FAST] });
      await h.applyOrder("fleet", { subscription: "planX3", quantity: 100 });
      await eventually(async () => (await control.count("createProfileOrder")) >= 1, { what: "A's first create" });
      proxy.partition();
      await eventually(async () => metricValue(await b.proc!.metrics(), "soracom_esim_leader") === 1, {
        timeoutMs: 30_000,
        what: "replica B leads",
      });
      await h.ready("fleet", 120_000);
      await h.materialized("fleet", 100, 120_000);

      const calls = (await control.calls()).calls.filter((c) => c.method !== "GET" && !c.path.startsWith("/v1/auth"));
      const firstOfB = Math.min(...calls.filter((c) => c.agent?.includes("replica-b")).map((c) => c.at));
      const lateOfA = calls.filter((c) => c.agent?.includes("replica-a") && c.at >= firstOfB);
      expect(lateOfA, "mutations from A after B started").toEqual([]);
      expect(calls.filter((c) => c.agent?.includes("replica-a")).length).toBeGreaterThan(0);
      await h.finish(control, "leader cut off with creates queued (two replicas, one partitioned)", {
        started,
        faults: 1,
      });
    } finally {
      await proxy.close();
      rmSync(kubeconfig, { force: true });
    }
  });
});

describe("a namespace being deleted", () => {
  it("regression (namespace deletion): profiles gone with their namespace are not ordered again", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const lane = await h.lane("nsdel");
    await lane.spawn(sim, { args: FAST });
    // Retain: deleting a profile terminates nothing, so only ordering is in question here.
    const template = { spec: { deletionPolicy: "Retain" } };
    await lane.applyOrder("fleet", { subscription: "planX3", quantity: 2, profileTemplate: template });
    await lane.ready("fleet");
    const [first] = await lane.materialized("fleet", 2);

    // Control: in a live namespace, deleting a profile frees its place and a replacement is ordered.
    const before = await control.count("createProfileOrder");
    await lane.deleteProfile(first!.metadata.name!);
    await eventually(async () => (await control.count("createProfileOrder")) === before + 1, {
      what: "a replacement ordered in a live namespace",
    });
    const [second] = await lane.materialized("fleet", 2);
    const creates = await control.count("createProfileOrder");

    // The namespace goes; its EsimProfiles may go before their order does. Which goes first is the namespace
    // controller's choice: it is stopped here so that this order is the one the test gets (useCluster starts
    // it again after the test). The apiserver would refuse their replacements: none is bought.
    await h.cluster.controlPlane.stopControllerManager();
    await h.cluster.core.deleteNamespace({ name: lane.namespace });
    await lane.deleteProfile(second!.metadata.name!);
    // Whichever comes first: a create at the simulator, or the order saying why it orders nothing.
    const stalled = await eventually(
      async () => {
        if ((await control.count("createProfileOrder")) > creates) return { bought: true };
        const c = condition(await lane.order("fleet"), "Stalled");
        return c?.status === "True" && c.reason === "NamespaceTerminating" ? c : undefined;
      },
      { what: "a create, or the order Stalled with NamespaceTerminating" },
    );
    expect(await control.count("createProfileOrder")).toBe(creates);
    expect(stalled).toMatchObject({ message: expect.stringContaining(`Namespace ${lane.namespace} is being deleted`) });
    expect(await control.count("confirmProfileOrder")).toBe(creates);
    await h.finish(control, "namespace deleted under its order: no replacement bought", { started, faults: 1 });
  });
});
