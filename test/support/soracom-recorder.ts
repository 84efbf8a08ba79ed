import type { Duplex } from "node:stream";
import { Agent, type Dispatcher } from "undici";

/** RecordedExchange is one HTTP exchange as it crossed the wire, for conformance checks. */
export interface RecordedExchange {
  method: string;
  /** Path and query as sent, e.g. "/v1/query/sims?iccid=89…". */
  path: string;
  requestHeaders: Record<string, string>;
  /** The request body text, if any. */
  requestBody: string | undefined;
  status: number | undefined;
  responseHeaders: Record<string, string>;
  responseBody: string;
  error: Error | undefined;
}

/**
 * createRecordingDispatcher wraps a fresh Agent with an interceptor that records every exchange,
 * bodies included. Tests hand it to the client through its `dispatcher` option.
 */
export function createRecordingDispatcher(): {
  dispatcher: Dispatcher;
  exchanges: RecordedExchange[];
  close(): Promise<void>;
} {
  const agent = new Agent();
  const exchanges: RecordedExchange[] = [];
  const record: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
    const entry: RecordedExchange = {
      method: String(opts.method),
      path: String(opts.path),
      requestHeaders: headerRecord(opts.headers),
      requestBody: typeof opts.body === "string" ? opts.body : undefined,
      status: undefined,
      responseHeaders: {},
      responseBody: "",
      error: undefined,
    };
    exchanges.push(entry);
    return dispatch(opts, new RecordingHandler(handler, entry));
  };
  return { dispatcher: agent.compose(record), exchanges, close: () => agent.close() };
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * RecordingHandler forwards every callback of undici's handler API unchanged and keeps a copy of the
 * answer. undici's compose() has already wrapped the inner handler into this (new-style) API.
 */
class RecordingHandler implements Dispatcher.DispatchHandler {
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #entry: RecordedExchange;
  readonly #chunks: Buffer[] = [];

  constructor(inner: Dispatcher.DispatchHandler, entry: RecordedExchange) {
    this.#inner = inner;
    this.#entry = entry;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Headers,
    socket: Duplex,
  ): void {
    this.#inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Headers,
    message?: string,
  ): void {
    this.#entry.status = statusCode;
    this.#entry.responseHeaders = headerRecord(headers);
    this.#inner.onResponseStart?.(controller, statusCode, headers, message);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Headers): void {
    this.#entry.responseBody = Buffer.concat(this.#chunks).toString("utf8");
    this.#inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.#entry.error = error;
    this.#inner.onResponseError?.(controller, error);
  }
}

function headerRecord(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers || typeof headers !== "object") return out;
  const entries = Array.isArray(headers)
    ? pairs(headers as string[])
    : Object.entries(headers as Record<string, unknown>);
  for (const [name, value] of entries) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), String(flat[i + 1])]);
  return out;
}
