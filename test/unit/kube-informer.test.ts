import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../controller/kube/clock.js";
import { KubeGoneError, KubeNetworkError } from "../../controller/kube/errors.js";
import { enqueueHandlers, Informer } from "../../controller/kube/informer.js";
import type { KubeObject } from "../../controller/kube/object.js";
import type { KubeApi, KubeRequest, Query, WatchEvent } from "../../controller/kube/rest.js";

/**
 * FakeApi is an in-memory apiserver for one collection: paged lists, and watches the test drives by
 * hand (emit, end, fail). It lets the informer's recovery paths run under a manual clock.
 */
class FakeApi implements KubeApi {
  objects = new Map<string, KubeObject>();
  rv = 100;
  lists: Query[] = [];
  watches: Query[] = [];
  private open: { onEvent: (e: WatchEvent) => void; resolve: () => void; reject: (e: unknown) => void } | undefined;

  put(name: string, data: Record<string, unknown> = {}): KubeObject {
    const obj: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "ns", resourceVersion: String(++this.rv), managedFields: [{ manager: "test" }] },
      ...data,
    };
    this.objects.set(name, obj);
    return obj;
  }

  async request<T>(req: KubeRequest): Promise<T> {
    const query = req.query ?? {};
    this.lists.push(query);
    const all = [...this.objects.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const start = Number(query.continue ?? 0);
    const limit = Number(query.limit ?? all.length);
    const page = all.slice(start, start + limit).map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    const next = start + limit < all.length ? String(start + limit) : undefined;
    return {
      apiVersion: "v1",
      kind: "ConfigMapList",
      metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) },
      items: page,
    } as T;
  }

  watch(
    _path: string,
    query: Query,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
    onConnected?: () => void,
  ): Promise<void> {
    this.watches.push(query);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.open = undefined;
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      this.open = {
        onEvent,
        resolve: done,
        reject: (e) => {
          this.open = undefined;
          reject(e);
        },
      };
      onConnected?.();
    });
  }

  get watching(): boolean {
    return this.open !== undefined;
  }

  emit(type: WatchEvent["type"], object: Record<string, unknown>): void {
    if (!this.open) throw new Error("no watch open");
    try {
      this.open.onEvent({ type, object });
    } catch (err) {
      this.open.reject(err);
    }
  }

  endWatch(): void {
    this.open?.resolve();
  }

  failWatch(err: unknown): void {
    this.open?.reject(err);
  }
}

type Seen = Array<[string, string, string | undefined]>;

function setup(
  opts: { pageSize?: number; watchdogMs?: number; resyncMs?: number; keepAnnotation?: (key: string) => boolean } = {},
) {
  const clock = new ManualClock();
  const api = new FakeApi();
  const informer = new Informer({
    client: api,
    resource: { group: "", version: "v1", plural: "configmaps", namespace: "ns" },
    clock,
    random: () => 0.5,
    backoffInitialMs: 1000,
    resyncMs: opts.resyncMs ?? 0,
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
    ...(opts.watchdogMs ? { watchdogMs: opts.watchdogMs } : {}),
    ...(opts.keepAnnotation ? { keepAnnotation: opts.keepAnnotation } : {}),
  });
  const seen: Seen = [];
  informer.addHandler({
    add: (o) => seen.push(["add", o.metadata.name, o.metadata.resourceVersion]),
    update: (_old, o) => seen.push(["update", o.metadata.name, o.metadata.resourceVersion]),
    delete: (o) => seen.push(["delete", o.metadata.name, o.metadata.resourceVersion]),
  });
  return { clock, api, informer, seen, tick: () => clock.advance(0) };
}

const running: Informer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

