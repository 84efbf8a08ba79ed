import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import { everInstalled, GROUP, phaseOfProfileStatus, REASONS } from "../api/vocabulary.js";
import { forEachLimited } from "../concurrency.js";
import { isNotFound as isSoracomNotFound, SoracomAuthError, type SoracomClient } from "../soracom/index.js";
import type { ProfileOrder } from "../soracom/types.js";
import type { ChildProfile, CredentialsState, SoracomRead, SoracomView } from "./model.js";
import type { PollPacer } from "./pacing.js";

/**
 * Observing an EsimProfileOrder: its children from the informer's cache (synced before any reconcile
 * runs), and the Soracom reads its plan asked for, made now. What was read goes to the planner as this
 * round's view; the pacer only decides which polls are due and remembers lists for materializing.
 */

/** childrenOf summarises the EsimProfiles this order created (by owner UID). */
export function childrenOf(
  order: EsimProfileOrder,
  profiles: readonly EsimProfile[],
  secretExists: (namespace: string, name: string, uid?: string) => boolean = () => true,
): ChildProfile[] {
  const uid = order.metadata.uid;
  return profiles
    .filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === uid))
    .map((p) => ({
      name: p.metadata.name ?? "",
      profileOrderId: p.status?.profileOrderId,
      iccid: p.spec.iccid ?? p.status?.iccid,
      simId: p.spec.simId ?? p.status?.simId,
      simStatus: p.status?.simStatus,
      createdAt: Date.parse(String(p.metadata.creationTimestamp ?? "")) || 0,
      phase: (p.status?.phase as ChildProfile["phase"]) ?? phaseOfProfileStatus(p.status?.profileStatus),
      profileStatus: p.status?.profileStatus,
      lastModifiedTime: p.status?.lastModifiedTime,
      installedTime: p.status?.installedTime,
      everInstalled: everInstalled(p.status?.profileStatus, p.status?.installedTime),
      deleting: Boolean(p.metadata.deletionTimestamp),
      hasActivationSecret:
        Boolean(p.status?.activationSecretRef?.name) &&
        secretExists(
          p.metadata.namespace ?? "",
          p.status?.activationSecretRef?.name ?? "",
          (p.status?.activationSecretRef as { uid?: string } | undefined)?.uid,
        ),
    }));
}

/**
 * ChildrenMemo keeps each order's children from its last round while no cached EsimProfile or activation
 * Secret changed since: childrenOf is a function of those caches and the order's UID alone, and at fleet
 * scale it is most of a round (a walk over every profile of the namespace, an object per child) while a
 * poll slot wakes an order several times a second. Without a change count for the caches, nothing is kept.
 */
export class ChildrenMemo {
  private readonly last = new Map<string, { uid: string; version: string; children: ChildProfile[] }>();

  /** children is `compute()`, or the result of the last call for this order when `version` is the same. */
  children(key: string, uid: string, version: string | undefined, compute: () => ChildProfile[]): ChildProfile[] {
    const kept = this.last.get(key);
    if (version !== undefined && kept?.uid === uid && kept.version === version) return kept.children;
    const children = compute();
    if (version === undefined) this.last.delete(key);
    else this.last.set(key, { uid, version, children });
    return children;
  }

  /** forget drops what is kept for an order that is gone (and answers its round: nothing more to do). */
  forget(key: string): Record<string, never> {
    this.last.delete(key);
    return {};
  }

  get size(): number {
    return this.last.size;
  }
}

/** ReadResult is this round's view, or why the credentials stopped working halfway. */
export interface ReadResult {
  view: SoracomView;
  authError?: Extract<CredentialsState, { ok: false }>;
}

/**
 * readSoracom makes the reads that are due (every read that backs a decision is). One chain per order: its
 * GET, then at once its profile list if the GET found it COMPLETED, so a round's lists do not wait for the
 * GETs of 499 other orders. An answer about another object than the one asked for is an error (client).
 */
export async function readSoracom(
  client: SoracomClient,
  account: string,
  wanted: readonly SoracomRead[],
  pacer: PollPacer,
  parallelism: number,
  now: () => number,
): Promise<ReadResult> {
  const reads = pacer.due(account, wanted, now());
  const view: SoracomView = { orders: {}, profiles: {}, sims: {} };
  const listing = new Set(reads.flatMap((r) => (r.type === "listProfiles" ? [r.profileOrderId] : [])));
  const list = async (id: string) => {
    view.profiles[id] = await client.listOrderedProfiles(id);
    pacer.sawProfiles(account, id, view.profiles[id], now(), true);
  };
  const chainOf = (r: SoracomRead): (() => Promise<void>) => {
    switch (r.type) {
      case "getOrder":
        return async () => {
          view.orders[r.profileOrderId] = await getOrNull(client, r.profileOrderId);
          pacer.sawOrder(account, r.profileOrderId, now());
          if (view.orders[r.profileOrderId]?.status === "COMPLETED" && !listing.has(r.profileOrderId))
            await list(r.profileOrderId);
        };
      case "listProfiles":
        return () => list(r.profileOrderId);
      case "getSim":
        return async () => {
          try {
            view.sims[r.simId] = await client.getSim(r.simId);
          } catch (err) {
            if (!isSoracomNotFound(err)) throw err;
            view.sims[r.simId] = null;
          }
        };
      case "listOrders":
        return async () => {
          // Asked for before the first page: only a list asked for after a grace period ended proves a create absent.
          view.listedAt = now();
          const listed: ProfileOrder[] = [];
          for await (const o of client.listProfileOrders()) listed.push(o);
          view.listed = listed;
        };
    }
  };
  const chains = reads.map(chainOf);
  // A 404 alone never releases a draft: the list of orders must agree, so it is read in the same round.
  const confirmVanished = async () => {
    if (!view.listed && Object.values(view.orders).some((o) => o === null)) await chainOf({ type: "listOrders" })();
  };
  try {
    await forEachLimited(chains, parallelism, (chain) => chain(), { stopOnError: true });
    await confirmVanished();
  } catch (err) {
    if (!(err instanceof SoracomAuthError)) throw err;
    return {
      view,
      authError: {
        ok: false,
        reason: REASONS.CredentialsInvalid,
        message: `Soracom refused the credentials: ${err.message}`,
      },
    };
  }
  return { view };
}

async function getOrNull(client: SoracomClient, id: string): Promise<ProfileOrder | null> {
  try {
    return await client.getProfileOrder(id);
  } catch (err) {
    if (isSoracomNotFound(err)) return null;
    throw err;
  }
}

/**
 * planInputsOf is what the planner reads of the order itself: its spec, status, lifecycle and this
 * operator's annotations. Two versions equal in these would be planned alike (another writer's label or
 * annotation changes nothing), so a status write refused for such a change may be made again on the new one.
 */
export function planInputsOf(order: EsimProfileOrder): unknown {
  const ours = Object.entries(order.metadata.annotations ?? {}).filter(([k]) => k.startsWith(`${GROUP}/`));
  return {
    generation: order.metadata.generation,
    deletionTimestamp: order.metadata.deletionTimestamp,
    finalizers: order.metadata.finalizers,
    annotations: Object.fromEntries(ours.sort(([a], [b]) => a.localeCompare(b))),
    spec: order.spec,
    status: order.status,
  };
}
