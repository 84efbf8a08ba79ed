import { randomBytes } from "node:crypto";
import os from "node:os";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { silentLogger } from "../log.js";
import { type Clock, sleep, systemClock } from "./clock.js";
import { isConflict, isNotFound } from "./errors.js";
import { toMicroTime } from "./object.js";
import { gauge } from "./prom.js";
import type { KubeApi } from "./rest.js";

export interface LeaderElectorOptions {
  client: KubeApi;
  /** namespace and name of the coordination.k8s.io/v1 Lease. */
  namespace: string;
  name: string;
  /** identity defaults to "<POD_NAME or hostname>_<random>", unique even for two processes on one host. */
  identity?: string;
  /** leaseDurationMs: how long followers wait after the last renewal they saw before taking over. */
  leaseDurationMs?: number;
  /** renewDeadlineMs: how long the leader keeps trying to renew before it gives up leading. */
  renewDeadlineMs?: number;
  /** retryPeriodMs: the pace of acquire and renew attempts. */
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** registry receives leader_election_master_status{name} (1 while this replica leads) and soracom_esim_leader. */
  registry?: Registry;
  /** onStartedLeading runs when this replica becomes leader; signal aborts when it stops leading. */
  onStartedLeading?: (signal: AbortSignal) => void;
  /**
   * onStoppedLeading runs once per term when leadership ends (lost, or stop()). On stop() the lease is
   * still renewed until the returned promise settles, then released: stop controllers there, so the
   * next leader never overlaps with reconciles still in flight here.
   */
  onStoppedLeading?: () => void | Promise<void>;
  /** onNewLeader reports every change of holder this replica observes (for logs). */
  onNewLeader?: (identity: string) => void;
  random?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/**
 * LeaderElector runs client-go's leader election on a Lease: followers take over only after the lease
 * went unrenewed for leaseDuration as measured on their own clock (so clock skew does not matter);
 * every write is guarded by resourceVersion, so two candidates can never both win; a leader that
 * cannot renew within renewDeadline steps down; stop() releases the lease (empty holder) so the next
 * replica takes over within one retry period instead of a whole lease duration.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly o: Required<
    Omit<LeaderElectorOptions, "registry" | "onStartedLeading" | "onStoppedLeading" | "onNewLeader">
  > &
    Pick<LeaderElectorOptions, "onStartedLeading" | "onStoppedLeading" | "onNewLeader">;
  private readonly logger: Logger;
  private readonly gauges: ReturnType<typeof leaderGauges> | undefined;
  private readonly path: string;
  private lease: Lease | undefined;
  private observedKey = "";
  private observedAt = 0;
  private observedHolder = "";
  private leading = false;
  private lastRenew = 0;
  private lastContact: number;
  private term: AbortController | undefined;
  private termStopped: Promise<void> | undefined;
  private readonly loopAbort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity ?? `${process.env.POD_NAME || os.hostname()}_${randomBytes(4).toString("hex")}`;
    this.o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      clock: systemClock,
      logger: silentLogger,
      random: Math.random,
      ...opts,
      identity: this.identity,
    };
    if (this.o.renewDeadlineMs >= this.o.leaseDurationMs)
      throw new RangeError("renewDeadline must be shorter than leaseDuration");
    this.logger = this.o.logger.child({ lease: `${opts.namespace}/${opts.name}`, identity: this.identity });
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`;
    this.gauges = opts.registry ? leaderGauges(opts.registry) : undefined;
    this.setGauges(false);
    this.lastContact = this.o.clock.now();
  }

  /** on sets what happens when this replica starts and stops leading (before run). */
  on(handlers: { started?: (signal: AbortSignal) => void; stopped?: () => void | Promise<void> }): void {
    if (handlers.started) this.o.onStartedLeading = handlers.started;
    if (handlers.stopped) this.o.onStoppedLeading = handlers.stopped;
  }