describe("Informer", () => {
  it("lists page by page, syncs, and caches objects without managedFields", async () => {
    const { api, informer, seen, tick } = setup({ pageSize: 2 });
    for (const n of ["a", "b", "c"]) api.put(n, { data: { n } });
    expect(informer.hasSynced()).toBe(false);
    running.push(informer);
    informer.start();
    await tick();
    expect(informer.hasSynced()).toBe(true);
    expect(api.lists.map((q) => q.continue)).toEqual([undefined, "2"]);
    expect(informer.size()).toBe(3);
    expect(informer.get("ns", "b")).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "b", namespace: "ns", resourceVersion: "102" },
      data: { n: "b" },
    });
    expect(informer.list("ns").map((o) => o.metadata.name)).toEqual(["a", "b", "c"]);
    expect(informer.list("other")).toEqual([]);
    expect(seen).toEqual([
      ["add", "a", "101"],
      ["add", "b", "102"],
      ["add", "c", "103"],
    ]);
    expect(api.watches[0]).toMatchObject({ resourceVersion: "103", allowWatchBookmarks: true });
  });

  it("slims what it caches from lists and watches: last-applied and unwanted annotations dropped", async () => {
    const { api, informer, tick } = setup({ keepAnnotation: (k) => k.startsWith("keep/") });
    const annotations = { "kubectl.kubernetes.io/last-applied-configuration": "{}", "keep/a": "1", "other/b": "2" };
    api.put("a", { data: { v: "1" } }).metadata.annotations = { ...annotations };
    running.push(informer);
    informer.start();
    await tick();
    expect(informer.get("ns", "a")?.metadata).toEqual({
      name: "a",
      namespace: "ns",
      resourceVersion: "101",
      annotations: { "keep/a": "1" },
    });
    const b = api.put("b", { data: { v: "2" } });
    b.metadata.annotations = { ...annotations };
    api.emit("ADDED", b);
    expect(informer.get("ns", "b")).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "b", namespace: "ns", resourceVersion: "102", annotations: { "keep/a": "1" } },
      data: { v: "2" },
    });
  });

  it("applies watch events to the cache and handlers, and follows bookmarks", async () => {
    const { api, informer, seen, tick } = setup();
    api.put("a");
    running.push(informer);
    informer.start();
    await tick();
    seen.length = 0;
    // The change count moves with every change of the cache, and only then (a bookmark changes nothing).
    const counts = [informer.changeCount()];
    api.emit("ADDED", api.put("b"));
    counts.push(informer.changeCount());
    api.emit("MODIFIED", api.put("a", { data: { v: "2" } }));
    counts.push(informer.changeCount());
    const gone = api.objects.get("b")!;
    api.objects.delete("b");
    api.emit("DELETED", { ...gone, metadata: { ...gone.metadata, resourceVersion: String(++api.rv) } });
    counts.push(informer.changeCount());
    api.emit("BOOKMARK", { kind: "ConfigMap", metadata: { resourceVersion: "500" } });
    counts.push(informer.changeCount());
    expect(counts.slice(1).map((n, i) => n - counts[i]!)).toEqual([1, 1, 1, 0]);
    expect(seen).toEqual([
      ["add", "b", "102"],
      ["update", "a", "103"],
      ["delete", "b", "102"],
    ]);
    expect(informer.get("ns", "a")?.data).toEqual({ v: "2" });
    expect(informer.get("ns", "b")).toBeUndefined();
    expect(informer.lastResourceVersion()).toBe("500");
    api.endWatch(); // the server's timeoutSeconds ran out: watch again from the bookmark, no relist
    await tick();
    expect(api.lists).toHaveLength(1);
    expect(api.watches.map((w) => w.resourceVersion)).toEqual(["101", "500"]);
  });

  it("relists after a 410 Gone in the stream and reports what changed meanwhile", async () => {
    const { api, informer, seen, tick } = setup();
    api.put("a");
    api.put("b");
    running.push(informer);
    informer.start();
    await tick();
    seen.length = 0;
    api.objects.delete("a"); // changes the informer never saw as events
    api.put("c");
    api.emit("ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" });
    await tick();
    expect(api.lists).toHaveLength(2);
    expect(seen).toEqual([
      ["update", "b", "102"],
      ["add", "c", "103"],
      ["delete", "a", "101"],
    ]);
    expect(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["b", "c"]);
    expect(api.watching).toBe(true);
  });

  it("relists when the watch is refused with HTTP 410 at once", async () => {
    const { api, informer, tick } = setup();
    api.put("a");
    running.push(informer);
    informer.start();
    await tick();
    api.failWatch(new KubeGoneError(410));
    await tick();
    expect(api.lists).toHaveLength(2);
    expect(api.watching).toBe(true);
  });

  it("restarts a failed watch after a growing backoff, from the same resourceVersion", async () => {
    const { clock, api, informer, tick } = setup();
    api.put("a");
    running.push(informer);
    informer.start();
    await tick();
    api.failWatch(new KubeNetworkError("connection reset"));
    await tick();
    expect(api.watching).toBe(false);
    await clock.advance(999);
    expect(api.watching).toBe(false);
    await clock.advance(1);
    expect(api.watching).toBe(true);
    api.failWatch(new KubeNetworkError("connection refused"));
    await clock.advance(1999);
    expect(api.watching).toBe(false);
    await clock.advance(1);
    expect(api.watching).toBe(true);
    expect(api.lists).toHaveLength(1);
    expect(new Set(api.watches.map((w) => w.resourceVersion))).toEqual(new Set(["101"]));
  });

  it("restarts a watch that stayed silent longer than the watchdog allows", async () => {
    const { clock, api, informer, tick } = setup({ watchdogMs: 60_000 });
    api.put("a");
    running.push(informer);
    informer.start();
    await tick();
    await clock.advance(40_000);
    api.emit("BOOKMARK", { metadata: { resourceVersion: "150" } }); // activity resets the watchdog
    await clock.advance(59_000);
    expect(api.watches).toHaveLength(1);
    await clock.advance(1_000);
    expect(api.watches.map((w) => w.resourceVersion)).toEqual(["101", "150"]);
    expect(api.watching).toBe(true);
    expect(api.lists).toHaveLength(1);
  });

  it("by default lets a quiet watch run its whole server timeout plus a minute before the watchdog fires", async () => {
    const { clock, api, informer, tick } = setup();
    running.push(informer);
    informer.start();
    await tick();
    expect(api.watches[0]?.timeoutSeconds).toBe(450); // 300 * (1 + random 0.5)
    await clock.advance(509_999);
    expect(api.watches).toHaveLength(1);
    await clock.advance(1);
    expect(api.watches).toHaveLength(2);
  });

  it("relists every resync period and re-delivers every object as an update", async () => {
    const { clock, api, informer, seen, tick } = setup({ resyncMs: 600_000 });
    api.put("a");
    running.push(informer);
    informer.start();
    await tick();
    seen.length = 0;
    await clock.advance(600_000);
    expect(api.lists).toHaveLength(2);
    expect(seen).toEqual([["update", "a", "101"]]);
  });

  it("replays cached objects to a handler added after sync, and enqueueHandlers enqueues keys", async () => {
    const { api, informer, tick } = setup();
    api.put("a");
    running.push(informer);
    informer.start();
    await tick();
    const keys: string[] = [];
    informer.addHandler(enqueueHandlers({ add: (k) => keys.push(k) }));
    api.emit("MODIFIED", api.put("a"));
    expect(keys).toEqual(["ns/a", "ns/a"]);
  });

  it("stops at once when stop() comes between the first list and the first watch", async () => {
    const { api, informer } = setup();
    informer.start();
    await informer.waitForSync(); // resumes before the loop goes on to open its watch
    await informer.stop();
    expect(api.watching).toBe(false);
    expect(api.watches).toEqual([]);
  });

  it("stops cleanly: the watch is closed and no timer is left", async () => {
    const { clock, api, informer, tick } = setup({ resyncMs: 600_000 });
    informer.start();
    await tick();
    expect(await informer.waitForSync(1000)).toBe(true);
    await informer.stop();
    expect(api.watching).toBe(false);
    expect(clock.pending()).toBe(0);
  });
});
