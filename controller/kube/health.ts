import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { silentLogger } from "../log.js";

/** ReadinessCheck is one line of /readyz: ok, or a short reason why not. */
export interface ReadinessCheck {
  name: string;
  check: () => boolean | Promise<boolean>;
}

export interface HealthServerOptions {
  /** port 0 picks a free one (tests). */
  port: number;
  /** host defaults to all interfaces: the kubelet probes the pod IP and Prometheus scrapes it. */
  host?: string;
  registry: Registry;
  readiness?: ReadinessCheck[];
  logger?: Logger;
}

export interface HealthServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * startHealthServer serves the three endpoints a pod needs on one port:
 * - /healthz: the process answers (the event loop runs); nothing else, so a slow apiserver never gets
 *   a healthy pod killed;
 * - /readyz: every readiness check passes (informers synced; leader election healthy), 503 otherwise,
 *   with one "[+]name ok" / "[-]name failed" line per check like the apiserver's own /readyz;
 * - /metrics: the given registry in Prometheus text format.
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const logger = opts.logger ?? silentLogger;
  const server = http.createServer((req, res) => {
    handle(req, res, opts).catch((err) => {
      logger.error({ err, path: req.url }, "health endpoint failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error\n");
    });
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus' scrape keep-alive, so scrapes reuse connections
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  logger.info({ port }, "health and metrics server listening");
  return {
    url: `http://${host === "[::]" || host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, opts: HealthServerOptions): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed\n");
  if (path === "/healthz" || path === "/livez") return send(res, 200, "text/plain", "ok\n");
  if (path === "/readyz") {
    const { ok, body } = await readiness(opts.readiness ?? []);
    return send(res, ok ? 200 : 503, "text/plain", body);
  }
  if (path === "/metrics") return send(res, 200, opts.registry.contentType, await opts.registry.metrics());
  return send(res, 404, "text/plain", "not found\n");
}

/** readiness runs every check (a throwing check counts as failed) and renders the apiserver-style report. */
export async function readiness(checks: ReadinessCheck[]): Promise<{ ok: boolean; body: string }> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        return { name: c.name, ok: await c.check() };
      } catch {
        return { name: c.name, ok: false };
      }
    }),
  );
  const ok = results.every((r) => r.ok);
  const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed`));
  return { ok, body: `${lines.join("\n")}${lines.length ? "\n" : ""}readyz check ${ok ? "passed" : "failed"}\n` };
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(body);
}

/**
 * informersSynced is the usual readiness check over informers: ready once each has its first list.
 * leaderHealthy is the check over an elector: leading with a fresh lease, or following and in touch.
 */
export function informersSynced(informers: Array<{ hasSynced(): boolean }>): ReadinessCheck {
  return { name: "informers-synced", check: () => informers.every((i) => i.hasSynced()) };
}

export function leaderHealthy(elector: { healthy(): boolean }): ReadinessCheck {
  return { name: "leader-election", check: () => elector.healthy() };
}
