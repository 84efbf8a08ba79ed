import type { TrackedOrder } from "../api/types.js";
import type { OrderedProfile, ProfileOrder } from "../soracom/types.js";

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
 * A poll is due at this fraction of its interval: the requeue timer fires after exactly one interval,
 * measured from the end of the previous reconcile, so the previous observation is always a little
 * younger than the interval.
 */
const DUE_AT = 0.8;

export class PollPacer {
  private readonly seen = new Map<string, { at: number; order: ProfileOrder | null }>();
  private readonly listed = new Map<string, { at: number; profiles: OrderedProfile[] }>();

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
    this.listed.set(profileOrderId, { at, profiles });
  }

  /**
   * lastProfiles is the latest list of an order's profiles, for a round that does not list again. An
   * ordered profile's identity and activation data never change, so materializing (and rebuilding a
   * deleted activation Secret) can work from it; only profileStatus moves, and that is what the stable
   * poll is for.
   */
  lastProfiles(profileOrderId: string): OrderedProfile[] | undefined {
    return this.listed.get(profileOrderId)?.profiles;
  }

  /**
   * due narrows a poll request to what is due now. Listing every order (a create's outcome is unknown)
   * is never held back; nor is listing an order not materialized yet whose last list was short of its
   * quantity (Soracom may still be filling it in).
   */
  due(poll: PollRequest, orders: readonly TrackedOrder[], now: number): PollRequest {
    const stale = (at: number | undefined, intervalMs: number) => at === undefined || now - at >= DUE_AT * intervalMs;
    const short = new Set(
      orders
        .filter((t) => !t.materialized && t.profileOrderId)
        .filter((t) => (this.lastProfiles(t.profileOrderId!)?.length ?? 0) < t.quantity)
        .map((t) => t.profileOrderId),
    );
    return {
      get: poll.get.filter((id) => stale(this.seen.get(id)?.at, this.config.pollActiveMs)),
      listProfiles: poll.listProfiles.filter(
        (id) => short.has(id) || stale(this.listed.get(id)?.at, this.config.pollStableMs),
      ),
      listAll: poll.listAll,
    };
  }
}
