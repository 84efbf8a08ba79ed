import { SimErrorCode, SimulatorHttpError } from "./errors.js";

/**
 * Fault injection for the next N calls of an operation. Faults queue per operation in the order they
 * were added; "*" matches any operation, after the operation's own faults.
 *   429 / 500 / 503  answer that status (429 with the rate-limit headers) without applying the call
 *   latency          wait latencyMs (real time), then proceed normally
 *   reset            destroy the socket before applying the call
 *   drop-response    apply the call, then destroy the socket without answering
 */
export const FAULT_KINDS = ["429", "500", "503", "latency", "reset", "drop-response"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  operation: string;
  kind: FaultKind;
  /** Calls still to be affected. */
  remaining: number;
  latencyMs?: number;
}

function bad(message: string): SimulatorHttpError {
  return new SimulatorHttpError(400, SimErrorCode.ControlBadRequest, message);
}

/** parseFault validates a POST /_sim/faults body against the known operations. */
export function parseFault(body: unknown, operations: string[]): Fault {
  const b = (body ?? {}) as { operation?: unknown; count?: unknown; kind?: unknown; latencyMs?: unknown };
  if (typeof b.operation !== "string" || (b.operation !== "*" && !operations.includes(b.operation))) {
    throw bad(`operation must be one of the spec's operationIds (or "*"), got ${JSON.stringify(b.operation)}`);
  }
  if (typeof b.kind !== "string" || !(FAULT_KINDS as readonly string[]).includes(b.kind)) {
    throw bad(`kind must be one of ${FAULT_KINDS.join(", ")}`);
  }
  const count = b.count ?? 1;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1) throw bad("count must be an integer >= 1");
  const fault: Fault = { operation: b.operation, kind: b.kind as FaultKind, remaining: count };
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

  /** take returns the fault for this call of `operation`, if any, and counts it down. */
  take(operation: string): Fault | undefined {
    const fault =
      this.faults.find((f) => f.operation === operation && f.remaining > 0) ??
      this.faults.find((f) => f.operation === "*" && f.remaining > 0);
    if (!fault) return undefined;
    fault.remaining--;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return { ...fault };
  }
}
