import { afterEach, describe, expect, it } from "vitest";
import { LeaderElector } from "../../controller/kube/leader.js";
import { toMicroTime } from "../../controller/kube/object.js";
import { KubeClient } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";

// Leader election on a real coordination.k8s.io/v1 Lease: the apiserver's resourceVersion checks are
// what keep two candidates from both winning, so they are tested here, not against a fake.
const cluster = useCluster();

const electors: LeaderElector[] = [];
const clients: KubeClient[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
  for (const c of clients.splice(0)) c.close();
});

async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function candidate(identity: string, log: string[]): LeaderElector {
  const client = new KubeClient(cluster.kc); // one client each: two replicas share nothing
  clients.push(client);
  const elector = new LeaderElector({
    client,
    namespace: cluster.namespace,
    name: "soracom-esim-operator",
    identity,
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 250,
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => {
      log.push(`${identity} stopped`);
    },
  });
  electors.push(elector);
  return elector;
}

async function holder(): Promise<string | undefined> {
  const lease = await cluster.coordination.readNamespacedLease({
    namespace: cluster.namespace,
    name: "soracom-esim-operator",
  });
  return lease.spec?.holderIdentity;
}

describe("LeaderElector on a real apiserver", () => {
  it("elects exactly one of two candidates, and a release hands over at once", async () => {
    const log: string[] = [];
    const a = candidate("replica-a", log);
    const b = candidate("replica-b", log);
    void a.run();
    void b.run();
    const leader = await eventually("a leader", () => [a, b].find((e) => e.isLeader()));
    const follower = leader === a ? b : a;
    // Several retry periods later there is still one leader, and it is the one in the Lease.
    await new Promise((r) => setTimeout(r, 1_500));
    expect([a, b].filter((e) => e.isLeader())).toEqual([leader]);
    expect(await holder()).toBe(leader.identity);
    expect(follower.leader()).toBe(leader.identity);

    const releasedAt = Date.now();
    await leader.stop();
    await eventually("the follower to lead", () => follower.isLeader());
    // Far sooner than the 3 s lease duration: the release cleared the holder.
    expect(Date.now() - releasedAt).toBeLessThan(2_000);
    expect(await holder()).toBe(follower.identity);
    expect(log).toEqual([`${leader.identity} started`, `${leader.identity} stopped`, `${follower.identity} started`]);
  });

  it("a new candidate waits out a crashed leader's lease before taking over", async () => {
    // A crashed leader leaves its Lease held and unrenewed (it never got to release it).
    const client = new KubeClient(cluster.kc);
    clients.push(client);
    const now = toMicroTime(Date.now());
    await client.request({
      method: "POST",
      path: `/apis/coordination.k8s.io/v1/namespaces/${cluster.namespace}/leases`,
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "soracom-esim-operator" },
        spec: { holderIdentity: "crashed", leaseDurationSeconds: 3, acquireTime: now, renewTime: now },
      },
    });
    const log: string[] = [];
    const next = candidate("next", log);
    const startedAt = Date.now();
    void next.run();
    await eventually("the takeover", () => next.isLeader(), 15_000);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2_900); // one lease duration, on its own clock
    expect(await holder()).toBe("next");
  });

  it("steps down when the apiserver is gone past renewDeadline, and leads again when it is back", async () => {
    const log: string[] = [];
    const a = candidate("only", log);
    void a.run();
    await eventually("leading", () => a.isLeader());
    await cluster.controlPlane.stopApiserver();
    await eventually("stepping down", () => !a.isLeader(), 10_000);
    expect(a.healthy()).toBe(true); // a short outage is not yet unhealthy for a follower
    await cluster.controlPlane.startApiserver();
    await eventually("leading again", () => a.isLeader(), 30_000);
    expect(log).toEqual(["only started", "only stopped", "only started"]);
  });
});