  /** run starts campaigning in the background; the promise settles after stop(). */
  run(): Promise<void> {
    this.loop ??= this.campaign();
    return this.loop;
  }

  /** isLeader is true while this replica holds the lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /** leader is the holder this replica last observed ("" when the lease is free or unknown). */
  leader(): string {
    return this.leading ? this.identity : this.observedHolder;
  }

  /**
   * healthy: a leader must have renewed within leaseDuration; a follower must have reached the
   * apiserver within two lease durations. /readyz uses it.
   */
  healthy(): boolean {
    const now = this.o.clock.now();
    if (this.leading) return now - this.lastRenew <= this.o.leaseDurationMs;
    return now - this.lastContact <= 2 * this.o.leaseDurationMs;
  }

  /**
   * fenceReason says why this replica may not act at Soracom now, or undefined while it may: it holds the
   * lease and renewed it (counted from when the renewal was asked for) less than renewDeadline ago. A
   * follower takes over only after a whole leaseDuration without renewal, so anything sent before this
   * deadline leaves leaseDuration - renewDeadline for its answer before another leader can start.
   */
  fenceReason(): string | undefined {
    if (!this.leading) return "this replica does not hold the leader lease";
    const age = this.o.clock.now() - this.lastRenew;
    if (age > this.o.renewDeadlineMs)
      return `the leader lease was last renewed ${age} ms ago, past the renew deadline of ${this.o.renewDeadlineMs} ms`;
    return undefined;
  }

  /** stop ends campaigning; a leader first waits for onStoppedLeading (still renewing), then releases. */
  async stop(): Promise<void> {
    if (this.leading) await this.endTerm("stopping");
    this.loopAbort.abort();
    await this.loop;
    if (this.leading) {
      await this.endTerm("stopping"); // a term won while stop() was waiting
      await this.release();
    }
    this.setLeading(false);
  }

  private async campaign(): Promise<void> {
    const signal = this.loopAbort.signal;
    while (!signal.aborted) {
      // A renewal counts from when it was asked for: followers age the lease from no earlier than that.
      const attemptAt = this.o.clock.now();
      const won = await this.tryAcquireOrRenew();
      const now = this.o.clock.now();
      if (won) {
        this.lastRenew = attemptAt;
        if (!this.leading) this.startTerm();
      } else if (
        this.leading &&
        (this.observedHolder !== this.identity || now - this.lastRenew >= this.o.renewDeadlineMs)
      ) {
        this.logger.warn({ holder: this.observedHolder }, "lost leadership");
        this.setLeading(false);
        void this.endTerm("lost");
      }
      // Followers jitter their retries (client-go: factor 1.2) so candidates do not collide forever.
      const wait = this.leading ? this.o.retryPeriodMs : this.o.retryPeriodMs * (1 + 1.2 * this.o.random());
      await sleep(this.o.clock, wait, signal);
    }
  }

