import type { Logger } from "pino";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import { ANNOTATIONS, GROUP, ORDER_FINALIZER, ORDER_PLURAL, PROFILE_PLURAL, VERSION } from "../api/vocabulary.js";
import { crashPoint } from "../crashpoints.js";
import { isConflict, isNotFound } from "../kube/errors.js";
import { type KubeClient, resourcePath } from "../kube/rest.js";
import { addFinalizer, removeFinalizer, toKubeTime } from "../kube/status.js";
import { buildActivationSecret } from "../profile/secret.js";
import { simFields } from "../profile/status.js";
import { isOutcomeUnknown, SoracomApiError, type SoracomClient } from "../soracom/index.js";
import type { OrderedProfile, Sim } from "../soracom/types.js";
import { initialStatus } from "./initial-status.js";
import type { OrderAction } from "./model.js";
import { buildProfile } from "./profiles.js";
import type { ActionResult } from "./results.js";
import { simsByImsi } from "./sims.js";

/**
 * The order executor: performs the planner's actions, one by one, and reports what happened. It decides
 * nothing except how to read an answer: a create whose answer was lost is "outcome unknown" (the order is
 * looked up by its token next time), never retried here; a confirm is looked at again before it is
 * believed; a draft already gone counts as cancelled.
 */

export const ORDER_REF = { group: GROUP, version: VERSION, plural: ORDER_PLURAL } as const;
export const PROFILE_REF = { group: GROUP, version: VERSION, plural: PROFILE_PLURAL } as const;

export interface OrderExecutorDeps {
  kube: KubeClient;
  logger: Logger;
  /** How many profiles are created (or synced) at once, across all the orders of a round. */
  profileParallelism?: number;
  /** How many Soracom calls of one kind (creates, confirms, cancels, SIM searches) are sent at once. */
  soracomParallelism?: number;
}

/** Soracom calls of one kind sent at once when the caller does not say (main passes --soracom-max-concurrency). */
export const DEFAULT_SORACOM_PARALLELISM = 8;

/** Action types whose consecutive actions concern different orders or profiles and may run at once. */
const PARALLEL = new Set<OrderAction["type"]>([
  "createOrder",
  "confirmOrder",
  "cancelDraft",
  "createProfiles",
  "syncProfiles",
]);

/**
 * executeOrderActions runs the actions against the order (as last written) and returns the results and
 * the order as now stored. Actions run in order; a run of consecutive actions of one kind that each
 * concern their own Soracom order (creates, confirms, cancels, profile creation) runs with limited
 * parallelism, so that an order of 10,000 profiles (500 Soracom orders) is not 500 round trips in a row.
 * Every create's intent is already in status, so their order among themselves does not matter.
 */
export async function executeOrderActions(
  deps: OrderExecutorDeps,
  order: EsimProfileOrder,
  soracom: SoracomClient | undefined,
  actions: readonly OrderAction[],
): Promise<{ results: ActionResult[]; order: EsimProfileOrder }> {
  const results: ActionResult[] = [];
  let current = order;
  const soracomParallelism = deps.soracomParallelism ?? DEFAULT_SORACOM_PARALLELISM;
  const profileParallelism = deps.profileParallelism ?? 8;
  for (const batch of batches(actions)) {
    const action = batch[0]!;
    switch (action.type) {
      case "addFinalizer":
        current = await addFinalizer(deps.kube, ORDER_REF, current, ORDER_FINALIZER);
        break;
      case "removeFinalizer":
        current = await removeFinalizer(deps.kube, ORDER_REF, current, ORDER_FINALIZER);
        break;
      case "createOrder":
        await forEachLimited(only(batch, "createOrder"), soracomParallelism, async (a) => {
          crashPoint("before-create");
          const created = await createOrder(need(soracom), a);
          results.push(created);
          crashPoint("after-create");
          // Automatic confirmation follows the create at once (its result after the create's, so the
          // status learns the order's ID before its confirmation).
          if (a.confirm && created.type === "created" && created.order.status === "DRAFT") {
            crashPoint("before-confirm");
            results.push(await confirmOrder(need(soracom), created.order.profileOrderId));
            crashPoint("after-confirm");
          }
        });
        break;
      case "confirmOrder":
        await forEachLimited(only(batch, "confirmOrder"), soracomParallelism, async (a) => {
          crashPoint("before-confirm");
          results.push(await confirmOrder(need(soracom), a.profileOrderId));
          crashPoint("after-confirm");
        });
        break;
      case "cancelDraft":
        await forEachLimited(only(batch, "cancelDraft"), soracomParallelism, async (a) => {
          results.push(await cancelDraft(need(soracom), a.profileOrderId));
        });
        break;
      case "createProfiles":
        crashPoint("before-materialize");
        await createProfiles(deps, current, soracom, only(batch, "createProfiles"), {
          soracom: soracomParallelism,
          profiles: profileParallelism,
        });
        break;
      case "syncProfiles": {
        const all = only(batch, "syncProfiles").flatMap((a) => a.profiles);
        await forEachLimited(all, profileParallelism, ({ name, profile }) => syncProfile(deps, current, name, profile));
        break;
      }
      case "requestTermination":
        await patchProfile(deps.kube, current, action.profile, {
          metadata: { annotations: { [ANNOTATIONS.terminateRequested]: action.reason } },
        });
        break;
      case "deleteProfile":
        await deleteProfile(deps.kube, current, action.profile);
        break;
    }
  }
  return { results, order: current };
}

