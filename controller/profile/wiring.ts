import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type Accounts, onAccountChange } from "../accounts.js";
import { ownerOrder } from "../api/owner.js";
import type { EsimProfile, EsimProfileOrder, SoracomAccount } from "../api/types.js";
import { PROFILE_KIND, PROFILE_REF } from "../api/vocabulary.js";
import { TerminationBudgetExhaustedError, type TerminationLedger } from "../budget.js";
import type { ControllerConfig } from "../config.js";
import { CredentialsError } from "../credentials.js";
import type { EventRecorder } from "../kube/events.js";
import type { NamespacedCache, ObjectCache } from "../kube/multi.js";
import { type KubeObject, objectKey, splitKey } from "../kube/object.js";
import { Controller } from "../kube/reconciler.js";
import { type KubeClient, resourcePath } from "../kube/rest.js";
import { EVERYTHING, type Shard } from "../kube/shard.js";
import { addFinalizer, removeFinalizer } from "../kube/status.js";
import type { Metrics } from "../metrics.js";
import type { Sim } from "../soracom/types.js";
import { SimClaims } from "./claims.js";
import { isOrderChild } from "./origin.js";
import type { ProfileAuthority, ProfileReconcilerDeps, TerminationBudget as TerminationBudgetPort } from "./ports.js";
import { createProfileReconciler } from "./reconciler.js";

/**
 * startProfileController adapts the controller's real parts (caches, Soracom clients, the termination
 * ledger, events, metrics) to the profile reconciler's ports and wraps it in a Controller.
 */
export function startProfileController(opts: {
  cfg: ControllerConfig;
  kube: KubeClient;
  profiles: NamespacedCache<EsimProfile & KubeObject>;
  orders: ObjectCache<EsimProfileOrder>;
  accounts: Accounts;
  /** SoracomAccounts: a profile refused for its account is planned again when the account changes. */
  accountCache?: NamespacedCache<SoracomAccount & KubeObject>;
  events: EventRecorder;
  metrics: Metrics;
  registry: Registry;
  logger: Logger;
  synced: () => boolean;
  /** The namespaces this process owns (sharding); default every namespace. */
  shard?: Shard;
}): Controller {
  const { kube, profiles, orders } = opts;
  const shard = opts.shard ?? EVERYTHING;
  const orderOf = ownerIn(orders);
  const operators = new Operators(opts.accounts, opts.accountCache);
  const claims = new SimClaims({
    operatorOf: (p) => operators.of(p),
    isOrderChild: (p) => isOrderChild(p, orderOf(p)),
  });
  const deps: ProfileReconcilerDeps = {
    profiles: { get: (ns, name) => profiles.get(ns, name) },
    orderOf,
    authorityFor: (p) => authorityFor(opts.accounts, operators, claims, p),
    status: {
      patchStatus: (p, patch) =>
        kube.request<EsimProfile>({
          method: "PATCH",
          path: resourcePath({ ...PROFILE_REF, namespace: p.metadata.namespace }, p.metadata.name, "status"),
          contentType: "application/merge-patch+json",
          body: { status: patch },
        }),
    },
    finalizers: {
      add: (p, f) => addFinalizer(kube, PROFILE_REF, p, f),
      remove: (p, f) => removeFinalizer(kube, PROFILE_REF, p, f),
    },
    events: { record: (p, type, reason, message) => opts.events.record(p, type, reason, message) },
    metrics: {
      simTerminated: (namespace, reason) => opts.metrics.simsTerminated.inc({ namespace, reason }),
      answerRefused: (reason) => opts.metrics.answersRefused.inc({ kind: PROFILE_KIND, reason }),
      profilePhaseChanged: () => undefined, // profiles by phase are counted from the cache at scrape time
    },
    clock: { now: () => Date.now() },
    logger: opts.logger,
    dryRun: opts.cfg.dryRun,
    isPaused: (p) => orderOf(p)?.spec.paused === true,
    deletionRecorded: (p) => deletionRecorded(p, childOf(p, orderOf(p))),
  };
  const reconciler = createProfileReconciler(deps);
  const controller = new Controller({
    name: "esimprofile",
    concurrency: opts.cfg.concurrency,
    registry: opts.registry,
    logger: opts.logger,
    // Never decide from caches that have not synced (main starts workers only then; this is the backstop).
    // Another shard's profile is never touched here, even when it was queued before its namespace moved.
    reconcile: (key, signal) => {
      if (!shard.owns(splitKey(key).namespace)) return Promise.resolve({});
      return opts.synced() ? reconciler.reconcile(key, signal) : Promise.resolve({ requeueAfterMs: 1_000 });
    },
  });
  const enqueue = (p: KubeObject) => {
    if (shard.owns(p.metadata.namespace)) controller.enqueue(objectKey(p));
  };
  watchProfiles(profiles, claims, enqueue);
  if (opts.accountCache)
    onAccountChange(opts.accountCache, (name) => {
      for (const p of profiles.list()) if (opts.accounts.accountName(p.spec) === name) enqueue(p);
    });
  return controller;
}

