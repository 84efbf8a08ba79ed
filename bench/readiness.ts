import { Informer } from "../controller/kube/informer.js";
import type { KubeObject } from "../controller/kube/object.js";
import type { KubeClient } from "../controller/kube/rest.js";
import { PROFILE_REF } from "../controller/api/vocabulary.js";

/**
 * ReadyWatch follows the EsimProfiles of one namespace through a watch, as `kubectl wait` would, and
 * says when a given number of them have condition Ready=True. The time a count is reached is the time
 * the watch event arrived: the same yardstick for the operator and for the ceiling.
 */

type Slim = KubeObject & { ready: boolean };

export class ReadyWatch {
  private readonly informer: Informer<Slim>;
  private readonly ready = new Set<string>();
  /** When each profile was first seen, and first seen Ready (Date.now()). */
  readonly seenAt = new Map<string, number>();
  readonly readyAt = new Map<string, number>();
  private waiters: Array<{ count: number; resolve: (at: number) => void }> = [];

  constructor(kube: KubeClient, namespace: string) {
    this.informer = new Informer<Slim>({
      client: kube,
      resource: { ...PROFILE_REF, namespace },
      // Keep only what the count needs: the bench must not compete with the controller for memory.
      transform: (p) => ({
        metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
        ready: isReady(p),
      }),
      resyncMs: 0,
    });
    const onChange = (p: Slim) => this.update(p);
    this.informer.addHandler({ add: onChange, update: (_o, p) => onChange(p), delete: (p) => this.remove(p) });
  }

  async start(): Promise<this> {
    this.informer.start();
    await this.informer.waitForSync(60_000);
    return this;
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** readyCount is the number of profiles with Ready=True now. */
  /**
   * timeline summarizes creation and readiness relative to `from`: when the first and the last profile
   * appeared, and how long profiles waited between appearing and being Ready (median and worst).
   */
  timeline(from: number): { firstSeenMs: number; lastSeenMs: number; readyLagP50Ms: number; readyLagMaxMs: number } {
    const seen = [...this.seenAt.values()];
    const lags = [...this.readyAt].map(([name, at]) => at - (this.seenAt.get(name) ?? at)).sort((a, b) => a - b);
    return {
      firstSeenMs: Math.min(...seen) - from,
      lastSeenMs: Math.max(...seen) - from,
      readyLagP50Ms: lags[Math.floor(lags.length / 2)] ?? 0,
      readyLagMaxMs: lags.at(-1) ?? 0,
    };
  }

  readyCount(): number {
    return this.ready.size;
  }

  total(): number {
    return this.informer.size();
  }

  /** until resolves with the time (Date.now()) at which count profiles were Ready, or rejects after timeoutMs. */
  until(count: number, timeoutMs: number): Promise<number> {
    if (this.ready.size >= count) return Promise.resolve(Date.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`only ${this.ready.size} of ${count} profiles Ready after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (at: number) => {
        clearTimeout(timer);
        resolve(at);
      };
      this.waiters.push({ count, resolve: done });
    });
  }

  private update(p: Slim): void {
    const now = Date.now();
    if (!this.seenAt.has(p.metadata.name)) this.seenAt.set(p.metadata.name, now);
    if (p.ready && !this.readyAt.has(p.metadata.name)) this.readyAt.set(p.metadata.name, now);
    if (p.ready) this.ready.add(p.metadata.name);
    else this.ready.delete(p.metadata.name);
    this.settle();
  }

  private remove(p: Slim): void {
    this.ready.delete(p.metadata.name);
  }

  private settle(): void {
    const now = Date.now();
    const left: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.ready.size >= w.count) w.resolve(now);
      else left.push(w);
    }
    this.waiters = left;
  }
}

function isReady(p: KubeObject): boolean {
  const conditions = (p.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions;
  return conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