/** batches groups consecutive actions of one parallel kind; every other action is a batch of its own. */
function batches(actions: readonly OrderAction[]): OrderAction[][] {
  const out: OrderAction[][] = [];
  for (const a of actions) {
    const last = out.at(-1);
    if (last && PARALLEL.has(a.type) && last[0]!.type === a.type) last.push(a);
    else out.push([a]);
  }
  return out;
}

function only<K extends OrderAction["type"]>(batch: OrderAction[], type: K): Array<Extract<OrderAction, { type: K }>> {
  return batch.filter((a): a is Extract<OrderAction, { type: K }> => a.type === type);
}

/**
 * createProfiles materializes the profiles of several completed orders: per order one bulk SIM search,
 * then its profiles, through one pool of `profiles` workers shared by all orders, so creation starts as
 * soon as the first search answers and never has more than that many profiles in flight.
 */
async function createProfiles(
  deps: OrderExecutorDeps,
  order: EsimProfileOrder,
  soracom: SoracomClient | undefined,
  actions: Array<Extract<OrderAction, { type: "createProfiles" }>>,
  parallelism: { soracom: number; profiles: number },
): Promise<void> {
  const pool = limiter(parallelism.profiles);
  const errors: unknown[] = [];
  await forEachLimited(actions, parallelism.soracom, async (a) => {
    const sims = await simsByImsi(soracom, a.profiles, deps.logger);
    await Promise.all(
      a.profiles.map((p) => pool(() => createProfile(deps, order, p, sims.get(p.imsi))).catch((e) => errors.push(e))),
    );
  });
  if (errors.length > 0) throw errors[0];
}

function need(client: SoracomClient | undefined): SoracomClient {
  if (!client) throw new Error("a Soracom action was planned without a Soracom client");
  return client;
}

async function createOrder(
  client: SoracomClient,
  a: Extract<OrderAction, { type: "createOrder" }>,
): Promise<ActionResult> {
  try {
    const order = await client.createProfileOrder(a.request);
    return { type: "created", sequence: a.sequence, order };
  } catch (err) {
    if (isOutcomeUnknown(err)) return { type: "createUnknown", sequence: a.sequence, message: err.message };
    if (
      err instanceof SoracomApiError &&
      err.status >= 400 &&
      err.status < 500 &&
      err.status !== 401 &&
      err.status !== 403 &&
      err.status !== 429
    ) {
      return {
        type: "createRejected",
        sequence: a.sequence,
        code: err.soracomCode ?? String(err.status),
        message: err.soracomMessage ?? err.message,
      };
    }
    // 429, auth, network before sending: definitely not applied; the intent stays Pending and is looked up, then retried after the grace period.
    return { type: "createUnknown", sequence: a.sequence, message: (err as Error).message };
  }
}

async function confirmOrder(client: SoracomClient, id: string): Promise<ActionResult> {
  try {
    return { type: "confirmed", order: await client.confirmProfileOrder(id) };
  } catch (err) {
    if (isOutcomeUnknown(err))
      return { type: "failed", action: `confirm ${id}`, message: `${err.message}; its status is read again next time` };
    if (err instanceof SoracomApiError && err.status === 400) {
      // Refused because it is no longer a DRAFT: most likely an earlier confirm whose answer was lost.
      const now = await client.getProfileOrder(id);
      if (now.status !== "DRAFT") return { type: "confirmed", order: now };
    }
    return { type: "failed", action: `confirm ${id}`, message: (err as Error).message };
  }
}

async function cancelDraft(client: SoracomClient, id: string): Promise<ActionResult> {
  try {
    await client.deleteProfileOrder(id);
    return { type: "cancelled", profileOrderId: id };
  } catch (err) {
    if (err instanceof SoracomApiError && err.status === 404) return { type: "cancelled", profileOrderId: id };
    return { type: "failed", action: `cancel draft ${id}`, message: (err as Error).message };
  }
}