/** ownerIn finds the EsimProfileOrder a profile names as owner in the cache, when its UID is the one named. */
function ownerIn(orders: ObjectCache<EsimProfileOrder>): (p: EsimProfile) => EsimProfileOrder | undefined {
  return (p) => {
    const ref = ownerOrder(p);
    const order = ref ? orders.get(p.metadata.namespace, ref.name) : undefined;
    return order && order.metadata.uid === ref?.uid ? order : undefined;
  };
}

/** childOf is the order when the profile is its recorded child (origin.ts), else undefined. */
function childOf(p: EsimProfile, order: EsimProfileOrder | undefined): EsimProfileOrder | undefined {
  return isOrderChild(p, order) ? order : undefined;
}

/** watchProfiles keeps the SIM claims of every profile (all shards') and queues this shard's. */
function watchProfiles(
  profiles: NamespacedCache<EsimProfile & KubeObject>,
  claims: SimClaims,
  enqueue: (p: KubeObject) => void,
): void {
  profiles.addHandler({
    add: (p) => {
      claims.set(p);
      enqueue(p);
    },
    update: (_old, p) => {
      claims.set(p);
      enqueue(p);
    },
    delete: (p) => {
      claims.remove(p);
      enqueue(p);
    },
  });
}

/**
 * authorityFor resolves what a profile's account allows it: the account it acts through (its own
 * spec.accountRef, else the default; a child its order made carries the order's, see origin.ts), whether
 * its namespace may use it, adoption, and who holds its SIM among the profiles of the same Soracom
 * operator. A refusal makes no call.
 */
async function authorityFor(
  accounts: Accounts,
  operators: Operators,
  claims: SimClaims,
  p: EsimProfile,
): Promise<ProfileAuthority> {
  const claimant = {
    namespace: p.metadata.namespace ?? "",
    accountRef: p.spec.accountRef,
    credentialsRef: p.spec.credentialsRef,
  };
  const auth = await accounts.authorize(claimant);
  if ("refused" in auth) {
    const heldBy = claims.heldBy(p);
    return {
      refused: auth.refused,
      adoption: false,
      terminateAdopted: false,
      ...(heldBy ? { heldBy } : {}),
      terminations: REFUSED_TERMINATIONS,
      sim: () => Promise.reject(new CredentialsError(auth.refused.reason, auth.refused.message)),
    };
  }
  const client = async () => {
    const r = await accounts.resolve(claimant);
    if (!r.ok) throw new CredentialsError(r.reason, r.message);
    await operators.learn(p, r.resolved.client);
    return r.resolved.client;
  };
  // The operator decides whose claims count: learn it first when neither the account's status nor an
  // earlier login told it (one login per client; its token is cached for the reads that follow).
  if (operators.of(p) === undefined && operators.due(p)) await client().catch(() => undefined);
  const heldBy = claims.heldBy(p);
  const { policy } = auth.account;
  return {
    adoption: policy.adoption.allowed,
    terminateAdopted: policy.adoption.terminate,
    ...(heldBy ? { heldBy } : {}),
    heldWith: (sim: Sim) => claims.heldBy(p, sim),
    terminations: terminationBudgetPort(auth.account.terminations),
    sim: client,
  };
}

