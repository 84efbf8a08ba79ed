import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { V1Secret } from "@kubernetes/client-node";
import QRCode from "qrcode";
import type {
  EsimProfile,
  EsimProfileOrder,
  EsimProfileOrderSpec,
  EsimProfileOrderStatus,
} from "../../controller/api/types.js";
import {
  ACTIVATION_SECRET,
  API_VERSION,
  LABELS,
  MANAGER_NAME,
  ORDER_KIND,
  ORDER_PLURAL,
  PROFILE_KIND,
  PROFILE_PLURAL,
} from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import type { OrderedProfile, ProfileOrder, SoracomClient } from "../../controller/soracom/index.js";
import { REPO_ROOT } from "../controlplane/binaries.js";
import type { Cluster } from "../support/cluster.js";
import type { SimControl } from "../support/soracom-sim.js";

/** The built plugin, as `kubectl esim` runs it. */
export const PLUGIN_CLI = path.join(REPO_ROOT, "dist/plugin/cli.js");
const PLUGIN_TSCONFIG = path.join(REPO_ROOT, "plugin/tsconfig.json");

function newestSource(dir: string): number {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .reduce((newest, f) => Math.max(newest, fs.statSync(path.join(dir, f)).mtimeMs), 0);
}

/**
 * buildPlugin compiles the plugin (and what it imports) into dist with tsc, unless dist is already
 * newer than every source file. Tests run the real executable, not the TypeScript.
 */
export async function buildPlugin(): Promise<void> {
  const sources = ["plugin", "controller/api", "controller/kube"].map((d) => newestSource(path.join(REPO_ROOT, d)));
  const built = fs.existsSync(PLUGIN_CLI) ? fs.statSync(PLUGIN_CLI).mtimeMs : 0;
  if (built > Math.max(...sources)) return;
  const tsc = path.join(REPO_ROOT, "node_modules/typescript/bin/tsc");
  await promisify(execFile)(process.execPath, [tsc, "-p", PLUGIN_TSCONFIG], { cwd: REPO_ROOT });
}

export interface PluginResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** runPlugin runs `kubectl-esim args` as a child process with the given kubeconfig; stdin is a pipe (no TTY). */
export function runPlugin(args: string[], kubeconfig: string, input = ""): Promise<PluginResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PLUGIN_CLI, ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** parseCsv reads RFC 4180 CSV (quoted fields, doubled quotes, CRLF records) into records. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  const token = /("(?:[^"]|"")*"|[^",\r\n]*)(,|\r\n|$)/g;
  for (let m = token.exec(text); m && m.index < text.length; m = token.exec(text)) {
    const raw = m[1] ?? "";
    record.push(raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw);
    if (m[2] === ",") continue;
    records.push(record);
    record = [];
    if (m[2] === "") break;
  }
  return records;
}

/** SoracomOrder is one order at the simulator with its profiles and each profile's SIM ID. */
export interface SoracomOrder {
  order: ProfileOrder;
  profiles: OrderedProfile[];
  simIds: Map<string, string>;
}

/**
 * orderAtSimulator orders profiles through the real Soracom client, as the controller does; with
 * confirm it confirms and moves the simulated clock until the order is COMPLETED.
 */
export async function orderAtSimulator(
  client: SoracomClient,
  control: SimControl,
  req: { subscription: string; quantity: number; speedClass?: string },
  confirm = true,
): Promise<SoracomOrder> {
  const draft = await client.createProfileOrder(req as Parameters<SoracomClient["createProfileOrder"]>[0]);
  if (!confirm) return { order: draft, profiles: [], simIds: new Map() };
  await client.confirmProfileOrder(draft.profileOrderId);
  await control.advance(60_000);
  return refresh(client, draft.profileOrderId);
}

/** refresh reads an order and its profiles again (after device events), with each profile's SIM ID. */
export async function refresh(client: SoracomClient, profileOrderId: string): Promise<SoracomOrder> {
  const order = await client.getProfileOrder(profileOrderId);
  const profiles = order.status === "COMPLETED" ? await client.listOrderedProfiles(profileOrderId) : [];
  const simIds = new Map<string, string>();
  for (const p of profiles) simIds.set(p.iccid, (await client.getSubscriber(p.imsi)).simId ?? "");
  return { order, profiles, simIds };
}

