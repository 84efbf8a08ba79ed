import http from "node:http";
import https from "node:https";
import type { KubeAccess } from "./access.js";
import { KubeNetworkError, type KubeStatusBody, KubeTimeoutError, kubeApiError } from "./errors.js";

/**
 * KubeClient speaks the apiserver's JSON REST API directly, with a KubeAccess (access.ts, or client-node's
 * KubeConfig) for the address and credentials. Why not the generated clients: they turn timestamps into Date objects (the
 * cache would mix them with raw watch JSON), they cannot abort a watch that hangs before its headers,
 * and patch content types need middleware. Objects here stay plain JSON, exactly as the server sent.
 */
/** Connections the calls of one KubeClient share (not watches); see sharedAgent. */
export const MAX_CALL_CONNECTIONS = 32;

export class KubeClient {
  private readonly kc: KubeAccess;
  private readonly timeoutMs: number;
  /** Keep-alive agents: one for calls (bounded), one for watches (each holds its connection open). */
  private readonly agents: { call?: http.Agent; watch?: http.Agent } = {};

  constructor(kc: KubeAccess, opts: { timeoutMs?: number } = {}) {
    this.kc = kc;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** request sends one call and returns the parsed body; non-2xx answers throw KubeApiError subclasses. */
  async request<T = unknown>(req: KubeRequest): Promise<T> {
    const { res, body } = await this.send(req, req.timeoutMs ?? this.timeoutMs);
    const text = body.toString("utf8");
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw kubeApiError(status, parseStatus(text), res.statusMessage);
    if (!text || req.discardBody) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // A proxy in the way, not a bug here: retry like any other failed call.
      throw new KubeNetworkError(`${req.method ?? "GET"} ${req.path}: the answer is not JSON`);
    }
  }

  /**
   * watch streams watch events of path until the server ends the stream (resolves), the signal aborts
   * (resolves), or the connection or onEvent fails (rejects). A non-200 answer rejects with its status.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
    onConnected?: () => void,
    accept?: string,
  ): Promise<void> {
    const options = await this.options("GET", path, { ...query, watch: true }, accept, "watch");
    if (signal.aborted) return;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        req.destroy();
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = () => finish();
      const req = transport(options.protocol).request(options, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          collect(res).then(
            (b) => finish(kubeApiError(status, parseStatus(b.toString("utf8")), res.statusMessage)),
            finish,
          );
          return;
        }
        onConnected?.();
        res.setEncoding("utf8");
        let buffered = "";
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl = buffered.indexOf("\n");
          while (nl >= 0 && !settled) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            nl = buffered.indexOf("\n");
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent);
            } catch (err) {
              finish(err);
            }
          }
        });
        res.on("end", () => finish());
        res.on("aborted", () => finish(new KubeNetworkError("watch stream aborted by the server")));
        res.on("error", (err) => finish(new KubeNetworkError(`watch stream failed: ${err.message}`)));
      });
      req.on("error", (err) => finish(new KubeNetworkError(`watch request failed: ${err.message}`)));
      signal.addEventListener("abort", onAbort, { once: true });
      req.end();
    });
  }

  private async send(req: KubeRequest, timeoutMs: number): Promise<{ res: http.IncomingMessage; body: Buffer }> {
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const options = await this.options(req.method ?? "GET", req.path, req.query ?? {}, req.accept);
    if (body) {
      options.headers = {
        ...(options.headers as http.OutgoingHttpHeaders),
        "content-type": req.contentType ?? "application/json",
        "content-length": String(body.length),
      };
    }
    return new Promise((resolve, reject) => {
      const r = transport(options.protocol).request(options, (res) => {
        collect(res).then((b) => {
          clearTimeout(timer);
          resolve({ res, body: b });
        }, fail);
      });
      const timer = setTimeout(() => {
        r.destroy(new KubeTimeoutError(`${options.method} ${req.path} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      function fail(err: Error) {
        clearTimeout(timer);
        reject(
          err instanceof KubeTimeoutError ? err : new KubeNetworkError(`${options.method} ${req.path}: ${err.message}`),
        );
      }
      r.on("error", fail);
      r.end(body);
    });
  }

  /** options builds node:http options with the kubeconfig's TLS material and auth headers applied. */
  private async options(
    method: string,
    path: string,
    query: Query,
    accept?: string,
    use: "call" | "watch" = "call",
  ): Promise<https.RequestOptions> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new KubeNetworkError("the kubeconfig has no current cluster");
    const url = new URL(cluster.server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const opts: https.RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    // applyToHTTPSOptions makes a fresh agent each call; one keep-alive agent reuses TLS connections.
    if (!cluster.proxyUrl) opts.agent = this.sharedAgent(url.protocol, opts, use);
    return {
      ...opts,
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port || (url.protocol === "https:" ? 443 : 80),
      path: url.pathname + url.search,
      method,
      headers: { accept: accept ?? "application/json", ...opts.headers },
    };
  }