/**
 * soracomStatus are the EsimProfile status fields the order owns (from listOrderedProfiles). A new
 * profile also gets its SIM's fields when the bulk search found the SIM: the profile reconciler owns
 * them from then on, and does not have to look the SIM up.
 */
function soracomStatus(p: OrderedProfile, secretName?: string, sim?: Sim) {
  return {
    ...(sim ? simFields(sim, undefined) : {}),
    iccid: p.iccid,
    imsi: p.imsi,
    profileOrderId: p.profileOrderId,
    ...(p.subscription ? { subscription: p.subscription } : {}),
    profileStatus: p.profileStatus,
    lastModifiedTime: toKubeTime(p.lastModifiedTime),
    installedTime: p.installedTime ? toKubeTime(p.installedTime) : null,
    ...(secretName ? { activationSecretRef: { name: secretName } } : {}),
  };
}

/** createProfile creates the EsimProfile (idempotent by name), its activation Secret, and its Soracom status. */
async function createProfile(
  deps: OrderExecutorDeps,
  order: EsimProfileOrder,
  p: OrderedProfile,
  sim: Sim | undefined,
): Promise<void> {
  const desired = buildProfile(order, p);
  let profile: EsimProfile;
  try {
    profile = await deps.kube.request<EsimProfile>({
      method: "POST",
      path: resourcePath({ ...PROFILE_REF, namespace: order.metadata.namespace }),
      body: desired,
    });
  } catch (err) {
    if (!isConflict(err)) throw err;
    profile = await deps.kube.request<EsimProfile>({
      path: resourcePath({ ...PROFILE_REF, namespace: order.metadata.namespace }, desired.metadata.name),
    });
  }
  // A profile that already has a status (a retried create) keeps what its reconciler wrote; a new one
  // gets its whole first status in one write (initial-status.ts).
  const fresh = !profile.status?.profileStatus && !profile.status?.phase;
  await syncProfile(deps, order, profile.metadata.name ?? "", p, profile, fresh ? { sim } : undefined);
}

/**
 * syncProfile makes sure the activation Secret exists and patches the Soracom-owned status fields; for a
 * profile just created (`fresh`), with its SIM when the bulk search found it, the whole first status.
 */
async function syncProfile(
  deps: OrderExecutorDeps,
  order: EsimProfileOrder,
  name: string,
  p: OrderedProfile,
  known?: EsimProfile,
  fresh?: { sim: Sim | undefined },
): Promise<void> {
  const ns = order.metadata.namespace;
  const profile =
    known ?? (await deps.kube.request<EsimProfile>({ path: resourcePath({ ...PROFILE_REF, namespace: ns }, name) }));
  const secret = await buildActivationSecret(profile, p);
  try {
    await deps.kube.request({
      method: "POST",
      path: `/api/v1/namespaces/${encodeURIComponent(ns ?? "")}/secrets`,
      body: secret,
      discardBody: true, // its echo carries the activation code and QR code: not kept, not even parsed
    });
  } catch (err) {
    if (!isConflict(err)) throw err; // already there: the activation data never changes for a profile
  }
  await deps.kube.request({
    method: "PATCH",
    path: resourcePath({ ...PROFILE_REF, namespace: ns }, name, "status"),
    contentType: "application/merge-patch+json",
    discardBody: true,
    body: {
      status: fresh
        ? initialStatus(profile, soracomStatus(p, secret.metadata?.name, fresh.sim), Date.now())
        : soracomStatus(p, secret.metadata?.name),
    },
  });
}

async function patchProfile(kube: KubeClient, order: EsimProfileOrder, name: string, body: unknown): Promise<void> {
  await kube.request({
    method: "PATCH",
    path: resourcePath({ ...PROFILE_REF, namespace: order.metadata.namespace }, name),
    contentType: "application/merge-patch+json",
    body,
  });
}

async function deleteProfile(kube: KubeClient, order: EsimProfileOrder, name: string): Promise<void> {
  try {
    await kube.request({
      method: "DELETE",
      path: resourcePath({ ...PROFILE_REF, namespace: order.metadata.namespace }, name),
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * forEachLimited runs fn over items with at most `limit` at once; the first failure is rethrown after
 * all settle. stopOnError starts nothing new after a failure (reads that would all fail the same way).
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  opts: { stopOnError?: boolean } = {},
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length && !(opts.stopOnError && errors.length > 0)) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/** limiter returns a function that runs tasks with at most `limit` running at once, in the order given. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so none can slip in between.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}
