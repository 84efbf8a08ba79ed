import type { Logger } from "pino";
import type { Accounts } from "../accounts.js";
import type { EsimProfileOrder } from "../api/types.js";
import { EVENTS } from "../api/vocabulary.js";
import { CredentialsError } from "../credentials.js";
import type { EventRecorder } from "../kube/events.js";
import type { ObjectCache } from "../kube/multi.js";
import type { Metrics } from "../metrics.js";
import { isNotFound as isSoracomNotFound, type SoracomClient } from "../soracom/index.js";
import type { ProfileOrder } from "../soracom/types.js";
import { DESCRIPTION_MAX, parseToken } from "./tokens.js";

/**
 * Orphans: Soracom orders that carry this operator's token but whose EsimProfileOrder (by UID) no longer
 * exists, for example after its finalizer was removed by hand while a create was in flight. A periodic
 * sweep lists every order with each set of credentials in use and reports them (metric, one warning per
 * order, an Event on a resource of the same name when there is one). A DRAFT orphan costs nothing yet
 * and nobody would ever confirm it on purpose, so it is cancelled; any other orphan is only reported,
 * never confirmed. An order whose resource exists but whose status does not list it yet is not an
 * orphan: that is the adoption path of the order reconciler, which finds it by its token.
 */

/** OrphanVerdict is what the sweep does about one orphan. */
export interface OrphanVerdict {
  profileOrderId: string;
  status: string;
  quantity: number;
  uid: string;
  sequence: number;
  /** cancel: a DRAFT outside dry run; report: everything else. */
  action: "cancel" | "report";
  /** namespace/name written after the token, when the description still holds it. */
  owner?: OwnerHint;
}

/**
 * OwnerHint is where an order came from, as its description says. Descriptions are cut at 100 characters
 * and the token takes 60 of them, so a long namespace may be cut (namespaceCut: what is left is a prefix)
 * and a long name is often incomplete.
 */
export interface OwnerHint {
  namespace: string;
  name: string;
  /** The name is whole (the description was not cut). */
  complete: boolean;
  /** The description was cut inside the namespace: `namespace` is only its beginning. */
  namespaceCut: boolean;
}

