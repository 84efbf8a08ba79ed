import { type KubeConfig, Watch } from "@kubernetes/client-node";

/** WatchEvent is one line of a Kubernetes watch stream. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: {
    metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> };
    code?: number;
    reason?: string;
    message?: string;
  };
}

/** WatchSession collects the events of one watch request, for tests to wait on. */
export interface WatchSession {
  readonly events: WatchEvent[];
  /** Settles when the stream ends: null for a clean end, the error otherwise (e.g. {statusCode: 429}). */
  readonly ended: Promise<unknown>;
  readonly isEnded: boolean;
  /** Resolves with the first event (already received or to come) that matches, or rejects after timeoutMs. */
  next(match: (e: WatchEvent) => boolean, timeoutMs?: number): Promise<WatchEvent>;
  stop(): void;
}

/** openWatch starts one watch request (client-node's Watch) from resourceVersion, with bookmarks. */
export async function openWatch(kc: KubeConfig, path: string, resourceVersion: string): Promise<WatchSession> {
  const events: WatchEvent[] = [];
  const waiters = new Set<() => void>();
  let isEnded = false;
  let endWith: (err: unknown) => void = () => {};
  const ended = new Promise<unknown>((resolve) => {
    endWith = resolve;
  });
  const wake = () => {
    for (const w of waiters) w();
  };
  const abort = await new Watch(kc).watch(
    path,
    { resourceVersion, allowWatchBookmarks: true },
    (type, object) => {
      events.push({ type: type as WatchEvent["type"], object });
      wake();
    },
    (err) => {
      isEnded = true;
      endWith(err ?? null);
      wake();
    },
  );
  return {
    events,
    ended,
    get isEnded() {
      return isEnded;
    },
    stop: () => abort.abort(),
    next: (match, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find(match);
          if (hit) finish(() => resolve(hit));
          else if (isEnded)
            finish(() => reject(new Error(`watch ended before a matching event (${describe(events)})`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no matching watch event in ${timeoutMs} ms (${describe(events)})`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      }),
  };
}

/**
 * openWatchRetrying retries a watch the apiserver refuses outright (connection refused while it
 * restarts, 429 "storage is (re)initializing" while its watch cache fills, 5xx), as a reflector does.
 * A 410 is not refused outright: it arrives as an ERROR event inside the stream, for the caller.
 */
export async function openWatchRetrying(
  kc: KubeConfig,
  path: string,
  resourceVersion: string,
  timeoutMs = 60_000,
): Promise<{ session: WatchSession; refusals: number }> {
  const deadline = Date.now() + timeoutMs;
  for (let refusals = 0; ; refusals++) {
    const session = await openWatch(kc, path, resourceVersion);
    // A refused request ends at once, before any event; a served one stays open.
    const refused = await Promise.race([session.ended, sleep(300).then(() => "open")]);
    if (refused === "open" || session.events.length > 0) return { session, refusals };
    if (Date.now() > deadline) throw new Error(`watch ${path} still refused after ${timeoutMs} ms: ${String(refused)}`);
    await sleep(250);
  }
}

function describe(events: WatchEvent[]): string {
  return events.map((e) => `${e.type} ${e.object.metadata?.name ?? e.object.code ?? ""}`).join(", ") || "no events";
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
