import type { Cluster } from "./cluster.js";

/** distance is the Levenshtein distance of two names (small names: a plain table). */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** closest are the candidates within a typo's reach of `name` (a third of its length, at least 2), nearest first. */
export function closest(name: string, candidates: Iterable<string>, max = 3): string[] {
  const reach = Math.max(2, Math.floor(name.length / 3));
  return [...new Set(candidates)]
    .map((c) => ({ c, d: distance(name, c) }))
    .filter((x) => x.d > 0 && x.d <= reach)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, max)
    .map((x) => x.c);
}

/**
 * suggestName is the "did you mean" of a name not found as an order or profile: close order and profile
 * names of the namespace ("" when none, or when they cannot be listed).
 */
export async function suggestName(cluster: Cluster, namespace: string, name: string): Promise<string> {
  try {
    const [orders, profiles] = await Promise.all([cluster.listOrders(namespace), cluster.listProfiles(namespace)]);
    const names = [
      ...orders.map((o) => `EsimProfileOrder ${o.metadata.name}`),
      ...profiles.map((p) => `EsimProfile ${p.metadata.name}`),
    ];
    const byName = new Map(names.map((n) => [n.slice(n.indexOf(" ") + 1), n]));
    const near = closest(name, byName.keys()).map((n) => byName.get(n));
    return near.length === 0 ? "" : `; did you mean ${near.join(" or ")}?`;
  } catch {
    return "";
  }
}
