import type { Logger } from "pino";
import type { SoracomAccount } from "./api/types.js";
import { REASONS } from "./api/vocabulary.js";
import { type LedgerApi, SpendLedger, TerminationLedger } from "./budget.js";
import {
  CredentialsError,
  type DefaultCredentials,
  type Destination,
  originOf,
  type SoracomClients,
  VENDOR_ENDPOINTS,
} from "./credentials.js";
import type { InformerHandlers } from "./kube/informer.js";
import { describeSelector, type LabelSelector, matchesSelector } from "./kube/labels.js";
import type { ObjectCache } from "./kube/multi.js";
import type { NamespaceLabels } from "./kube/namespaces.js";
import type { KubeObject } from "./kube/object.js";
import type { SoracomClient } from "./soracom/index.js";

/**
 * Authority over money: which Soracom account an object spends from, and whether its namespace may.
 * The cluster admin decides with SoracomAccounts (cluster-scoped; credentials in the operator's own
 * namespace; a namespace selector; budgets; what tenants may do). An order or profile names its account
 * (spec.accountRef) or gets the controller's default one; resolve() answers with the account and a
 * client, or with a reason a person can act on, before anything is sent to Soracom. Without any
 * SoracomAccount, credentials from the environment make an implicit account that every watched
 * namespace may use (single-tenant mode, as before accounts existed). Once any SoracomAccount exists,
 * the implicit account serves only the namespaces the admin lists for it (--implicit-account-namespaces):
 * a namespace no account selects gets Stalled and nothing is sent.
 */

/** AccountPolicy is what an account allows, from its SoracomAccount (or the flags, in single-tenant mode). */
export interface AccountPolicy {
  name: string;
  /** undefined: every namespace (single-tenant mode only). */
  namespaceSelector?: LabelSelector;
  adoption: { allowed: boolean; terminate: boolean };
  tenantCredentials: boolean;
  destination: Destination;
  budgets: {
    spend: { limit: number | null; windowMs: number; source?: string };
    termination: { limit: number | null; windowMs: number; source?: string };
  };
  /** Soracom calls per minute polling may spend (spec.pollBudget); undefined: the controller's default. */
  pollBudget?: number;
}

/** Account is one account at work: its policy, its durable ledgers, and where its client comes from. */
export interface Account {
  name: string;
  policy: AccountPolicy;
  spend: SpendLedger;
  terminations: TerminationLedger;
}

/** Resolved is an object's account and the client it uses, with the key its Soracom answers are kept under. */
export interface Resolved {
  account: Account;
  client: SoracomClient;
  /** account (or account plus the tenant's Secret), `#`, and the client's source (credentials and destination). */
  key: string;
  /** Forget the client's credentials (Soracom refused them), so a fixed Secret is read at once. */
  forget(): void;
}

/** Refusal is why an object may not use Soracom now, as a Stalled reason and a sentence. */
export interface Refusal {
  reason: string;
  message: string;
}

/** What resolve() needs of an order or profile. */
export interface Claimant {
  namespace: string;
  accountRef?: { name: string } | undefined;
  credentialsRef?: { name: string } | undefined;
}

export interface AccountsOptions {
  clients: SoracomClients;
  kube: LedgerApi;
  /** SoracomAccounts (cluster-scoped); absent in single-tenant mode. */
  accounts?: ObjectCache<SoracomAccount>;
  namespaces?: NamespaceLabels;
  /** The operator's own namespace: account credentials and ledgers live there. */
  operatorNamespace: string;
  /** Prefix of ledger names (the leader-election id, so two installations never share a ledger). */
  ledgerPrefix: string;
  /** The account of objects that name none. */
  defaultAccount?: string;
  /**
   * Single-tenant mode: credentials from the environment and budgets from the flags, as `defaultAccount`.
   * `namespaces`: those it still serves once any SoracomAccount exists (none when absent).
   */
  implicit?: {
    credentials: DefaultCredentials;
    policy: Omit<AccountPolicy, "name">;
    namespaces?: readonly string[];
  };
  logger?: Logger;
  now?: () => number;
}

const DEFAULT_SPEND = { limit: 100, windowMs: 24 * 3_600_000 };
const DEFAULT_TERMINATION = { limit: 20, windowMs: 3_600_000 };

