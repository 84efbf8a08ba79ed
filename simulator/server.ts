import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type ApiRequest, planApiCall, runApiCall } from "./api.js";
import { DEFAULTS, type SimulatorOptions } from "./config.js";
import type { ApiResult } from "./context.js";
import { handleControl } from "./control.js";
import { SimulatorEngine } from "./engine.js";
import { SimErrorCode, SimulatorHttpError } from "./errors.js";
import { type RawAnswer, shapeAnswer } from "./faults.js";
import { loadStateFile, StatePersister } from "./persist.js";

export type { SimulatorOptions } from "./config.js";

/** Simulator is a running simulator: its URL, and in-process shortcuts to what /_sim offers over HTTP. */
export interface Simulator {
  /** Base URL without the /v1 prefix, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  host: string;
  /** Simulated time (Unix ms). */
  now(): number;
  /** Moves simulated time forward and returns the new time. */
  advanceClock(ms: number): number;
  /** The engine behind the server, for tests that need more than the control surface. */
  engine: SimulatorEngine;
  /** Stops listening, drops open connections, and writes the state file if there is one. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimulatorHttpError(413, SimErrorCode.InvalidParameter, "request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJson(raw: Buffer): { body: unknown; error?: string } {
  if (raw.length === 0) return { body: undefined };
  try {
    return { body: JSON.parse(raw.toString("utf8")) };
  } catch {
    return { body: undefined, error: "Invalid parameter: request body is not valid JSON" };
  }
}

function send(res: http.ServerResponse, result: ApiResult): void {
  const headers: Record<string, string> = { ...result.headers };
  if (result.body === undefined || result.status === 204) {
    res.writeHead(result.status, headers).end();
    return;
  }
  const text = JSON.stringify(result.body);
  headers["content-type"] = "application/json; charset=utf-8";
  res.writeHead(result.status, headers).end(text);
}

function errorBody(err: SimulatorHttpError): ApiResult {
  return { status: err.status, body: { code: err.code, message: err.message } };
}

async function handleApi(engine: SimulatorEngine, req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
  const started = performance.now();
  const method = req.method ?? "GET";
  const plan = planApiCall(engine, method, url.pathname.slice("/v1".length));
  const fault = plan.fault?.kind;
  const record = (status: number) =>
    engine.recordCall({
      operation: plan.operation,
      method,
      path: url.pathname,
      status,
      at: engine.now(),
      ...(fault && { fault }),
      ...(req.headers["user-agent"] ? { agent: String(req.headers["user-agent"]).slice(0, 200) } : {}),
    });
  const raw = await readBody(req);
  // The configured latency stands for the distance to the real API; a latency fault adds to it.
  const latencyMs = engine.config.latencyMs + (fault === "latency" ? (plan.fault?.latencyMs ?? 0) : 0);
  if (latencyMs > 0) await sleep(latencyMs);
  if (fault === "reset") {
    record(0);
    req.socket.destroy();
    return;
  }
  const { body, error } = parseJson(raw);
  const apiReq: ApiRequest = {
    method,
    path: url.pathname.slice("/v1".length),
    search: url.searchParams,
    headers: req.headers,
    body,
    ...(error && { bodyError: error }),
  };
  const result = runApiCall(engine, apiReq, plan);
  engine.onChange();
  // An "answer" fault: the call was applied; what goes back is the bad answer asked for.
  const shaped = plan.fault?.answer ? shapeAnswer(result, plan.fault.answer, plan.fault.served ?? 1) : undefined;
  record(shaped?.status ?? result.status);
  engine.logger.debug(
    {
      operation: plan.operation,
      method,
      path: url.pathname,
      status: result.status,
      fault,
      durationMs: performance.now() - started,
    },
    "soracom api call",
  );
  if (fault === "drop-response") {
    req.socket.destroy();
    return;
  }
  if (shaped) sendRaw(res, shaped);
  else send(res, result);
}

function sendRaw(res: http.ServerResponse, answer: RawAnswer): void {
  // A status without a body (204, 304) cannot carry text: node drops it.
  res.writeHead(answer.status, answer.headers).end(answer.text === "" ? undefined : answer.text);
}

async function handleControlRequest(
  engine: SimulatorEngine,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
) {
  const { body, error } = parseJson(await readBody(req));
  if (error) throw new SimulatorHttpError(400, SimErrorCode.ControlBadRequest, "request body is not valid JSON");
  send(res, handleControl(engine, req.method ?? "GET", url.pathname.slice("/_sim".length), body));
}

async function handle(engine: SimulatorEngine, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://simulator.invalid");
  try {
    if (url.pathname.startsWith("/v1/")) return await handleApi(engine, req, res, url);
    if (url.pathname.startsWith("/_sim/")) return await handleControlRequest(engine, req, res, url);
    throw new SimulatorHttpError(404, SimErrorCode.UnknownPath, `No route ${req.method} ${url.pathname}`);
  } catch (err) {
    if (res.headersSent || req.socket.destroyed) return;
    if (err instanceof SimulatorHttpError) return send(res, errorBody(err));
    engine.logger.error({ err }, "simulator request failed");
    send(res, { status: 500, body: { code: SimErrorCode.InternalError, message: "simulator internal error" } });
  }
}

function listen(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** startSimulator starts a Soracom API simulator on a real node:http server (port 0 = any free port). */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const initial = opts.stateFile ? loadStateFile(opts.stateFile) : undefined;
  const engine = new SimulatorEngine(opts, initial);
  const persister = opts.stateFile
    ? new StatePersister(
        opts.stateFile,
        () => engine.state,
        50,
        (err) => engine.logger.error({ err }, "cannot save the simulator state file"),
      )
    : undefined;
  if (persister) engine.onChange = () => persister.schedule();

  const server = http.createServer((req, res) => void handle(engine, req, res));
  const host = opts.host ?? DEFAULTS.host;
  const address = await listen(server, opts.port ?? 0, host);
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    host: address.address,
    engine,
    now: () => engine.now(),
    advanceClock: (ms) => engine.advance(ms),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => persister?.flush());
      return closing;
    },
  };
}
