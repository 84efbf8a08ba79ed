import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Accounts } from "../accounts.js";
import type { EsimProfile, EsimProfileOrder, SoracomAccount } from "../api/types.js";
import { ACCOUNT_REF } from "../api/vocabulary.js";
import { CredentialsError } from "../credentials.js";
import type { NamespacedCache, ObjectCache } from "../kube/multi.js";
import type { KubeObject } from "../kube/object.js";
import { Controller } from "../kube/reconciler.js";
import { type KubeClient, resourcePath } from "../kube/rest.js";
import { deepEqual } from "../kube/status.js";
import type { PollPacer } from "../order/pacing.js";
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
  orders: ObjectCache<EsimProfileOrder>;
  profiles: ObjectCache<EsimProfile>;
  registry: Registry;
  logger: Logger;
  synced: () => boolean;
  now?: () => number;
  /** The order controller's poll pacer, and the name of this shard ("default" without sharding). */
  polling?: { pacer: PollPacer; shard: string };
}): Controller {
  const now = opts.now ?? Date.now;
  const controller = new Controller({
    name: "soracomaccount",
    registry: opts.registry,
    logger: opts.logger,
    reconcile: async (name) => {
      if (!opts.synced()) return { requeueAfterMs: 1_000 };
      const cr = opts.accountCache.get(undefined, name);
      const account = cr ? await opts.accounts.get(name) : undefined;
      if (!cr || !account) return {};
      const t = now();
      const input: AccountInput = {
        account: cr,
        now: t,
        credentials: await tryCredentials(opts.accounts, account),
        spend: { ...account.spend.state(t), used: account.spend.used(t) },
        terminations: { ...account.terminations.check(t), used: account.terminations.used(t) },
        namespaces: usersOf(opts.accounts, name, [...opts.orders.list(), ...opts.profiles.list()]),
        ...pollingOf(opts.polling, name),
      };
      const plan = planAccount(input);
      if (plan.resume) await account.terminations.resume(plan.resume);
      if (!deepEqual(plan.status, cr.status)) {
        await opts.kube.request({
          method: "PATCH",
          path: resourcePath(ACCOUNT_REF, name, "status"),
          contentType: "application/merge-patch+json",
          discardBody: true,
          body: { status: plan.status },
        });
      }
      return { requeueAfterMs: plan.requeueAfterMs };
    },
  });
  const enqueue = (a: KubeObject) => controller.enqueue(a.metadata.name);
  opts.accountCache.addHandler({ add: enqueue, update: (_o, a) => enqueue(a), delete: enqueue });
  return controller;
}

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