/** Accounts resolves objects to accounts and keeps each account's ledgers. */
export class Accounts {
  private readonly live = new Map<string, { account: Account; loaded: Promise<void>; fingerprint: string }>();
  /** Namespaces already told (in the log) that the implicit account no longer serves them. */
  private readonly closedLogged = new Set<string>();
  private readonly ledgerWatchers: Array<(account: string) => void> = [];

  constructor(private readonly opts: AccountsOptions) {}

  /** defaultName is the account of objects that name none (undefined: they must name one). */
  get defaultName(): string | undefined {
    return this.opts.defaultAccount;
  }

  /** policy of a named account, or undefined when there is no such account. */
  policy(name: string): AccountPolicy | undefined {
    const cr = this.opts.accounts?.get(undefined, name);
    if (cr) return policyOf(cr);
    if (this.opts.implicit && name === this.opts.defaultAccount) return { name, ...this.opts.implicit.policy };
    return undefined;
  }

  /** accountName is the account an object uses: its own accountRef, else the default. */
  accountName(c: Pick<Claimant, "accountRef">): string | undefined {
    return c.accountRef?.name ?? this.opts.defaultAccount;
  }

  /**
   * authorize checks, without any call, whether an object may use its account: the account exists and
   * selects the object's namespace. It returns the account, or the refusal.
   */
  async authorize(c: Claimant): Promise<{ account: Account } | { refused: Refusal }> {
    const name = this.accountName(c);
    if (!name) {
      return refuse(
        REASONS.NoAccount,
        "No spec.accountRef and the controller has no default account: name a SoracomAccount that selects this namespace (kubectl get soracomaccounts, or ask your cluster admin).",
      );
    }
    const policy = this.policy(name);
    if (!policy) {
      return refuse(
        REASONS.AccountNotFound,
        `SoracomAccount ${name} does not exist: ask your cluster admin for the account this namespace may use.`,
      );
    }
    const closed = this.implicitClosed(name, c.namespace);
    if (closed) return { refused: closed };
    if (policy.namespaceSelector) {
      const labels = this.opts.namespaces?.labels(c.namespace);
      if (!labels || !matchesSelector(policy.namespaceSelector, labels)) {
        return refuse(
          REASONS.NamespaceNotAllowed,
          `SoracomAccount ${name} does not select namespace ${c.namespace} (its namespaceSelector is ${describeSelector(policy.namespaceSelector)}): ask your cluster admin to label the namespace, or use an account that selects it.`,
        );
      }
    }
    return { account: await this.account(policy) };
  }

  /**
   * implicitClosed: the implicit account (credentials from the environment) is asked for in a namespace it
   * no longer serves, since SoracomAccounts exist and the admin did not list the namespace for it.
   */
  private implicitClosed(name: string, namespace: string): Refusal | undefined {
    const { implicit, accounts } = this.opts;
    if (!implicit || name !== this.opts.defaultAccount || accounts?.get(undefined, name)) return undefined;
    const existing = accounts?.list() ?? [];
    if (existing.length === 0 || implicit.namespaces?.includes(namespace)) return undefined;
    if (!this.closedLogged.has(namespace)) {
      this.closedLogged.add(namespace);
      this.opts.logger?.warn(
        { namespace, account: name, soracomAccounts: existing.length },
        "SoracomAccounts exist: the implicit account from the environment's credentials serves only the namespaces of --implicit-account-namespaces; objects of this namespace that name no account are refused",
      );
    }
    return {
      reason: REASONS.ImplicitAccountClosed,
      message: `No account serves namespace ${namespace}: SoracomAccounts exist, so the controller's credentials from its environment (account ${name}) serve only the namespaces the cluster admin lists for them (--implicit-account-namespaces, chart value credentials.namespaces), and ${namespace} is not one. Set spec.accountRef to a SoracomAccount that selects this namespace (kubectl get soracomaccounts), or ask your cluster admin; nothing is sent to Soracom until then.`,
    };
  }