/** ownerHint reads the "namespace/name" written after the token (orderDescription). */
export function ownerHint(description: string | undefined): OwnerHint | undefined {
  const text = description ?? "";
  const cut = text.length >= DESCRIPTION_MAX;
  const whole = /^\S+ ([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([-.a-z0-9]+)$/.exec(text);
  if (whole) return { namespace: whole[1]!, name: whole[3]!, complete: !cut, namespaceCut: false };
  const partial = /^\S+ ([a-z0-9][-a-z0-9]*)$/.exec(text);
  return partial && cut ? { namespace: partial[1]!, name: "", complete: false, namespaceCut: true } : undefined;
}

/** OrphanScope is what the controller can judge: the namespaces it watches (empty: all) and the UIDs it knows. */
export interface OrphanScope {
  namespaces: readonly string[];
  knownUids: ReadonlySet<string>;
  dryRun: boolean;
  /**
   * Cancel DRAFT orphans (default) or only report them. Another installation on the same Soracom account
   * (staging and production, two clusters with the same namespace names) writes the same kind of token,
   * and its drafts, awaiting someone's approval, look like orphans here: such installations report.
   */
  cancelDrafts: boolean;
  /**
   * Sharding: the namespaces this shard owns, and every namespace known. Another shard's orders (and its
   * orphans) are its own to judge, so an order is judged only when the namespace it names is this shard's;
   * a namespace cut short only when every known namespace it may be is this shard's.
   */
  shard?: { owns: (namespace: string) => boolean; known: () => readonly string[] };
}

/** inScope: the order names a watched namespace of this shard (or, cut short, the beginning of one). */
function inScope(owner: OwnerHint | undefined, scope: OrphanScope): boolean {
  const { namespaces, shard } = scope;
  if (namespaces.length === 0 && !shard) return true;
  if (!owner) return false;
  const names = (namespaces.length > 0 ? namespaces : undefined) ?? shard?.known() ?? [];
  const candidates = names.filter((ns) =>
    owner.namespaceCut ? ns.startsWith(owner.namespace) : ns === owner.namespace,
  );
  if (!shard) return candidates.length > 0;
  return candidates.length > 0 && candidates.every((ns) => shard.owns(ns));
}

/**
 * findOrphans decides, purely, which listed orders are orphans and what to do with each. Orders without
 * this operator's token are someone else's; orders of a known UID are not orphans; when the controller
 * watches only some namespaces, an order is judged only if its description names one of them, or the
 * beginning of one when the description was cut (another installation may own the rest).
 */
export function findOrphans(listed: readonly ProfileOrder[], scope: OrphanScope): OrphanVerdict[] {
  const out: OrphanVerdict[] = [];
  for (const o of listed) {
    const token = parseToken(o.description);
    if (!token || scope.knownUids.has(token.uid)) continue;
    const owner = ownerHint(o.description);
    if (!inScope(owner, scope)) continue;
    out.push({
      profileOrderId: o.profileOrderId,
      status: o.status,
      quantity: o.quantity,
      uid: token.uid,
      sequence: token.sequence,
      action: o.status === "DRAFT" && !scope.dryRun && scope.cancelDrafts ? "cancel" : "report",
      ...(owner ? { owner } : {}),
    });
  }
  return out;
}

/** orphanCounts is the soracom_esim_orphan_orders gauge: orphans left after the sweep, by status. */
export function orphanCounts(verdicts: readonly OrphanVerdict[], cancelled: ReadonlySet<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of verdicts) {
    if (cancelled.has(v.profileOrderId)) continue;
    counts.set(v.status, (counts.get(v.status) ?? 0) + 1);
  }
  return counts;
}

export interface OrphanSweeperOptions {
  /** The clients to list orders with: every account in use (and tenant credentials its account allows). */
  sources: () => Promise<Array<{ key: string; client: SoracomClient }>>;
  orders: ObjectCache<EsimProfileOrder>;
  metrics: Pick<Metrics, "orphanOrders">;
  events?: Pick<EventRecorder, "record">;
  logger: Logger;
  namespaces: readonly string[];
  dryRun: boolean;
  /** false: DRAFT orphans are reported, not cancelled (--orphan-drafts report). */
  cancelDrafts?: boolean;
  /** Sharding: judge only orders of this shard's namespaces (see OrphanScope). */
  shard?: OrphanScope["shard"];
  intervalMs: number;
  /**
   * The order cache has synced: an unsynced cache knows no UID, and every order would look orphaned
   * (every draft cancelled). A sweep before that does nothing.
   */
  synced?: () => boolean;
}

/** OrphanSweeper runs the sweep once at start (after the caches synced) and then every intervalMs, never twice at once. */
export class OrphanSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** Orders already warned about: one warning per orphan per process, not one per sweep. */
  private readonly warned = new Set<string>();

  constructor(private readonly opts: OrphanSweeperOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private tick(): void {
    this.running = this.sweep()
      .catch((err) => this.opts.logger.warn({ err }, "orphan sweep failed; trying again at the next interval"))
      .finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.opts.intervalMs).unref();
      });
  }

  /** sweep lists the orders of every credentials source in use and handles the orphans among them. */
  async sweep(): Promise<OrphanVerdict[]> {
    if (this.opts.synced && !this.opts.synced()) {
      this.opts.logger.warn("orphan sweep skipped: the caches have not synced");
      return [];
    }
    const seen = new Set<string>();
    const verdicts: OrphanVerdict[] = [];
    const cancelled = new Set<string>();
    for (const { client } of await this.opts.sources()) {
      const listed: ProfileOrder[] = [];
      for await (const o of client.listProfileOrders()) {
        // Two Secrets may hold the same account's keys: judge each order once.
        if (!seen.has(o.profileOrderId)) listed.push(o);
        seen.add(o.profileOrderId);
      }
      // The UIDs are read after the listing: a resource is in the cache before its intent is written, so
      // every order the listing can hold has its resource here unless that resource is really gone.
      const knownUids = new Set(this.opts.orders.list().map((o) => o.metadata.uid ?? ""));
      const found = findOrphans(listed, {
        namespaces: this.opts.namespaces,
        knownUids,
        dryRun: this.opts.dryRun,
        cancelDrafts: this.opts.cancelDrafts !== false,
        ...(this.opts.shard ? { shard: this.opts.shard } : {}),
      });
      for (const v of found) if (await this.handle(client, v)) cancelled.add(v.profileOrderId);
      verdicts.push(...found);
    }
    this.opts.metrics.orphanOrders.reset();
    for (const [status, n] of orphanCounts(verdicts, cancelled)) this.opts.metrics.orphanOrders.set({ status }, n);
    return verdicts;
  }

  /** handle cancels a DRAFT orphan (true when it is gone) or reports it. */
  private async handle(client: SoracomClient, v: OrphanVerdict): Promise<boolean> {
    const fields = { profileOrderId: v.profileOrderId, status: v.status, quantity: v.quantity, uid: v.uid };
    let cancelled = false;
    if (v.action === "cancel") {
      try {
        await client.deleteProfileOrder(v.profileOrderId);
        cancelled = true;
      } catch (err) {
        if (isSoracomNotFound(err)) cancelled = true;
        else
          this.opts.logger.warn({ ...fields, err }, "could not cancel an orphan draft order; trying again next sweep");
      }
    }
    const message = cancelled
      ? `Soracom draft order ${v.profileOrderId} (${v.quantity} profiles) belonged to an EsimProfileOrder (uid ${v.uid}) that no longer exists; it was cancelled.`
      : `Soracom order ${v.profileOrderId} (${v.quantity} profiles, ${v.status}) belongs to an EsimProfileOrder (uid ${v.uid}) that no longer exists; it is reported only, never confirmed by the operator.`;
    if (cancelled || !this.warned.has(v.profileOrderId)) this.opts.logger.warn(fields, message);
    this.warned.add(v.profileOrderId);
    this.recordEvent(v, message, cancelled);
    return cancelled;
  }

  /** recordEvent tells a resource now holding the orphan's old name (a recreated one), when there is one. */
  private recordEvent(v: OrphanVerdict, message: string, cancelled: boolean): void {
    const same = v.owner?.complete ? this.opts.orders.get(v.owner.namespace, v.owner.name) : undefined;
    if (!same || !this.opts.events) return;
    this.opts.events.record(same, cancelled ? "Normal" : "Warning", EVENTS.OrphanOrder, message);
  }
}

