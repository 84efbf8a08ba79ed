import type { Logger } from "pino";
import { silentLogger } from "../log.js";
import { type Clock, sleep, systemClock } from "./clock.js";
import { isGone, type KubeStatusBody, kubeApiError } from "./errors.js";
import { type KubeObject, objectKey } from "./object.js";
import { type KubeApi, METADATA_ONLY, type ResourceRef, resourcePath, type WatchEvent } from "./rest.js";
import { slimForCache } from "./slim.js";

/**
 * Informer keeps a read-only cache of one collection in step with the apiserver: list, then watch from
 * the list's resourceVersion with bookmarks. Unlike client-node's makeInformer it never gives up:
 * - any watch error or end restarts the watch, after a capped exponential backoff when it failed fast;
 * - a 410 Gone (resourceVersion compacted away) relists from scratch;
 * - a watchdog restarts a watch that has been silent longer than watchdogMs (half-open connections);
 * - every resyncMs a full relist replaces the cache and re-delivers every object as an update.
 * The cache changes only from what the apiserver sends, never from what a controller wrote.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly name: string;
  private readonly opts: Required<
    Omit<InformerOptions<T>, "labelSelector" | "fieldSelector" | "transform" | "metadataOnly" | "keepAnnotation">
  > &
    Pick<InformerOptions<T>, "labelSelector" | "fieldSelector" | "transform" | "metadataOnly" | "keepAnnotation">;
  private readonly path: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private store = new Map<string, Map<string, T>>();
  private count = 0;
  /** Bumped on every change of the store: equal counts mean an unchanged cache. */
  private changes = 0;
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private handlers: Array<InformerHandlers<T>> = [];
  private stopper: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private watchAbort: AbortController | undefined;
  private lastActivity = 0;
  private relistDue = false;
  private resyncTimer: unknown;

  constructor(opts: InformerOptions<T>) {
    this.opts = {
      logger: silentLogger,
      clock: systemClock,
      pageSize: 500,
      watchTimeoutSeconds: 0,
      watchdogMs: 0,
      resyncMs: 30 * 60_000,
      backoffInitialMs: 1000,
      backoffMaxMs: 30_000,
      random: Math.random,
      name: `${opts.resource.plural}${opts.resource.group ? `.${opts.resource.group}` : ""}`,
      ...definedOnly(opts),
    };
    this.name = this.opts.name;
    this.path = resourcePath(opts.resource);
    this.logger = this.opts.logger.child({ informer: this.name });
    this.clock = this.opts.clock;
  }

  /** addHandler subscribes to changes; objects already cached are replayed as adds. Returns an unsubscribe. */
  addHandler(handler: InformerHandlers<T>): () => void {
    this.handlers.push(handler);
    if (this.synced) for (const obj of this.list()) this.call("add", () => handler.add?.(obj));
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  /** start runs the list-watch loop in the background; calling it twice does nothing. */
  start(): void {
    if (this.loop) return;
    const stopper = new AbortController();
    this.stopper = stopper;
    this.loop = this.run(stopper.signal).catch((err) => this.logger.error({ err }, "informer loop ended unexpectedly"));
    this.scheduleResync();
  }

  /** stop ends the loop and waits for it; the cache stays readable. */
  async stop(): Promise<void> {
    this.stopper?.abort();
    this.watchAbort?.abort();
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    await this.loop;
    this.loop = undefined;
  }

  /** hasSynced is true once the first full list is in the cache (readiness and controller start wait on it). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** waitForSync resolves true once synced, or false if timeoutMs passes first. */
  waitForSync(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeoutMs) ? this.clock.setTimeout(() => resolve(false), timeoutMs) : undefined;
      this.syncWaiters.push(() => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** get returns the cached object; namespace "" (or omitted) for cluster-scoped resources. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace ?? "")?.get(name);
  }

  /** list returns cached objects of one namespace, or of all when namespace is undefined. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.store.get(namespace)?.values() ?? [])];
    const all: T[] = [];
    for (const byName of this.store.values()) for (const obj of byName.values()) all.push(obj);
    return all;
  }

  /** changeCount grows with every change of the cache: two equal readings saw the same objects. */
  changeCount(): number {
    return this.changes;
  }

  /** size is the number of cached objects. */
  size(): number {
    return this.count;
  }

  /** lastResourceVersion is the resourceVersion the cache reflects (from a list, event or bookmark). */
  lastResourceVersion(): string | undefined {
    return this.resourceVersion;
  }

  /** resync forces a full relist now (the periodic timer calls it too). */
  resync(): void {
    this.relistDue = true;
    this.watchAbort?.abort();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === undefined || this.relistDue) await this.relist(signal);
        const healthy = await this.watchOnce(signal);
        failures = healthy ? 0 : failures + 1;
        if (!healthy) await sleep(this.clock, this.backoff(failures), signal);
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          // Compaction removed our resourceVersion: only a fresh list can tell what changed meanwhile.
          this.logger.info({ resourceVersion: this.resourceVersion }, "resourceVersion expired; relisting");
          this.resourceVersion = undefined;
          failures += 1;
          if (failures > 1) await sleep(this.clock, this.backoff(failures - 1), signal);
          continue;
        }
        failures += 1;
        const delayMs = this.backoff(failures);
        this.logger.warn({ err, failures, delayMs }, "list/watch failed; retrying");
        await sleep(this.clock, delayMs, signal);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let listRv: string | undefined;
    do {
      const page = await this.opts.client.request<KubeList>({
        path: this.path,
        ...(this.opts.metadataOnly ? { accept: METADATA_ONLY.list } : {}),
        query: {
          limit: this.opts.pageSize,
          continue: cont,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
      });
      // List items of built-in kinds come without apiVersion/kind; watch events carry them. Fill them
      // in so every cached object looks the same whatever path it came by.
      const kind = page.kind?.replace(/List$/, "");
      for (const item of page.items ?? []) {
        items.push(this.prepare({ apiVersion: page.apiVersion, kind, ...item } as unknown as T));
      }
      cont = page.metadata?.continue || undefined;
      listRv = page.metadata?.resourceVersion;
    } while (cont && !signal.aborted);
    if (signal.aborted) return;
    this.replace(items, listRv);
  }

  /** replace swaps in a fresh list and tells handlers what changed; every survivor counts as updated. */
  private replace(items: T[], listRv: string | undefined): void {
    const old = this.store;
    this.store = new Map();
    this.count = 0;
    this.changes += 1;
    for (const obj of items) this.put(obj);
    this.resourceVersion = listRv;
    this.relistDue = false;
    for (const obj of items) {
      const before = old.get(obj.metadata.namespace ?? "")?.get(obj.metadata.name);
      if (before) this.emit("update", before, obj);
      else this.emit("add", undefined, obj);
    }
    for (const byName of old.values()) {
      for (const obj of byName.values())
        if (!this.get(obj.metadata.namespace, obj.metadata.name)) this.emit("delete", obj, obj);
    }
    if (!this.synced) {
      this.synced = true;
      this.logger.info({ objects: this.count, resourceVersion: listRv }, "informer synced");
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  /** watchOnce runs one watch; it returns false when the watch ended fast and empty (so back off). */
  private async watchOnce(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return true; // stop() came while listing: an abort listener added now would never fire
    const abort = new AbortController();
    const onStop = () => abort.abort();
    signal.addEventListener("abort", onStop, { once: true });
    this.watchAbort = abort;
    const started = this.clock.now();
    this.lastActivity = started;
    let events = 0;
    const timeoutSeconds = this.watchTimeoutSeconds();
    // The apiserver sends nothing on a quiet watch (its bookmark comes just before timeoutSeconds), so
    // by default the watchdog allows the whole timeout plus a minute: it fires only when the server's
    // own end never came, i.e. the connection is dead without anyone having noticed.
    const watchdog = this.startWatchdog(abort, this.opts.watchdogMs || timeoutSeconds * 1000 + 60_000);
    try {
      await this.opts.client.watch(
        this.path,
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        (event) => {
          events += 1;
          this.lastActivity = this.clock.now();
          this.apply(event);
        },
        abort.signal,
        () => {
          this.lastActivity = this.clock.now();
        },
        this.opts.metadataOnly ? METADATA_ONLY.watch : undefined,
      );
    } finally {
      watchdog.stop();
      signal.removeEventListener("abort", onStop);
      this.watchAbort = undefined;
    }
    return abort.signal.aborted || events > 0 || this.clock.now() - started >= 1000;
  }

  private apply(event: WatchEvent): void {
    if (event.type === "ERROR") {
      const status = event.object as KubeStatusBody;
      throw kubeApiError(status.code ?? 500, status, "watch reported an error");
    }
    const rv = (event.object as KubeObject).metadata?.resourceVersion;
    if (event.type === "BOOKMARK") {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.prepare(event.object as T);
    const before = this.get(obj.metadata.namespace, obj.metadata.name);
    if (event.type === "DELETED") {
      this.remove(obj);
      if (rv) this.resourceVersion = rv;
      this.emit("delete", before ?? obj, obj);
      return;
    }
    this.put(obj);
    if (rv) this.resourceVersion = rv;
    if (before) this.emit("update", before, obj);
    else this.emit("add", undefined, obj);
  }

  private startWatchdog(abort: AbortController, limitMs: number): { stop(): void } {
    let timer: unknown;
    const check = () => {
      const silentMs = this.clock.now() - this.lastActivity;
      if (silentMs >= limitMs) {
        this.logger.warn({ silentMs }, "watch silent for too long; restarting it");
        abort.abort();
        return;
      }
      timer = this.clock.setTimeout(check, limitMs - silentMs);
    };
    timer = this.clock.setTimeout(check, limitMs);
    return { stop: () => this.clock.clearTimeout(timer) };
  }

  private scheduleResync(): void {
    if (!(this.opts.resyncMs > 0)) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.resync();
      this.scheduleResync();
    }, this.opts.resyncMs);
  }

  private watchTimeoutSeconds(): number {
    // client-go spreads watch lifetimes over 5-10 minutes so replicas do not reconnect in lockstep.
    if (this.opts.watchTimeoutSeconds > 0) return this.opts.watchTimeoutSeconds;
    return Math.floor(300 * (1 + this.opts.random()));
  }

  private backoff(failures: number): number {
    const capped = Math.min(this.opts.backoffInitialMs * 2 ** Math.max(0, failures - 1), this.opts.backoffMaxMs);
    return Math.round(capped * (0.8 + 0.4 * this.opts.random()));
  }

  private prepare(obj: T): T {
    // Slimmed before it is stored (controller/kube/slim.ts); a transform may slim further.
    const slim = slimForCache(obj, this.opts.keepAnnotation);
    return this.opts.transform ? this.opts.transform(slim) : slim;
  }

  private put(obj: T): void {
    const ns = obj.metadata.namespace ?? "";
    let byName = this.store.get(ns);
    if (!byName) {
      byName = new Map();
      this.store.set(ns, byName);
    }
    if (!byName.has(obj.metadata.name)) this.count += 1;
    byName.set(obj.metadata.name, obj);
    this.changes += 1;
  }

  private remove(obj: T): void {
    const ns = obj.metadata.namespace ?? "";
    const byName = this.store.get(ns);
    if (!byName?.delete(obj.metadata.name)) return;
    this.count -= 1;
    this.changes += 1;
    if (byName.size === 0) this.store.delete(ns);
  }

  private emit(kind: "add" | "update" | "delete", before: T | undefined, obj: T): void {
    for (const h of this.handlers) {
      if (kind === "add") this.call(kind, () => h.add?.(obj));
      else if (kind === "update") this.call(kind, () => h.update?.(before ?? obj, obj));
      else this.call(kind, () => h.delete?.(before ?? obj));
    }
  }

  private call(kind: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err, event: kind }, "informer handler threw");
    }
  }
}

