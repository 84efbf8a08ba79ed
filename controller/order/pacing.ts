import type { TrackedOrder } from "../api/types.js";
import type { ProfileOrder } from "../soracom/types.js";
import type { ChildProfile } from "./model.js";

/**
 * Poll pacing: how often Soracom is asked about one order. An EsimProfileOrder is reconciled on every
 * change of itself or of any profile it created (thousands of times while an order of 10,000 profiles
 * is materialized), but Soracom needs asking only once per poll: an order in flight every
 * --poll-interval-active, the profiles of a completed order every --poll-interval-stable. The pacer
 * remembers when each Soracom order was last seen (a GET, a list of its profiles, or the answer to its
 * create or confirm) and lets observe skip what is not due yet. It lives in memory: after a restart
 * everything is due once, which is the least a restart can read.
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
  private readonly listed = new Map<string, number>();

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

  /** sawProfiles records that the profiles of an order were listed at `at`. */
  sawProfiles(profileOrderId: string, at: number): void {
    this.listed.set(profileOrderId, at);
  }

  /**
   * due narrows a poll request to what is due now. Never held back: listing every order (a create's
   * outcome is unknown), the profiles of an order not materialized yet, and an order with a live
   * profile whose activation Secret is missing (the list has what the Secret is rebuilt from).
   */
  due(poll: PollRequest, orders: readonly TrackedOrder[], children: readonly ChildProfile[], now: number): PollRequest {
    const stale = (at: number | undefined, intervalMs: number) => at === undefined || now - at >= DUE_AT * intervalMs;
    const unmaterialized = new Set(orders.filter((t) => !t.materialized).map((t) => t.profileOrderId));
    const secretMissing = new Set(
      children.filter((c) => !c.deleting && !c.hasActivationSecret).map((c) => c.profileOrderId),
    );
    return {
      get: poll.get.filter((id) => stale(this.seen.get(id)?.at, this.config.pollActiveMs)),
      listProfiles: poll.listProfiles.filter(
        (id) => unmaterialized.has(id) || secretMissing.has(id) || stale(this.listed.get(id), this.config.pollStableMs),
      ),
      listAll: poll.listAll,
    };
  }
}
