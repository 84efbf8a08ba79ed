/** Coverage types: "jp" is Japan coverage, "g" global coverage (where eSIM profile plans are sold). */
export type Coverage = "jp" | "g";

/** API_HOSTS maps coverage and sandbox to the vendor's hosts; every path lives under /v1. */
const API_HOSTS: Record<Coverage, { production: string; sandbox: string }> = {
  jp: { production: "https://api.soracom.io", sandbox: "https://api-sandbox.soracom.io" },
  g: { production: "https://g.api.soracom.io", sandbox: "https://g.api-sandbox.soracom.io" },
};

export interface EndpointOptions {
  /** Defaults to "g": plan01s, planX* and plan-US eSIM profiles are global-coverage products. */
  coverage?: Coverage | undefined;
  sandbox?: boolean | undefined;
  /** An explicit host (e.g. the simulator's `http://127.0.0.1:PORT`); wins over everything. */
  endpoint?: string | undefined;
  /** The environment to read SORACOM_ENDPOINT from (passed in, so the function stays pure). */
  env?: Record<string, string | undefined> | undefined;
}

/**
 * resolveEndpoint returns the API base URL, always ending in `/v1` (no trailing slash).
 * Precedence: the `endpoint` option (explicit configuration), then `SORACOM_ENDPOINT` (host only, as
 * soracom-cli reads it, e.g. `https://api-sandbox.soracom.io`), then coverage and sandbox.
 * A host without a scheme gets https; a trailing `/v1` is accepted and not doubled.
 */
export function resolveEndpoint(opts: EndpointOptions = {}): string {
  const explicit = nonEmpty(opts.endpoint) ?? nonEmpty(opts.env?.SORACOM_ENDPOINT);
  if (explicit) return normalize(explicit);
  const coverage = opts.coverage ?? "g";
  const hosts = API_HOSTS[coverage];
  if (!hosts) throw new TypeError(`unknown Soracom coverage type "${String(coverage)}" (want "jp" or "g")`);
  return `${opts.sandbox ? hosts.sandbox : hosts.production}/v1`;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function normalize(endpoint: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  const url = new URL(withScheme);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`Soracom endpoint must be http(s), got ${url.protocol}`);
  }
  if (url.search || url.hash) throw new TypeError("Soracom endpoint must not carry a query or a fragment");
  const path = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  return `${url.origin}${path}/v1`;
}
