import crypto from "node:crypto";
import http from "node:http";
import type net from "node:net";
import type { ControlPlane } from "./fixture.js";

/**
 * The control plane lives in vitest's main process (global setup), but the tests that restart it run
 * in worker processes. This loopback endpoint lets them ask for it: POST /<operation>, bearer token,
 * JSON out. Operations run one at a time, in order.
 */
export const CONTROL_OPERATIONS = [
  "apiserver/stop",
  "apiserver/start",
  "apiserver/restart",
  "etcd/stop",
  "etcd/start",
  "etcd/restart",
  "etcd/compact",
  "watches/expire",
  "controller-manager/stop",
  "controller-manager/start",
  "ensure-running",
] as const;
export type ControlOperation = (typeof CONTROL_OPERATIONS)[number];

export interface ControlServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

export async function serveControl(cp: ControlPlane): Promise<ControlServer> {
  const token = crypto.randomBytes(24).toString("base64url");
  const actions: Record<ControlOperation, () => Promise<unknown>> = {
    "apiserver/stop": () => cp.stopApiserver(),
    "apiserver/start": () => cp.startApiserver(),
    "apiserver/restart": () => cp.restartApiserver(),
    "etcd/stop": () => cp.stopEtcd(),
    "etcd/start": () => cp.startEtcd(),
    "etcd/restart": () => cp.restartEtcd(),
    "etcd/compact": async () => ({ revision: await cp.compactEtcd() }),
    "watches/expire": async () => ({ revision: await cp.forceWatchExpiry() }),
    "controller-manager/stop": () => cp.stopControllerManager(),
    "controller-manager/start": () => cp.startControllerManager(),
    "ensure-running": () => cp.ensureRunning(),
  };
  let queue: Promise<unknown> = Promise.resolve();
  const server = http.createServer((req, res) => {
    const op = (req.url ?? "").replace(/^\//, "") as ControlOperation;
    const action = actions[op];
    if (req.headers.authorization !== `Bearer ${token}`) return reply(res, 401, { error: "bad token" });
    if (req.method !== "POST" || !action) return reply(res, 404, { error: `unknown operation ${req.method} ${op}` });
    const run = queue.then(action);
    queue = run.catch(() => undefined);
    run.then(
      (result) => reply(res, 200, result ?? {}),
      (err: unknown) => reply(res, 500, { error: err instanceof Error ? err.message : String(err) }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
