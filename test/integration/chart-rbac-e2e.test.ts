import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { resolveBinaries } from "../controlplane/binaries.js";
import { kubeconfigFor } from "../controlplane/credentials.js";
import { namespaceName } from "../controlplane/fixture.js";
import { useCluster } from "../support/cluster.js";
import { eventually, metricValue } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";
import {
  findTool,
  type Manifest,
  only,
  renderChart,
  requireToolInCi,
  runKubectl,
  toYamlStream,
} from "../unit/chart-support.js";

// The controller run with exactly the chart's ServiceAccount and RBAC (a real token for that
// ServiceAccount, nothing else) and exactly the chart's flags, through a whole order against the
// simulator: ordered, confirmed, completed, profiles and activation Secrets created, then scaled down so a
// SIM is terminated through the termination ledger. Any permission the chart forgot shows up as a
// "forbidden" in the controller's log or as a step that never happens.
const cluster = useCluster({ namespacePrefix: "chart-rbac" });
const e2e = useE2E(cluster);
const helm = findTool("helm");
const work = mkdtempSync(join(tmpdir(), "chart-rbac-e2e-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** clusterResources lists what the ClusterRoles bound to the chart's ServiceAccount grant, sorted. */
function clusterResources(manifests: Manifest[]): string[] {
  const bound = new Set(
    manifests
      .filter((m) => m.kind === "ClusterRoleBinding")
      .map((b) => (b as unknown as { roleRef: { name: string } }).roleRef.name),
  );
  const rules = manifests
    .filter((m) => m.kind === "ClusterRole" && bound.has(m.metadata.name))
    .flatMap((r) => (r as unknown as { rules: Array<{ resources?: string[] }> }).rules);
  return [...new Set(rules.flatMap((r) => r.resources ?? []))].sort();
}

const RBAC_KINDS = new Set(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
// The test drives these itself: a free port, fast polls, a short grace period, debug logs, the simulator.
const TEST_OWNED_FLAGS = [
  "--http-address",
  "--poll-interval-active",
  "--poll-interval-stable",
  "--create-grace-period",
  "--log-level",
  "--soracom-endpoint",
];

async function kubectl(args: string[], input?: string) {
  const res = await runKubectl((await resolveBinaries()).kubectl, cluster.info.kubeconfigPath, args, input);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${res.stderr}`);
  return res.stdout;
}

/** canI asks the API server whether the ServiceAccount may do something (admin impersonates it). */
async function canI(sa: string, args: string[]): Promise<boolean> {
  const bin = (await resolveBinaries()).kubectl;
  const res = await runKubectl(bin, cluster.info.kubeconfigPath, ["auth", "can-i", `--as=${sa}`, ...args]);
  return res.stdout.trim() === "yes";
}

/** installChartIdentity applies the chart's ServiceAccount and RBAC and returns a kubeconfig holding its token. */
async function installChartIdentity(
  manifests: Manifest[],
  release: string,
): Promise<{ kubeconfig: string; sa: string }> {
  await kubectl(["apply", "-f", "-"], toYamlStream(manifests.filter((m) => RBAC_KINDS.has(m.kind))));
  const saName = only(manifests, "ServiceAccount").metadata.name;
  const token = (await kubectl(["create", "token", saName, "-n", release, "--duration=1h"])).trim();
  const kubeconfig = join(work, `${release}.kubeconfig`);
  const identity = { name: `system:serviceaccount:${release}:${saName}`, token, groups: [] };
  writeFileSync(kubeconfig, kubeconfigFor(cluster.info.server, cluster.info.caPem, identity, release), { mode: 0o600 });
  return { kubeconfig, sa: identity.name };
}

function chartArgs(manifests: Manifest[]): string[] {
  const [command, ...flags] = only(manifests, "Deployment").spec.template.spec.containers[0].args as string[];
  expect(command).toBe("controller");
  return flags.filter((f) => !TEST_OWNED_FLAGS.includes(f.split("=")[0] as string));
}

async function createOrder(namespace: string, name: string, spec: Record<string, unknown>) {
  await cluster.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: "esimprofileorders",
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: "EsimProfileOrder", metadata: { name }, spec },
  });
}

async function readyOrder(namespace: string, name: string, provisioned: number): Promise<EsimProfileOrder> {
  return eventually(
    async () => {
      const o = (await cluster.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: "esimprofileorders",
        name,
      })) as EsimProfileOrder;
      return condition(o, "Ready")?.status === "True" &&
        o.status?.observedGeneration === o.metadata.generation &&
        o.status?.totals?.provisioned === provisioned
        ? o
        : undefined;
    },
    { timeoutMs: 90_000, what: `${namespace}/${name} Ready with ${provisioned} provisioned` },
  );
}

async function profilesIn(namespace: string): Promise<EsimProfile[]> {
  const list = (await cluster.custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: "esimprofiles",
  })) as { items: EsimProfile[] };
  return list.items;
}

const forbidden = (logs: string[]) => logs.filter((l) => /forbidden|\b403\b/i.test(l));

/** explained adds the controller's refusals to a failure, so a missing permission names itself. */
async function explained<T>(logs: string[], step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (err) {
    const refusals = forbidden(logs).slice(-5).join("\n");
    throw new Error(`${(err as Error).message}${refusals ? `\ncontroller was refused:\n${refusals}` : ""}`);
  }
}

describe("helm is available (CI builds it)", () => {
  it("is installed, or the run is not CI", (ctx) => requireToolInCi("helm", helm, ctx));
});

describe.skipIf(!helm)("the controller runs with exactly the chart's RBAC", () => {
  it("watching listed namespaces (Roles only): a whole order, then a scale-down that terminates a SIM", async () => {
    const release = cluster.namespace;
    const watched = namespaceName("chart-rbac-team");
    await cluster.core.createNamespace({ body: { metadata: { name: watched } } });
    const { sim, control } = await e2e.simulator();
    const manifests = renderChart(helm as string, {
      release: "esim",
      namespace: release,
      set: {
        watchNamespaces: `{${watched}}`,
        "credentials.existingSecret": "soracom-credentials",
        "soracom.endpoint": sim.url,
      },
    });
    // Cluster-wide, the controller only reads the admin's SoracomAccounts and namespace labels; everything
    // namespaced stays in Roles of the watched namespaces (Events about accounts: a Role in default).
    expect(clusterResources(manifests)).toEqual(["namespaces", "soracomaccounts", "soracomaccounts/status"]);
    const { kubeconfig, sa } = await installChartIdentity(manifests, release);

    const ctl = await e2e.controller(sim, {
      kubeconfig,
      namespaces: [],
      args: chartArgs(manifests),
      env: { POD_NAME: "esim-soracom-esim-operator-e2e", POD_NAMESPACE: release },
    });
    await createOrder(watched, "sensors", {
      subscription: "planX3",
      quantity: 2,
      scaleDownPolicy: "TerminateNeverInstalled",
      profileTemplate: { spec: { sim: { tags: { team: "e2e" } } } },
    });

    const ready = await explained(ctl.logs, readyOrder(watched, "sensors", 2));
    expect(ready.status?.orders?.map((t) => t.status)).toEqual(["COMPLETED"]);
    const profiles = await eventually(
      async () => {
        const ps = await profilesIn(watched);
        return ps.length === 2 && ps.every((p) => p.status?.simId && p.status?.activationSecretRef?.name)
          ? ps
          : undefined;
      },
      { what: "2 profiles with SIMs and activation Secrets" },
    );
    const secrets = await cluster.core.listNamespacedSecret({ namespace: watched });
    expect(secrets.items.map((s) => s.metadata?.name).sort()).toEqual(
      profiles.map((p) => p.status?.activationSecretRef?.name).sort(),
    );
    const reasons = (await cluster.core.listNamespacedEvent({ namespace: watched })).items.map((e) => e.reason);
    expect(reasons).toContain("OrderCreated");

    // Scale down: the order deletes a profile, whose finalizer records the termination in the ledger
    // ConfigMap in the release namespace, terminates the SIM and lets the profile go.
    await cluster.custom.patchNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: watched,
      plural: "esimprofileorders",
      name: "sensors",
      body: [{ op: "replace", path: "/spec/quantity", value: 1 }],
    });
    await explained(
      ctl.logs,
      eventually(async () => ((await profilesIn(watched)).length === 1 ? true : undefined), {
        timeoutMs: 60_000,
        what: "one profile left",
      }),
    );
    await explained(ctl.logs, readyOrder(watched, "sensors", 1));
    expect((await control.calls()).counts.terminateSim).toBe(1);
    const ledger = await cluster.core.readNamespacedConfigMap({
      name: "esim-soracom-esim-operator-termination-ledger",
      namespace: release,
    });
    expect(JSON.parse(ledger.data?.ledger ?? "[]")).toHaveLength(1);
    const lease = await cluster.coordination.readNamespacedLease({
      name: "esim-soracom-esim-operator",
      namespace: release,
    });
    expect(lease.spec?.holderIdentity).toMatch(/^esim-soracom-esim-operator-e2e_/);
    // What the SoracomEsimNoLeader alert reads.
    expect(metricValue(await ctl.metrics(), "soracom_esim_leader")).toBe(1);

    expect(forbidden(ctl.logs)).toEqual([]);
    expect(await ctl.stop()).toBe(0);

    // And no more than that: the same identity is refused everything else.
    expect(await canI(sa, ["create", "esimprofiles", "-n", watched])).toBe(true);
    expect(await canI(sa, ["get", "secrets", "-n", "default"])).toBe(false);
    expect(await canI(sa, ["list", "esimprofileorders", "--all-namespaces"])).toBe(false);
    expect(await canI(sa, ["delete", "esimprofileorders", "-n", watched])).toBe(false);
    expect(await canI(sa, ["delete", "secrets", "-n", watched])).toBe(false);
    expect(await canI(sa, ["list", "configmaps", "-n", release])).toBe(false);
    // Its own namespace holds its ledgers, one pair per SoracomAccount (names not known to the chart): it may
    // read and write ConfigMaps there by name, never list or delete them.
    expect(await canI(sa, ["delete", "configmaps", "-n", release])).toBe(false);
    expect(await canI(sa, ["get", "configmaps", "-n", watched])).toBe(false);
    expect(await canI(sa, ["update", "leases/someone-elses", "-n", release])).toBe(false);
    expect(await canI(sa, ["create", "esimprofiles", "-n", release])).toBe(false);
  });

  it("watching all namespaces (ClusterRole): a whole order to Ready", async () => {
    const release = cluster.namespace;
    const team = namespaceName("chart-rbac-all");
    await cluster.core.createNamespace({ body: { metadata: { name: team } } });
    const { sim } = await e2e.simulator();
    // A release name of its own: ClusterRoles are cluster-wide, and the control plane is shared by the run.
    const releaseName = `esim-${release.slice(-8)}`;
    const manifests = renderChart(helm as string, {
      release: releaseName,
      namespace: release,
      set: { "credentials.existingSecret": "soracom-credentials", "soracom.endpoint": sim.url },
    });
    expect(clusterResources(manifests)).toContain("esimprofileorders");
    const { kubeconfig, sa } = await installChartIdentity(manifests, release);

    // The chart watches everything; the test still narrows the controller to its own namespace, because
    // other tests' resources share this control plane. The ClusterRole is what is being exercised.
    const ctl = await e2e.controller(sim, {
      kubeconfig,
      namespaces: [team],
      args: chartArgs(manifests),
      env: { POD_NAME: "cluster-e2e", POD_NAMESPACE: release },
    });
    await createOrder(team, "trackers", { subscription: "plan01s", quantity: 1 });
    await explained(ctl.logs, readyOrder(team, "trackers", 1));
    await eventually(async () => ((await profilesIn(team))[0]?.status?.activationSecretRef ? true : undefined), {
      what: "the profile's activation Secret",
    });

    expect(forbidden(ctl.logs)).toEqual([]);
    expect(await ctl.stop()).toBe(0);
    expect(await canI(sa, ["list", "esimprofileorders", "--all-namespaces"])).toBe(true);
    expect(await canI(sa, ["list", "configmaps", "--all-namespaces"])).toBe(false);
    expect(await canI(sa, ["list", "pods", "-n", team])).toBe(false);
  });
});
