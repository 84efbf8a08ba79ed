import { execFile } from "node:child_process";
import { promisify } from "node:util";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { afterEach, onTestFailed, onTestFinished } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { GROUP, VERSION } from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { startSimulator } from "../../simulator/index.js";
import { resolveBinaries } from "../controlplane/binaries.js";
import type { Cluster } from "./cluster.js";
import { type ControllerProcess, type ControllerProcessOptions, startControllerProcess } from "./controller-process.js";
import { SimControl } from "./soracom-sim.js";

/**
 * Helpers for end-to-end tests: a simulator and a controller per test (cleaned up after it), and typed
 * access to the operator's resources through the admin client.
 */

export type Sim = Awaited<ReturnType<typeof startSimulator>>;

export function useE2E(cluster: Cluster) {
  const started: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const s of started.splice(0).reverse()) await s.close().catch(() => undefined);
  });

  const kube = new KubeClient(cluster.kc);
  const api = {
    async simulator(opts: Parameters<typeof startSimulator>[0] = {}) {
      const sim = await startSimulator({ port: 0, confirmDelayMs: 300, inProgressDelayMs: 500, ...opts });
      started.push(sim);
      return { sim, control: new SimControl(sim.url) };
    },
    async controller(sim: { url: string }, opts: Partial<ControllerProcessOptions> = {}): Promise<ControllerProcess> {
      const c = await startControllerProcess({
        controlPlane: cluster.info,
        soracomEndpoint: sim.url,
        namespaces: [cluster.namespace],
        ...opts,
      });
      started.push({ close: () => c.stop() });
      // A failed end-to-end test shows what the controller did: its warnings and errors and its last lines.
      onTestFailed(() => reportControllerLogs(c.logs));
      return c;
    },
    async applyOrder(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
      return (await cluster.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: cluster.namespace,
        plural: "esimprofileorders",
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: "EsimProfileOrder", metadata: { name, ...metadata }, spec },
      })) as EsimProfileOrder;
    },
    async applyProfile(name: string, spec: Record<string, unknown>) {
      return (await cluster.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: cluster.namespace,
        plural: "esimprofiles",
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: "EsimProfile", metadata: { name }, spec },
      })) as EsimProfile;
    },
    async patchOrder(name: string, patch: Record<string, unknown>) {
      return kube.request<EsimProfileOrder>({
        method: "PATCH",
        path: resourcePath(
          { group: GROUP, version: VERSION, plural: "esimprofileorders", namespace: cluster.namespace },
          name,
        ),
        contentType: "application/merge-patch+json",
        body: patch,
      });
    },
    async deleteProfile(name: string) {
      await kube.request({
        method: "DELETE",
        path: resourcePath(
          { group: GROUP, version: VERSION, plural: "esimprofiles", namespace: cluster.namespace },
          name,
        ),
      });
    },
    kube,
    async order(name: string): Promise<EsimProfileOrder> {
      return (await cluster.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: cluster.namespace,
        plural: "esimprofileorders",
        name,
      })) as EsimProfileOrder;
    },
    async profiles(): Promise<EsimProfile[]> {
      const list = (await cluster.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: cluster.namespace,
        plural: "esimprofiles",
      })) as { items: EsimProfile[] };
      return list.items;
    },
    async profile(name: string): Promise<EsimProfile> {
      return (await cluster.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: cluster.namespace,
        plural: "esimprofiles",
        name,
      })) as EsimProfile;
    },
    async events(): Promise<
      Array<{ reason?: string; message?: string; type?: string; involvedObject?: { name?: string } }>
    > {
      return (await cluster.core.listNamespacedEvent({ namespace: cluster.namespace })).items;
    },
    async kubectl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
      const bin = (await resolveBinaries()).kubectl;
      try {
        const { stdout, stderr } = await promisify(execFile)(bin, [
          "--kubeconfig",
          cluster.info.kubeconfigPath,
          "-n",
          cluster.namespace,
          ...args,
        ]);
        return { stdout, stderr, code: 0 };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; code?: number };
        return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: e.code ?? 1 };
      }
    },
  };
  return api;
}

/** reportControllerLogs prints a failed test's controller warnings/errors and last log lines to stderr. */
function reportControllerLogs(logs: string[]): void {
  // The controller logs pino's level labels ("level":"warn"); a numeric level would be 40 and up.
  const problem = (line: string) => /"level":(?:"(?:warn|error|fatal)"|[4-6]\d\b)/.test(line);
  const problems = logs.filter(problem).slice(-30);
  const tail = logs.slice(-60);
  process.stderr.write(
    `--- controller: ${logs.length} log lines; last ${problems.length} warnings/errors ---\n${problems.join("\n")}\n` +
      `--- controller: last ${tail.length} lines ---\n${tail.join("\n")}\n--- end of controller log ---\n`,
  );
}

/** condition returns a condition of a resource's status. */
export function condition(
  obj: { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } },
  type: string,
) {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/** decodeQr reads the text of a QR code PNG. */
export function decodeQr(png: Buffer): string | undefined {
  const img = PNG.sync.read(png);
  // jsqr is CommonJS: under NodeNext its default export arrives on `.default`.
  const decode = ((jsQR as unknown as { default?: typeof jsQR }).default ?? jsQR) as unknown as typeof jsQR.default;
  return decode(new Uint8ClampedArray(img.data), img.width, img.height)?.data;
}

/**
 * lendSimulatorAccount puts the simulator's credentials in a Secret of the test's namespace (the operator's)
 * and lends them to that namespace alone with lendAccount; the account goes when the test finishes.
 */
export async function lendSimulatorAccount(
  cluster: Cluster,
  kube: Pick<KubeClient, "request">,
  sim: { url: string },
): Promise<{ name: string }> {
  await cluster.core.createNamespacedSecret({
    namespace: cluster.namespace,
    body: {
      metadata: { name: "soracom" },
      stringData: { authKeyId: "keyId-simulator", authKey: "secret-simulator" },
    },
  });
  const account = await lendAccount(kube, { namespace: cluster.namespace, secret: "soracom", endpoint: sim.url });
  onTestFinished(account.remove);
  return account;
}

/**
 * lendAccount creates a SoracomAccount (cluster-scoped, so named after the test's namespace) that lends the
 * credentials Secret `secret` of the operator's namespace to `namespace` alone, against the simulator.
 * Returns its name and a function that deletes it.
 */
export async function lendAccount(
  kube: Pick<KubeClient, "request">,
  opts: { namespace: string; secret: string; endpoint: string; spec?: Record<string, unknown> },
): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `acct-${opts.namespace}`.slice(0, 63);
  const ref = { group: GROUP, version: VERSION, plural: "soracomaccounts" };
  await kube.request({
    method: "POST",
    path: resourcePath(ref),
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "SoracomAccount",
      metadata: { name },
      spec: {
        credentialsSecretRef: { name: opts.secret },
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": opts.namespace } },
        endpoint: opts.endpoint,
        ...opts.spec,
      },
    },
  });
  return {
    name,
    remove: async () => {
      await kube.request({ method: "DELETE", path: resourcePath(ref, name) }).catch(() => undefined);
    },
  };
}
