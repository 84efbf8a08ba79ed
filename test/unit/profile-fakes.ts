import type { EsimProfile } from "../../controller/api/types.js";
import { KubeNotFoundError } from "../../controller/kube/errors.js";
import type {
  EventSink,
  Finalizers,
  ProfileCache,
  ProfileMetrics,
  ProfileStatusPatch,
  SimOps,
  StatusPatcher,
  TerminationBudget,
  TerminationBudgetStatus,
} from "../../controller/profile/ports.js";
import { SoracomApiError } from "../../controller/soracom/errors.js";
import type { Sim } from "../../controller/soracom/types.js";

/** Fakes of the profile reconciler's ports, recording every call, for the executor and reconciler tests. */

type Op = keyof SimOps;

/** FakeSims is an in-memory Soracom for SIM operations, with scripted failures per operation. */
export class FakeSims implements SimOps {
  readonly calls: Array<{ op: Op; args: unknown[] }> = [];
  /** journal, when shared with FakeBudget, shows the order of budget and Soracom calls. */
  constructor(readonly journal: string[] = []) {}
  readonly sims = new Map<string, Sim>();
  /** imsi → simId, as GET /subscribers/{imsi} answers. */
  readonly subscribers = new Map<string, string>();
  private readonly failures = new Map<Op, unknown[]>();
  /** Applied before a scripted failure is thrown (a lost answer to a request that was applied). */
  private readonly applyBeforeFailing = new Set<Op>();

  add(sim: Sim, imsi?: string): this {
    this.sims.set(sim.simId ?? "", structuredClone(sim));
    if (imsi) this.subscribers.set(imsi, sim.simId ?? "");
    return this;
  }

  /** failNext makes the next call of op throw err; applied: the change happens anyway (a lost answer). */
  failNext(op: Op, err: unknown, opts: { applied?: boolean } = {}): this {
    this.failures.set(op, [...(this.failures.get(op) ?? []), err]);
    if (opts.applied) this.applyBeforeFailing.add(op);
    return this;
  }

  count(op: Op): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  ops(): Op[] {
    return this.calls.map((c) => c.op);
  }

  private enter(op: Op, args: unknown[]): unknown {
    this.calls.push({ op, args });
    this.journal.push(op);
    const queue = this.failures.get(op);
    return queue && queue.length > 0 ? queue.shift() : undefined;
  }

  private async change(op: Op, simId: string, mutate: (sim: Sim) => void): Promise<Sim> {
    const err = this.enter(op, [simId]);
    const sim = this.sims.get(simId);
    if (err !== undefined) {
      if (this.applyBeforeFailing.has(op) && sim) mutate(sim);
      throw err;
    }
    if (!sim) throw notFound(op);
    if (sim.status === "terminated") throw refused(op, "SEM0007");
    mutate(sim);
    return structuredClone(sim);
  }

  async getSim(simId: string): Promise<Sim> {
    const err = this.enter("getSim", [simId]);
    if (err !== undefined) throw err;
    const sim = this.sims.get(simId);
    if (!sim) throw notFound("getSim");
    return structuredClone(sim);
  }

  async resolveSimId(profile: { imsi: string }): Promise<string | undefined> {
    const err = this.enter("resolveSimId", [profile.imsi]);
    if (err !== undefined) throw err;
    return this.subscribers.get(profile.imsi);
  }

  async findSimExact(key: { iccid: string } | { imsi: string } | { simId: string }): Promise<Sim | undefined> {
    const err = this.enter("findSimExact", [key]);
    if (err !== undefined) throw err;
    const match = [...this.sims.values()].find((s) =>
      "simId" in key ? s.simId === key.simId : "iccid" in key ? key.iccid in (s.profiles ?? {}) : false,
    );
    return match ? structuredClone(match) : undefined;
  }

