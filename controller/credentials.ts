import type { Logger } from "pino";
import { CREDENTIALS_KEYS, REASONS } from "./api/vocabulary.js";
import { isNotFound } from "./kube/errors.js";
import type { KubeClient } from "./kube/rest.js";
import { type Coverage, createSoracomClient, type SoracomClient, type SoracomClientOptions } from "./soracom/index.js";

/**
 * Soracom clients per set of credentials. An order or profile names a Secret in its own namespace
 * (credentialsRef: a name only, so no namespace can use another's Secret); without one, the
 * controller's default credentials are used. Clients are cached per Secret resourceVersion, so a rotated
 * Secret takes effect within the refresh interval and the old client is closed.
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

export interface ClientFactoryOptions {
  kube: KubeClient;
  defaults?: DefaultCredentials;
  endpoint?: string;
  coverage?: Coverage;
  sandbox?: boolean;
  /** Shared client settings: limits, timeouts, logging, metrics hook. */
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

/** SoracomClients hands out one cached client per credentials source. */
export class SoracomClients {
  private readonly opts: ClientFactoryOptions;
  private readonly cache = new Map<string, Entry>();
  private defaultClient: SoracomClient | undefined;

  constructor(opts: ClientFactoryOptions) {
    this.opts = opts;
  }

  /** forRef returns the client for a namespace's credentialsRef (or the defaults); throws CredentialsError. */
  async forRef(namespace: string, ref: { name: string } | undefined): Promise<SoracomClient> {
    if (!ref) return this.forDefaults();
    const key = `${namespace}/${ref.name}`;
    const now = (this.opts.now ?? Date.now)();
    const cached = this.cache.get(key);
    if (cached && now - cached.checkedAt < (this.opts.refreshMs ?? 30_000)) return cached.client;
    const secret = await this.readSecret(namespace, ref.name);
    const version = secret.metadata.resourceVersion ?? "";
    if (cached && cached.version === version) {
      cached.checkedAt = now;
      return cached.client;
    }
    const creds = decode(secret, namespace, ref.name);
    const client = this.make(creds.authKeyId, creds.authKey, creds.endpoint, creds.coverage);
    this.cache.set(key, { version, client, checkedAt: now });
    if (cached) {
      this.opts.logger?.info({ secret: key }, "credentials Secret changed; using the new credentials");
      void cached.client.close();
    }
    return client;
  }

  private forDefaults(): SoracomClient {
    if (!this.opts.defaults) {
      throw new CredentialsError(
        REASONS.CredentialsNotFound,
        "no credentialsRef is set and the controller has no default credentials (SORACOM_AUTH_KEY_ID / SORACOM_AUTH_KEY)",
      );
    }
    this.defaultClient ??= this.make(this.opts.defaults.authKeyId, this.opts.defaults.authKey);
    return this.defaultClient;
  }

  private make(authKeyId: string, authKey: string, endpoint?: string, coverage?: Coverage): SoracomClient {
    return createSoracomClient({
      ...this.opts.client,
      credentials: { authKeyId, authKey },
      endpoint: endpoint ?? this.opts.endpoint,
      coverage: coverage ?? this.opts.coverage,
      sandbox: this.opts.sandbox,
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

  /** forget drops a cached client (after Soracom refused its credentials, so a fixed Secret is read at once). */
  forget(namespace: string, ref: { name: string } | undefined): void {
    if (ref) this.cache.delete(`${namespace}/${ref.name}`);
  }

  async closeAll(): Promise<void> {
    const all = [...this.cache.values()].map((e) => e.client);
    if (this.defaultClient) all.push(this.defaultClient);
    this.cache.clear();
    await Promise.allSettled(
      all.map(async (c) => {
        await c.logout().catch(() => undefined);
        await c.close();
      }),
    );
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