/** How often an unknown operator is looked up by logging in (see Operators.due). */
const LEARN_RETRY_MS = 60_000;

/**
 * Operators knows as which Soracom operator each profile acts: the operator its credentials logged in as
 * (learned at every client use, so a Secret changed to another operator's keys is seen at once), else
 * the one its SoracomAccount's status shows (written by the account controller, so known after a restart
 * without a call). Tenant credentials are learned only by logging in.
 */
export class Operators {
  private readonly learned = new Map<string, string>();
  private readonly tried = new Map<string, number>();

  constructor(
    private readonly accounts: Pick<Accounts, "accountName">,
    private readonly accountCache?: Pick<NamespacedCache<SoracomAccount & KubeObject>, "get">,
  ) {}

  /** of is the operator ID the profile acts as, or undefined while it is not known. */
  of(p: EsimProfile): string | undefined {
    const key = this.keyOf(p);
    if (key === undefined) return undefined;
    const learned = this.learned.get(key);
    if (learned !== undefined || p.spec.credentialsRef) return learned;
    return this.accountCache?.get(undefined, key)?.status?.operatorId || undefined;
  }

  /**
   * due: whether to log in now only to learn an unknown operator. At most once a minute per key, so that
   * broken credentials do not turn every profile's round into a login attempt (nothing else would call).
   */
  due(p: EsimProfile, now: number = Date.now()): boolean {
    const key = this.keyOf(p);
    if (key === undefined || now - (this.tried.get(key) ?? Number.NEGATIVE_INFINITY) < LEARN_RETRY_MS) return false;
    this.tried.set(key, now);
    return true;
  }

  /** learn records the operator the profile's client logs in as. */
  async learn(p: EsimProfile, client: { whoami(): Promise<{ operatorId: string }> }): Promise<void> {
    const key = this.keyOf(p);
    const { operatorId } = await client.whoami();
    if (key !== undefined && operatorId) this.learned.set(key, operatorId);
  }

  /** keyOf: the account's name, or for tenant credentials the account, namespace and Secret. */
  private keyOf(p: EsimProfile): string | undefined {
    const account = this.accounts.accountName(p.spec);
    if (account === undefined) return undefined;
    const ref = p.spec.credentialsRef;
    return ref ? `${account}\u0000${p.metadata.namespace}\u0000${ref.name}` : account;
  }
}

const REFUSED_TERMINATIONS: TerminationBudgetPort = {
  check: () => ({ allowed: false, remaining: 0, limit: 0, windowMs: 0 }),
  consume: (simId) => {
    throw new TerminationBudgetExhaustedError(simId);
  },
};

/**
 * deletionRecorded: a profile being deleted may let go once its order can no longer make it again: the
 * order is gone or being deleted, the profile's Soracom order is materialized (nothing is remade after
 * that), or its ICCID is in that order's deletedProfiles. An adopted profile has no order to wait for.
 */
export function deletionRecorded(profile: EsimProfile, order: EsimProfileOrder | undefined): boolean {
  if (!profile.metadata.deletionTimestamp || !order || order.metadata.deletionTimestamp) return true;
  const tracked = order.status?.orders?.find((t) => t.profileOrderId === profile.status?.profileOrderId);
  if (!tracked) return true;
  const iccid = profile.spec.iccid ?? profile.status?.iccid ?? "";
  return tracked.materialized === true || (tracked.deletedProfiles ?? []).includes(iccid);
}

/**
 * terminationBudgetPort adapts the ledger to the profile reconciler: consume throws when the ledger
 * refuses (paused, or no budget left, which pauses terminations), so reconciles running at once can
 * never terminate more than the budget between them.
 */
export function terminationBudgetPort(
  terminations: Pick<TerminationLedger, "check" | "consume">,
  now: () => number = Date.now,
): TerminationBudgetPort {
  return {
    check: (at) => terminations.check(at),
    consume: async (simId) => {
      if (!(await terminations.consume(simId, now()))) throw new TerminationBudgetExhaustedError(simId);
    },
  };
}
