import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../controller/kube/clock.js";
import { KubeConflictError, KubeNetworkError, KubeNotFoundError } from "../../controller/kube/errors.js";
import { LeaderElector } from "../../controller/kube/leader.js";
import type { KubeApi, KubeRequest } from "../../controller/kube/rest.js";

interface StoredLease {
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec: Record<string, unknown>;
}

/** FakeLeases is a one-Lease apiserver with resourceVersion checks; `down` makes it unreachable. */
class FakeLeases implements KubeApi {
  lease: StoredLease | undefined;
  down = false;
  private rv = 1;

  async request<T>(req: KubeRequest): Promise<T> {
    if (this.down) throw new KubeNetworkError("connection refused");
    const body = req.body as StoredLease | undefined;
    if (req.method === "POST") {
      if (this.lease) throw new KubeConflictError(409, { reason: "AlreadyExists" });
      this.lease = { metadata: { ...body!.metadata, resourceVersion: String(++this.rv) }, spec: body!.spec };
    } else if (req.method === "PUT") {
      if (!this.lease) throw new KubeNotFoundError(404);
      if (body!.metadata.resourceVersion !== this.lease.metadata.resourceVersion) throw new KubeConflictError(409);
      this.lease = { metadata: { ...this.lease.metadata, resourceVersion: String(++this.rv) }, spec: body!.spec };
    } else if (!this.lease) {
      throw new KubeNotFoundError(404);
    }
    return structuredClone(this.lease) as T;
  }

  async watch(): Promise<void> {}

  holder(): unknown {
    return this.lease?.spec.holderIdentity;
  }
}

const electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

function elector(api: KubeApi, clock: ManualClock, identity: string, log: string[], registry?: Registry) {
  const e = new LeaderElector({
    client: api,
    namespace: "ops",
    name: "soracom-esim-operator",
    identity,
    clock,
    random: () => 0,
    ...(registry ? { registry } : {}),
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => {
      log.push(`${identity} stopped`);
    },
  });
  electors.push(e);
  return e;
}

describe("LeaderElector", () => {
  it("lets exactly one of two candidates lead, and the gauge says so", async () => {
    const clock = new ManualClock();
    const api = new FakeLeases();
    const log: string[] = [];
    const registry = new Registry();
    const a = elector(api, clock, "a", log, registry);
    const b = elector(api, clock, "b", log);
    void a.run();
    await clock.advance(0);
    void b.run();
    await clock.advance(20_000);
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    expect(api.holder()).toBe("a");
    expect(b.leader()).toBe("a");
    expect(log).toEqual(["a started"]);
    expect(a.healthy() && b.healthy()).toBe(true);
    const text = await registry.metrics();
    expect(text).toContain('leader_election_master_status{name="soracom-esim-operator"} 1');
    expect(text).toContain("soracom_esim_leader 1"); // deprecated, kept for one release
  });

  it("hands over within one retry period when the leader releases on stop", async () => {
    const clock = new ManualClock();
    const api = new FakeLeases();
    const log: string[] = [];
    const a = elector(api, clock, "a", log);
    const b = elector(api, clock, "b", log);
    void a.run();
    await clock.advance(0);
    void b.run();
    await clock.advance(5_000);
    await a.stop();
    expect(api.holder()).toBe("");
    await clock.advance(2_000);
    expect(b.isLeader()).toBe(true);
    expect(api.lease?.spec.leaseTransitions).toBe(1);
    expect(log).toEqual(["a started", "a stopped", "b started"]);
  });

  it("keeps renewing while onStoppedLeading drains, and releases only after it finished", async () => {
    const clock = new ManualClock();
    const api = new FakeLeases();
    let finishDrain: () => void = () => {};
    const a = new LeaderElector({
      client: api,
      namespace: "ops",
      name: "l",
      identity: "a",
      clock,
      onStoppedLeading: () => new Promise<void>((resolve) => (finishDrain = resolve)),
    });
    void a.run();
    await clock.advance(0);
    const stopping = a.stop();
    await clock.advance(30_000); // longer than a lease: renewals must go on meanwhile
    expect(api.holder()).toBe("a");
    expect(a.isLeader()).toBe(true);
    finishDrain();
    await stopping;
    expect(api.holder()).toBe("");
    expect(a.isLeader()).toBe(false);
  });

  it("takes over a crashed leader's lease only after leaseDuration on its own clock", async () => {
    const clock = new ManualClock();
    const api = new FakeLeases();
    const log: string[] = [];
    api.lease = {
      metadata: { name: "soracom-esim-operator", namespace: "ops", resourceVersion: "1" },
      // renewTime far in the past: a skewed clock must not make the lease look expired at once
      spec: { holderIdentity: "crashed", leaseDurationSeconds: 15, renewTime: "2000-01-01T00:00:00.000000Z" },
    };
    const b = elector(api, clock, "b", log);
    void b.run();
    await clock.advance(14_000);
    expect(b.isLeader()).toBe(false);
    await clock.advance(4_000);
    expect(b.isLeader()).toBe(true);
    expect(api.holder()).toBe("b");
  });

  it("steps down when it cannot renew within renewDeadline", async () => {
    const clock = new ManualClock();
    const api = new FakeLeases();
    const log: string[] = [];
    const registry = new Registry();
    const a = elector(api, clock, "a", log, registry);
    void a.run();
    await clock.advance(0);
    expect(a.isLeader()).toBe(true);
    api.down = true;
    await clock.advance(8_000);
    expect(a.isLeader()).toBe(true);
    await clock.advance(4_000);
    expect(a.isLeader()).toBe(false);
    expect(log).toEqual(["a started", "a stopped"]);
    expect(await registry.metrics()).toContain('leader_election_master_status{name="soracom-esim-operator"} 0');
    expect(await registry.metrics()).toContain("soracom_esim_leader 0");
    await clock.advance(30_000);
    expect(a.healthy()).toBe(false); // a follower that cannot reach the apiserver is not ready
  });

  it("steps down at once when another holder shows up in the lease", async () => {
    const clock = new ManualClock();
    const api = new FakeLeases();
    const log: string[] = [];
    const a = elector(api, clock, "a", log);
    void a.run();
    await clock.advance(0);
    api.lease!.spec.holderIdentity = "usurper";
    await clock.advance(2_000);
    expect(a.isLeader()).toBe(false);
    expect(log).toEqual(["a started", "a stopped"]);
  });
});