  /** resolve authorizes an object and gives it its client; a refusal is never followed by a Soracom call. */
  async resolve(c: Claimant): Promise<{ ok: true; resolved: Resolved } | ({ ok: false } & Refusal)> {
    const auth = await this.authorize(c);
    if ("refused" in auth) return { ok: false, ...auth.refused };
    const { account } = auth;
    try {
      if (c.credentialsRef) return { ok: true, resolved: await this.tenantClient(account, c) };
      return { ok: true, resolved: await this.accountClient(account) };
    } catch (err) {
      if (err instanceof CredentialsError) return { ok: false, reason: err.reason, message: err.message };
      throw err;
    }
  }

  /** accountClient is the client of the account's own credentials. */
  async accountClient(account: Account): Promise<Resolved> {
    const { policy } = account;
    const key = `account:${account.name}`;
    if (this.opts.implicit && !this.opts.accounts?.get(undefined, account.name)) {
      const { client, source } = this.opts.clients.forCredentials(this.opts.implicit.credentials, policy.destination);
      return { account, client, key: sourcedKey(key, source), forget: () => undefined };
    }
    const secret = this.opts.accounts?.get(undefined, account.name)?.spec.credentialsSecretRef.name ?? "";
    const { client, source } = await this.opts.clients.forSecret(
      this.opts.operatorNamespace,
      secret,
      policy.destination,
    );
    return {
      account,
      client,
      key: sourcedKey(key, source),
      forget: () => this.opts.clients.forget(this.opts.operatorNamespace, secret),
    };
  }

  private async tenantClient(account: Account, c: Claimant): Promise<Resolved> {
    const ref = c.credentialsRef!;
    if (!account.policy.tenantCredentials) {
      throw new CredentialsError(
        REASONS.TenantCredentialsNotAllowed,
        `spec.credentialsRef names the Secret ${ref.name} of this namespace, but SoracomAccount ${account.name} does not allow tenant credentials: remove credentialsRef, or ask your cluster admin.`,
      );
    }
    const own = account.policy.destination.endpoint ? originOf(account.policy.destination.endpoint) : undefined;
    const allowed = [...VENDOR_ENDPOINTS, ...(own ? [own] : [])];
    const where = account.policy.destination;
    const { client, source } = await this.opts.clients.forSecret(c.namespace, ref.name, where, { allowed });
    return {
      account,
      client,
      key: sourcedKey(`account:${account.name}/secret:${c.namespace}/${ref.name}`, source),
      forget: () => this.opts.clients.forget(c.namespace, ref.name),
    };
  }

  /** account gives the account at work for a policy: its ledgers, loaded once (again when the budgets change). */
  private async account(policy: AccountPolicy): Promise<Account> {
    const fingerprint = JSON.stringify(policy.budgets);
    let entry = this.live.get(policy.name);
    if (!entry || entry.fingerprint !== fingerprint) {
      const account: Account = { name: policy.name, policy, ...this.ledgers(policy) };
      entry = {
        account,
        loaded: Promise.all([account.spend.load(), account.terminations.load()]).then(() => undefined),
        fingerprint,
      };
      this.live.set(policy.name, entry);
      entry.loaded.catch(() => this.live.delete(policy.name)); // a failed read is tried again next time
    } else {
      entry.account.policy = policy;
    }
    await entry.loaded;
    return entry.account;
  }

  /** onLedgerWrite calls fn with an account's name after each write of one of its ledgers. */
  onLedgerWrite(fn: (account: string) => void): void {
    this.ledgerWatchers.push(fn);
  }

  /** known lists the accounts at work (for gauges, the sweep and the account controller). */
  known(): Account[] {
    return [...this.live.values()].map((e) => e.account);
  }

  /** get is an account at work by name (its ledgers loaded), or undefined when none is. */
  async get(name: string): Promise<Account | undefined> {
    const policy = this.policy(name);
    return policy ? this.account(policy) : undefined;
  }

