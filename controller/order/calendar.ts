/**
 * PollCalendar spends one Soracom account's poll budget (calls per minute) by handing out slots: time is
 * cut into slots of 60 s / budget, and each Soracom call the operator makes for polling owns one. So:
 * - polls never come due together: each takes the first free slot at or after the time it wants, at most
 *   one poll per slot whatever the fleet (the pacer gives each order's stable polls its own phase);
 * - polls of orders with recent change (priority) take the first slot from now and push a stable poll
 *   that held it to the next free one;
 * - reads that back a decision are never held back, but they use up a slot like a poll (`spentNow`);
 * - when the fleet needs more than the budget, slots run out ahead and every poll waits its turn: the
 *   effective interval grows and is reported, the call rate does not.
 * The budget adapts down to the vendor's announced per-path limit (X-Soracom-Ratelimit-Limit), keeping a
 * share of it free for other callers and for reads behind decisions. Pure: time is always a parameter.
 */

/** Of the vendor's announced per-minute limit, the share polls may use. */
export const VENDOR_LIMIT_SHARE = 0.8;

interface Occupant {
  key: string;
  priority: boolean;
}

export class PollCalendar {
  private configured: number | null;
  private vendorLimit: number | undefined;
  private spacingMs = 0;
  /** slot index → who holds it (only when a budget is set). */
  private readonly slots = new Map<number, Occupant>();
  /** key → the time of its reserved slot. */
  private readonly reserved = new Map<string, { at: number; priority: boolean }>();
  private anonymous = 0;

  constructor(perMinute: number | null) {
    this.configured = perMinute;
    this.respace();
  }

  /** perMinute is the budget in force: the configured one, lowered to a share of the vendor's limit. */
  get perMinute(): number | null {
    const vendor =
      this.vendorLimit === undefined ? null : Math.max(1, Math.floor(this.vendorLimit * VENDOR_LIMIT_SHARE));
    if (this.configured === null) return vendor;
    return vendor === null ? this.configured : Math.min(this.configured, vendor);
  }

  /** announced is the lowest per-minute limit the vendor last announced (any path), if any. */
  get announced(): number | undefined {
    return this.vendorLimit;
  }

  /** configure sets the configured budget (null: none) and the vendor's announced limit (undefined: unknown). */
  configure(perMinute: number | null, vendorLimit: number | undefined): void {
    if (perMinute === this.configured && vendorLimit === this.vendorLimit) return;
    this.configured = perMinute;
    this.vendorLimit = vendorLimit;
    this.respace();
  }

  /** at is when `key`'s slot comes, or undefined when it holds none. */
  at(key: string): number | undefined {
    return this.reserved.get(key)?.at;
  }

  /** reserve gives `key` the first free slot at or after `wanted` (a priority key may take a stable one's). */
  reserve(key: string, wanted: number, priority: boolean): number {
    this.release(key);
    if (this.spacingMs === 0) {
      this.reserved.set(key, { at: wanted, priority });
      return wanted;
    }
    let i = Math.ceil(wanted / this.spacingMs);
    for (;;) {
      const holder = this.slots.get(i);
      if (!holder) break;
      if (priority && !holder.priority) {
        this.slots.set(i, { key, priority });
        this.place(holder, i + 1);
        break;
      }
      i++;
    }
    if (!this.slots.has(i)) this.slots.set(i, { key, priority });
    const at = i * this.spacingMs;
    this.reserved.set(key, { at, priority });
    return at;
  }

  /** spentNow counts a call that was made now without a slot (a read behind a decision): it takes the next one. */
  spentNow(now: number): void {
    if (this.spacingMs === 0) return;
    this.anonymous = (this.anonymous + 1) % Number.MAX_SAFE_INTEGER;
    const key = `\u0000spent${this.anonymous}`;
    this.reserve(key, now, true);
    this.reserved.delete(key); // nobody waits for it; only the slot stays taken
  }

  /** take: `key`'s poll goes now; its slot stays used up (the budget was spent), the key holds none. */
  take(key: string): void {
    const held = this.reserved.get(key);
    if (!held) return;
    this.reserved.delete(key);
    if (this.spacingMs === 0) return;
    const i = Math.round(held.at / this.spacingMs);
    if (this.slots.get(i)?.key === key) this.slots.set(i, { key: `\u0000taken:${key}`, priority: true });
  }

  /** release frees `key`'s slot. */
  release(key: string): void {
    const held = this.reserved.get(key);
    if (!held) return;
    this.reserved.delete(key);
    if (this.spacingMs === 0) return;
    const i = Math.round(held.at / this.spacingMs);
    if (this.slots.get(i)?.key === key) this.slots.delete(i);
  }

  /**
   * prune drops slots in the past and reservations nobody asked for long after they came (`staleMs`):
   * the order was deleted or stopped polling.
   */
  prune(now: number, staleMs: number): void {
    for (const [key, r] of this.reserved) if (r.at < now - staleMs) this.release(key);
    if (this.spacingMs === 0) return;
    const first = Math.floor(now / this.spacingMs);
    for (const [i, holder] of this.slots) if (i < first && !this.reserved.has(holder.key)) this.slots.delete(i);
  }

  /** keys is how many polls hold a slot. */
  get keys(): number {
    return this.reserved.size;
  }

  /**
   * effectiveIntervalMs is how long a stable poll now waits for its next turn: the stable interval, or
   * longer when the budget's slots for every poll that holds one span more than that.
   */
  effectiveIntervalMs(stableMs: number): number {
    return Math.max(stableMs, this.reserved.size * this.spacingMs);
  }

  /** place gives a displaced occupant the first free slot from `from` on, keeping its key's reservation. */
  private place(holder: Occupant, from: number): void {
    let i = from;
    while (this.slots.has(i)) i++;
    this.slots.set(i, holder);
    if (this.reserved.has(holder.key))
      this.reserved.set(holder.key, { at: i * this.spacingMs, priority: holder.priority });
  }

  /**
   * respace lays the slots out again on the new width, in the order they came: reservations keep their
   * keys, and slots already used up stay used up (calls made before the vendor announced its limit count).
   */
  private respace(): void {
    const perMinute = this.perMinute;
    const spacing = perMinute === null ? 0 : 60_000 / perMinute;
    if (spacing === this.spacingMs) return;
    const old = this.spacingMs;
    const used = [...this.slots].flatMap(([i, h]) => (this.reserved.has(h.key) ? [] : [{ at: i * old, holder: h }]));
    const order = [...this.reserved].sort((a, b) => a[1].at - b[1].at);
    this.spacingMs = spacing;
    this.slots.clear();
    this.reserved.clear();
    if (spacing > 0) for (const u of used.sort((a, b) => a.at - b.at)) this.place(u.holder, Math.ceil(u.at / spacing));
    for (const [key, r] of order) this.reserve(key, r.at, r.priority);
  }
}
