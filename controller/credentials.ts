import type { Logger } from "pino";
import { CREDENTIALS_KEYS, REASONS } from "./api/vocabulary.js";
import { isNotFound } from "./kube/errors.js";
import type { KubeClient } from "./kube/rest.js";
import {
  type Coverage,
  createSoracomClient,
  resolveEndpoint,
  type SoracomClient,
  type SoracomClientOptions,
} from "./soracom/index.js";

/**
 * Soracom clients per set of credentials: an account's Secret in the operator's namespace, a tenant's
 * Secret in its own namespace (when its account allows it), or the environment (single-tenant mode).
 * Clients are cached per Secret and resourceVersion, so a rotated Secret takes effect within the refresh
 * interval and the old client is closed. Where a client may send requests is decided here, before any:
 * a tenant's Secret may only name one of the vendor's endpoints or its account's own.
 */

/** CredentialsError says why credentials could not be used; reconcilers turn it into Stalled. */
export class CredentialsError extends Error {
  override name = "CredentialsError";
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface DefaultCredentials {
  authKeyId: string;
  authKey: string;
}

/** Where a client sends its requests: set by the admin (account or flags), never by a tenant. */
export interface Destination {
  endpoint?: string;
  coverage?: Coverage;
  sandbox?: boolean;
}

export interface ClientFactoryOptions {
  kube: KubeClient;
  /** Shared client settings: limits, timeouts, logging, metrics hook, fence. */
  client?: Omit<SoracomClientOptions, "credentials" | "endpoint" | "coverage" | "sandbox">;
  /** How long a Secret read is trusted before it is read again. */
  refreshMs?: number;
  now?: () => number;
  logger?: Logger;
}

interface Entry {
  version: string;
  client: SoracomClient;
  checkedAt: number;
}

interface SecretObject {
  metadata: { resourceVersion?: string };
  data?: Record<string, string>;
}

/** VENDOR_ENDPOINTS are the API origins Soracom operates (both coverages, production and sandbox). */
export const VENDOR_ENDPOINTS: readonly string[] = (["jp", "g"] as const).flatMap((coverage) =>
  [false, true].map((sandbox) => new URL(resolveEndpoint({ coverage, sandbox, env: {} })).origin),
);

/** SoracomClients hands out one cached client per credentials source. */
export class SoracomClients {
  private readonly cache = new Map<string, Entry>();
  private readonly fixed = new Map<string, SoracomClient>();

  constructor(private readonly opts: ClientFactoryOptions) {}

  /**
   * forSecret returns the client for the credentials in Secret namespace/name (throws CredentialsError).
   * With `tenant`, the Secret belongs to a tenant: its `endpoint` key may only name one of `allowed`
   * origins (the vendor's, and the account's own), checked before any request is sent.
   */
  async forSecret(
    namespace: string,
    name: string,
    where: Destination,
    tenant?: { allowed: readonly string[] },
  ): Promise<SoracomClient> {
    const key = `${namespace}/${name}`;
    const now = (this.opts.now ?? Date.now)();
    const cached = this.cache.get(key);
    if (cached && now - cached.checkedAt < (this.opts.refreshMs ?? 30_000)) return cached.client;
    const secret = await this.readSecret(namespace, name);
    const version = secret.metadata.resourceVersion ?? "";
    if (cached && cached.version === version) {
      cached.checkedAt = now;
      return cached.client;
    }
    const creds = decode(secret, namespace, name);
    const destination: Destination = {
      ...where,
      ...(creds.coverage ? { coverage: where.coverage ?? creds.coverage } : {}),
    };
    if (tenant && creds.endpoint) {
      const origin = originOf(creds.endpoint);
      if (!origin || !tenant.allowed.includes(origin)) {
        throw new CredentialsError(
          REASONS.EndpointNotAllowed,
          `credentials Secret ${namespace}/${name} names the endpoint ${JSON.stringify(creds.endpoint).slice(0, 120)}, which is neither one of Soracom's nor the account's; remove it from the Secret`,
        );
      }
      destination.endpoint = creds.endpoint;
    }
    const client = this.make(creds.authKeyId, creds.authKey, destination);
    this.cache.set(key, { version, client, checkedAt: now });
    if (cached) {
      this.opts.logger?.info({ secret: key }, "credentials Secret changed; using the new credentials");
      void cached.client.close();
    }
    return client;
  }

  /** forCredentials returns one client per fixed credentials (single-tenant mode, from the environment). */
  forCredentials(key: string, creds: DefaultCredentials, where: Destination): SoracomClient {
    let client = this.fixed.get(key);
    if (!client) {
      client = this.make(creds.authKeyId, creds.authKey, where);
      this.fixed.set(key, client);
    }
    return client;
  }

  /** forget drops a cached client (after Soracom refused its credentials, so a fixed Secret is read at once). */
  forget(namespace: string, name: string): void {
    this.cache.delete(`${namespace}/${name}`);
  }

  async closeAll(): Promise<void> {
    const all = [...this.cache.values()].map((e) => e.client).concat([...this.fixed.values()]);
    this.cache.clear();
    this.fixed.clear();
    await Promise.allSettled(
      all.map(async (c) => {
        await c.logout().catch(() => undefined);
        await c.close();
      }),
    );
  }

  private make(authKeyId: string, authKey: string, where: Destination): SoracomClient {
    return createSoracomClient({
      ...this.opts.client,
      credentials: { authKeyId, authKey },
      ...(where.endpoint ? { endpoint: where.endpoint } : {}),
      ...(where.coverage ? { coverage: where.coverage } : {}),
      sandbox: where.sandbox ?? false,
      // The environment never redirects an account's client (SORACOM_ENDPOINT is for soracom-cli users).
      env: {},
    });
  }

  private async readSecret(namespace: string, name: string): Promise<SecretObject> {
    try {
      return await this.opts.kube.request<SecretObject>({
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
      });
    } catch (err) {
      if (isNotFound(err)) {
        throw new CredentialsError(
          REASONS.CredentialsNotFound,
          `credentials Secret ${namespace}/${name} does not exist`,
        );
      }
      throw err;
    }
  }
}

/** originOf is the origin of an endpoint as the client would use it, or undefined when it is not one. */
export function originOf(endpoint: string): string | undefined {
  try {
    return new URL(resolveEndpoint({ endpoint, env: {} })).origin;
  } catch {
    return undefined;
  }
}

function decode(secret: SecretObject, namespace: string, name: string) {
  const get = (k: string) => {
    const v = secret.data?.[k];
    return v ? Buffer.from(v, "base64").toString("utf8").trim() : undefined;
  };
  const authKeyId = get(CREDENTIALS_KEYS.authKeyId);
  const authKey = get(CREDENTIALS_KEYS.authKey);
  if (!authKeyId || !authKey) {
    throw new CredentialsError(
      REASONS.CredentialsInvalid,
      `credentials Secret ${namespace}/${name} must have the keys ${CREDENTIALS_KEYS.authKeyId} and ${CREDENTIALS_KEYS.authKey}`,
    );
  }
  const coverage = get(CREDENTIALS_KEYS.coverage);
  if (coverage && coverage !== "jp" && coverage !== "g") {
    throw new CredentialsError(
      REASONS.CredentialsInvalid,
      `credentials Secret ${namespace}/${name}: coverage must be "jp" or "g", not "${coverage}"`,
    );
  }
  return { authKeyId, authKey, endpoint: get(CREDENTIALS_KEYS.endpoint), coverage: coverage as Coverage | undefined };
}
