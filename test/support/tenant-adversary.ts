import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import {
  ANNOTATIONS,
  API_VERSION,
  GITOPS_TRACKING_KEYS,
  LABELS,
  MANAGER_NAME,
  ORDER_KIND,
  ORDER_REF,
  PROFILE_KIND,
  PROFILE_REF,
  RETIRED_ANNOTATIONS,
} from "../../controller/api/vocabulary.js";
import { KubeApiError } from "../../controller/kube/errors.js";
import { type KubeClient, resourcePath } from "../../controller/kube/rest.js";
import type { Rng } from "./safety-random.js";
import type { Tracker } from "./tenant-tracker.js";

/**
 * The adversary: a tenant with a ServiceAccount token bound to the chart's edit role (plus Secrets and
 * ConfigMaps of its namespace) doing, at random from one seed, every write its role allows on every kind
 * it may touch, aimed at the other team's SIMs, orders and account. It knows everything an attacker could
 * learn or guess (the other team's SIM IDs, ICCIDs, IMSIs, order UIDs, profileOrderIds): the harness
 * gives it the admin's view. Every write's answer goes to the Tracker, so the judge knows what it did.
 */

export interface SimIds {
  simId: string;
  iccid: string;
  imsi: string;
}

/** Knowledge: what the adversary aims at, refreshed by the test between steps. */
export interface Knowledge {
  victimNamespace: string;
  victimSims: () => SimIds[];
  spareSims: SimIds[];
  forbiddenSims: SimIds[];
  /** Account names to swap between: its own, the victim's, one that does not exist. */
  accounts: string[];
  /** The accounts that select its namespace. */
  ownAccounts: string[];
  /** Endpoints a tenant credentials Secret may name (simulators, a trap). */
  endpoints: string[];
  profileOrderIds: () => string[];
}

export interface Outcome {
  action: string;
  status: number;
}

type Obj = Record<string, unknown>;
const LONG = [0, 0, 0, 0, 0, 0, 63, 64, 200, 230, 234, 240, 253];
const SIM_STATUSES = ["active", "inactive", "standby", "suspended"];
const nowIso = () => new Date().toISOString();

