import type { TrackedOrder } from "../api/types.js";
import type { OrderedProfile, ProfileOrder } from "../soracom/types.js";
import type { ChildProfile } from "./model.js";

/**
 * Poll pacing: how often Soracom is asked about one order. An EsimProfileOrder is reconciled on every
 * change of itself or of any profile it created (thousands of times while an order of 10,000 profiles
 * is materialized), but Soracom needs asking only once per poll: an order in flight every
 * --poll-interval-active, the profiles of a completed order every --poll-interval-stable. The pacer
 * remembers what Soracom last said of each order (a GET, a list of its profiles, or the answer to its
 * create or confirm) and when; observe asks only what is due and plans the rest from those answers. It
 * lives in memory: after a restart everything is due once, which is the least a restart can read.
 */

/** What ordersToPoll asks for (see plan.ts). */
export interface PollRequest {
  get: string[];
  listProfiles: string[];
  listAll: boolean;
}

/**
 * A poll is due at this fraction of its interval. The requeue timer fires one interval after the end
 * of the previous reconcile, and that round's observation was made before its end, so a timed round
 * finds it due anyway; the margin only keeps timer jitter from pushing a poll a whole interval later.
 */
const DUE_AT = 0.95;

const FINAL: ReadonlySet<string> = new Set(["COMPLETED", "FAILED"]);

export class PollPacer {
  private readonly seen = new Map<string, { at: number; order: ProfileOrder | null }>();
  private readonly listed = new Map<string, { at: number; profiles?: OrderedProfile[]; materialized?: boolean }>();

  constructor(private readonly config: { pollActiveMs: number; pollStableMs: number }) {}

  /** sawOrder records what Soracom said of an order at `at`: a GET, or the answer to its create or confirm. */
  sawOrder(order: ProfileOrder, at: number): void {
    this.seen.set(order.profileOrderId, { at, order });
  }

  /** sawMissing records that Soracom answered 404 for an order at `at`. */
  sawMissing(profileOrderId: string, at: number): void {
    this.seen.set(profileOrderId, { at, order: null });
  }

  /**
   * lastSeen is the latest answer about an order, for a round that does not ask again. The planner must
   * get it: the status write that recorded it may have failed (a 409 on a stale cache), and a plan made
   * from status alone would, for example, confirm an order Soracom already confirmed.
   */
  lastSeen(profileOrderId: string): ProfileOrder | null | undefined {
    return this.seen.get(profileOrderId)?.order;
  }

  /** sawProfiles records the profiles of an order as listed at `at`. */
  sawProfiles(profileOrderId: string, profiles: OrderedProfile[], at: number): void {
    const materialized = this.listed.get(profileOrderId)?.materialized;
    this.listed.set(profileOrderId, materialized ? { at, materialized } : { at, profiles });
  }

  /**
   * lastProfiles is the latest list of the profiles of an order being materialized, for a round that
   * does not list again: an ordered profile's identity and activation data never change. Once the order
   * is materialized the list is dropped (it holds activation codes, and 10,000 of them are memory).
   */
  lastProfiles(profileOrderId: string): OrderedProfile[] | undefined {
    return this.listed.get(profileOrderId)?.profiles;
  }

  /**
   * due narrows a poll request to what is due now. Never held back: listing every order (a create's
   * outcome is unknown); listing an order being materialized whose last list is gone or was short of
   * its quantity (Soracom may still be filling it in); listing an order with a live profile whose
   * activation Secret is missing (the list has what the Secret is rebuilt from).
   */
  due(poll: PollRequest, orders: readonly TrackedOrder[], children: readonly ChildProfile[], now: number): PollRequest {
    const stale = (at: number | undefined, intervalMs: number) => at === undefined || now - at >= DUE_AT * intervalMs;
    const urgent = new Set<string | undefined>();
    for (const t of orders) {
      if (!t.profileOrderId) continue;
      const last = this.listed.get(t.profileOrderId);
      // Once seen materialized, always so (a status from a cache behind our writes may say otherwise).
      if (t.materialized && !last?.materialized)
        this.listed.set(t.profileOrderId, { at: last?.at ?? 0, materialized: true });
      if (!t.materialized && !last?.materialized && (last?.profiles?.length ?? 0) < t.quantity)
        urgent.add(t.profileOrderId);
    }
    for (const c of children) if (!c.deleting && !c.hasActivationSecret) urgent.add(c.profileOrderId);
    // COMPLETED and FAILED are final: an order Soracom said so of is not asked about again.
    const final = (id: string) => FINAL.has(this.seen.get(id)?.order?.status ?? "");
    return {
      get: poll.get.filter((id) => !final(id) && stale(this.seen.get(id)?.at, this.config.pollActiveMs)),
      listProfiles: poll.listProfiles.filter(
        (id) => urgent.has(id) || stale(this.listed.get(id)?.at, this.config.pollStableMs),
      ),
      listAll: poll.listAll,
    };
  }
}
