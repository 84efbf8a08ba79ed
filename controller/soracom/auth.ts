import type { AuthResponse } from "./types.js";

/** Session is what a login gives: the API key and token sent with every call. Both are secrets. */
export interface Session {
  apiKey: string;
  token: string;
  operatorId: string;
  /** When the client renews the token without waiting for a 401 (Unix ms). */
  renewAt: number;
}

/** Token lifetimes the API accepts (docs: min 180, default 86400, max 172800 seconds). */
export const TOKEN_TIMEOUT = { min: 180, default: 86_400, max: 172_800 } as const;

/**
 * renewalMarginMs: renew a token this long before it expires, so a call never starts with a token
 * about to die mid-flight: a tenth of the lifetime, at most five minutes.
 */
export function renewalMarginMs(tokenTimeoutSeconds: number): number {
  return Math.min(300_000, tokenTimeoutSeconds * 100);
}

/**
 * TokenSource caches the session and logs in when there is none, when it is near expiry, or when a
 * call reported it dead. Logins are single-flight: concurrent callers share one POST /auth.
 */
export class TokenSource {
  readonly #login: () => Promise<AuthResponse>;
  readonly #tokenTimeoutSeconds: number;
  readonly #now: () => number;
  #session: Session | undefined;
  #pending: Promise<Session> | undefined;

  constructor(login: () => Promise<AuthResponse>, tokenTimeoutSeconds: number, now: () => number = Date.now) {
    this.#login = login;
    this.#tokenTimeoutSeconds = tokenTimeoutSeconds;
    this.#now = now;
  }

  /** get returns a live session, logging in first if needed. */
  get(): Promise<Session> {
    const current = this.#session;
    if (current && this.#now() < current.renewAt) return Promise.resolve(current);
    return this.#loginOnce();
  }

  /**
   * invalidate forgets `stale` after the server refused it. A session that was already replaced by a
   * newer login is left alone, so N calls failing with the same old token cause one login, not N.
   */
  invalidate(stale: Session): void {
    if (this.#session === stale) this.#session = undefined;
  }

  /** current is the cached session, if any (used by logout). */
  get current(): Session | undefined {
    return this.#session;
  }

  /** clear drops the cached session (after logout). */
  clear(): void {
    this.#session = undefined;
  }

  #loginOnce(): Promise<Session> {
    if (this.#pending) return this.#pending;
    const started = this.#now();
    const pending = this.#login().then(
      (auth) => {
        const lifetimeMs = this.#tokenTimeoutSeconds * 1000;
        const session: Session = {
          apiKey: auth.apiKey,
          token: auth.token,
          operatorId: auth.operatorId,
          // Counted from before the request: the server's clock started no earlier than that.
          renewAt: started + lifetimeMs - renewalMarginMs(this.#tokenTimeoutSeconds),
        };
        this.#session = session;
        this.#pending = undefined;
        return session;
      },
      (err: unknown) => {
        this.#pending = undefined;
        throw err;
      },
    );
    this.#pending = pending;
    return pending;
  }
}