/** condition is a True condition as the controller writes it. */
export function condition(type: string, reason: string, message: string) {
  return {
    type,
    status: "True" as const,
    reason,
    message,
    lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
}

const kubeTime = (ms: number | undefined) =>
  ms === undefined ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Writer creates operator objects the way the controller does (objects, then status, then Secrets). */
export class Writer {
  private readonly kube: KubeClient;
  constructor(cluster: Cluster) {
    this.kube = new KubeClient(cluster.kc);
  }

  close(): void {
    this.kube.close();
  }

  /** order creates an EsimProfileOrder and writes its status through the status subresource. */
  async order(
    namespace: string,
    name: string,
    spec: EsimProfileOrderSpec,
    status: EsimProfileOrderStatus = {},
    annotations: Record<string, string> = {},
  ): Promise<EsimProfileOrder> {
    const ref = { group: API_VERSION.split("/")[0] as string, version: "v1alpha1", plural: ORDER_PLURAL, namespace };
    const created = await this.kube.request<EsimProfileOrder>({
      method: "POST",
      path: resourcePath(ref),
      body: { apiVersion: API_VERSION, kind: ORDER_KIND, metadata: { name, annotations }, spec },
    });
    return this.kube.request<EsimProfileOrder>({
      method: "PATCH",
      path: resourcePath(ref, name, "status"),
      contentType: "application/merge-patch+json",
      body: { status: { observedGeneration: created.metadata.generation, ...status } },
    });
  }

  /** profile creates the EsimProfile `<order>-<iccid>`, its activation Secret and its Soracom status. */
  async profile(
    order: EsimProfileOrder,
    p: OrderedProfile,
    simId: string,
    extraStatus: Partial<NonNullable<EsimProfile["status"]>> = {},
  ): Promise<EsimProfile> {
    const namespace = order.metadata.namespace as string;
    const name = `${order.metadata.name}-${p.iccid.toLowerCase()}`;
    const ref = { group: API_VERSION.split("/")[0] as string, version: "v1alpha1", plural: PROFILE_PLURAL, namespace };
    const owner = (kind: string, o: { metadata: { name?: string; uid?: string } }) => [
      { apiVersion: API_VERSION, kind, name: o.metadata.name ?? "", uid: o.metadata.uid ?? "", controller: true },
    ];
    const created = await this.kube.request<EsimProfile>({
      method: "POST",
      path: resourcePath(ref),
      body: {
        apiVersion: API_VERSION,
        kind: PROFILE_KIND,
        metadata: {
          name,
          labels: {
            [LABELS.order]: order.metadata.name,
            [LABELS.profileOrderId]: p.profileOrderId,
            [LABELS.managedBy]: MANAGER_NAME,
          },
          ownerReferences: owner(ORDER_KIND, order),
        },
        spec: { iccid: p.iccid, imsi: p.imsi, deletionPolicy: "Terminate" },
      },
    });
    const secret: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: ACTIVATION_SECRET.type,
      metadata: {
        name: `${name}${ACTIVATION_SECRET.suffix}`,
        labels: { [LABELS.profile]: name, [LABELS.managedBy]: MANAGER_NAME },
        ownerReferences: owner(PROFILE_KIND, created),
      },
      data: {
        [ACTIVATION_SECRET.keys.activationCode]: Buffer.from(p.activationCode).toString("base64"),
        [ACTIVATION_SECRET.keys.smdpAddress]: Buffer.from(p.smdpAddress).toString("base64"),
        [ACTIVATION_SECRET.keys.matchingId]: Buffer.from(p.matchingId).toString("base64"),
        [ACTIVATION_SECRET.keys.qrPng]: (await QRCode.toBuffer(p.activationCode, { type: "png" })).toString("base64"),
      },
    };
    await this.kube.request({
      method: "POST",
      path: resourcePath({ group: "", version: "v1", plural: "secrets", namespace }),
      body: secret,
    });
    return this.kube.request<EsimProfile>({
      method: "PATCH",
      path: resourcePath(ref, name, "status"),
      contentType: "application/merge-patch+json",
      body: {
        status: {
          observedGeneration: created.metadata.generation,
          phase: "Registered",
          simId,
          iccid: p.iccid,
          imsi: p.imsi,
          profileOrderId: p.profileOrderId,
          subscription: p.subscription,
          profileStatus: p.profileStatus,
          installedTime: kubeTime(p.installedTime),
          lastModifiedTime: kubeTime(p.lastModifiedTime),
          activationSecretRef: { name: secret.metadata?.name },
          ...extraStatus,
        },
      },
    });
  }

  /** grantReadWithoutSecrets lets the test user read (and by default patch) the operator's kinds here, but not Secrets. */
  async grantReadWithoutSecrets(
    namespace: string,
    user: string,
    verbs = ["get", "list", "watch", "patch"],
  ): Promise<void> {
    const rbac = (plural: string, body: unknown) =>
      this.kube.request({
        method: "POST",
        path: resourcePath({ group: "rbac.authorization.k8s.io", version: "v1", plural, namespace }),
        body,
      });
    await rbac("roles", {
      metadata: { name: "esim-viewer" },
      rules: [
        {
          apiGroups: [API_VERSION.split("/")[0]],
          resources: [ORDER_PLURAL, PROFILE_PLURAL],
          verbs,
        },
      ],
    });
    await rbac("rolebindings", {
      metadata: { name: "esim-viewer" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "esim-viewer" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    });
  }
}

/**
 * buildAll compiles the whole project into dist (the controller and the plugin), unless dist is
 * newer than every source file. Type errors elsewhere do not stop tsc from emitting.
 */
export async function buildAll(): Promise<void> {
  const main = path.join(REPO_ROOT, "dist/controller/main.js");
  const built = fs.existsSync(main) ? fs.statSync(main).mtimeMs : 0;
  const newest = Math.max(...["controller", "plugin"].map((d) => newestSource(path.join(REPO_ROOT, d))));
  if (built > newest && fs.existsSync(PLUGIN_CLI) && fs.statSync(PLUGIN_CLI).mtimeMs > newest) return;
  const tsc = path.join(REPO_ROOT, "node_modules/typescript/bin/tsc");
  await promisify(execFile)(process.execPath, [tsc, "-p", path.join(REPO_ROOT, "tsconfig.json")], {
    cwd: REPO_ROOT,
  }).catch((err: { stdout?: string }) =>
    process.stderr.write(`[plugin] tsc reported errors (emitted anyway):\n${err.stdout ?? ""}\n`),
  );
}
