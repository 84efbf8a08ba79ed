import type { Logger } from "pino";
import type { EsimProfile, EsimProfileOrder } from "../api/types.js";
import { ORDER_FINALIZER, ORDER_REF, PROFILE_REF } from "../api/vocabulary.js";
import { forEachLimited, limiter } from "../concurrency.js";
import { crashPoint } from "../crashpoints.js";
import { isConflict, isNotFound } from "../kube/errors.js";
import { type KubeClient, resourcePath } from "../kube/rest.js";
import { addFinalizer, removeFinalizer, toKubeTime } from "../kube/status.js";
import { simFields } from "../profile/status.js";
import { isFenced, isOutcomeUnknown, SoracomApiError, type SoracomClient } from "../soracom/index.js";
import type { OrderedProfile, Sim } from "../soracom/types.js";
import { terminateSim } from "../termination.js";
import { checkOrderAnswer } from "./answers.js";
import { initialStatus } from "./initial-status.js";
import type { OrderAction } from "./model.js";
import { buildProfile } from "./profiles.js";
import type { ActionResult } from "./results.js";
import { type ActivationSecretRef, ensureActivationSecret } from "./secret.js";
import { simsByImsi } from "./sims.js";

/**
 * The order executor: performs the planner's actions and reports what happened. It decides nothing
 * except how to read an answer: a create whose answer was lost, or that was held back unsent, is
 * "outcome unknown" (looked up by its token next time, never retried here); a confirm whose answer was
 * lost is read again next round before anything else; a draft already gone counts as cancelled; a
 * termination goes through the one termination protocol (ledger first). Once the signal aborts (the
 * lease is lost, or the controller stops) no further action starts; the Soracom client's fence stops
 * whatever was already queued.
 */

export interface OrderExecutorDeps {
  kube: KubeClient;
  logger: Logger;
  /** How many profiles are created (or synced) at once, across all the orders of a round. */
  profileParallelism?: number;
  /** How many Soracom calls of one kind (creates, confirms, cancels, SIM searches) are sent at once. */
  soracomParallelism?: number;
  /** Records a termination in the termination ledger; false: refused (paused, or no budget left). */
  recordTermination?: (simId: string) => Promise<boolean>;
  signal?: AbortSignal;
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
  "terminateSim",
]);

/**
 * executeOrderActions runs the actions against the order (as last written) and returns the results and
 * the order as now stored. Actions run in order; a run of consecutive actions of one kind that each
 * concern their own Soracom order or SIM runs with limited parallelism, so that an order of 10,000
 * profiles (500 Soracom orders) is not 500 round trips in a row. Every create's intent is already in
 * status and in the spend ledger, so their order among themselves does not matter.
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
  const stopped = () => deps.signal?.aborted === true;
  for (const batch of batches(actions)) {
    if (stopped()) break;
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
          if (stopped()) return; // the intent stays Pending: whoever leads next looks it up
          crashPoint("before-create");
          const created = await createOrder(need(soracom), a);
          results.push(created);
          crashPoint("after-create");
          // Automatic confirmation follows the create at once: its answer is a fresh read of the new DRAFT.
          if (a.confirm && confirmable(a, created) && !stopped()) {
            crashPoint("before-confirm");
            results.push(await confirmOrder(need(soracom), created.order.profileOrderId));
            crashPoint("after-confirm");
          }
        });
        break;
      case "confirmOrder":
        await forEachLimited(only(batch, "confirmOrder"), soracomParallelism, async (a) => {
          if (stopped()) return;
          crashPoint("before-confirm");
          results.push(await confirmOrder(need(soracom), a.profileOrderId));
          crashPoint("after-confirm");
        });
        break;
      case "cancelDraft":
        await forEachLimited(only(batch, "cancelDraft"), soracomParallelism, async (a) => {
          if (!stopped()) results.push(await cancelDraft(need(soracom), a.profileOrderId));
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
      case "terminateSim":
        await forEachLimited(only(batch, "terminateSim"), soracomParallelism, async (a) => {
          if (!stopped()) results.push(await terminate(deps, current, need(soracom), a));
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

/**
 * confirmable: the create's answer is a DRAFT of the quantity asked for, and passes every check an answer
 * does; any other answer is recorded (or refused) and the order is read before a confirm.
 */
function confirmable(a: Extract<OrderAction, { type: "createOrder" }>, r: ActionResult): r is CreatedResult {
  if (r.type !== "created" || r.order?.status !== "DRAFT") return false;
  const intent = { sequence: a.sequence, token: a.token, quantity: a.request.quantity, status: "Pending" };
  return checkOrderAnswer(intent, r.order) === undefined;
}

