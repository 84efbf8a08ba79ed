import type { Logger } from "pino";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import { ANNOTATIONS, EVENTS, everInstalled, phaseOfProfileStatus, REASONS } from "../api/vocabulary.js";
import type { SpendBudget } from "../budget.js";
import { crashPoint } from "../crashpoints.js";
import { CredentialsError, type SoracomClients } from "../credentials.js";
import type { EventRecorder } from "../kube/events.js";
import type { ObjectCache } from "../kube/multi.js";
import { splitKey } from "../kube/object.js";
import type { ReconcileResult } from "../kube/reconciler.js";
import type { KubeClient } from "../kube/rest.js";
import { deepEqual, updateStatus } from "../kube/status.js";
import type { Metrics, OrderStatusTracker } from "../metrics.js";
import { isNotFound as isSoracomNotFound, SoracomAuthError, type SoracomClient } from "../soracom/index.js";
import type { OrderedProfile, ProfileOrder } from "../soracom/types.js";
import { DEFAULT_SORACOM_PARALLELISM, executeOrderActions, forEachLimited, ORDER_REF } from "./execute.js";
import type { ChildProfile, CredentialsState, OrderInput, PlannerConfig } from "./model.js";
import { PollPacer } from "./pacing.js";
import { ordersToPoll, planOrder } from "./plan.js";
import { type ActionResult, applyResults } from "./results.js";

/**
 * The EsimProfileOrder reconciler: observe (cluster caches + the Soracom calls ordersToPoll asks for),
 * plan (pure), write the intent, execute, record. The money rule is here in its plainest form: when the
 * plan creates an order, its token is in a status write that succeeded before the create is sent.
 */

export interface OrderReconcilerDeps {
  kube: KubeClient;
  orders: ObjectCache<EsimProfileOrder>;
  profiles: ObjectCache<EsimProfile>;
  /** Names of activation Secrets that exist, by namespace (a deleted Secret is recreated). */
  secretExists?: (namespace: string, name: string) => boolean;
  clients: SoracomClients;
  spend: SpendBudget;
  events: EventRecorder;
  metrics: Metrics;
  statusTracker: OrderStatusTracker;
  config: PlannerConfig;
  logger: Logger;
  now?: () => number;
  /**
   * Soracom calls of one kind a round sends at once (an order of 10,000 profiles is 500 Soracom orders to
   * create, confirm and poll); main passes --soracom-max-concurrency, the client's own cap, so a round can
   * use every slot the client allows. The client's rate limit still applies on top.
   */
  soracomParallelism?: number;
  /** What the profile informer has shown of each order's profiles; main feeds it from the informer. */
  seen?: SeenProfiles;
}

