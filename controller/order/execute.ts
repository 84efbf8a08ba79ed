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
  /** How many profiles are created at once when an order completes. */
  profileParallelism?: number;
}

/** executeOrderActions runs the actions against the order (as last written) and returns the results and the order as now stored. */
export async function executeOrderActions(
  deps: OrderExecutorDeps,
  order: EsimProfileOrder,
  soracom: SoracomClient | undefined,
  actions: readonly OrderAction[],
): Promise<{ results: ActionResult[]; order: EsimProfileOrder }> {
  const results: ActionResult[] = [];
  let current = order;
  for (const action of actions) {
    switch (action.type) {
      case "addFinalizer":
        current = await addFinalizer(deps.kube, ORDER_REF, current, ORDER_FINALIZER);
        break;
      case "removeFinalizer":
        current = await removeFinalizer(deps.kube, ORDER_REF, current, ORDER_FINALIZER);
        break;
      case "createOrder":
        crashPoint("before-create");
        results.push(await createOrder(need(soracom), action));
        crashPoint("after-create");
        break;
      case "confirmOrder":
        crashPoint("before-confirm");
        results.push(await confirmOrder(need(soracom), action.profileOrderId));
        crashPoint("after-confirm");
        break;
      case "cancelDraft":
        results.push(await cancelDraft(need(soracom), action.profileOrderId));
        break;
      case "createProfiles": {
        crashPoint("before-materialize");
        const sims = await simsByImsi(soracom, action.profiles, deps.logger);
        await forEachLimited(action.profiles, deps.profileParallelism ?? 8, (p) =>
          createProfile(deps, current, p, sims.get(p.imsi)),
        );
        break;
      }
      case "syncProfiles":
        await forEachLimited(action.profiles, deps.profileParallelism ?? 8, ({ name, profile }) =>
          syncProfile(deps, current, name, profile),
        );
        break;
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
  // A profile that already had a SIM ID (a retried create) keeps what its reconciler wrote.
  await syncProfile(deps, order, profile.metadata.name ?? "", p, profile, profile.status?.simId ? undefined : sim);
}

/** syncProfile makes sure the activation Secret exists and patches the Soracom-owned status fields. */
async function syncProfile(
  deps: OrderExecutorDeps,
  order: EsimProfileOrder,
  name: string,
  p: OrderedProfile,
  known?: EsimProfile,
  sim?: Sim,
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
    });
  } catch (err) {
    if (!isConflict(err)) throw err; // already there: the activation data never changes for a profile
  }
  await deps.kube.request({
    method: "PATCH",
    path: resourcePath({ ...PROFILE_REF, namespace: ns }, name, "status"),
    contentType: "application/merge-patch+json",
    body: { status: soracomStatus(p, secret.metadata?.name, sim) },
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

/** forEachLimited runs fn over items with at most `limit` at once; the first failure is rethrown after all settle. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
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
