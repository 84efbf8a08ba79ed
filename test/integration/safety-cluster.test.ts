import { describe, expect, it } from "vitest";
import { useCluster } from "../support/cluster.js";
import { type ControllerProcess, eventually, metricValue } from "../support/controller-process.js";
import { condition } from "../support/e2e.js";
import { type Incarnation, useSafety } from "../support/safety-harness.js";
import { useSafetySummary } from "../support/safety-summary.js";

// The Kubernetes side failing in the middle of a flow of 45 profiles: the apiserver restarting, every
// watch expiring (410 after an etcd compaction), status writes losing to a concurrent writer, and two
// replicas where the leader is SIGKILLed mid-flow.
const FILE = "safety-cluster";
const cluster = useCluster();
const h = useSafety(cluster, FILE);
useSafetySummary(FILE);

const FAST = ["--soracom-requests-per-second", "200"];
/** Short lease timings so a takeover happens in seconds (flags added for this suite). */
const LEASE = [
  "--leader-elect",
  "--leader-election-lease-duration",
  "4s",
  "--leader-election-renew-deadline",
  "3s",
  "--leader-election-retry-period",
  "500ms",
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** flowStarted waits until the simulator has seen the first create (the flow is in the middle). */
async function flowStarted(control: { count(op: string): Promise<number> }): Promise<void> {
  await eventually(async () => (await control.count("createProfileOrder")) >= 1, {
    intervalMs: 25,
    what: "the first create",
  });
}

describe("apiserver restarts and expired watches", () => {
  it("the apiserver restarts in the middle of a flow: the controller rides it out and converges", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator({ confirmDelayMs: 1_000, inProgressDelayMs: 1_000 });
    await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 45 });
    await flowStarted(control);
    await cluster.controlPlane.restartApiserver();
    await h.ready("fleet", 120_000);
    await h.materialized("fleet", 45, 120_000);
    expect(await control.count("createProfileOrder")).toBe(3);
    await h.finish(control, "apiserver restart mid-flow", { started, faults: 1 });
  });

  it("every watch expires (etcd compacted, apiserver restarted: 410) in the middle of a flow", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator({ confirmDelayMs: 1_000, inProgressDelayMs: 1_000 });
    await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 45 });
    await flowStarted(control);
    await cluster.controlPlane.forceWatchExpiry();
    await h.ready("fleet", 120_000);
    await h.materialized("fleet", 45, 120_000);
    expect(await control.count("createProfileOrder")).toBe(3);
    await h.finish(control, "watch expiry (410) mid-flow", { started, faults: 1 });
  });
});

describe("status write conflicts", () => {
  it("someone patches the order every few milliseconds while it is reconciled: writes conflict, are retried, nothing is ordered twice", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator();
    const inc = await h.spawn(sim, { args: FAST });
    await h.applyOrder("fleet", { subscription: "planX3", quantity: 45 });
    let patches = 0;
    let done = false;
    const writer = (async () => {
      while (!done) {
        await h.patchOrder("fleet", { metadata: { annotations: { "example.com/touched": String(patches++) } } });
        await sleep(15);
      }
    })();
    try {
      await h.ready("fleet", 120_000);
      await h.materialized("fleet", 45, 120_000);
    } finally {
      done = true;
      await writer;
    }
    const conflicts =
      metricValue(await inc.proc!.metrics(), "controller_runtime_reconcile_total", {
        controller: "esimprofileorder",
        result: "requeue",
      }) ?? 0;
    expect(conflicts, "status writes that lost to the concurrent patches").toBeGreaterThan(0);
    expect(await control.count("createProfileOrder")).toBe(3);
    await h.finish(control, "status write conflicts (an annotation patched every 15 ms)", {
      started,
      faults: conflicts,
      note: `${patches} patches, ${conflicts} conflicting reconciles`,
    });
  });
});

/** reconciles is what a replica's metrics say it reconciled (0 when it never did). */
async function reconciles(p: ControllerProcess): Promise<number> {
  const text = await p.metrics();
  let n = 0;
  for (const result of ["success", "error", "requeue", "requeue_after"])
    n += metricValue(text, "controller_runtime_reconcile_total", { controller: "esimprofileorder", result }) ?? 0;
  return n;
}

async function isLeader(p: ControllerProcess): Promise<boolean> {
  return metricValue(await p.metrics(), "soracom_esim_leader") === 1;
}

describe("two replicas with leader election", () => {
  it("only the leader acts; SIGKILL the leader mid-flow and the other takes over without a duplicate", async () => {
    const started = Date.now();
    const { sim, control } = await h.simulator({ confirmDelayMs: 1_500, inProgressDelayMs: 1_500 });
    const a = await h.spawn(sim, { args: [...FAST, ...LEASE] });
    const b = await h.spawn(sim, { args: [...FAST, ...LEASE] });
    const both = [a, b] as [Incarnation, Incarnation];
    const leaderIndex = await eventually(
      async () => {
        const flags = await Promise.all(both.map((x) => isLeader(x.proc!)));
        return flags.filter(Boolean).length === 1 ? flags.indexOf(true) + 1 : undefined;
      },
      { what: "exactly one leader" },
    );
    const leader = both[leaderIndex - 1]!;
    const follower = both[2 - leaderIndex]!;

    await h.applyOrder("fleet", { subscription: "planX3", quantity: 45 });
    await flowStarted(control);
    await eventually(async () => (await reconciles(leader.proc!)) > 0, { intervalMs: 50, what: "a leader reconcile" });
    expect(await reconciles(follower.proc!), "the follower reconciles nothing").toBe(0);
    expect(follower.proc!.logs.some((l) => l.includes("caches synced; reconciling"))).toBe(false);

    const before = (await control.calls()).counts;
    expect(condition(await h.order("fleet"), "Ready")?.status, "killed mid-flow").not.toBe("True");
    await h.sigkill(leader);
    await eventually(() => isLeader(follower.proc!), { timeoutMs: 30_000, what: "the follower takes over" });
    await h.ready("fleet", 120_000);
    await h.materialized("fleet", 45, 120_000);
    expect(await reconciles(follower.proc!)).toBeGreaterThan(0);
    expect(await control.count("createProfileOrder")).toBe(3);
    await h.finish(control, "two replicas: the leader SIGKILLed mid-flow", {
      started,
      faults: 1,
      note: `${before.createProfileOrder ?? 0} create(s), ${before.confirmProfileOrder ?? 0} confirm(s) before the kill`,
    });
  });
});
