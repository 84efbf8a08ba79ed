import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Accounts } from "../accounts.js";
import type { EsimProfile, EsimProfileOrder, SoracomAccount } from "../api/types.js";
import { ACCOUNT_REF } from "../api/vocabulary.js";
import { CredentialsError } from "../credentials.js";
import type { InformerHandlers } from "../kube/informer.js";
import type { NamespacedCache, ObjectCache } from "../kube/multi.js";
import type { KubeObject } from "../kube/object.js";
import { Controller } from "../kube/reconciler.js";
import { type KubeClient, resourcePath } from "../kube/rest.js";
import { mergePatchOf } from "../kube/status.js";
import type { PollPacer } from "../order/pacing.js";
import { OwnWrites } from "../order/reconciler.js";
import { SoracomAuthError } from "../soracom/index.js";
import { type AccountInput, planAccount } from "./plan.js";

/**
 * startAccountController keeps every SoracomAccount's status true: its credentials are tried (a login,
 * nothing else), its budgets read from its ledgers, the namespaces using it counted from the caches, and
 * a person's resume of paused terminations carried out. It never orders or terminates anything.
 */
export function startAccountController(opts: {
  kube: KubeClient;
  accounts: Accounts;
  accountCache: NamespacedCache<SoracomAccount & KubeObject>;
  orders: ObjectCache<EsimProfileOrder> & Watched<EsimProfileOrder>;
  profiles: ObjectCache<EsimProfile> & Watched<EsimProfile>;
  registry: Registry;
  logger: Logger;
  synced: () => boolean;
  now?: () => number;
  /** The order controller's poll pacer, and the name of this shard ("default" without sharding). */
  polling?: { pacer: PollPacer; shard: string };
  /**
   * Other processes write this account's ledgers too (shards share them): read them again before
   * reporting, or each shard would report what it last wrote and the status would flap between them.
   */
  sharedLedgers?: boolean;
}): Controller {
  const now = opts.now ?? Date.now;
  // The patch is the difference from the status as last written (the cache may not show that write yet).
  const own = new OwnWrites<SoracomAccount & KubeObject>();
  const controller = new Controller({
    name: "soracomaccount",
    registry: opts.registry,
    logger: opts.logger,
    reconcile: async (name) => {
      if (!opts.synced()) return { requeueAfterMs: 1_000 };
      const cr = own.latest(name, opts.accountCache.get(undefined, name));
      const account = cr ? await opts.accounts.get(name) : undefined;
      if (!cr || !account) return {};
      if (opts.sharedLedgers) await Promise.all([account.spend.load(), account.terminations.load()]);
      const observe = async (): Promise<AccountInput> => {
        const t = now();
        return {
          account: cr,
          now: t,
          credentials: await tryCredentials(opts.accounts, account),
          spend: { ...account.spend.state(t), used: account.spend.used(t) },
          terminations: { ...account.terminations.check(t), used: account.terminations.used(t) },
          namespaces: usersOf(opts.accounts, name, [...opts.orders.list(), ...opts.profiles.list()]),
          ...pollingOf(opts.polling, name),
        };
      };
      let plan = planAccount(await observe());
      // A resume changes the ledger: the status reports the ledger as it is after it, not before.
      if (plan.resume && (await account.terminations.resume(plan.resume))) plan = planAccount(await observe());
      const patch = mergePatchOf(cr.status ?? {}, plan.status);
      if (patch !== undefined) {
        const after = await opts.kube.request<SoracomAccount & KubeObject>({
          method: "PATCH",
          path: resourcePath(ACCOUNT_REF, name, "status"),
          contentType: "application/merge-patch+json",
          body: { status: patch },
        });
        own.wrote(name, cr, after);
      }
      return { requeueAfterMs: plan.requeueAfterMs };
    },
  });
  const enqueue = (a: KubeObject) => controller.enqueue(a.metadata.name);
  opts.accountCache.addHandler({ add: enqueue, update: (_o, a) => enqueue(a), delete: enqueue });
  wakeOnChange(opts, (name) => controller.enqueue(name));
  return controller;
}

/**
 * wakeOnChange: what moves an account's status is told at once, not at the next resync: its ledgers'
 * writes, and an order or profile that starts or stops using it (so status.namespaces follows).
 */
function wakeOnChange(
  opts: Pick<Parameters<typeof startAccountController>[0], "accounts" | "orders" | "profiles">,
  wake: (account: string) => void,
): void {
  opts.accounts.onLedgerWrite(wake);
  const user = (o: { spec: { accountRef?: { name: string } } }) => {
    const account = opts.accounts.accountName(o.spec);
    if (account) wake(account);
  };
  const users: InformerHandlers<{ spec: { accountRef?: { name: string } } }> = {
    add: user,
    update: (old, o) => {
      if (old.spec.accountRef?.name === o.spec.accountRef?.name) return;
      user(old);
      user(o);
    },
    delete: user,
  };
  opts.orders.addHandler?.(users);
  opts.profiles.addHandler?.(users);
}

/** Watched is a cache that tells its changes (the informer-backed caches do). */
type Watched<T> = { addHandler?(h: InformerHandlers<T>): void };

/** tryCredentials logs in with the account's own credentials (cached tokens make this free most times). */
async function tryCredentials(accounts: Accounts, account: Awaited<ReturnType<Accounts["get"]>> & object) {
  try {
    const { client } = await accounts.accountClient(account);
    const { operatorId } = await client.whoami();
    return { ok: true as const, operatorId };
  } catch (err) {
    if (err instanceof CredentialsError) return { ok: false as const, reason: err.reason, message: err.message };
    if (err instanceof SoracomAuthError)
      return {
        ok: false as const,
        reason: "CredentialsInvalid",
        message: `Soracom refused the credentials: ${err.message}`,
      };
    throw err;
  }
}

/** usersOf are the namespaces whose orders or profiles use the account (by name or by default). */
function usersOf(
  accounts: Accounts,
  name: string,
  objects: Array<{ metadata: { namespace?: string }; spec: { accountRef?: { name: string } } }>,
): string[] {
  const out = new Set<string>();
  for (const o of objects)
    if (accounts.accountName(o.spec) === name && o.metadata.namespace) out.add(o.metadata.namespace);
  return [...out];
}

/** pollingOf is this shard's polling of the account, when it polled any of its orders. */
function pollingOf(polling: { pacer: PollPacer; shard: string } | undefined, name: string) {
  const report = polling?.pacer.report(`account:${name}`);
  return polling && report ? { polling: { shard: polling.shard, report } } : {};
}