type CreatedResult = Extract<ActionResult, { type: "created" }>;

function need(client: SoracomClient | undefined): SoracomClient {
  if (!client) throw new Error("a Soracom action was planned without a Soracom client");
  return client;
}

async function createOrder(
  client: SoracomClient,
  a: Extract<OrderAction, { type: "createOrder" }>,
): Promise<ActionResult> {
  try {
    const order = await client.createProfileOrder(a.request, { sendBy: a.sendBy });
    return { type: "created", sequence: a.sequence, order };
  } catch (err) {
    if (isOutcomeUnknown(err)) return { type: "createUnknown", sequence: a.sequence, message: err.message };
    if (isFenced(err)) return { type: "createUnknown", sequence: a.sequence, message: err.message };
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
    // 429, auth, network before sending: definitely not applied; the intent stays Pending and is looked up, then re-planned after the grace period.
    return { type: "createUnknown", sequence: a.sequence, message: (err as Error).message };
  }
}

/**
 * confirmOrder sends one confirm. A lost answer is reported as such and not repeated: the next round
 * reads the order, and only a DRAFT read then is confirmed again. A refusal is looked at once (a GET):
 * an order no longer DRAFT was confirmed by an earlier attempt.
 */
async function confirmOrder(client: SoracomClient, id: string): Promise<ActionResult> {
  try {
    return { type: "confirmed", profileOrderId: id, order: await client.confirmProfileOrder(id) };
  } catch (err) {
    if (isOutcomeUnknown(err) || isFenced(err))
      return { type: "confirmUnknown", profileOrderId: id, message: err.message };
    if (err instanceof SoracomApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
      const now = await client.getProfileOrder(id);
      if (now.status !== "DRAFT") return { type: "confirmed", profileOrderId: id, order: now };
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
function soracomStatus(p: OrderedProfile, secret: ActivationSecretRef | null, sim?: Sim) {
  return {
    ...(sim ? simFields(sim, undefined) : {}),
    iccid: p.iccid,
    imsi: p.imsi,
    profileOrderId: p.profileOrderId,
    ...(p.subscription ? { subscription: p.subscription } : {}),
    profileStatus: p.profileStatus,
    lastModifiedTime: toKubeTime(p.lastModifiedTime),
    installedTime: p.installedTime ? toKubeTime(p.installedTime) : null,
    activationSecretRef: secret, // null: a Secret the controller did not make is not recorded
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
  const secret = await ensureActivationSecret(deps.kube, profile, p);
  if ("refused" in secret) deps.logger.warn({ profile: name }, secret.refused);
  const ref = "ref" in secret ? secret.ref : null;
  await deps.kube.request({
    method: "PATCH",
    path: resourcePath({ ...PROFILE_REF, namespace: ns }, name, "status"),
    contentType: "application/merge-patch+json",
    discardBody: true,
    body: {
      status: fresh
        ? initialStatus(profile, soracomStatus(p, ref, fresh.sim), Date.now(), order)
        : soracomStatus(p, ref),
    },
  });
}

/**
 * terminate runs the termination protocol for a request the plan re-checked this round, then writes what
 * happened into the profile's status (its SIM state), so the profile shows Terminated without a read.
 */
async function terminate(
  deps: OrderExecutorDeps,
  order: EsimProfileOrder,
  client: SoracomClient,
  a: Extract<OrderAction, { type: "terminateSim" }>,
): Promise<ActionResult> {
  const base = { profile: a.profile, simId: a.simId, reason: a.reason };
  let refused = false;
  try {
    await terminateSim(client, a.simId, {
      enable: a.enable,
      record: async () => {
        if (!deps.recordTermination) throw new Error("no termination ledger");
        refused = !(await deps.recordTermination(a.simId));
        if (refused) throw new Error("refused by the termination ledger");
      },
    });
  } catch (err) {
    if (refused) return { type: "terminationRefused", ...base };
    if (isOutcomeUnknown(err) || isFenced(err))
      return { type: "terminateUnknown", ...base, message: (err as Error).message };
    return { type: "failed", action: `terminate SIM ${a.simId}`, message: (err as Error).message };
  }
  await deps.kube
    .request({
      method: "PATCH",
      path: resourcePath({ ...PROFILE_REF, namespace: order.metadata.namespace }, a.profile, "status"),
      contentType: "application/merge-patch+json",
      discardBody: true,
      body: { status: { simStatus: "terminated", phase: "Terminated" } },
    })
    .catch((err) => {
      if (!isNotFound(err))
        deps.logger.warn({ err, profile: a.profile }, "could not record the termination in the profile's status");
    });
  return { type: "terminated", ...base };
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
