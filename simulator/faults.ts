import { SimErrorCode, SimulatorHttpError } from "./errors.js";

/**
 * Fault injection for the next N calls of an operation. Faults queue per operation in the order they
 * were added; "*" matches any operation, after the operation's own faults.
 *   429 / 500 / 503  answer that status (429 with the rate-limit headers) without applying the call
 *   latency          wait latencyMs (real time), then proceed normally
 *   reset            destroy the socket before applying the call
 *   drop-response    apply the call, then destroy the socket without answering
 *   answer           apply the call, then serve a bad answer instead of the real one (AnswerFault): a
 *                    hostile or broken Soracom, for the client's checks
 * A fault with `probability` < 1 affects each call of its operation with that probability (a PRNG
 * seeded by `seed`, so a run repeats exactly); `count` counts affected calls only.
 */
export const FAULT_KINDS = ["429", "500", "503", "latency", "reset", "drop-response", "answer"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * AnswerFault reshapes the answer of a call that was applied normally: `body` replaces its raw text;
 * else `patch` is a JSON merge patch (RFC 7386) on its JSON (on each element of an array answer).
 * `status` replaces the status, `headers` extend the headers; "{seq}" in a header value becomes the
 * number of the affected call (1, 2, ...), so a next-page key can change on every page.
 */
export interface AnswerFault {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  patch?: Record<string, unknown>;
}

export interface Fault {
  operation: string;
  kind: FaultKind;
  /** Calls still to be affected. */
  remaining: number;
  latencyMs?: number;
  answer?: AnswerFault;
  /** 0..1: the chance that a call of the operation is affected (default 1). */
  probability?: number;
  seed?: number;
  /** The PRNG's state (mulberry32), and how many calls this fault affected so far. */
  rngState?: number;
  served?: number;
}

function bad(message: string): SimulatorHttpError {
  return new SimulatorHttpError(400, SimErrorCode.ControlBadRequest, message);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** parseAnswer validates the `answer` of an "answer" fault. */
function parseAnswer(value: unknown): AnswerFault {
  if (!isRecord(value)) throw bad("answer must be an object for an answer fault");
  const { status, headers, body, patch } = value;
  if (status !== undefined && (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599))
    throw bad("answer.status must be an HTTP status (100..599)");
  if (headers !== undefined && (!isRecord(headers) || Object.values(headers).some((h) => typeof h !== "string")))
    throw bad("answer.headers must map header names to strings");
  if (body !== undefined && typeof body !== "string") throw bad("answer.body must be a string (the raw text)");
  if (patch !== undefined && !isRecord(patch)) throw bad("answer.patch must be a JSON object (a merge patch)");
  return {
    ...(status !== undefined && { status: status as number }),
    ...(headers !== undefined && { headers: headers as Record<string, string> }),
    ...(body !== undefined && { body }),
    ...(patch !== undefined && { patch }),
  };
}

/** parseChance validates `probability` and `seed`. */
function parseChance(b: { probability?: unknown; seed?: unknown }): Pick<Fault, "probability" | "seed" | "rngState"> {
  const { probability, seed } = b;
  if (probability !== undefined && (typeof probability !== "number" || !(probability >= 0 && probability <= 1)))
    throw bad("probability must be a number in 0..1");
  if (seed !== undefined && !Number.isInteger(seed)) throw bad("seed must be an integer");
  if (probability === undefined || probability === 1) return {};
  const s = (seed as number | undefined) ?? 1;
  return { probability, seed: s, rngState: s | 0 };
}

/** parseFault validates a POST /_sim/faults body against the known operations. */
export function parseFault(body: unknown, operations: string[]): Fault {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.operation !== "string" || (b.operation !== "*" && !operations.includes(b.operation))) {
    throw bad(`operation must be one of the spec's operationIds (or "*"), got ${JSON.stringify(b.operation)}`);
  }
  if (typeof b.kind !== "string" || !(FAULT_KINDS as readonly string[]).includes(b.kind)) {
    throw bad(`kind must be one of ${FAULT_KINDS.join(", ")}`);
  }
  const count = b.count ?? 1;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1) throw bad("count must be an integer >= 1");
  const fault: Fault = { operation: b.operation, kind: b.kind as FaultKind, remaining: count, ...parseChance(b) };
  if (b.kind === "answer") fault.answer = parseAnswer(b.answer);
  if (b.kind === "latency") {
    if (typeof b.latencyMs !== "number" || !Number.isInteger(b.latencyMs) || b.latencyMs < 0) {
      throw bad("latencyMs must be an integer >= 0 for a latency fault");
    }
    fault.latencyMs = b.latencyMs;
  }
  return fault;
}

export class FaultBook {
  private faults: Fault[] = [];

  add(fault: Fault): void {
    this.faults.push(fault);
  }

  clear(): void {
    this.faults = [];
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /**
   * take returns the fault for this call of `operation`, if any, and counts it down. A fault with a
   * probability draws first: an unaffected call gets no fault and does not count.
   */
  take(operation: string): Fault | undefined {
    const fault =
      this.faults.find((f) => f.operation === operation && f.remaining > 0) ??
      this.faults.find((f) => f.operation === "*" && f.remaining > 0);
    if (!fault) return undefined;
    if (fault.probability !== undefined && nextRandom(fault) >= fault.probability) return undefined;
    fault.remaining--;
    fault.served = (fault.served ?? 0) + 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return { ...fault };
  }
}

/** nextRandom is mulberry32 on the fault's own state: the same seed gives the same calls affected. */
function nextRandom(fault: Fault): number {
  fault.rngState = ((fault.rngState ?? 0) + 0x6d2b79f5) | 0;
  let t = fault.rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** mergePatch applies an RFC 7386 JSON merge patch: null deletes a member, objects merge, the rest replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** RawAnswer is an answer as sent: status, headers and the body's exact text. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** shapeAnswer turns the real answer of a call into the bad one an "answer" fault asks for. */
export function shapeAnswer(
  real: { status: number; body?: unknown; headers?: Record<string, string> },
  answer: AnswerFault,
  seq: number,
): RawAnswer {
  let text: string;
  if (answer.body !== undefined) text = answer.body;
  else if (answer.patch !== undefined) {
    const patched = Array.isArray(real.body)
      ? real.body.map((item) => mergePatch(item, answer.patch))
      : mergePatch(real.body, answer.patch);
    text = JSON.stringify(patched);
  } else text = real.body === undefined ? "" : JSON.stringify(real.body);
  const headers: Record<string, string> = { ...real.headers };
  if (text !== "") headers["content-type"] = "application/json; charset=utf-8";
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    headers[name.toLowerCase()] = value.replaceAll("{seq}", String(seq));
  }
  return { status: answer.status ?? real.status, headers, text };
}
