import { describeSelector, type LabelSelector, matchesSelector } from "./labels.js";

/**
 * Shard: which namespaces this controller process owns. Past one replica, several Deployments run the
 * controller, each with --shard-selector over namespace labels (disjoint sets, chosen by the cluster
 * admin who labels namespaces) and its own Lease. A process reconciles, reports and sweeps only what is
 * in its namespaces; objects elsewhere are another shard's and are never touched. Its caches still hold
 * every namespace (so cross-namespace checks, such as which EsimProfileOrders exist, see everything).
 * Without a selector the one shard owns every namespace.
 */
export class Shard {
  constructor(
    /** The shard's name ("default" without sharding): its Lease suffix and its key in account status. */
    readonly name: string,
    private readonly selector: LabelSelector | undefined,
    private readonly labels: (namespace: string) => Record<string, string> | undefined,
  ) {}

  /** owns: the namespace's labels match the selector (a namespace not known yet is nobody's). */
  owns(namespace: string | undefined): boolean {
    if (!this.selector || namespace === undefined || namespace === "") return true;
    const labels = this.labels(namespace);
    return labels !== undefined && matchesSelector(this.selector, labels);
  }

  /** sharded: there is a selector, so other shards may own other namespaces. */
  get sharded(): boolean {
    return this.selector !== undefined;
  }

  describe(): string {
    return this.selector ? `${this.name} (${describeSelector(this.selector)})` : this.name;
  }
}

/** EVERYTHING is the shard of an unsharded controller (and of tests that do not shard). */
export const EVERYTHING = new Shard("default", undefined, () => ({}));
