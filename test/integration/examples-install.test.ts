import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFailed, onTestFinished } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { resourcePath } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";
import { type Manifest, parseManifests, REPO_ROOT } from "../unit/chart-support.js";

// examples/ as a cluster admin and a team would use them, the recommended way: the SoracomAccount of
// soracom-account.yaml (its Secret in the operator's namespace), a namespace labelled as its comment says,
// and every example order and profile applied there, against the simulator with no default credentials.
// None is refused for its account (no NamespaceNotAllowed, TenantCredentialsNotAllowed, AccountNotFound...),
// and each reaches what its comment promises.
const cluster = useCluster({ namespacePrefix: "examples-install" });
const e2e = useE2E(cluster);
const examples = join(REPO_ROOT, "examples");
const read = (f: string) => readFileSync(join(examples, f), "utf8");
const ACCOUNT_REFUSALS = [
  "NoAccount",
  "AccountNotFound",
  "NamespaceNotAllowed",
  "TenantCredentialsNotAllowed",
  "ImplicitAccountClosed",
  "AdoptionNotAllowed",
];

describe("examples/ on the recommended install (a SoracomAccount, a labelled namespace)", () => {
  it("every example order and profile is served by the example account and does what it says", async () => {
    const { sim, control } = await e2e.simulator({ confirmDelayMs: 100, inProgressDelayMs: 200 });
    const tenant = readdirSync(examples)
      .filter((f) => f.endsWith(".yaml"))
      .flatMap((f) => parseManifests(read(f)))
      .filter((m) => m.kind === "EsimProfileOrder" || m.kind === "EsimProfile");
    for (const m of tenant.filter((t) => t.kind === "EsimProfile" && t.spec.iccid))
      await control.createSim({ iccid: m.spec.iccid }); // adopted: it exists in a real account already

    // The admin's side, as soracom-account.yaml's comment says (the operator's namespace is this one).
    const [, key, value] = /kubectl label namespace \S+ (\S+)=(\S+)/.exec(read("soracom-account.yaml")) ?? [];
    await e2e.kube.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${cluster.namespace}`,
      contentType: "application/merge-patch+json",
      body: { metadata: { labels: { [key as string]: value } } },
    });
    const account = parseManifests(read("soracom-account.yaml"))[0] as Manifest;
    await cluster.core.createNamespacedSecret({
      namespace: cluster.namespace,
      body: {
        metadata: { name: account.spec.credentialsSecretRef.name },
        stringData: { authKeyId: "keyId-simulator", authKey: "secret-simulator" },
      },
    });
    const { coverage: _coverage, ...spec } = account.spec;
    const accounts = resourcePath({ group: GROUP, version: VERSION, plural: "soracomaccounts" });
    await e2e.kube.request({
      method: "POST",
      path: accounts,
      body: { ...account, spec: { ...spec, endpoint: sim.url } },
    });
    onTestFinished(async () => {
      await e2e.kube.request({ method: "DELETE", path: `${accounts}/${account.metadata.name}` }).catch(() => undefined);
    });

    // The team's side: every example order and profile, in the labelled namespace.
    for (const m of tenant) {
      const plural = m.kind === "EsimProfileOrder" ? "esimprofileorders" : "esimprofiles";
      await cluster.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: cluster.namespace,
        plural,
        body: m,
      });
    }
    // The shipped grace period and timeout: with the harness's short ones a loaded machine holds creates back
    // past their deadline, and each intent held back still counts (it may have cost money) until the
    // account's spend budget of 100 is gone before the 56 profiles here are ordered.
    await e2e.controller(sim, {
      credentials: null,
      args: ["--create-grace-period", "60s", "--soracom-request-timeout", "30s"],
    });

    const orders = tenant.filter((m) => m.kind === "EsimProfileOrder");
    const settled = (o: EsimProfileOrder) =>
      o.spec.confirmation === "Manual"
        ? condition(o, "AwaitingConfirmation")?.status === "True"
        : condition(o, "Ready")?.status === "True";
    let seen: Array<EsimProfileOrder | EsimProfile> = [];
    onTestFailed(() => {
      for (const o of seen) console.error(o.metadata?.name, JSON.stringify(o.status?.conditions));
    });
    await eventually(
      async () => {
        const got = await Promise.all(orders.map((m) => e2e.order(m.metadata.name)));
        const adopted = await Promise.all(
          tenant.filter((m) => m.kind === "EsimProfile").map((m) => e2e.profile(m.metadata.name)),
        );
        seen = [...got, ...adopted];
        return got.every(settled) && adopted.every((p) => condition(p, "Ready")?.status === "True");
      },
      { timeoutMs: 120_000, what: "every example order Ready (or awaiting approval) and every adopted profile Ready" },
    );

    const everything: Array<EsimProfileOrder | EsimProfile> = [
      ...(await Promise.all(orders.map((m) => e2e.order(m.metadata.name)))),
      ...(await e2e.profiles()),
    ];
    const refused = everything.flatMap((o) =>
      (o.status?.conditions ?? [])
        .filter((c) => ACCOUNT_REFUSALS.includes(c.reason))
        .map((c) => `${o.metadata?.name}: ${c.type} ${c.reason}`),
    );
    expect(refused).toEqual([]);
    for (const o of everything) expect(o.spec.accountRef?.name).toBe(account.metadata.name);
  });
});
