import type { V1Secret } from "@kubernetes/client-node";
import type { EsimProfile, EsimProfileOrder, SoracomAccount } from "../../controller/api/types.js";
import type { AnnotatedKind, Cluster, KindObject } from "../../plugin/cluster.js";
import type { Session } from "../../plugin/command.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../../plugin/errors.js";
import type { PluginIo } from "../../plugin/io.js";
import type { Connect } from "../../plugin/main.js";

/**
 * FakeCluster is an in-memory stand-in for the apiserver with the behaviours the commands depend on:
 * namespaces, label selectors, 404, 403 on Secrets, and resourceVersion conflicts on patch.
 */
export class FakeCluster implements Cluster {
  orders: EsimProfileOrder[] = [];
  accounts: SoracomAccount[] = [];
  profiles: EsimProfile[] = [];
  secrets: V1Secret[] = [];
  /** Namespaces whose Secrets the caller may not get (403). */
  forbiddenSecretNamespaces = new Set<string>();
  /** How many upcoming patches answer 409, after bumping the stored resourceVersion. */
  conflicts = 0;
  patches: {
    kind: AnnotatedKind;
    name: string;
    annotations: Record<string, string>;
    resourceVersion: string | undefined;
  }[] = [];

  async listOrders(namespace: string | undefined) {
    return structuredClone(this.orders.filter((o) => !namespace || o.metadata.namespace === namespace));
  }
  async getOrder(namespace: string, name: string) {
    const o = this.orders.find((x) => x.metadata.namespace === namespace && x.metadata.name === name);
    if (!o) throw new NotFoundError(`EsimProfileOrder "${name}" not found in namespace "${namespace}"`);
    return structuredClone(o);
  }
  async listProfiles(namespace: string | undefined, labelSelector?: string) {
    const [key, value] = labelSelector ? labelSelector.split("=") : [];
    return structuredClone(
      this.profiles.filter(
        (p) => (!namespace || p.metadata.namespace === namespace) && (!key || p.metadata.labels?.[key] === value),
      ),
    );
  }
  async getProfile(namespace: string, name: string) {
    const p = this.profiles.find((x) => x.metadata.namespace === namespace && x.metadata.name === name);
    if (!p) throw new NotFoundError(`EsimProfile "${name}" not found in namespace "${namespace}"`);
    return structuredClone(p);
  }
  async getSecret(namespace: string, name: string) {
    if (this.forbiddenSecretNamespaces.has(namespace)) {
      throw new ForbiddenError(`no permission to get secrets in namespace "${namespace}"`, "get", "secrets", namespace);
    }
    const s = this.secrets.find((x) => x.metadata?.namespace === namespace && x.metadata?.name === name);
    if (!s) throw new NotFoundError(`Secret "${name}" not found in namespace "${namespace}"`);
    return structuredClone(s);
  }
  async getAccount(name: string) {
    const a = this.accounts.find((x) => x.metadata.name === name);
    if (!a) throw new NotFoundError(`SoracomAccount "${name}" not found`);
    return structuredClone(a);
  }
  async patchAnnotations<K extends AnnotatedKind>(
    kind: K,
    namespace: string,
    name: string,
    annotations: Record<string, string>,
    resourceVersion: string | undefined,
  ): Promise<KindObject[K]> {
    const all: { metadata: EsimProfile["metadata"] }[] =
      kind === "SoracomAccount" ? this.accounts : kind === "EsimProfile" ? this.profiles : this.orders;
    const o = all.find(
      (x) => x.metadata.name === name && (kind === "SoracomAccount" || x.metadata.namespace === namespace),
    );
    if (!o) throw new NotFoundError(`${kind} "${name}" not found`);
    if (this.conflicts > 0) {
      this.conflicts--;
      o.metadata.resourceVersion = String(Number(o.metadata.resourceVersion ?? "0") + 1);
      throw new ConflictError(`${kind} "${name}" changed meanwhile`);
    }
    if (resourceVersion && resourceVersion !== o.metadata.resourceVersion) throw new ConflictError("stale");
    this.patches.push({ kind, name, annotations, resourceVersion });
    o.metadata.annotations = { ...o.metadata.annotations, ...annotations };
    o.metadata.resourceVersion = String(Number(o.metadata.resourceVersion ?? "0") + 1);
    return structuredClone(o) as KindObject[K];
  }
}

/** RecordingIo captures what a command writes; answers are given to prompts in turn. */
export class RecordingIo implements PluginIo {
  out = "";
  err = "";
  prompts: string[] = [];
  constructor(
    public interactive = false,
    private readonly answers: string[] = [],
    private clock = new Date("2026-06-04T12:00:00Z"),
  ) {}
  stdout(text: string) {
    this.out += text;
  }
  stderr(text: string) {
    this.err += text;
  }
  async ask(question: string) {
    this.prompts.push(question);
    return this.answers.shift() ?? "";
  }
  now() {
    return this.clock;
  }
  /** sleep advances the clock and runs what the test set to happen meanwhile (nothing: the watch would spin). */
  onSleep: ((ms: number) => void) | undefined;
  async sleep(ms: number) {
    if (!this.onSleep) throw new Error("the command slept, and the test gave it nothing to wait for");
    this.clock = new Date(this.clock.getTime() + ms);
    this.onSleep(ms);
  }
}

/** connectTo returns a Connect that hands out the fake cluster with the scope the flags chose. */
export function connectTo(cluster: Cluster, defaultNamespace = "fleet-a"): Connect {
  return async (opts): Promise<Session> => ({
    cluster,
    namespace: opts.namespace ?? defaultNamespace,
    allNamespaces: opts.allNamespaces,
  });
}

export function anOrder(name: string, namespace: string, extra: Partial<EsimProfileOrder> = {}): EsimProfileOrder {
  return {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfileOrder",
    metadata: { name, namespace, resourceVersion: "1", generation: 1 },
    spec: { subscription: "planX3", quantity: 2 },
    ...extra,
  };
}