/** weighted picks one item with probability proportional to its weight. */
function weighted<T>(rng: Rng, items: ReadonlyArray<readonly [number, T]>): T {
  let r = rng.next() * items.reduce((n, [w]) => n + w, 0);
  for (const [w, item] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return items[items.length - 1]![1];
}

export class Adversary {
  readonly outcomes: Outcome[] = [];
  private readonly ns: string;

  constructor(
    private readonly rng: Rng,
    private readonly client: KubeClient,
    namespace: string,
    private readonly tracker: Tracker,
    private readonly know: Knowledge,
    private readonly prefix: string,
  ) {
    this.ns = namespace;
  }

  /** step performs one random action; its outcome (HTTP status, 0 for a transport error) is kept. */
  async step(): Promise<void> {
    const actions: Array<[number, string, () => Promise<unknown>]> = [
      [14, "createOrder", () => this.createOrder()],
      [4, "createThenSwap", () => this.createThenSwap()],
      [16, "changeOrder", () => this.changeOrder()],
      [5, "deleteOrder", () => this.deleteOrder(this.rng.chance(0.4))],
      [18, "createProfile", () => this.createProfile()],
      [16, "changeProfile", () => this.changeProfile()],
      [9, "deleteProfile", () => this.deleteProfile()],
      [8, "secret", () => this.secret()],
      [4, "configMap", () => this.configMap()],
      [3, "crossNamespace", () => this.crossNamespace()],
    ];
    const [name, run] = weighted(
      this.rng,
      actions.map(([w, n, f]) => [w, [n, f] as const]),
    );
    try {
      const status = await run();
      this.outcomes.push({ action: name, status: typeof status === "number" ? status : 200 });
    } catch (err) {
      this.outcomes.push({ action: name, status: err instanceof KubeApiError ? err.status : 0 });
    }
  }

  /** teardown deletes everything the adversary's namespace holds, each profile under Terminate first. */
  async teardown(): Promise<void> {
    for (const p of this.tracker.profiles.get(this.ns) ?? []) {
      await this.toTerminate(p).catch(() => undefined);
      await this.removeProfile(p).catch(() => undefined);
    }
    for (const o of this.tracker.orders.get(this.ns) ?? []) await this.removeOrder(o).catch(() => undefined);
  }

  private name(kind: string): string {
    const base = `${this.prefix}${kind}${this.rng.int(0, 5)}`;
    const len = this.rng.pick(LONG);
    return len <= base.length ? base : `${base}-${"z".repeat(len - base.length - 1)}`;
  }

  private path(ref: typeof ORDER_REF | typeof PROFILE_REF, name?: string, ns = this.ns): string {
    return resourcePath({ ...ref, namespace: ns }, name);
  }

  private async patch<T>(ref: typeof ORDER_REF | typeof PROFILE_REF, name: string, body: Obj): Promise<T> {
    return this.client.request<T>({
      method: "PATCH",
      path: this.path(ref, name),
      contentType: "application/merge-patch+json",
      body,
    });
  }

  private ownOrders(): EsimProfileOrder[] {
    return this.tracker.orders.get(this.ns) ?? [];
  }

  private ownProfiles(): EsimProfile[] {
    return this.tracker.profiles.get(this.ns) ?? [];
  }

  private labels(): Record<string, string> {
    const orders = [...this.ownOrders(), ...(this.tracker.orders.get(this.know.victimNamespace) ?? [])];
    const all: Record<string, string> = {
      [LABELS.order]: orders.length ? (this.rng.pick(orders).metadata.name ?? "x") : "fleet",
      [LABELS.managedBy]: MANAGER_NAME,
      [LABELS.profileOrderId]: this.pickOrderId().slice(0, 63),
      [LABELS.component]: "activation",
      [LABELS.profile]: "fleet-0",
      "adversary.example/batch": String(this.rng.int(0, 3)),
    };
    return Object.fromEntries(this.rng.sample(Object.entries(all), this.rng.int(0, 3)));
  }

  private annotations(): Record<string, string> {
    const all: Record<string, string> = {
      [ANNOTATIONS.approveOrders]: this.pickOrderId(),
      [ANNOTATIONS.acknowledgeFailed]: this.pickOrderId(),
      [ANNOTATIONS.acknowledgeShort]: this.pickOrderId(),
      [ANNOTATIONS.resumeTerminations]: this.rng.pick(["any", "1", this.pickOrderId()]),
      [RETIRED_ANNOTATIONS.terminateRequested]: "ScaleDown",
      [RETIRED_ANNOTATIONS.terminationBudgetOverride]: "true",
      [this.rng.pick(GITOPS_TRACKING_KEYS)]: "adversary",
    };
    return Object.fromEntries(this.rng.sample(Object.entries(all), this.rng.int(0, 4)));
  }

  private pickOrderId(): string {
    const ids = this.know.profileOrderIds();
    return ids.length && this.rng.chance(0.8) ? this.rng.pick(ids) : "0190c0de-0000-7000-8000-000000000000";
  }

  private simSpec(): Obj {
    const all: Obj = {
      status: this.rng.pick(SIM_STATUSES),
      tags: { owner: `adversary-${this.rng.int(0, 9)}` },
      terminationProtection: this.rng.chance(0.5),
      speedClass: this.rng.pick(["s1.minimum", "s1.fast"]),
      groupId: this.rng.pick(["", "group-x"]),
    };
    return Object.fromEntries(this.rng.sample(Object.entries(all), this.rng.int(1, 3)));
  }

  private refs(): Obj {
    const out: Obj = {};
    if (this.rng.chance(0.85)) out.accountRef = { name: this.rng.pick(this.know.accounts) };
    if (this.rng.chance(0.2)) out.credentialsRef = { name: this.rng.pick(["own-a", "own-b", "missing"]) };
    return out;
  }

  /** ownerRefs: to one of its own orders, to one of the victim's, or to a made-up UID (a forged owner). */
  private ownerRefs(): Obj[] | undefined {
    const roll = this.rng.next();
    const victim = this.tracker.orders.get(this.know.victimNamespace) ?? [];
    const own = this.ownOrders();
    let target: { name: string; uid: string } | undefined;
    if (roll < 0.45 && own.length) target = this.ref(this.rng.pick(own));
    else if (roll < 0.6 && victim.length) target = this.ref(this.rng.pick(victim));
    else if (roll < 0.65) target = { name: "fleet", uid: "00000000-0000-4000-8000-000000000000" };
    if (!target) return undefined;
    return [{ apiVersion: API_VERSION, kind: ORDER_KIND, ...target, controller: this.rng.chance(0.6) }];
  }

  private ref(o: EsimProfileOrder): { name: string; uid: string } {
    return { name: o.metadata.name ?? "", uid: o.metadata.uid ?? "" };
  }

  private orderSpec(): Obj {
    const spec: Obj = { subscription: "planX3", quantity: this.rng.pick([0, 0, 1, 1, 2, 3]), ...this.refs() };
    if (this.rng.chance(0.3)) Object.assign(spec, { confirmation: "Manual", approvedQuantity: this.rng.int(0, 3) });
    if (this.rng.chance(0.3)) spec.scaleDownPolicy = this.rng.pick(["Retain", "TerminateNeverInstalled"]);
    if (this.rng.chance(0.15)) spec.onDeviceDeletion = this.rng.pick(["Report", "Terminate", "Replace"]);
    if (this.rng.chance(0.1)) spec.paused = this.rng.chance(0.5);
    if (this.rng.chance(0.4))
      spec.profileTemplate = {
        metadata: { labels: this.labels(), annotations: this.annotations() },
        spec: { deletionPolicy: this.rng.pick(["Terminate", "Retain"]), sim: this.simSpec() },
      };
    return spec;
  }

  private async createOrder(name = this.name("o"), spec = this.orderSpec()): Promise<void> {
    const o = await this.client.request<EsimProfileOrder>({
      method: "POST",
      path: this.path(ORDER_REF),
      body: {
        apiVersion: API_VERSION,
        kind: ORDER_KIND,
        metadata: { name, labels: this.labels(), annotations: this.annotations() },
        spec,
      },
    });
    this.tracker.noteOrder(o);
  }

  /**
   * createThenSwap creates an order and changes its accountRef (and credentialsRef) a moment later, while
   * its first create may be in flight (what a GitOps sync of an edited manifest does).
   */
  private async createThenSwap(): Promise<void> {
    const name = this.name("s");
    // Mostly between two accounts that select this namespace (the swap that may buy twice), else anywhere.
    const own = [...new Set(this.know.ownAccounts)];
    const [from, to] = this.rng.sample(this.rng.chance(0.8) ? own : [...new Set(this.know.accounts)], 2);
    await this.createOrder(name, { subscription: "planX3", quantity: this.rng.int(1, 2), accountRef: { name: from } });
    await new Promise((r) => setTimeout(r, this.rng.int(0, 400)));
    const o = await this.patch<EsimProfileOrder>(ORDER_REF, name, { spec: { accountRef: { name: to } } });
    this.tracker.noteOrder(o);
  }

  /** changeOrder: a merge patch or a whole update (GET, change, PUT) of quantity, account, template, metadata. */
  private async changeOrder(): Promise<void> {
    const own = this.ownOrders();
    if (!own.length) return this.createOrder();
    const target = this.rng.pick(own);
    const name = target.metadata.name ?? "";
    const changes: Obj[] = [
      { spec: { quantity: this.rng.int(0, 4) } },
      { spec: this.refs() },
      { spec: { accountRef: null } },
      { spec: { scaleDownPolicy: this.rng.pick(["Retain", "TerminateNeverInstalled"]), quantity: this.rng.int(0, 2) } },
      { spec: { confirmation: "Manual", approvedQuantity: this.rng.int(0, 5) } },
      { spec: { paused: this.rng.chance(0.5) } },
      {
        spec: {
          profileTemplate: { spec: { deletionPolicy: this.rng.pick(["Terminate", "Retain"]), sim: this.simSpec() } },
        },
      },
      { metadata: { annotations: this.annotations(), labels: this.labels() } },
      { metadata: { finalizers: null } },
    ];
    const change = this.rng.pick(changes);
    if (this.rng.chance(0.25)) return this.replace(ORDER_REF, name, change);
    this.tracker.noteOrder(await this.patch<EsimProfileOrder>(ORDER_REF, name, change));
  }

  /** replace is the update verb: the object as read, the change merged in, PUT back. */
  private async replace(ref: typeof ORDER_REF | typeof PROFILE_REF, name: string, change: Obj): Promise<void> {
    const cur = await this.client.request<Obj & { metadata: Obj; spec: Obj }>({ path: this.path(ref, name) });
    const c = change as { metadata?: Obj; spec?: Obj };
    const body = { ...cur, metadata: { ...cur.metadata, ...c.metadata }, spec: { ...cur.spec, ...c.spec } };
    const out = await this.client.request<EsimProfileOrder & EsimProfile>({
      method: "PUT",
      path: this.path(ref, name),
      body,
    });
    if (ref === ORDER_REF) this.tracker.noteOrder(out);
    else this.tracker.noteProfile(out);
  }

  /** deleteOrder deletes one of its orders (cascading to its children), and may create it again at once. */
  private async deleteOrder(recreate: boolean): Promise<void> {
    const own = this.ownOrders();
    if (!own.length) return;
    const o = this.rng.pick(own);
    await this.removeOrder(o);
    if (!recreate) return;
    for (let i = 0; i < 10; i++) {
      try {
        return await this.createOrder(o.metadata.name, o.spec as unknown as Obj);
      } catch (err) {
        if (!(err instanceof KubeApiError) || err.status !== 409) throw err;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  private async removeOrder(o: EsimProfileOrder): Promise<void> {
    const at = Date.now();
    await this.client.request({
      method: "DELETE",
      path: this.path(ORDER_REF, o.metadata.name),
      body: { preconditions: { uid: o.metadata.uid } },
    });
    this.tracker.orderDeleted(o.metadata.uid, at);
  }

  /** target picks a SIM to name: the victim's, a spare one, one no one may hold, one of its own, or none. */
  private target(): Obj {
    const own = this.ownProfiles()
      .filter((p) => p.status?.simId)
      .map((p) => ({
        simId: p.status?.simId ?? "",
        iccid: p.status?.iccid ?? "",
        imsi: p.status?.imsi ?? "",
      }));
    const pools: Array<[number, SimIds[]]> = [
      [45, this.know.victimSims()],
      [20, this.know.spareSims],
      [10, this.know.forbiddenSims],
      [15, own],
    ];
    const pool = weighted(this.rng, pools);
    const key = this.rng.pick(["simId", "iccid", "imsi"] as const);
    const sim = pool.length
      ? this.rng.pick(pool)
      : { simId: "8942319999999999999", iccid: "8942310099999999990", imsi: "295050999999999" };
    return { [key]: sim[key] };
  }

  private async createProfile(): Promise<void> {
    const owners = this.ownerRefs();
    const spec: Obj = {
      ...this.target(),
      deletionPolicy: this.rng.chance(0.65) ? "Terminate" : "Retain",
      ...this.refs(),
      ...(this.rng.chance(0.5) ? { sim: this.simSpec() } : {}),
    };
    const metadata: Obj = { name: this.name("p"), labels: this.labels(), annotations: this.annotations() };
    if (owners) metadata.ownerReferences = owners;
    const at = Date.now();
    const p = await this.client.request<EsimProfile>({
      method: "POST",
      path: this.path(PROFILE_REF),
      body: { apiVersion: API_VERSION, kind: PROFILE_KIND, metadata, spec },
    });
    this.tracker.noteProfile(p, at);
    if (this.dangling(owners)) this.tracker.deleting(p.metadata.uid, at);
  }

  /** dangling: an ownerReference no live order of this namespace answers (the garbage collector deletes it). */
  private dangling(owners: Obj[] | undefined | null): boolean {
    const live = this.tracker.liveOrderUids(this.ns);
    return (owners ?? []).some((o) => !live.has(String(o.uid)));
  }

  private async changeProfile(): Promise<void> {
    const own = this.ownProfiles();
    if (!own.length) return this.createProfile();
    const p = this.rng.pick(own);
    const owners = this.rng.chance(0.5) ? (this.ownerRefs() ?? []) : null;
    const changes: Obj[] = [
      { metadata: { ownerReferences: owners } },
      {
        metadata: {
          labels: { [LABELS.order]: this.rng.chance(0.5) ? null : (this.labels()[LABELS.order] ?? "fleet") },
        },
      },
      { metadata: { annotations: this.annotations() } },
      { metadata: { finalizers: null } },
      { spec: { deletionPolicy: this.rng.pick(["Terminate", "Retain"]) } },
      { spec: { sim: this.simSpec() } },
      { spec: this.target() },
      { spec: this.refs() },
    ];
    const change = this.rng.pick(changes);
    const rewires =
      "ownerReferences" in ((change.metadata as Obj | undefined) ?? {}) ||
      "labels" in ((change.metadata as Obj | undefined) ?? {});
    const at = Date.now();
    if (this.rng.chance(0.25)) await this.replace(PROFILE_REF, p.metadata.name ?? "", change);
    else this.tracker.noteProfile(await this.patch<EsimProfile>(PROFILE_REF, p.metadata.name ?? "", change), at);
    if (rewires) this.tracker.freedBy(p);
    if (change === changes[0] && this.dangling(owners)) this.tracker.deleting(p.metadata.uid, at);
  }

  private async deleteProfile(): Promise<void> {
    const own = this.ownProfiles();
    if (!own.length) return;
    const p = this.rng.pick(own);
    if (this.rng.chance(0.5)) await this.toTerminate(p).catch(() => undefined);
    await this.removeProfile(p);
  }

  private async toTerminate(p: EsimProfile): Promise<void> {
    const at = Date.now();
    const out = await this.patch<EsimProfile>(PROFILE_REF, p.metadata.name ?? "", {
      spec: { deletionPolicy: "Terminate" },
    });
    this.tracker.noteProfile(out, at);
  }

  private async removeProfile(p: EsimProfile): Promise<void> {
    const at = Date.now();
    await this.client.request({
      method: "DELETE",
      path: this.path(PROFILE_REF, p.metadata.name),
      body: { preconditions: { uid: p.metadata.uid } },
    });
    this.tracker.deleting(p.metadata.uid, at);
    this.tracker.freedBy(p);
  }

  /** secret: credentials Secrets (endpoints of its choice) and pre-made activation Secrets; create, update, delete. */
  private async secret(): Promise<void> {
    const profiles = this.ownProfiles();
    const name = this.rng.chance(0.6)
      ? this.rng.pick(["own-a", "own-b"])
      : `${profiles.length ? this.rng.pick(profiles).metadata.name : "fleet"}-activation`.slice(0, 253);
    const base = `/api/v1/namespaces/${this.ns}/secrets`;
    const endpoint = this.rng.pick([...this.know.endpoints, ""]);
    const body = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, labels: this.labels(), annotations: this.annotations() },
      stringData: name.endsWith("-activation")
        ? { activationCode: "LPA:1$evil.example$X", smdpAddress: "evil.example", matchingId: "X" }
        : { authKeyId: "keyId-simulator", authKey: "secret-simulator", ...(endpoint ? { endpoint } : {}) },
    };
    const verb = this.rng.pick(["create", "update", "delete"]);
    if (verb === "delete") await this.client.request({ method: "DELETE", path: `${base}/${name}` });
    else if (verb === "create") await this.client.request({ method: "POST", path: base, body });
    else await this.client.request({ method: "PUT", path: `${base}/${name}`, body });
  }

  /** configMap: ConfigMaps named like the controller's ledgers, with its labels, in the tenant's namespace. */
  private async configMap(): Promise<void> {
    const name = this.rng.pick([
      "soracom-esim-operator-terminations",
      "soracom-esim-operator-spend",
      `${this.prefix}cm`,
    ]);
    const base = `/api/v1/namespaces/${this.ns}/configmaps`;
    const body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, labels: this.labels(), annotations: this.annotations() },
      data: { spend: "[]", terminations: `[{"at":"${nowIso()}"}]`, ledger: "not json" },
    };
    const verb = this.rng.pick(["create", "patch", "delete"]);
    if (verb === "delete") await this.client.request({ method: "DELETE", path: `${base}/${name}` });
    else if (verb === "create") await this.client.request({ method: "POST", path: base, body });
    else
      await this.client.request({
        method: "PATCH",
        path: `${base}/${name}`,
        contentType: "application/merge-patch+json",
        body: { data: body.data },
      });
  }

  /** crossNamespace: a write into the victim's namespace; the apiserver must refuse it (403). */
  private async crossNamespace(): Promise<number | undefined> {
    const victim = this.tracker.orders.get(this.know.victimNamespace) ?? [];
    const o = victim.length ? this.rng.pick(victim) : undefined;
    if (!o) return;
    this.tracker.rec.crossNamespaceTried++;
    const path = this.path(ORDER_REF, o.metadata.name, this.know.victimNamespace);
    const req = this.rng.chance(0.5)
      ? { method: "DELETE" as const, path }
      : {
          method: "PATCH" as const,
          path,
          contentType: "application/merge-patch+json",
          body: { spec: { quantity: 9 } },
        };
    const status = await this.client.request(req).then(
      () => 200,
      (err: unknown) => (err instanceof KubeApiError ? err.status : 0),
    );
    if (status !== 403) this.tracker.rec.crossNamespaceAccepted.push(`${req.method} ${path}: ${status}`);
    return status;
  }
}