  /** tryAcquireOrRenew makes one attempt; true means this replica holds the lease right now. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.clock.now();
    try {
      const current = await this.get();
      if (!current) return await this.create(now);
      this.observe(current, now);
      const holder = current.spec?.holderIdentity ?? "";
      // The holder's own declared duration counts (a released lease says 1 s), as in client-go.
      const durationMs = (current.spec?.leaseDurationSeconds ?? 0) * 1000 || this.o.leaseDurationMs;
      const expired = this.observedAt + durationMs <= now;
      if (holder && holder !== this.identity && !expired) return false;
      const mine = holder === this.identity;
      const spec: LeaseSpec = {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
        acquireTime: mine && current.spec?.acquireTime ? current.spec.acquireTime : toMicroTime(now),
        renewTime: toMicroTime(now),
        leaseTransitions: (current.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
      };
      this.lease = await this.put(current, spec);
      this.observe(this.lease, now);
      return true;
    } catch (err) {
      if (!isConflict(err)) this.logger.warn({ err }, "leader election attempt failed");
      return false;
    }
  }

  /** observe notes when the lease record last changed, on our clock: that, not renewTime, ages it. */
  private observe(lease: Lease, now: number): void {
    this.lease = lease;
    this.lastContact = now;
    const s = lease.spec ?? {};
    const key = `${s.holderIdentity ?? ""}|${s.renewTime ?? ""}|${s.acquireTime ?? ""}|${s.leaseTransitions ?? 0}`;
    if (key === this.observedKey) return;
    this.observedKey = key;
    this.observedAt = now;
    const holder = s.holderIdentity ?? "";
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder) this.logger.info({ holder }, "new leader observed");
      if (holder) this.o.onNewLeader?.(holder);
    }
  }

  private startTerm(): void {
    this.setLeading(true);
    this.logger.info("started leading");
    this.term = new AbortController();
    this.termStopped = undefined;
    try {
      this.o.onStartedLeading?.(this.term.signal);
    } catch (err) {
      this.logger.error({ err }, "onStartedLeading threw");
    }
  }

  /** endTerm aborts the term's signal and runs onStoppedLeading once per term. */
  private endTerm(why: string): Promise<void> {
    if (this.termStopped) return this.termStopped;
    this.term?.abort();
    this.logger.info({ why }, "stopped leading");
    this.termStopped = Promise.resolve()
      .then(() => this.o.onStoppedLeading?.())
      .catch((err) => this.logger.error({ err }, "onStoppedLeading threw"));
    return this.termStopped;
  }

  /** release clears the holder so a follower sees a free lease at its next retry. */
  private async release(): Promise<void> {
    const lease = this.lease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = toMicroTime(this.o.clock.now());
    try {
      await this.put(lease, {
        ...lease.spec,
        holderIdentity: "",
        leaseDurationSeconds: 1,
        renewTime: now,
        acquireTime: now,
      });
      this.logger.info("released the lease");
    } catch (err) {
      this.logger.warn({ err }, "could not release the lease; followers take over after it expires");
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.setGauges(leading);
  }

  private setGauges(leading: boolean): void {
    this.gauges?.leaderElectionStatus.set({ name: this.o.name }, leading ? 1 : 0);
    this.gauges?.leader.set(leading ? 1 : 0);
  }

  private async get(): Promise<Lease | undefined> {
    try {
      return await this.o.client.request<Lease>({
        path: `${this.path}/${encodeURIComponent(this.o.name)}`,
        timeoutMs: this.requestTimeout(),
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async create(now: number): Promise<boolean> {
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: toMicroTime(now),
      renewTime: toMicroTime(now),
      leaseTransitions: 0,
    };
    const lease = await this.o.client.request<Lease>({
      method: "POST",
      path: this.path,
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec,
      },
      timeoutMs: this.requestTimeout(),
    });
    this.observe(lease, now);
    return true;
  }

  private put(current: Lease, spec: LeaseSpec): Promise<Lease> {
    return this.o.client.request<Lease>({
      method: "PUT",
      path: `${this.path}/${encodeURIComponent(this.o.name)}`,
      body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: current.metadata, spec },
      timeoutMs: this.requestTimeout(),
    });
  }

  private requestTimeout(): number {
    return Math.max(1000, Math.floor(this.o.renewDeadlineMs / 2));
  }
}

/**
 * leaderGauges are the leadership metrics: client-go's (and so controller-runtime's)
 * leader_election_master_status{name=<lease>}, and soracom_esim_leader, deprecated (still exported in this
 * release, removed in the next; the alerts and the dashboard use leader_election_master_status).
 */
export function leaderGauges(registry: Registry) {
  return {
    leaderElectionStatus: gauge(
      registry,
      "leader_election_master_status",
      "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
      ["name"],
    ),
    leader: gauge(
      registry,
      "soracom_esim_leader",
      "Deprecated: use leader_election_master_status{name}. 1 when this replica is the leader, 0 otherwise",
      [],
    ),
  };
}