/** createOrderReconciler returns the reconcile function of the EsimProfileOrder controller. */
export function createOrderReconciler(deps: OrderReconcilerDeps) {
  const now = deps.now ?? Date.now;
  const pacer = new PollPacer(deps.config);
  const own = new OwnWrites();
  const seen = deps.seen ?? new SeenProfiles();
  const soracomParallelism = deps.soracomParallelism ?? DEFAULT_SORACOM_PARALLELISM;
  return async function reconcileOrder(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = own.latest(key, deps.orders.get(namespace, name));
    if (!cached) {
      deps.statusTracker.forget(namespace, name);
      seen.forget(key);
      return {};
    }
    const log = deps.logger.child({ order: key });
    const children = childrenOf(cached, deps.profiles.list(namespace), deps.secretExists);
    // Taken with the children, before any await: what it calls deleted is judged against this same cache.
    const deletedProfiles = seen.deleted(key, cached, children);
    const { client, credentials } = await soracomFor(deps, cached);
    const observed =
      credentials.ok && client && !cached.spec.paused
        ? await observeSoracom(client, cached, children, now, pacer, soracomParallelism)
        : undefined;
    const effectiveCredentials: CredentialsState = observed?.authError ?? credentials;

    let order = cached;
    const plan = await deps.spend.exclusive(async () => {
      const t = now();
      const input: OrderInput = {
        order,
        now: t,
        children,
        soracomOrders: observed?.soracomOrders ?? {},
        orderedProfiles: observed?.orderedProfiles ?? {},
        ...(deletedProfiles.size > 0 ? { deletedProfiles } : {}),
        ...(observed?.listed ? { listed: observed.listed, listedAt: observed.listedAt } : {}),
        credentials: effectiveCredentials,
        spend: deps.spend.state(t),
        config: deps.config,
      };
      const p = planOrder(input);
      if (p.intent) {
        crashPoint("before-intent");
        order = own.wrote(key, order, await updateStatus(deps.kube, ORDER_REF, order, p.status));
        for (const a of p.actions) if (a.type === "createOrder") deps.spend.reserve(a.token, a.request.quantity, t);
        log.info(
          { creates: p.actions.filter((a) => a.type === "createOrder").length },
          "recorded order intent before creating",
        );
      }
      return p;
    });

    const executed = await executeOrderActions(
      { kube: deps.kube, logger: log, soracomParallelism },
      order,
      client,
      plan.actions,
    );
    order = own.wrote(key, order, executed.order);
    for (const r of executed.results) {
      if (r.type === "created" || r.type === "confirmed") pacer.sawOrder(r.order, now());
    }
    const generation = order.metadata.generation ?? 0;
    const { status, events } = applyResults(plan.status, executed.results, now(), generation);
    // What happened at Soracom is recorded before the status write: a 409 there (a stale cache) must not
    // lose the Event or the metric of a confirm that did happen; the next round re-reads Soracom anyway.
    for (const e of [...plan.events, ...events]) deps.events.record(order, e.type, e.reason, e.message);
    recordMetrics(deps, cached, plan.events, executed.results, status);
    if (!order.metadata.deletionTimestamp && !deepEqual(status, order.status)) {
      order = own.wrote(key, order, await updateStatus(deps.kube, ORDER_REF, order, status));
    }
    if (observed?.authError) deps.clients.forget(namespace, cached.spec.credentialsRef);
    return { requeueAfterMs: plan.requeueAfterMs };
  };
}

/**
 * OwnWrites remembers the order as this reconciler last wrote it, until the informer's cache shows that
 * write. A round that follows our own write by milliseconds (a profile event queued during a long round)
 * would otherwise start from the version before it: re-polling what was just recorded, re-planning what
 * was just done, and ending in a 409. A cached version that our writes replaced is stale; any other
 * version (ours arrived, or someone else changed the order since) is the cache's to tell.
 */
export class OwnWrites {
  private readonly memo = new Map<string, { replaced: Set<string | undefined>; order: EsimProfileOrder }>();

  latest(key: string, cached: EsimProfileOrder | undefined): EsimProfileOrder | undefined {
    const mine = this.memo.get(key);
    if (mine && cached && mine.replaced.has(cached.metadata.resourceVersion)) return mine.order;
    this.memo.delete(key);
    return cached;
  }

  /** wrote records that `before` was replaced by `after` (the apiserver's answer); returns `after`. */
  wrote(key: string, before: EsimProfileOrder, after: EsimProfileOrder): EsimProfileOrder {
    if (after.metadata.resourceVersion === before.metadata.resourceVersion) return after;
    const replaced = this.memo.get(key)?.replaced ?? new Set();
    replaced.add(before.metadata.resourceVersion);
    this.memo.set(key, { replaced, order: after });
    return after;
  }
}

/**
 * SeenProfiles remembers, for each order with profiles still to make, the ICCIDs of its EsimProfiles the
 * profile informer has shown (added or updated), including ones deleted since. A profile shown and then
 * gone was deleted (by a person, or Argo CD): the order does not make it again. Without this memory a
 * profile deleted before its order recorded itself materialized (the round after the cache shows every
 * profile) came back under the same name. It only stops a re-creation; slots are still counted from the
 * cache, so a profile created but not shown yet keeps its slot. The informer updates its cache before it
 * calls handlers, so what was shown is always in the cache or deleted from it: `deleted` is judged against
 * children read from the cache in the same synchronous step, never against an older list (a profile shown
 * during a round's awaits would otherwise count as deleted while its slot is missing from that round's
 * children, and be ordered again). One process's memory: after a restart only the status is known, as
 * before. Dropped once nothing of the order is left to make.
 */