  /**
   * ledgers are the account's ConfigMaps in the operator's namespace. The default account keeps the
   * installation's ledger names from before accounts existed, so an upgrade neither resets nor splits
   * what was spent and terminated.
   */
  private ledgers(policy: AccountPolicy) {
    const prefix =
      policy.name === this.opts.defaultAccount ? this.opts.ledgerPrefix : `${this.opts.ledgerPrefix}-${policy.name}`;
    const where = {
      kube: this.opts.kube,
      namespace: this.opts.operatorNamespace,
      ...(this.opts.logger ? { logger: this.opts.logger } : {}),
      ...(this.opts.now ? { now: this.opts.now } : {}),
      onWrite: () => {
        for (const fn of this.ledgerWatchers) fn(policy.name);
      },
    };
    return {
      spend: new SpendLedger({ ...where, ...policy.budgets.spend, name: `${prefix}-spend-ledger` }),
      terminations: new TerminationLedger({
        ...where,
        ...policy.budgets.termination,
        name: `${prefix}-termination-ledger`,
        account: () => (this.opts.accounts?.get(undefined, policy.name) ? policy.name : undefined),
      }),
    };
  }
}

/**
 * sourcedKey is the key an account's Soracom answers and polls are kept under: the account (and tenant
 * Secret), then `#` and its client's source, so answers from one identity or destination are never
 * taken for another's (an account moved to sandbox starts afresh).
 */
export function sourcedKey(account: string, source: string): string {
  return `${account}#${source}`;
}

function refuse(reason: string, message: string): { refused: Refusal } {
  return { refused: { reason, message } };
}

/** policyOf reads a SoracomAccount's spec, with the CRD's defaults. */
export function policyOf(cr: SoracomAccount): AccountPolicy {
  const s = cr.spec;
  const budget = (
    kind: "spend" | "termination",
    b: { limit?: number; unlimited?: boolean; window?: string } | undefined,
    d: { limit: number; windowMs: number },
  ) => ({
    limit: b?.unlimited ? null : (b?.limit ?? d.limit),
    windowMs: b?.window ? parseWindow(b.window, d.windowMs) : d.windowMs,
    source: budgetSource(cr.metadata.name ?? "", kind, b),
  });
  return {
    name: cr.metadata.name ?? "",
    namespaceSelector: (s.namespaceSelector ?? {}) as LabelSelector,
    adoption: { allowed: s.adoption?.allowed === true, terminate: s.adoption?.terminate === true },
    tenantCredentials: s.tenantCredentials?.allowed === true,
    destination: {
      ...(s.endpoint ? { endpoint: s.endpoint } : {}),
      ...(s.coverage ? { coverage: s.coverage } : {}),
      ...(s.sandbox ? { sandbox: true } : {}),
    },
    budgets: {
      spend: budget("spend", s.budgets?.spend, DEFAULT_SPEND),
      termination: budget("termination", s.budgets?.termination, DEFAULT_TERMINATION),
    },
    ...(s.pollBudget?.callsPerMinute !== undefined ? { pollBudget: s.pollBudget.callsPerMinute } : {}),
  };
}

/**
 * budgetSource names where an account's budget is set, for the messages that quote it: the account's spec,
 * or the defaults of a SoracomAccount that sets none (never the controller's flags, which it does not use).
 */
function budgetSource(
  name: string,
  kind: "spend" | "termination",
  b: { limit?: number; unlimited?: boolean; window?: string } | undefined,
): string {
  const set = b?.limit !== undefined || b?.unlimited !== undefined || b?.window !== undefined;
  return set
    ? `SoracomAccount ${name} spec.budgets.${kind}`
    : `the default of SoracomAccount ${name}, whose spec.budgets.${kind} is unset`;
}

/** parseWindow reads a window such as 24h, 90m or 1h30m; something else keeps the default (and is logged by the account controller). */
export function parseWindow(text: string, fallback: number): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === "") return fallback;
  const ms = (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
  return ms > 0 ? ms : fallback;
}

/**
 * onAccountChange calls `wake` with an account's name when it appears, goes, or changes in what it allows
 * (its spec, or whether its credentials work): objects refused for it are then planned again at once,
 * not after their stalled retry. Budget-only status writes wake nothing (they come with every spend).
 */
export function onAccountChange(
  cache: { addHandler(h: InformerHandlers<SoracomAccount & KubeObject>): void },
  wake: (name: string) => void,
): void {
  const ready = (a: SoracomAccount) => a.status?.conditions?.find((c) => c.type === "Ready")?.status;
  cache.addHandler({
    add: (a) => wake(a.metadata.name),
    update: (old, a) => {
      if (old.metadata.generation !== a.metadata.generation || ready(old) !== ready(a)) wake(a.metadata.name);
    },
    delete: (a) => wake(a.metadata.name),
  });
}
