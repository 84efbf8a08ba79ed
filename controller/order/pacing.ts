import type { OrderedProfile } from "../soracom/types.js";
import { PollCalendar } from "./calendar.js";
import type { SoracomRead } from "./model.js";

/**
 * Poll pacing: how often, and when, Soracom is asked about one order. An EsimProfileOrder is reconciled
 * on every change of itself or of any profile it created (thousands of times while an order of 10,000
 * profiles is materialized), but Soracom needs asking only once per poll: an order in flight every
 * --poll-interval-active, the profiles of a completed order every --poll-interval-stable. Each poll holds
 * a slot in its account's PollCalendar, which spends the account's poll budget (--soracom-poll-budget,
 * or the SoracomAccount's spec.pollBudget): polls come due one slot apart, orders in flight before
 * stable ones, and past the budget the effective interval grows instead of the call rate. Reads that back
 * a decision always go, and use up a slot. The pacer also keeps the last profile list of an order still
 * being materialized (identity and activation data never change), which the planner may use to create
 * EsimProfiles, never to decide a create, a confirm or a termination. It lives in memory: after a restart
 * every poll is due once (one slot apart), the least a restart can read.
 */

/** A poll whose slot comes this soon counts as due (timers fire late, not early; this absorbs rounding). */
const DUE_MARGIN_MS = 100;
/**
 * Stable polls are spread evenly over the stable interval: each order's lists come at its own phase of the
 * interval (a hash of its ID, uniform over the interval), so orders completed together, or listed together
 * after a restart, are not due together, and every process (a restarted one, another replica) keeps the
 * same phases. The next list comes at the first time of its phase at least this share of an interval after
 * the last one: never later than (1 + this share) intervals, so a device's change still shows within about
 * one interval.
 */
const MIN_GAP_SHARE = 0.1;
/** A reservation nobody asked about this long after its slot belongs to an order that stopped polling. */
const STALE_INTERVALS = 3;
/** How often an account's calendar is pruned. */
const PRUNE_EVERY_MS = 10_000;
/** Orders with a measured gap needed before the measured interval counts (at most this, at least half of them). */
const MIN_GAPS = 16;

export interface PacerConfig {
  pollActiveMs: number;
  pollStableMs: number;
  /** The poll budget of accounts that set none (calls per minute; null: none). */
  pollBudgetPerMinute?: number | null;
}

/** PollReport is what an account's polling looks like now (metric and SoracomAccount status). */
export interface PollReport {
  /** The budget in force, calls per minute (null: none). */
  perMinute: number | null;
  /** The lowest per-minute limit the vendor announced (any path but logging in and out), when one was seen. */
  vendorLimit?: number;
  /** How long a stable poll waits for its next turn now. */
  effectiveIntervalMs: number;
  /** Polls holding a slot (orders being followed). */
  polls: number;
}

export class PollPacer {
  private readonly calendars = new Map<string, PollCalendar>();
  private readonly listed = new Map<string, { profiles: OrderedProfile[] }>();
  private readonly pruned = new Map<string, number>();
  /** account → when each of its orders was last listed in this process, and the recent gaps between lists. */
  private readonly history = new Map<string, ListHistory>();

  constructor(private readonly config: PacerConfig) {}

  /**
   * budget sets an account's poll budget (undefined: the default) and the limit the vendor announced
   * (its lowest, on any path); the calendar lays its slots out again when either changes.
   */
  budget(account: string, perMinute: number | null | undefined, vendorLimit?: number): void {
    const configured = perMinute === undefined ? (this.config.pollBudgetPerMinute ?? null) : perMinute;
    this.calendar(account).configure(configured, vendorLimit);
  }

  /** due keeps the reads that must be made, and the polls whose slot has come; decisions use up a slot. */
  due(account: string, reads: readonly SoracomRead[], now: number): SoracomRead[] {
    const cal = this.calendar(account);
    if (now - (this.pruned.get(account) ?? Number.NEGATIVE_INFINITY) >= PRUNE_EVERY_MS) {
      this.pruned.set(account, now); // a walk over every slot: not on every round of a busy reconciler
      const staleMs = STALE_INTERVALS * Math.max(this.config.pollStableMs, this.effectiveMs(account, cal));
      cal.prune(now, staleMs);
      this.history.get(account)?.forget(now - staleMs);
    }
    return reads.filter((r) => {
      const key = pollKey(account, r);
      if (key === undefined) {
        if (r.type === "getOrder" || r.type === "listProfiles") cal.spentNow(now);
        return true;
      }
      const at = cal.at(key) ?? cal.reserve(key, now, r.type === "getOrder");
      if (at > now + DUE_MARGIN_MS) return false;
      cal.take(key); // the poll goes now and uses its slot up; its answer reserves the next one
      return true;
    });
  }

