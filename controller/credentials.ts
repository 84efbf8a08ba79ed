import { createHash } from "node:crypto";
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
 * Soracom clients per source: the credentials (the operator identity they authenticate as) and where
 * requests go (endpoint, coverage, sandbox). Credentials come from an account's Secret in the operator's
 * namespace, a tenant's Secret in its own namespace (when its account allows it), or the environment
 * (single-tenant mode). A Secret's contents are read again after the refresh interval when its
 * resourceVersion changed, so a rotated Secret takes effect and the clients of credentials no Secret holds
 * any longer are closed. Two accounts on one Secret with other destinations, or an account moved from
 * production to sandbox, get a client of their own: never one made for another destination. Where a
 * client may send requests is decided here, before any: a tenant's Secret may only name one of the
 * vendor's endpoints or its account's own.
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

/** A Secret's credentials as last read. */
interface SecretEntry {
  version: string;
  creds: Decoded;
  checkedAt: number;
}

type Decoded = ReturnType<typeof decode>;

/** Sourced is a client and the key of its source: answers of one source are never taken for another's. */
export interface Sourced {
  client: SoracomClient;
  /** A short hash of (credentials, endpoint, coverage, sandbox); never the credentials themselves. */
  source: string;
}

interface SecretObject {
  metadata: { resourceVersion?: string };
  data?: Record<string, string>;
}

/** VENDOR_ENDPOINTS are the API origins Soracom operates (both coverages, production and sandbox). */
export const VENDOR_ENDPOINTS: readonly string[] = (["jp", "g"] as const).flatMap((coverage) =>
  [false, true].map((sandbox) => new URL(resolveEndpoint({ coverage, sandbox, env: {} })).origin),
);

/** SoracomClients hands out one cached client per source (credentials and destination). */
export class SoracomClients {
  private readonly secrets = new Map<string, SecretEntry>();
  private readonly clients = new Map<string, { client: SoracomClient; identity: string }>();

  constructor(private readonly opts: ClientFactoryOptions) {}

  /**
   * forSecret returns the client for the credentials in Secret namespace/name sent to `where` (throws
   * CredentialsError). With `tenant`, the Secret belongs to a tenant: its `endpoint` key may only name one
   * of `allowed` origins (the vendor's, and the account's own), checked before any request is sent.
   */
  async forSecret(
    namespace: string,
    name: string,
    where: Destination,
    tenant?: { allowed: readonly string[] },
  ): Promise<Sourced> {
    const creds = await this.credentialsOf(namespace, name);
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
    return this.clientFor(creds, destination);
  }

  /** forCredentials returns the client of fixed credentials (single-tenant mode, from the environment). */
  forCredentials(creds: DefaultCredentials, where: Destination): Sourced {
    return this.clientFor(creds, where);
  }

  /** forget drops a Secret's credentials and their clients (Soracom refused them): the Secret is read at once. */
  forget(namespace: string, name: string): void {
    const entry = this.secrets.get(`${namespace}/${name}`);
    this.secrets.delete(`${namespace}/${name}`);
    if (!entry) return;
    const identity = identityOf(entry.creds);
    for (const [k, c] of this.clients) if (c.identity === identity) this.clients.delete(k);
  }

  async closeAll(): Promise<void> {
    const all = [...this.clients.values()].map((e) => e.client);
    this.secrets.clear();
    this.clients.clear();
    await Promise.allSettled(
      all.map(async (c) => {
        await c.logout().catch(() => undefined);
        await c.close();
      }),
    );
  }

  /** credentialsOf reads a Secret's credentials, again after the refresh interval if it changed. */
  private async credentialsOf(namespace: string, name: string): Promise<Decoded> {
    const key = `${namespace}/${name}`;
    const now = (this.opts.now ?? Date.now)();
    const cached = this.secrets.get(key);
    if (cached && now - cached.checkedAt < (this.opts.refreshMs ?? 30_000)) return cached.creds;
    const secret = await this.readSecret(namespace, name);
    const version = secret.metadata.resourceVersion ?? "";
    if (cached && cached.version === version) {
      cached.checkedAt = now;
      return cached.creds;
    }
    const creds = decode(secret, namespace, name);
    this.secrets.set(key, { version, creds, checkedAt: now });
    if (cached) {
      this.opts.logger?.info({ secret: key }, "credentials Secret changed; using the new credentials");
      this.retire(identityOf(cached.creds));
    }
    return creds;
  }

  /** retire closes the clients of credentials that no Secret holds any longer. */
  private retire(identity: string): void {
    for (const e of this.secrets.values()) if (identityOf(e.creds) === identity) return;
    for (const [k, c] of this.clients) {
      if (c.identity !== identity) continue;
      this.clients.delete(k);
      void c.client.close();
    }
  }

  private clientFor(creds: DefaultCredentials, where: Destination): Sourced {
    const identity = identityOf(creds);
    const source = sourceOf(identity, where);
    let entry = this.clients.get(source);
    if (!entry) {
      entry = { client: this.make(creds.authKeyId, creds.authKey, where), identity };
      this.clients.set(source, entry);
    }
    return { client: entry.client, source };
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

/** identityOf names credentials by a hash: the same key ID and key are the same operator identity. */
function identityOf(creds: DefaultCredentials): string {
  return createHash("sha256").update(`${creds.authKeyId}\u0000${creds.authKey}`).digest("hex");
}

/** sourceOf is a short hash of the identity and where its requests go, as the client resolves it. */
function sourceOf(identity: string, where: Destination): string {
  let url: string;
  try {
    url = resolveEndpoint({ ...where, env: {} });
  } catch {
    url = `invalid:${where.endpoint ?? ""}`;
  }
  const text = [identity, url, where.coverage ?? "", where.sandbox ? "sandbox" : "production"].join("\u0000");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
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
