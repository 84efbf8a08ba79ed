import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { scrubSecrets, silentLogger } from "../log.js";
import { type Clock, systemClock } from "./clock.js";
import { isNotFound } from "./errors.js";
import { type KubeObject, toKubeTime } from "./object.js";
import type { KubeApi } from "./rest.js";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  client: KubeApi;
  /** component is the event source (source.component, reportingComponent): the operator's name. */
  component: string;
  /** instance is this replica (source.host, reportingInstance), e.g. the pod name. */
  instance?: string;
  clock?: Clock;
  logger?: Logger;
  /** aggregateWindowMs: an identical event within this window bumps count instead of adding an Event. */
  aggregateWindowMs?: number;
  /** maxTracked bounds the aggregation cache (oldest entries are forgotten first). */
  maxTracked?: number;
}

interface Tracked {
  namespace: string;
  name: string;
  count: number;
  lastSeen: number;
  /** chain serialises writes for one event so a create and its count bumps never race. */
  chain: Promise<void>;
}

/** Messages are capped like events.k8s.io's note (1 kB): a huge message is a bug, not information. */
const MAX_MESSAGE = 1024;

/**
 * EventRecorder writes core/v1 Events about objects, for `kubectl describe` and alerting. Recording is
 * best effort and never throws: an apiserver hiccup must not fail a reconcile that already spent money.
 * Identical events (same object, type, reason and message) within the window are aggregated into one
 * Event whose count grows, as client-go's correlator does. Messages are scrubbed of activation codes.
 */
export class EventRecorder {
  private readonly opts: Required<Omit<EventRecorderOptions, "instance">> & { instance: string | undefined };
  private readonly tracked = new Map<string, Tracked>();
  private readonly pending = new Set<Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.opts = {
      clock: systemClock,
      logger: silentLogger,
      aggregateWindowMs: 10 * 60_000,
      maxTracked: 4096,
      ...opts,
      instance: opts.instance,
    };
  }

  /** record queues an Event about obj; it returns at once (await flush() to wait for the writes). */
  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const text = truncate(scrubSecrets(message));
    const namespace = obj.metadata.namespace || "default";
    const key = [namespace, obj.metadata.uid ?? obj.metadata.name, obj.kind ?? "", type, reason, text].join("\u0000");
    const now = this.opts.clock.now();
    const seen = this.tracked.get(key);
    const fresh = !seen || now - seen.lastSeen > this.opts.aggregateWindowMs;
    const entry: Tracked = fresh
      ? {
          namespace,
          name: eventName(obj.metadata.name, now),
          count: 1,
          lastSeen: now,
          chain: seen?.chain ?? Promise.resolve(),
        }
      : { ...seen, count: seen.count + 1, lastSeen: now };
    this.tracked.delete(key); // re-insert: Map order is the LRU order
    this.tracked.set(key, entry);
    this.evictOldest();
    const write = fresh
      ? () => this.create(obj, entry, type, reason, text, now)
      : () => this.bump(obj, entry, type, reason, text, now);
    const next = entry.chain.then(write).catch((err) => {
      this.opts.logger.warn({ err, reason, object: obj.metadata.name }, "could not record event");
    });
    entry.chain = next;
    this.pending.add(next);
    void next.finally(() => this.pending.delete(next));
  }

  /** flush waits for every event write started so far (tests, and graceful shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async create(obj: KubeObject, entry: Tracked, type: EventType, reason: string, message: string, now: number) {
    const time = toKubeTime(now);
    await this.opts.client.request({
      method: "POST",
      path: `/api/v1/namespaces/${encodeURIComponent(entry.namespace)}/events`,
      body: {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: entry.name, namespace: entry.namespace },
        involvedObject: involvedObject(obj),
        reason,
        message,
        type,
        count: entry.count,
        firstTimestamp: time,
        lastTimestamp: time,
        source: { component: this.opts.component, ...(this.opts.instance ? { host: this.opts.instance } : {}) },
        reportingComponent: this.opts.component,
        reportingInstance: this.opts.instance ?? "",
      },
    });
  }

  private async bump(obj: KubeObject, entry: Tracked, type: EventType, reason: string, message: string, now: number) {
    try {
      await this.opts.client.request({
        method: "PATCH",
        path: `/api/v1/namespaces/${encodeURIComponent(entry.namespace)}/events/${encodeURIComponent(entry.name)}`,
        contentType: "application/merge-patch+json",
        body: { count: entry.count, lastTimestamp: toKubeTime(now) },
      });
    } catch (err) {
      // The Event expired (events live an hour by default) or was deleted: start a new one.
      if (!isNotFound(err)) throw err;
      entry.name = eventName(obj.metadata.name, now);
      entry.count = 1;
      await this.create(obj, entry, type, reason, message, now);
    }
  }

  private evictOldest(): void {
    while (this.tracked.size > this.opts.maxTracked) {
      const oldest = this.tracked.keys().next().value;
      if (oldest === undefined) return;
      this.tracked.delete(oldest);
    }
  }
}

function involvedObject(obj: KubeObject): Record<string, string> {
  const ref: Record<string, string> = { name: obj.metadata.name };
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (obj.kind) ref.kind = obj.kind;
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid) ref.uid = obj.metadata.uid;
  if (obj.metadata.resourceVersion) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}

/** eventName follows client-go: "<object>.<hex time>", with random bits so two replicas never collide. */
function eventName(objectName: string, now: number): string {
  const stamp = (BigInt(now) * 1_000_000n + BigInt(randomBytes(2).readUInt16BE())).toString(16);
  return `${objectName.slice(0, 253 - stamp.length - 1)}.${stamp}`;
}

function truncate(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…`;
}