export class SeenProfiles {
  private readonly byOrder = new Map<string, Set<string>>();

  /**
   * deleted is called by each round with the children it just read from the cache: it keeps (or drops)
   * the order's memory, adds those children, and returns the ICCIDs shown before and gone now.
   */
  deleted(key: string, order: EsimProfileOrder, children: readonly ChildProfile[]): ReadonlySet<string> {
    const making = (order.status?.orders ?? []).some((t) => !t.materialized && MAKING.has(t.status ?? ""));
    if (!making) {
      this.byOrder.delete(key);
      return NONE;
    }
    const seen = this.byOrder.get(key) ?? new Set<string>();
    this.byOrder.set(key, seen);
    let shown = 0;
    for (const c of children) {
      if (!c.iccid) continue;
      seen.add(c.iccid);
      shown++;
    }
    // Nothing gone (the usual case) costs no second set. Erring towards "not gone" is the safe side.
    if (seen.size <= shown) return NONE;
    const present = new Set(children.map((c) => c.iccid));
    return new Set([...seen].filter((iccid) => !present.has(iccid)));
  }

  /** saw records a profile the informer showed, under its owner order's key if that one is making profiles. */
  saw(orderKey: string, profile: EsimProfile): void {
    const iccid = profile.spec.iccid ?? profile.status?.iccid;
    if (iccid) this.byOrder.get(orderKey)?.add(iccid);
  }

  forget(key: string): void {
    this.byOrder.delete(key);
  }
}

const NONE: ReadonlySet<string> = new Set();

/** Statuses of a tracked order whose profiles are on their way or being made. */
const MAKING = new Set(["Pending", "DRAFT", "CONFIRMED", "IN_PROGRESS", "COMPLETED"]);

async function soracomFor(
  deps: OrderReconcilerDeps,
  order: EsimProfileOrder,
): Promise<{ client?: SoracomClient; credentials: CredentialsState }> {
  try {
    const client = await deps.clients.forRef(order.metadata.namespace ?? "", order.spec.credentialsRef);
    return { client, credentials: { ok: true } };
  } catch (err) {
    if (err instanceof CredentialsError)
      return { credentials: { ok: false, reason: err.reason, message: err.message } };
    throw err;
  }
}

/** observeSoracom makes the calls ordersToPoll asks for that the pacer finds due. */
async function observeSoracom(
  client: SoracomClient,
  order: EsimProfileOrder,
  children: ChildProfile[],
  now: () => number,
  pacer: PollPacer,
  parallelism: number,
) {
  const tracked = order.status?.orders ?? [];
  const wanted = ordersToPoll(tracked, children);
  const poll = pacer.due(wanted, tracked, children, now());
  // What is not due is planned from what Soracom said last time.
  const soracomOrders: Record<string, ProfileOrder | null> = {};
  for (const id of wanted.get) {
    const last = pacer.lastSeen(id);
    if (last !== undefined) soracomOrders[id] = last;
  }
  const orderedProfiles: Record<string, OrderedProfile[]> = {};
  for (const id of wanted.listProfiles) {
    const last = pacer.lastProfiles(id);
    if (last) orderedProfiles[id] = last;
  }
  let listed: ProfileOrder[] | undefined;
  let listedAt: number | undefined;
  try {
    // One chain per order: its GET, then at once its list if the GET found it COMPLETED (a round's lists
    // do not wait for the GETs of 499 other orders), and the lists that are due on their own.
    const list = async (id: string) => {
      const profiles = await client.listOrderedProfiles(id);
      orderedProfiles[id] = profiles;
      pacer.sawProfiles(id, profiles, now());
    };
    const listing = new Set(poll.listProfiles);
    const chains: Array<() => Promise<void>> = [
      ...poll.get.map((id) => async () => {
        try {
          const seen = await client.getProfileOrder(id);
          soracomOrders[id] = seen;
          pacer.sawOrder(seen, now());
        } catch (err) {
          if (!isSoracomNotFound(err)) throw err;
          soracomOrders[id] = null;
          pacer.sawMissing(id, now());
        }
        // An order this round found COMPLETED is listed now too, not a round (and a status write) later.
        if (soracomOrders[id]?.status === "COMPLETED" && !listing.has(id)) await list(id);
      }),
      ...poll.listProfiles.map((id) => () => list(id)),
    ];
    await forEachLimited(chains, parallelism, (chain) => chain(), { stopOnError: true });
    if (poll.listAll) {
      listedAt = now();
      listed = [];
      for await (const o of client.listProfileOrders()) listed.push(o);
    }
  } catch (err) {
    if (err instanceof SoracomAuthError) {
      return {
        soracomOrders,
        orderedProfiles,
        authError: {
          ok: false as const,
          reason: REASONS.CredentialsInvalid,
          message: `Soracom refused the credentials: ${err.message}`,
        },
      };
    }
    throw err;
  }
  return { soracomOrders, orderedProfiles, listed, listedAt };
}