  /** sawOrder records that an order was read (a GET, or the answer to its create or confirm) at `at`. */
  sawOrder(account: string, profileOrderId: string, at: number): void {
    this.calendar(account).reserve(key(account, "get", profileOrderId), at + this.config.pollActiveMs, true);
  }

  /**
   * sawProfiles records a list; it is kept for materializing only while the order is not materialized.
   * The next list is a stable poll, at the order's own phase of the stable interval.
   */
  sawProfiles(account: string, profileOrderId: string, profiles: OrderedProfile[], at: number, keep: boolean): void {
    const k = key(account, "list", profileOrderId);
    const stable = this.config.pollStableMs;
    this.historyOf(account).listed(profileOrderId, at);
    this.calendar(account).reserve(k, nextInPhase(at, stable, phaseOf(profileOrderId)), false);
    if (keep) this.listed.set(k, { profiles });
    else this.listed.delete(k);
  }

  /**
   * hurry moves the polls these orders already hold to the first free slot from now (a person asked for a
   * poll now: `kubectl esim refresh`), ahead of stable polls as a poll of an order in flight would be.
   * Only polls held are moved: no read is added, and the account's budget still spaces them. Returns the
   * earliest slot given (undefined: the orders hold no poll).
   */
  hurry(account: string, profileOrderIds: readonly string[], now: number): number | undefined {
    const cal = this.calendars.get(account);
    let first: number | undefined;
    for (const id of profileOrderIds) {
      for (const kind of ["get", "list"] as const) {
        const k = key(account, kind, id);
        const at = cal?.at(k);
        if (cal === undefined || at === undefined) continue;
        const moved = at <= now ? at : cal.reserve(k, now, true);
        if (first === undefined || moved < first) first = moved;
      }
    }
    return first;
  }

  /** settled: the order is no longer in flight (COMPLETED, or gone): its GET polls end and free their slot. */
  settled(account: string, profileOrderId: string): void {
    this.calendars.get(account)?.release(key(account, "get", profileOrderId));
  }

  /**
   * nextPollAt is when the next poll of these orders comes due (undefined: none is planned), of GETs and
   * lists, or of lists only (an order at rest, whose GET of a draft awaiting approval waits for its round).
   */
  nextPollAt(
    account: string,
    profileOrderIds: readonly string[],
    kinds: ReadonlyArray<"get" | "list"> = ["get", "list"],
  ): number | undefined {
    const cal = this.calendars.get(account);
    let next: number | undefined;
    for (const id of profileOrderIds) {
      for (const kind of kinds) {
        const at = cal?.at(key(account, kind, id));
        if (at !== undefined && (next === undefined || at < next)) next = at;
      }
    }
    return next;
  }

  /** retained counts what the pacer keeps per order beyond the calendar (kept lists). */
  retained(): { lists: number } {
    return { lists: this.listed.size };
  }

  /**
   * report is an account's polling now, or undefined when it polled nothing yet. An account's key names
   * its client's source after `#`: asked by the account alone, its newest source answers.
   */
  report(account: string): PollReport | undefined {
    const key = this.calendars.has(account)
      ? account
      : [...this.calendars.keys()].findLast((k) => k.startsWith(`${account}#`));
    const cal = key === undefined ? undefined : this.calendars.get(key);
    if (!cal || key === undefined) return undefined;
    return {
      perMinute: cal.perMinute,
      ...(cal.announced !== undefined ? { vendorLimit: cal.announced } : {}),
      effectiveIntervalMs: this.effectiveMs(key, cal),
      polls: cal.keys,
    };
  }

  /** accounts are the keys of the accounts that polled. */
  accounts(): string[] {
    return [...this.calendars.keys()];
  }

  /** remembered are the kept lists of these orders (activation data: dropped once materialized). */
  remembered(account: string, profileOrderIds: readonly string[]): Record<string, OrderedProfile[]> {
    const out: Record<string, OrderedProfile[]> = {};
    for (const id of profileOrderIds) {
      const profiles = this.listed.get(key(account, "list", id))?.profiles;
      if (profiles) out[id] = profiles;
    }
    return out;
  }

