/**
 * Seeded randomness for the fault suite's campaign: one seed, printed, replays a whole run
 * (SAFETY_SEED), and each block of rounds derives its own stream so a block can be replayed alone.
 */

/** Rng is a small seeded generator (mulberry32): fast, reproducible, good enough to pick faults. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** next is uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** int is uniform in [min, max] (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[this.int(0, items.length - 1)]!;
  }

  /** sample picks n distinct items (fewer if there are fewer). */
  sample<T>(items: readonly T[], n: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < n && pool.length > 0) out.push(pool.splice(this.int(0, pool.length - 1), 1)[0]!);
    return out;
  }
}

/** seedFrom reads SAFETY_SEED (a whole number) or makes a fresh seed. */
export function seedFrom(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.SAFETY_SEED;
  if (given !== undefined && given !== "") {
    if (!/^\d+$/.test(given)) throw new Error(`SAFETY_SEED must be a whole number, not ${JSON.stringify(given)}`);
    return Number(given) >>> 0;
  }
  return Math.floor(Math.random() * 4_294_967_296) >>> 0;
}

/** blockSeed derives the seed of block `index` from the run's seed. */
export function blockSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, index + 1) + index * 0x85ebca6b) >>> 0;
}