/**
 * sweepSources are the clients the sweep lists orders with: each account objects use (the default
 * included) with its own credentials, and each tenant credentials Secret its account allows. Accounts and
 * Secrets that cannot be used are skipped: their orders report that themselves.
 */
export async function sweepSources(
  accounts: Accounts,
  orders: readonly EsimProfileOrder[],
): Promise<Array<{ key: string; client: SoracomClient }>> {
  const out = new Map<string, SoracomClient>();
  const names = new Set([
    ...(accounts.defaultName ? [accounts.defaultName] : []),
    ...orders.flatMap((o) => accounts.accountName(o.spec) ?? []),
  ]);
  for (const name of names) {
    const account = await accounts.get(name).catch(() => undefined);
    if (!account) continue;
    try {
      const r = await accounts.accountClient(account);
      out.set(r.key, r.client);
    } catch (err) {
      if (!(err instanceof CredentialsError)) throw err;
    }
  }
  for (const o of orders) {
    if (!o.spec.credentialsRef) continue;
    const r = await accounts.resolve({
      namespace: o.metadata.namespace ?? "",
      accountRef: o.spec.accountRef,
      credentialsRef: o.spec.credentialsRef,
    });
    if (r.ok) out.set(r.resolved.key, r.resolved.client);
  }
  return [...out].map(([key, client]) => ({ key, client }));
}