  enableSimTermination = (simId: string) =>
    this.change("enableSimTermination", simId, (s) => {
      s.terminationEnabled = true;
    });
  disableSimTermination = (simId: string) =>
    this.change("disableSimTermination", simId, (s) => {
      s.terminationEnabled = false;
    });
  terminateSim = async (simId: string): Promise<Sim> => {
    const err = this.enter("terminateSim", [simId]);
    const sim = this.sims.get(simId);
    if (err !== undefined) {
      if (this.applyBeforeFailing.has("terminateSim") && sim) sim.status = "terminated";
      throw err;
    }
    if (!sim) throw notFound("terminateSim");
    if (sim.status === "terminated") throw refused("terminateSim", "SEM0007");
    // Soracom refuses to terminate a protected SIM with a definite 400 (the simulator's SEM0003).
    if (!sim.terminationEnabled) throw refused("terminateSim", "SEM0003");
    sim.status = "terminated";
    return structuredClone(sim);
  };
  activateSim = (simId: string) =>
    this.change("activateSim", simId, (s) => {
      s.status = "active";
    });
  deactivateSim = (simId: string) =>
    this.change("deactivateSim", simId, (s) => {
      s.status = "inactive";
    });
  suspendSim = (simId: string) =>
    this.change("suspendSim", simId, (s) => {
      s.status = "suspended";
    });
  setSimToStandby = (simId: string) =>
    this.change("setSimToStandby", simId, (s) => {
      s.status = "standby";
    });
  updateSimSpeedClass = (simId: string, speedClass: string) =>
    this.change("updateSimSpeedClass", simId, (s) => {
      s.speedClass = speedClass;
    });
  putSimTags = (simId: string, tags: Array<{ tagName: string; tagValue: string }>) =>
    this.change("putSimTags", simId, (s) => {
      s.tags = { ...s.tags, ...Object.fromEntries(tags.map((t) => [t.tagName, t.tagValue])) };
    });
  setSimGroup = (simId: string, groupId: string) =>
    this.change("setSimGroup", simId, (s) => {
      s.groupId = groupId;
    });
  unsetSimGroup = (simId: string) =>
    this.change("unsetSimGroup", simId, (s) => {
      s.groupId = undefined;
    });
}

/** refused is a definite 4xx answer, as the client throws it. */
export function refused(operation: string, soracomCode: string, status = 400): SoracomApiError {
  return new SoracomApiError(operation, { status, soracomCode, soracomMessage: "refused", headers: {} });
}

export function notFound(operation: string): SoracomApiError {
  return new SoracomApiError(operation, {
    status: 404,
    soracomCode: "SEM0001",
    soracomMessage: "not found",
    headers: {},
  });
}

/** FakeBudget counts consumptions; `allowed` can be switched off. */
export class FakeBudget implements TerminationBudget {
  consumed: string[] = [];
  status: TerminationBudgetStatus = { allowed: true, remaining: 20, limit: 20, windowMs: 3_600_000 };
  failWith: unknown;
  constructor(readonly journal: string[] = []) {}

  check(): TerminationBudgetStatus {
    return this.status;
  }

  consume(simId: string): void {
    if (this.failWith) throw this.failWith;
    this.consumed.push(simId);
    this.journal.push("consume");
  }
}

