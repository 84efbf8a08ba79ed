import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { type ControllerConfig, loadConfig } from "../../controller/config.js";
import { KubeClient } from "../../controller/kube/rest.js";
import { kubeconfigFor } from "../controlplane/credentials.js";
import type { ControlPlaneInfo } from "../controlplane/fixture.js";
import { findTool, type Manifest, parseManifests, renderChartText } from "../unit/chart-support.js";

/**
 * The controller under test logs in as the chart's ServiceAccount, bound by exactly the RBAC the chart
 * renders for the values its flags imply, so that a permission the chart forgot fails a test instead of
 * an install. The rendered RBAC is cached per values shape (names are placeholders) for the whole run.
 */

/** What the chart's values add to RBAC that no controller flag says (the test declares it). */
export interface ChartExtras {
  /** accounts.tenantCredentials: get on Secrets in watched namespaces, for accounts that allow them. */
  tenantCredentials?: boolean;
}

type RbacConfig = Pick<
  ControllerConfig,
  | "namespaces"
  | "leaderElect"
  | "leaderElectionId"
  | "leaderElectionNamespace"
  | "operatorNamespace"
  | "shard"
  | "watchActivationSecrets"
>;

const RELEASE = "zrelz";
const placeholder = (i: number) => `zns${i}z`;
const RBAC = new Set(["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);

/**
 * chartValues are the chart values whose Deployment passes these flags (as far as RBAC goes), with the
 * namespaces replaced by placeholders, and the namespace names in placeholder order.
 */
export function chartValuesFor(cfg: RbacConfig, extras: ChartExtras = {}) {
  if (cfg.operatorNamespace !== cfg.leaderElectionNamespace)
    throw new Error(
      `the chart keeps the Lease, ledgers and credentials in one release namespace: --operator-namespace ${cfg.operatorNamespace} and --leader-election-namespace ${cfg.leaderElectionNamespace} differ (run this controller with an explicit kubeconfig)`,
    );
  const names = [...new Set([cfg.leaderElectionNamespace, ...cfg.namespaces])];
  const ph = (ns: string) => placeholder(names.indexOf(ns));
  const set: Record<string, string> = {
    "leaderElection.enabled": String(cfg.leaderElect),
    "leaderElection.id": cfg.leaderElectionId,
    "controller.watchActivationSecrets": String(cfg.watchActivationSecrets),
    "accounts.tenantCredentials": String(extras.tenantCredentials ?? false),
    // The chart requires credentials or an account to render; neither changes RBAC.
    "credentials.existingSecret": "soracom-credentials",
  };
  if (cfg.namespaces.length) set.watchNamespaces = `{${cfg.namespaces.map(ph).join(",")}}`;
  if (cfg.shard) {
    set["shard.name"] = cfg.shard.name;
    set["shard.selector"] = "shard=placeholder";
  }
  return { set, release: ph(cfg.leaderElectionNamespace), names };
}

/** renderedRbac renders (or reads from the run's cache) the ServiceAccount and its RBAC, with placeholders. */
function renderedRbac(cacheDir: string, values: ReturnType<typeof chartValuesFor>): string {
  const key = createHash("sha256")
    .update(JSON.stringify([values.set, values.release]))
    .digest("hex")
    .slice(0, 16);
  const file = join(cacheDir, `${key}.json`);
  if (existsSync(file)) return readFileSync(file, "utf8");
  const helm = findTool("helm");
  if (!helm) throw new Error("helm runs the controller under the chart's RBAC: bash test/controlplane/build.sh helm");
  const text = renderChartText(helm, { release: RELEASE, namespace: values.release, set: values.set });
  const json = JSON.stringify(boundToServiceAccount(parseManifests(text)));
  mkdirSync(cacheDir, { recursive: true });
  // Files of the run render the same shapes at the same time: each renames a whole file into place.
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, json);
  renameSync(tmp, file);
  return json;
}

/** boundToServiceAccount keeps the ServiceAccount and the roles bound to it (no tenant roles). */
function boundToServiceAccount(manifests: Manifest[]): Manifest[] {
  const sa = manifests.find((m) => m.kind === "ServiceAccount");
  if (!sa) throw new Error("the chart rendered no ServiceAccount");
  const bindings = manifests.filter(
    (m) =>
      (m.kind === "RoleBinding" || m.kind === "ClusterRoleBinding") &&
      (m.subjects as Array<{ kind: string; name: string }>).some(
        (s) => s.kind === "ServiceAccount" && s.name === sa.metadata.name,
      ),
  );
  const roleKey = (kind: string, name: string, ns?: string) => `${kind}/${ns ?? ""}/${name}`;
  const bound = new Set(
    bindings.map((b) =>
      roleKey(b.roleRef.kind, b.roleRef.name, b.kind === "RoleBinding" ? b.metadata.namespace : undefined),
    ),
  );
  const roles = manifests.filter(
    (m) => RBAC.has(m.kind) && bound.has(roleKey(m.kind, m.metadata.name, m.metadata.namespace)),
  );
  return [sa, ...roles, ...bindings];
}

function pathOf(m: Manifest): string {
  const plural = { ServiceAccount: "serviceaccounts" }[m.kind as string] ?? `${m.kind.toLowerCase()}s`;
  const base = m.apiVersion === "v1" ? "/api/v1" : `/apis/${m.apiVersion}`;
  const ns = m.metadata.namespace ? `/namespaces/${m.metadata.namespace}` : "";
  return `${base}${ns}/${plural}/${m.metadata.name}`;
}

const identities = new Map<string, Promise<string>>();

/**
 * chartKubeconfig applies the chart's ServiceAccount and RBAC for a controller configured as `cfg`, mints a
 * token for the ServiceAccount (TokenRequest) and returns a kubeconfig holding it. One release per
 * configuration and release namespace: a restart with the same flags reuses it.
 */
export function chartKubeconfig(info: ControlPlaneInfo, cfg: RbacConfig, extras: ChartExtras = {}): Promise<string> {
  const values = chartValuesFor(cfg, extras);
  const id = createHash("sha256")
    .update(JSON.stringify([values.set, values.names]))
    .digest("hex")
    .slice(0, 10);
  let made = identities.get(id);
  if (!made) {
    made = install(info, values, `esim-${id}`);
    identities.set(id, made);
    made.catch(() => identities.delete(id));
  }
  return made;
}

async function install(info: ControlPlaneInfo, values: ReturnType<typeof chartValuesFor>, release: string) {
  let text = renderedRbac(join(info.dir, "chart-rbac"), values).replaceAll(RELEASE, release);
  values.names.forEach((ns, i) => {
    text = text.replaceAll(placeholder(i), ns);
  });
  const manifests = JSON.parse(text) as Manifest[];
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigPath);
  const admin = new KubeClient(kc);
  for (const m of manifests)
    await admin.request({
      method: "PATCH",
      path: pathOf(m),
      query: { fieldManager: "chart-identity", force: true },
      contentType: "application/apply-patch+yaml",
      body: m,
      discardBody: true,
    });
  const sa = manifests[0] as Manifest;
  const namespace = sa.metadata.namespace as string;
  const minted = await admin.request<{ status: { token: string } }>({
    method: "POST",
    path: `${pathOf(sa)}/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 4 * 3600 } },
  });
  const identity = {
    name: `system:serviceaccount:${namespace}:${sa.metadata.name}`,
    token: minted.status.token,
    groups: [],
  };
  const file = join(info.dir, `${release}.kubeconfig`);
  writeFileSync(file, kubeconfigFor(info.server, info.caPem, identity, namespace), { mode: 0o600 });
  await untilAuthorized(file, values.names[0] as string);
  return file;
}

/** untilAuthorized waits until the apiserver's authorizer has seen the new bindings (its cache lags a little). */
async function untilAuthorized(kubeconfig: string, releaseNamespace: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const self = new KubeClient(kc);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const review = await self.request<{ status: { allowed: boolean } }>({
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { verb: "get", resource: "configmaps", namespace: releaseNamespace } },
      },
    });
    if (review.status.allowed) return;
    if (Date.now() > deadline) throw new Error(`the chart's RBAC was not in effect after 10s (${kubeconfig})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * kubeconfigForFlags is the chart identity of a controller started with these flags and environment, or
 * undefined when the controller rejects them (it exits before it talks to the apiserver).
 */
export async function kubeconfigForFlags(
  info: ControlPlaneInfo,
  flags: string[],
  env: NodeJS.ProcessEnv,
  extras: ChartExtras = {},
): Promise<string | undefined> {
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig(flags, env);
  } catch {
    return undefined;
  }
  return cfg === "help" ? undefined : chartKubeconfig(info, cfg, extras);
}