/** childrenOf summarises the EsimProfiles this order created (by owner UID). */
export function childrenOf(
  order: EsimProfileOrder,
  profiles: readonly EsimProfile[],
  secretExists: (namespace: string, name: string) => boolean = () => true,
): ChildProfile[] {
  const uid = order.metadata.uid;
  return profiles
    .filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === uid))
    .map((p) => ({
      name: p.metadata.name ?? "",
      profileOrderId: p.status?.profileOrderId,
      iccid: p.spec.iccid ?? p.status?.iccid,
      createdAt: Date.parse(String(p.metadata.creationTimestamp ?? "")) || 0,
      phase: (p.status?.phase as ChildProfile["phase"]) ?? phaseOfProfileStatus(p.status?.profileStatus),
      profileStatus: p.status?.profileStatus,
      lastModifiedTime: p.status?.lastModifiedTime,
      installedTime: p.status?.installedTime,
      everInstalled: everInstalled(p.status?.profileStatus, p.status?.installedTime),
      terminateRequested: p.metadata.annotations?.[ANNOTATIONS.terminateRequested],
      deleting: Boolean(p.metadata.deletionTimestamp),
      hasActivationSecret:
        Boolean(p.status?.activationSecretRef?.name) &&
        secretExists(p.metadata.namespace ?? "", p.status?.activationSecretRef?.name ?? ""),
    }));
}

function recordMetrics(
  deps: OrderReconcilerDeps,
  order: EsimProfileOrder,
  planned: ReadonlyArray<{ reason: string }>,
  results: readonly ActionResult[],
  status: EsimProfileOrder["status"],
): void {
  const ns = order.metadata.namespace ?? "";
  const name = order.metadata.name ?? "";
  const acknowledged = new Set(
    (order.metadata.annotations?.[ANNOTATIONS.acknowledgeFailed] ?? "").split(",").map((s) => s.trim()),
  );
  for (const t of status?.orders ?? []) {
    if (t.profileOrderId && t.status === "FAILED" && acknowledged.has(t.profileOrderId)) {
      // A person has seen it: drop the series, so the OrderFailed alert resolves.
      deps.statusTracker.forgetOrder(ns, name, t.profileOrderId);
    } else if (t.profileOrderId && t.status && t.statusSince) {
      deps.statusTracker.set(ns, name, t.profileOrderId, t.status, Date.parse(t.statusSince));
    }
    if (t.profileOrderId && t.status === "DRAFT" && t.orderedTime) {
      deps.metrics.draftExpiry.set(
        { namespace: ns, name, profile_order_id: t.profileOrderId },
        Date.parse(t.orderedTime) / 1000 + 86_400,
      );
    } else if (t.profileOrderId) {
      deps.metrics.draftExpiry.remove({ namespace: ns, name, profile_order_id: t.profileOrderId });
    }
  }
  for (const e of planned) if (e.reason === EVENTS.OrderFailed) deps.metrics.ordersFailed.inc({ namespace: ns });
  for (const r of results)
    if (r.type === "confirmed") deps.metrics.profilesOrdered.inc({ namespace: ns }, r.order.quantity);
}
