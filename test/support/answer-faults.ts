import http from "node:http";
import type { AddressInfo } from "node:net";
import { Rng } from "./safety-random.js";

/**
 * AnswerFaults is a small HTTP proxy between the controller and the simulator that corrupts chosen
 * answers, as a hostile or broken Soracom (or a proxy in the way) would. Every request goes through to the
 * simulator unchanged, so the simulator's call log stays the judge of what the controller did; only the
 * answer coming back is replaced. Rules follow the simulator's fault contract (`kind: "answer"`): per
 * operation, an optional count, a probability with a seed, and an answer made of a status, headers, a raw
 * body or a JSON merge patch (applied to each element of an array answer). Mutations are passed through
 * untouched unless a rule names them.
 */

/** AnswerFault is one way to corrupt an answer. */
export interface AnswerFault {
  /** A name for the log and the test's messages. */
  name: string;
  status?: number;
  headers?: Record<string, string>;
  /** The raw body to answer with (replaces the simulator's). */
  body?: string;
  /** A JSON merge patch on the answer (per element for an array). */
  patch?: Record<string, unknown>;
}

/** AnswerRule corrupts answers to one operation (or "*" for every read). */
export interface AnswerRule {
  operation: string;
  answers: readonly AnswerFault[];
  /** How many answers to corrupt at most (default: no limit). */
  count?: number;
  /** The share of matching answers corrupted (default 1). */
  probability?: number;
  /** Only answers whose JSON passes this test (e.g. an order in a given status). */
  when?: (json: unknown) => boolean;
}

/** Corrupted is one answer the proxy replaced. */
export interface Corrupted {
  operation: string;
  path: string;
  fault: string;
  at: number;
}

/** OPERATIONS maps a method and a path (without the /v1 prefix) to the vendor's operationId. */
const OPERATIONS: Array<[string, RegExp, string]> = [
  ["GET", /^\/sim_profile_orders$/, "listProfileOrders"],
  ["GET", /^\/sim_profile_orders\/[^/]+$/, "getProfileOrder"],
  ["GET", /^\/sim_profile_orders\/[^/]+\/profiles$/, "listOrderedProfiles"],
  ["GET", /^\/subscribers\/[^/]+$/, "getSubscriber"],
  ["GET", /^\/sims\/[^/]+$/, "getSim"],
  ["GET", /^\/query\/sims$/, "searchSims"],
  ["POST", /^\/sims\/[^/]+\/terminate$/, "terminateSim"],
];

export function operationOf(method: string, url: string): string | undefined {
  const path = url.split("?")[0]!.replace(/^\/v1(?=\/)/, "");
  return OPERATIONS.find(([m, re]) => m === method && re.test(path))?.[2];
}

/** mergePatch applies a JSON merge patch (RFC 7396) to one value. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class AnswerFaults {
  readonly corrupted: Corrupted[] = [];
  private rules: Array<AnswerRule & { used: number }> = [];
  private readonly random: Rng;
  private server: http.Server | undefined;
  url = "";

  constructor(
    private readonly upstream: string,
    seed = 23,
  ) {
    this.random = new Rng(seed);
  }

  /** start listens on loopback; `url` is then the endpoint to give the controller. */
  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** add installs a rule (the simulator's POST /_sim/faults with kind "answer"). */
  add(rule: AnswerRule): void {
    this.rules.push({ ...rule, used: 0 });
  }

  /** clear removes every rule: from now on every answer is the simulator's. */
  clear(): void {
    this.rules = [];
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !["host", "content-length", "connection"].includes(k)),
    ) as Record<string, string>;
    const method = req.method ?? "GET";
    const upstream = await fetch(`${this.upstream}${req.url}`, {
      method,
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    let status = upstream.status;
    let body = await upstream.text();
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!["content-length", "transfer-encoding", "content-encoding", "connection"].includes(k)) out[k] = v;
    });
    const operation = operationOf(method, req.url ?? "");
    const fault = operation ? this.pick(operation, status, body) : undefined;
    if (fault && operation) {
      this.corrupted.push({ operation, path: req.url ?? "", fault: fault.name, at: Date.now() });
      if (fault.patch) {
        const json = JSON.parse(body) as unknown;
        const patched = Array.isArray(json)
          ? json.map((x) => mergePatch(x, fault.patch))
          : mergePatch(json, fault.patch);
        body = JSON.stringify(patched);
      }
      if (fault.body !== undefined) body = fault.body;
      if (fault.status !== undefined) status = fault.status;
      Object.assign(out, fault.headers ?? {});
    }
    res.writeHead(status, out);
    res.end(body);
  }

  /** pick chooses the fault for this answer, if a rule applies and the dice say so. */
  private pick(operation: string, status: number, body: string): AnswerFault | undefined {
    if (status < 200 || status >= 300) return undefined;
    for (const rule of this.rules) {
      if (rule.operation !== operation && !(rule.operation === "*" && operation !== "terminateSim")) continue;
      if (rule.count !== undefined && rule.used >= rule.count) continue;
      if (rule.when) {
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          continue;
        }
        if (!rule.when(json)) continue;
      }
      if (!this.random.chance(rule.probability ?? 1)) continue;
      rule.used += 1;
      return this.random.pick(rule.answers);
    }
    return undefined;
  }
}

/** HTML_404 is what a proxy or load balancer answers for a path it does not know. */
export const HTML_404: AnswerFault = {
  name: "HTML 404",
  status: 404,
  headers: { "content-type": "text/html" },
  body: "<html><body><h1>404 Not Found</h1></body></html>",
};