export interface InformerOptions<T extends KubeObject> {
  client: KubeApi;
  /** resource is the collection to mirror; set namespace to mirror one namespace only. */
  resource: ResourceRef;
  labelSelector?: string;
  fieldSelector?: string;
  /** name labels logs; defaults to "<plural>.<group>". */
  name?: string;
  logger?: Logger;
  clock?: Clock;
  /** pageSize is the list chunk size (limit/continue), so a 10,000-object relist is not one huge body. */
  pageSize?: number;
  /** watchTimeoutSeconds asks the server to end each watch; 0 (default) picks 300-600 s at random. */
  watchTimeoutSeconds?: number;
  /**
   * watchdogMs restarts a watch that delivered nothing (not even a bookmark) for this long. Default:
   * the watch's timeoutSeconds plus a minute, since a quiet watch is silent until its timeout.
   */
  watchdogMs?: number;
  /** resyncMs is the period of full relists; 0 disables them. */
  resyncMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /**
   * transform slims objects further before caching. managedFields and last-applied-configuration are
   * always dropped and strings shared (slimForCache); a transform must keep every field a reconciler
   * reads, and nothing may write a cached object back whole.
   */
  transform?: (obj: T) => T;
  /** keepAnnotation, when set, keeps only the annotations it accepts (for kinds whose others nobody reads). */
  keepAnnotation?: (key: string) => boolean;
  /**
   * metadataOnly lists and watches PartialObjectMetadata: objects arrive without spec, status or data
   * (for activation Secrets: without the activation code and QR code, which the cache must never hold
   * and which, at 10,000 Secrets, are tens of MiB to parse and throw away).
   */
  metadataOnly?: boolean;
  random?: () => number;
}

/** InformerHandlers receive cache changes; they should only enqueue keys (objects are shared, do not mutate). */
export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

/**
 * enqueueHandlers is the usual handler set: every change enqueues the object's own key. mapKey lets a
 * watched dependent (a Secret) enqueue its owner instead; returning undefined skips the object.
 */
export function enqueueHandlers<T extends KubeObject>(
  queue: { add(key: string): void },
  mapKey: (obj: T) => string | string[] | undefined = objectKey,
): InformerHandlers<T> {
  const enqueue = (obj: T) => {
    const keys = mapKey(obj);
    for (const key of Array.isArray(keys) ? keys : keys === undefined ? [] : [keys]) queue.add(key);
  };
  return { add: enqueue, update: (_old, obj) => enqueue(obj), delete: enqueue };
}

interface KubeList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: Array<Record<string, unknown>>;
}

/** definedOnly drops undefined options so they do not override defaults. */
function definedOnly<O extends object>(opts: O): O {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as O;
}
