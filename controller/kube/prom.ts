import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * Get-or-create helpers: several components (queues, controllers, the leader elector, the domain
 * metrics) may ask for the same metric on one registry, and prom-client throws on a second
 * registration. Tests make a fresh Registry each, so nothing here is global.
 */

export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
  collect?: (this: Gauge<L>) => void,
): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) });
}

export function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
  buckets: number[],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

/** exponentialBuckets mirrors Prometheus' ExponentialBuckets(start, factor, count). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Number((start * factor ** i).toPrecision(6)));
}

/**
 * perRegistry memoises a metrics bundle per registry, so asking twice for the bundle of one registry
 * returns the same objects (and their collect callbacks see every queue or controller).
 */
export function perRegistry<T>(make: (registry: Registry) => T): (registry: Registry) => T {
  const cache = new WeakMap<Registry, T>();
  return (registry) => {
    let bundle = cache.get(registry);
    if (!bundle) {
      bundle = make(registry);
      cache.set(registry, bundle);
    }
    return bundle;
  };
}