  /** materialized drops the kept list of an order whose profiles all exist now. */
  materialized(account: string, profileOrderId: string): void {
    this.listed.delete(key(account, "list", profileOrderId));
  }

  /**
   * effectiveMs is how long a stable poll waits for its next turn: what the calendar forecasts from the
   * slots it holds, or what orders actually waited between their last two lists (the median over orders)
   * when that is longer, as it is when slots pass unused.
   */
  private effectiveMs(account: string, cal: PollCalendar): number {
    const forecast = cal.effectiveIntervalMs(this.config.pollStableMs);
    return Math.max(forecast, this.history.get(account)?.medianGap(MIN_GAPS) ?? 0);
  }

  private historyOf(account: string): ListHistory {
    let h = this.history.get(account);
    if (!h) {
      h = new ListHistory();
      this.history.set(account, h);
    }
    return h;
  }

  private calendar(account: string): PollCalendar {
    let cal = this.calendars.get(account);
    if (!cal) {
      cal = new PollCalendar(this.config.pollBudgetPerMinute ?? null);
      this.calendars.set(account, cal);
    }
    return cal;
  }
}

/**
 * ListHistory is, per order of an account, when it was last listed and how long it had waited since the list
 * before (its latest gap): the median over orders is what a stable poll waits now, one interval behind at most.
 */
class ListHistory {
  private readonly orders = new Map<string, { at: number; gap?: number }>();
  private median: number | undefined;
  private dirty = false;

  listed(profileOrderId: string, at: number): void {
    const last = this.orders.get(profileOrderId);
    if (last && at <= last.at) return;
    this.orders.set(profileOrderId, last ? { at, gap: at - last.at } : { at });
    this.dirty = true;
  }

  /** forget drops the orders not listed since `before` (gone, or no longer polled). */
  forget(before: number): void {
    for (const [id, o] of this.orders) if (o.at < before) this.orders.delete(id);
    this.dirty = true;
  }

  /** medianGap of the orders' latest gaps, or undefined while fewer than min(atLeast, half the orders) have one. */
  medianGap(atLeast: number): number | undefined {
    if (!this.dirty) return this.median;
    this.dirty = false;
    const all = new Float64Array(this.orders.size);
    let n = 0;
    for (const o of this.orders.values()) if (o.gap !== undefined) all[n++] = o.gap;
    const gaps = all.subarray(0, n).sort();
    const mid = gaps.length >> 1;
    const enough = gaps.length > 0 && gaps.length >= Math.min(atLeast, Math.ceil(this.orders.size / 2));
    this.median = !enough ? undefined : gaps.length % 2 ? gaps[mid] : (gaps[mid - 1]! + gaps[mid]!) / 2;
    return this.median;
  }
}

/**
 * nextInPhase is the first time at least MIN_GAP_SHARE of an interval after `at` that falls at `phase`
 * (a share of the interval) of the interval's grid.
 */
export function nextInPhase(at: number, intervalMs: number, phase: number): number {
  if (!(intervalMs > 0)) return at;
  const earliest = at + MIN_GAP_SHARE * intervalMs;
  const offset = phase * intervalMs;
  const into = (((earliest - offset) % intervalMs) + intervalMs) % intervalMs;
  return into === 0 ? earliest : earliest + intervalMs - into;
}

/** phaseOf is an order's phase of the stable interval, in [0, 1): FNV-1a of its ID, spread uniformly. */
export function phaseOf(profileOrderId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < profileOrderId.length; i++) {
    h ^= profileOrderId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV's low bits mix poorly for short keys that differ in their last characters: fold the high ones in.
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** pollKey is the calendar key of a poll read; undefined for a read that backs a decision. */
function pollKey(account: string, r: SoracomRead): string | undefined {
  if (r.type === "getOrder" && r.why === "poll") return key(account, "get", r.profileOrderId);
  if (r.type === "listProfiles" && r.why === "poll") return key(account, "list", r.profileOrderId);
  return undefined;
}

/** Answers are remembered per Soracom account: another account's order of the same ID is another order. */
function key(account: string, kind: "get" | "list", profileOrderId: string): string {
  return `${account}\u0000${kind}\u0000${profileOrderId}`;
}