export class FakeEvents implements EventSink {
  readonly events: Array<{ type: string; reason: string; message: string }> = [];
  record(_profile: EsimProfile, type: "Normal" | "Warning", reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

export class FakeFinalizers implements Finalizers {
  readonly calls: string[] = [];
  failAdd: unknown;
  async add(profile: EsimProfile, finalizer: string): Promise<EsimProfile> {
    if (this.failAdd) throw this.failAdd;
    this.calls.push(`add ${finalizer}`);
    const finalizers = [...(profile.metadata.finalizers ?? []), finalizer];
    return { ...profile, metadata: { ...profile.metadata, finalizers, resourceVersion: bump(profile) } };
  }
  async remove(profile: EsimProfile, finalizer: string): Promise<EsimProfile> {
    this.calls.push(`remove ${finalizer}`);
    const finalizers = (profile.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    return { ...profile, metadata: { ...profile.metadata, finalizers, resourceVersion: bump(profile) } };
  }
}

export class FakeStatus implements StatusPatcher {
  readonly patches: Array<{ resourceVersion: string | undefined; patch: ProfileStatusPatch }> = [];
  failWith: unknown;
  async patchStatus(profile: EsimProfile, patch: ProfileStatusPatch): Promise<EsimProfile> {
    if (this.failWith) throw this.failWith;
    this.patches.push({ resourceVersion: profile.metadata.resourceVersion, patch });
    return { ...profile, status: applyMergePatch(profile.status ?? {}, patch) };
  }
}

export class FakeMetrics implements ProfileMetrics {
  readonly terminated: Array<[string, string]> = [];
  readonly phases: Array<[string, string | undefined, string]> = [];
  simTerminated(namespace: string, reason: string): void {
    this.terminated.push([namespace, reason]);
  }
  profilePhaseChanged(namespace: string, from: string | undefined, to: string): void {
    this.phases.push([namespace, from, to]);
  }
}

/** applyMergePatch applies a one-level JSON merge patch (null removes), as the apiserver does for status. */
export function applyMergePatch<T extends object>(target: T, patch: object): T {
  const out: Record<string, unknown> = { ...(target as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out as T;
}

function bump(profile: EsimProfile): string {
  return String(Number(profile.metadata.resourceVersion ?? "0") + 1);
}

/**
 * ProfileStore plays the apiserver and the informer cache for the reconciler: status merge patches and
 * finalizer writes land in it, and a deleted object whose last finalizer goes disappears.
 */
export class ProfileStore implements ProfileCache, StatusPatcher, Finalizers {
  readonly objects = new Map<string, EsimProfile>();
  readonly patches: ProfileStatusPatch[] = [];
  /** Errors to throw from the next status writes (a 409, say). */
  readonly statusFailures: unknown[] = [];

  put(profile: EsimProfile): EsimProfile {
    const stored = structuredClone(profile);
    this.objects.set(keyOf(stored), stored);
    return stored;
  }

  get(namespace: string, name: string): EsimProfile | undefined {
    const p = this.objects.get(`${namespace}/${name}`);
    return p ? structuredClone(p) : undefined;
  }

  /** update changes a stored object as a user would (spec edits bump the generation). */
  update(key: string, change: (p: EsimProfile) => void): void {
    const p = this.objects.get(key);
    if (!p) throw new Error(`no ${key}`);
    change(p);
    p.metadata.resourceVersion = bump(p);
  }

  async patchStatus(profile: EsimProfile, patch: ProfileStatusPatch): Promise<EsimProfile> {
    const failure = this.statusFailures.shift();
    if (failure) throw failure;
    const stored = this.stored(profile);
    stored.status = applyMergePatch(stored.status ?? {}, patch);
    stored.metadata.resourceVersion = bump(stored);
    this.patches.push(patch);
    return structuredClone(stored);
  }

  async add(profile: EsimProfile, finalizer: string): Promise<EsimProfile> {
    const stored = this.stored(profile);
    if (!stored.metadata.finalizers?.includes(finalizer)) {
      stored.metadata.finalizers = [...(stored.metadata.finalizers ?? []), finalizer];
      stored.metadata.resourceVersion = bump(stored);
    }
    return structuredClone(stored);
  }

  async remove(profile: EsimProfile, finalizer: string): Promise<EsimProfile> {
    const stored = this.stored(profile);
    stored.metadata.finalizers = (stored.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    stored.metadata.resourceVersion = bump(stored);
    if (stored.metadata.deletionTimestamp && stored.metadata.finalizers.length === 0) {
      this.objects.delete(keyOf(stored));
    }
    return structuredClone(stored);
  }

  private stored(profile: EsimProfile): EsimProfile {
    const stored = this.objects.get(keyOf(profile));
    if (!stored) throw new KubeNotFoundError(404, { reason: "NotFound" });
    return stored;
  }
}

function keyOf(p: EsimProfile): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}
