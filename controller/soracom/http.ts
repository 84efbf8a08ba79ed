import type { Dispatcher } from "undici";
import { SoracomError, SoracomErrorCode, SoracomNetworkError, SoracomTimeoutError } from "./errors.js";

/** Exchange is one HTTP answer, body read in full (Soracom bodies are small JSON documents, bounded by maxBytes). */
export interface Exchange {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface WireRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path and query, starting with the base path (e.g. "/v1/sims/xyz"). */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Errors raised before a connection exists: the request cannot have reached the server. Every other
 * failure (reset, timeout, a socket closed mid-answer) may come after the server applied the request.
 */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Timeouts by undici's own clocks (ours is the AbortSignal below). */
const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** TimeoutMarker is the abort reason of our own deadline, told apart from any other abort. */
class TimeoutMarker extends Error {}

/** ResponseTooLargeError: the answer's body passed the client's bound; reading stopped there. */
export class ResponseTooLargeError extends SoracomError {
  override name = "ResponseTooLargeError";
  readonly status: number;

  constructor(operation: string, status: number, maxBytes: number) {
    super(
      SoracomErrorCode.responseTooLarge,
      operation,
      `${operation}: HTTP ${status} with a body over ${maxBytes} bytes; not read further`,
    );
    this.status = status;
  }
}

/**
 * sendOnce performs one HTTP exchange with a deadline covering headers and body. It never retries
 * and never interprets the status: it throws only when no complete answer arrived, or when the body
 * is larger than maxBytes (ResponseTooLargeError, the connection dropped).
 */
export async function sendOnce(
  dispatcher: Dispatcher,
  origin: string,
  operation: string,
  req: WireRequest,
  timeoutMs: number,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<Exchange> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new TimeoutMarker(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await dispatcher.request({
      origin,
      path: req.path,
      method: req.method,
      headers: req.headers,
      body: req.body ?? null,
      signal: abort.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await readBounded(operation, res, maxBytes, abort);
    return { status: res.statusCode, headers: flattenHeaders(res.headers), text };
  } catch (err) {
    if (err instanceof ResponseTooLargeError) throw err;
    throw toNetworkError(operation, err, abort.signal.reason instanceof TimeoutMarker);
  } finally {
    clearTimeout(timer);
  }
}

/** readBounded reads the body as UTF-8 text, aborting the exchange once it passes maxBytes. */
async function readBounded(
  operation: string,
  res: Dispatcher.ResponseData,
  maxBytes: number,
  abort: AbortController,
): Promise<string> {
  const tooLarge = () => {
    const err = new ResponseTooLargeError(operation, res.statusCode, maxBytes);
    abort.abort(err);
    return err;
  };
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

function toNetworkError(operation: string, err: unknown, deadlinePassed: boolean): SoracomNetworkError {
  const causeCode = errorCode(err);
  const requestSent = !(causeCode && NOT_SENT_CODES.has(causeCode));
  const detail = err instanceof Error ? err.message : String(err);
  if (deadlinePassed || (causeCode && TIMEOUT_CODES.has(causeCode))) {
    return new SoracomTimeoutError(operation, `${operation}: timed out (${detail})`, {
      requestSent,
      ...(causeCode ? { causeCode } : {}),
      cause: err,
    });
  }
  return new SoracomNetworkError(operation, `${operation}: connection failed (${causeCode ?? detail})`, {
    requestSent,
    ...(causeCode ? { causeCode } : {}),
    cause: err,
  });
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return code;
  // undici wraps some socket errors; the errno sits on the cause.
  const cause = (err as { cause?: unknown }).cause;
  return cause && cause !== err ? errorCode(cause) : undefined;
}
