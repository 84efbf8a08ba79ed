import http from "node:http";
import https from "node:https";

/** HttpResult is a whole response: status and the parsed JSON body (or the text if it is not JSON). */
export interface HttpResult {
  status: number;
  body: unknown;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** PEM bundle to trust (the apiserver's self-signed serving certificate and its CA). */
  ca?: string;
  token?: string;
  timeoutMs?: number;
  /** Skip certificate checks: only for a loopback health probe of a server with a self-signed certificate. */
  insecure?: boolean;
}

/**
 * request is a tiny JSON client for the fixture's own needs (readiness probes, the etcd gateway,
 * namespaces), so the fixture does not depend on the Kubernetes client it is there to test.
 */
export function request(url: string, opts: RequestOptions = {}): Promise<HttpResult> {
  const u = new URL(url);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { accept: "application/json" };
  if (payload !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: opts.method ?? "GET",
        headers,
        ca: opts.ca,
        timeout: opts.timeoutMs ?? 10_000,
        agent: false,
        ...(opts.insecure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, body: parseJson(text) });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 10_000} ms: ${url}`)));
    req.on("error", reject);
    req.end(payload);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * waitFor polls probe until it returns a value (not undefined), printing progress every few seconds
 * so a slow first start on a busy machine does not look like a hang.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; log: (line: string) => void; failFast?: () => string | undefined },
): Promise<T> {
  const t0 = Date.now();
  let lastReport = t0;
  let lastError = "";
  for (;;) {
    const fatal = opts.failFast?.();
    if (fatal) throw new Error(`${what}: ${fatal}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    const now = Date.now();
    if (now - t0 > opts.timeoutMs) {
      throw new Error(`${what}: not ready after ${opts.timeoutMs / 1000} s${lastError ? ` (${lastError})` : ""}`);
    }
    if (now - lastReport >= 5_000) {
      opts.log(`waiting for ${what} (${Math.round((now - t0) / 1000)} s)`);
      lastReport = now;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
