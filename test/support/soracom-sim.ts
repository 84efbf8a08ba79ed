import { createSoracomClient, type SoracomClient, type SoracomClientOptions } from "../../controller/soracom/index.js";
import { startSimulator } from "../../simulator/index.js";

/** The credentials the simulator accepts by default. */
export const SIM_CREDENTIALS = { authKeyId: "keyId-simulator", authKey: "secret-simulator" } as const;

export type Simulator = Awaited<ReturnType<typeof startSimulator>>;
export type SimulatorOptions = NonNullable<Parameters<typeof startSimulator>[0]>;

export interface SimCall {
  operation: string;
  method: string;
  path: string;
  status: number;
  at: number;
  /** The caller's User-Agent (the controller names its replica there). */
  agent?: string;
}

/** SimControl drives the simulator's /_sim control surface (JSON in, JSON out, no auth). */
export class SimControl {
  constructor(readonly url: string) {}

  async send<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/_sim${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator control ${method} ${path}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  fault(operation: string, kind: string, count = 1, latencyMs?: number): Promise<unknown> {
    return this.send("POST", "/faults", { operation, kind, count, ...(latencyMs === undefined ? {} : { latencyMs }) });
  }

  clearFaults(): Promise<unknown> {
    return this.send("DELETE", "/faults");
  }

  calls(): Promise<{ calls: SimCall[]; counts: Record<string, number> }> {
    return this.send("GET", "/calls");
  }

  async count(operation: string): Promise<number> {
    return (await this.calls()).counts[operation] ?? 0;
  }

  /**
   * polls waits until the simulator has logged `n` more calls of these operations (or matching this
   * predicate) than when it was called: the controller has looked that many more times, so an assertion
   * that something did not happen has given it that many chances. Throws after timeoutMs.
   */
  async polls(
    which: string | readonly string[] | ((c: SimCall) => boolean),
    n: number,
    opts: { timeoutMs?: number } = {},
  ): Promise<void> {
    const seen = async () => {
      const { calls, counts } = await this.calls();
      if (typeof which === "function") return calls.filter(which).length;
      return (typeof which === "string" ? [which] : which).reduce((sum, op) => sum + (counts[op] ?? 0), 0);
    };
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const start = await seen();
    const deadline = Date.now() + timeoutMs;
    for (let now = start; now < start + n; now = await seen()) {
      if (Date.now() > deadline) {
        const what = typeof which === "function" ? "matching" : String(which);
        throw new Error(`waited ${timeoutMs} ms for ${n} more ${what} calls to the simulator; saw ${now - start}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  clearCalls(): Promise<unknown> {
    return this.send("DELETE", "/calls");
  }

  expireTokens(): Promise<unknown> {
    return this.send("POST", "/tokens/expire");
  }

  clock(): Promise<{ now: number }> {
    return this.send("GET", "/clock");
  }

  advance(ms: number): Promise<unknown> {
    return this.send("POST", "/clock/advance", { ms });
  }

  config(partial: Record<string, unknown>): Promise<unknown> {
    return this.send("POST", "/config", partial);
  }

  createSim(
    body: { iccid?: string; imsi?: string; subscription?: string } = {},
  ): Promise<{ simId: string } & Record<string, unknown>> {
    return this.send("POST", "/sims", body);
  }

  state(): Promise<Record<string, unknown>> {
    return this.send("GET", "/state");
  }

  reset(): Promise<unknown> {
    return this.send("POST", "/reset");
  }
}

/** fastRetry keeps retry tests quick while still exercising real waits. */
export const fastRetry = { maxRetries: 3, baseDelayMs: 20, maxDelayMs: 100, maxRateLimitWaitMs: 10_000 };

/** testClient is a client pointed at the simulator with test-friendly defaults. */
export function testClient(sim: { url: string }, overrides: Partial<SoracomClientOptions> = {}): SoracomClient {
  return createSoracomClient({
    endpoint: sim.url,
    credentials: SIM_CREDENTIALS,
    requestTimeoutMs: 5_000,
    requestsPerSecond: 1000,
    maxConcurrency: 8,
    retry: fastRetry,
    ...overrides,
  });
}

/** startTestSimulator starts an in-process simulator on a random loopback port. */
export async function startTestSimulator(
  opts: SimulatorOptions = {},
): Promise<{ sim: Simulator; control: SimControl }> {
  const sim = await startSimulator({ port: 0, host: "127.0.0.1", ...opts });
  return { sim, control: new SimControl(sim.url) };
}

/** collect drains an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
