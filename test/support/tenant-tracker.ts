import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { LABELS, ORDER_KIND, ORDER_REF, PROFILE_REF } from "../../controller/api/vocabulary.js";
import type { KubeClient } from "../../controller/kube/rest.js";
import { resourcePath } from "../../controller/kube/rest.js";
import type { OrderTrace, ProfileTrace, Team, TenantRecord } from "./tenant-invariants.js";

/**
 * Tracker keeps the harness's record of what it did (TenantRecord): every EsimProfileOrder and EsimProfile
 * by UID, the SIMs each named, and the moments the harness did something that deletes a profile or frees
 * an order's place. Writes note their answers at once; a snapshot loop (as the admin) adds what the
 * controller made (children) and what a profile showed in status.
 */
export class Tracker {
  /** Latest objects per namespace from the last snapshot (the adversary picks its targets here). */
  orders = new Map<string, EsimProfileOrder[]>();
  profiles = new Map<string, EsimProfile[]>();

  constructor(
    readonly rec: TenantRecord,
    private readonly teams: Record<string, Team>,
  ) {}

  teamOf(namespace: string): Team {
    const t = this.teams[namespace];
    if (!t) throw new Error(`namespace ${namespace} belongs to no team`);
    return t;
  }

  noteOrder(o: EsimProfileOrder, at = Date.now()): void {
    const uid = o.metadata.uid;
    if (!uid) return;
    const ns = o.metadata.namespace ?? "";
    const t: OrderTrace = this.rec.orders.get(uid) ?? {
      team: this.teamOf(ns),
      namespace: ns,
      name: o.metadata.name ?? "",
      maxQuantity: 0,
      freed: 0,
      templateTerminates: true,
    };
    t.maxQuantity = Math.max(t.maxQuantity, typeof o.spec?.quantity === "number" ? o.spec.quantity : 0);
    if (o.spec?.scaleDownPolicy === "TerminateNeverInstalled") t.scaleDownSince ??= at;
    if (t.deletedAt === undefined) t.templateTerminates = o.spec?.profileTemplate?.spec?.deletionPolicy !== "Retain";
    this.rec.orders.set(uid, t);
  }

  noteProfile(p: EsimProfile, at = Date.now()): ProfileTrace | undefined {
    const uid = p.metadata.uid;
    if (!uid) return undefined;
    const ns = p.metadata.namespace ?? "";
    const t: ProfileTrace = this.rec.profiles.get(uid) ?? {
      team: this.teamOf(ns),
      namespace: ns,
      name: p.metadata.name ?? "",
      refs: new Set(),
      ownerUids: new Set(),
      policy: [],
      causes: [],
      accounts: new Set(),
    };
    t.accounts.add(p.spec?.accountRef?.name ?? "-");
    for (const [k, v] of [
      ["simId", p.spec?.simId],
      ["iccid", p.spec?.iccid],
      ["imsi", p.spec?.imsi],
      ["simId", p.status?.simId],
      ["iccid", p.status?.iccid],
      ["imsi", p.status?.imsi],
    ])
      if (v) t.refs.add(`${k}:${v}`);
    for (const r of p.metadata.ownerReferences ?? []) if (r.kind === ORDER_KIND) t.ownerUids.add(String(r.uid));
    const policy = p.spec?.deletionPolicy ?? "Retain";
    if (t.policy.at(-1)?.value !== policy) t.policy.push({ at, value: policy });
    this.rec.profiles.set(uid, t);
    return t;
  }

  /** ordersReferenced: UIDs of its namespace's orders a profile counts toward now (ownerReferences, or the order label). */
  ordersReferenced(p: EsimProfile): string[] {
    const ns = p.metadata.namespace;
    const byLabel = p.metadata.labels?.[LABELS.order];
    // An owner in another namespace (or made up) holds no place: the controller and the GC ignore it.
    const owners = (p.metadata.ownerReferences ?? [])
      .filter((r) => r.kind === ORDER_KIND && this.rec.orders.get(String(r.uid))?.namespace === ns)
      .map((r) => String(r.uid));
    const labelled = [...this.rec.orders]
      .filter(([, o]) => o.namespace === ns && o.name === byLabel && o.deletedAt === undefined)
      .map(([uid]) => uid);
    return [...new Set<string>([...owners, ...labelled])];
  }

  /** freedBy: the harness rewired or deleted a profile: each order it counted toward may order once more. */
  freedBy(p: EsimProfile): void {
    for (const uid of this.ordersReferenced(p)) {
      const o = this.rec.orders.get(uid);
      if (o) o.freed++;
    }
  }

  /** deleting: the harness did something now that deletes the profile (DELETE, a dangling owner). */
  deleting(uid: string | undefined, at = Date.now()): void {
    const t = uid ? this.rec.profiles.get(uid) : undefined;
    if (t) t.causes.push(at);
  }

  orderDeleted(uid: string | undefined, at = Date.now()): void {
    const t = uid ? this.rec.orders.get(uid) : undefined;
    if (t && t.deletedAt === undefined) t.deletedAt = at;
  }

  /** liveOrderUids: this namespace's orders the harness has not deleted (an owner the GC will find). */
  liveOrderUids(namespace: string): Set<string> {
    return new Set(
      [...this.rec.orders].filter(([, o]) => o.namespace === namespace && o.deletedAt === undefined).map(([u]) => u),
    );
  }

  /** snapshot lists both teams' orders and profiles as the admin and notes them. */
  async snapshot(admin: KubeClient): Promise<void> {
    const at = Date.now();
    for (const ns of Object.keys(this.teams)) {
      const [orders, profiles] = await Promise.all([
        admin.request<{ items: EsimProfileOrder[] }>({ path: resourcePath({ ...ORDER_REF, namespace: ns }) }),
        admin.request<{ items: EsimProfile[] }>({ path: resourcePath({ ...PROFILE_REF, namespace: ns }) }),
      ]);
      for (const o of orders.items) this.noteOrder(o, at);
      for (const p of profiles.items) this.noteProfile(p, at);
      this.orders.set(ns, orders.items);
      this.profiles.set(ns, profiles.items);
    }
  }
}