  /**
   * sharedAgent: calls share at most MAX_CALL_CONNECTIONS connections (more wait for one, as client-go's
   * calls share one HTTP/2 connection): a burst of hundreds of calls at once (events, status writes of a
   * 100,000-profile fleet) would otherwise open a TLS connection each, whose native memory the allocator
   * keeps after they close. Watches get their own agent, unbounded: each holds its connection for minutes.
   */
  private sharedAgent(protocol: string, opts: https.RequestOptions, use: "call" | "watch"): http.Agent {
    const existing = this.agents[use];
    if (existing) return existing;
    const common =
      use === "call"
        ? { keepAlive: true, maxSockets: MAX_CALL_CONNECTIONS, maxFreeSockets: MAX_CALL_CONNECTIONS }
        : { keepAlive: true, maxSockets: Number.POSITIVE_INFINITY };
    const agent =
      protocol === "https:"
        ? new https.Agent({
            ...common,
            ca: opts.ca,
            cert: opts.cert,
            key: opts.key,
            ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
            ...(opts.servername ? { servername: opts.servername } : {}),
          })
        : new http.Agent(common);
    this.agents[use] = agent;
    return agent;
  }

  /** close drops idle keep-alive connections (tests and shutdown). */
  close(): void {
    for (const use of ["call", "watch"] as const) {
      this.agents[use]?.destroy();
      delete this.agents[use];
    }
  }
}

/** KubeApi is what the machinery needs from a client: components take this, so tests can fake it. */
export type KubeApi = Pick<KubeClient, "request" | "watch">;

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequest {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Query;
  body?: unknown;
  /** contentType defaults to application/json; patches pass application/merge-patch+json and the like. */
  contentType?: string;
  /** accept defaults to application/json; METADATA_ONLY asks for objects without spec, status or data. */
  accept?: string;
  /** discardBody: the caller does not need the answer (a write's echo of the object); it is not parsed. */
  discardBody?: boolean;
  timeoutMs?: number;
}

/**
 * Accept headers that make the apiserver answer with PartialObjectMetadata (metadata only), as
 * client-go's metadata informers do: for a cache that needs to know an object exists, not its contents.
 */
export const METADATA_ONLY = {
  list: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
  watch: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
} as const;

/** WatchEvent is one line of a watch stream. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Record<string, unknown>;
}

/** ResourceRef names a collection: group "" is the core API (/api/v1), anything else is under /apis. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  /** namespace limits the collection; omit for all namespaces (or a cluster-scoped resource). */
  namespace?: string;
}

/** resourcePath is the REST path of a collection, or of one object when name is given. */
export function resourcePath(ref: ResourceRef, name?: string, subresource?: string): string {
  const base = ref.group === "" ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : "";
  const obj = name ? `/${encodeURIComponent(name)}` : "";
  const sub = name && subresource ? `/${subresource}` : "";
  return `${base}${ns}/${ref.plural}${obj}${sub}`;
}

function transport(protocol: string | null | undefined): typeof http | typeof https {
  return protocol === "http:" ? http : https;
}

function collect(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks)));
    res.on("aborted", () => reject(new KubeNetworkError("response aborted")));
    res.on("error", reject);
  });
}

function parseStatus(text: string): KubeStatusBody | undefined {
  try {
    const body = JSON.parse(text) as KubeStatusBody;
    return typeof body === "object" && body !== null ? body : undefined;
  } catch {
    return undefined;
  }
}
