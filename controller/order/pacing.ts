import type { OrderedProfile } from "../soracom/types.js";
import type { SoracomRead } from "./model.js";

/**
 * Poll pacing: how often Soracom is asked about one order. An EsimProfileOrder is reconciled on every
 * change of itself or of any profile it created (thousands of times while an order of 10,000 profiles is
 * materialized), but Soracom needs asking only once per poll: an order in flight every
 * --poll-interval-active, the profiles of a completed order every --poll-interval-stable. The pacer
 * remembers when each order was last read, keyed by Soracom account and order, and lets through only
 * the `poll` reads that are due; reads that back a decision always go. It also keeps the last profile
 * list of an order still being materialized (identity and activation data never change), which the
 * planner may use to create EsimProfiles, never to decide a create, a confirm or a termination. It lives
 * in memory: after a restart every poll is due once, the least a restart can read.
 */

/**
 * A poll is due at this fraction of its interval. The requeue timer fires one interval after the end of
 * the previous reconcile, and that round's read was made before its end, so a timed round finds it due
 * anyway; the margin only keeps timer jitter from pushing a poll a whole interval later.
 */
const DUE_AT = 0.95;

export class PollPacer {
  private readonly got = new Map<string, number>();
  private readonly listed = new Map<string, { at: number; profiles?: OrderedProfile[] }>();

  constructor(private readonly config: { pollActiveMs: number; pollStableMs: number }) {}

  /** due keeps the reads that must be made, and the polls whose interval has passed. */
  due(account: string, reads: readonly SoracomRead[], now: number): SoracomRead[] {
    const stale = (at: number | undefined, intervalMs: number) => at === undefined || now - at >= DUE_AT * intervalMs;
    return reads.filter((r) => {
      if (r.type === "getOrder" && r.why === "poll")
        return stale(this.got.get(key(account, r.profileOrderId)), this.config.pollActiveMs);
      if (r.type === "listProfiles" && r.why === "poll")
        return stale(this.listed.get(key(account, r.profileOrderId))?.at, this.config.pollStableMs);
      return true;
    });
  }

  /** sawOrder records that an order was read (a GET, or the answer to its create or confirm) at `at`. */
  sawOrder(account: string, profileOrderId: string, at: number): void {
    this.got.set(key(account, profileOrderId), at);
  }

  /** sawProfiles records a list; it is kept for materializing only while the order is not materialized. */
  sawProfiles(account: string, profileOrderId: string, profiles: OrderedProfile[], at: number, keep: boolean): void {
    this.listed.set(key(account, profileOrderId), keep ? { at, profiles } : { at });
  }

  /** remembered are the kept lists of these orders (activation data: dropped once materialized). */
  remembered(account: string, profileOrderIds: readonly string[]): Record<string, OrderedProfile[]> {
    const out: Record<string, OrderedProfile[]> = {};
    for (const id of profileOrderIds) {
      const profiles = this.listed.get(key(account, id))?.profiles;
      if (profiles) out[id] = profiles;
    }
    return out;
  }

  /** materialized drops the kept list of an order whose profiles all exist now. */
  materialized(account: string, profileOrderId: string): void {
    const entry = this.listed.get(key(account, profileOrderId));
    if (entry?.profiles) this.listed.set(key(account, profileOrderId), { at: entry.at });
  }
}

/** Answers are remembered per Soracom account: another account's order of the same ID is another order. */
function key(account: string, profileOrderId: string): string {
  return `${account}\u0000${profileOrderId}`;
}
