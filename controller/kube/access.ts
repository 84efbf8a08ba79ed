import fs from "node:fs";
import type https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";

/**
 * How the controller reaches the apiserver: its address, and the TLS material and bearer token of each
 * request. In a pod (the product's only deployment) and for kubeconfigs with a token or a client
 * certificate, that is read here, natively. Anything more (exec plugins, auth providers, several
 * KUBECONFIG files, proxies) is left to @kubernetes/client-node's KubeConfig, loaded only then: importing
 * that package loads every generated API model and costs the process about 75 MiB of resident memory,
 * a third of its footprint with 10,000 profiles cached.
 */

/** KubeAccess is the part of client-node's KubeConfig that KubeClient uses (KubeConfig fits it as is). */
export interface KubeAccess {
  getCurrentCluster(): { server: string; proxyUrl?: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** A projected service-account token is rotated on disk; like client-go, read it again after a minute. */
const TOKEN_REREAD_MS = 60_000;

/** NativeAccess is an address, TLS material and a token (fixed, or read from a file). */
export class NativeAccess implements KubeAccess {
  private token: { value: string; readAt: number } | undefined;

  constructor(
    private readonly cluster: {
      server: string;
      ca?: Buffer;
      skipTLSVerify?: boolean;
      tlsServerName?: string;
    },
    private readonly user: { token?: string; tokenFile?: string; cert?: Buffer; key?: Buffer },
    private readonly now: () => number = Date.now,
  ) {}

  getCurrentCluster(): { server: string } {
    return { server: this.cluster.server };
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    if (this.cluster.ca) opts.ca = this.cluster.ca;
    if (this.cluster.skipTLSVerify) opts.rejectUnauthorized = false;
    if (this.cluster.tlsServerName) opts.servername = this.cluster.tlsServerName;
    if (this.user.cert) opts.cert = this.user.cert;
    if (this.user.key) opts.key = this.user.key;
    const token = this.bearer();
    if (token) opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
  }

  private bearer(): string | undefined {
    if (this.user.token) return this.user.token;
    if (!this.user.tokenFile) return undefined;
    if (!this.token || this.now() - this.token.readAt >= TOKEN_REREAD_MS) {
      this.token = { value: fs.readFileSync(this.user.tokenFile, "utf8").trim(), readAt: this.now() };
    }
    return this.token.value;
  }
}

/**
 * loadKubeAccess: the kubeconfig file given (flag), else KUBECONFIG, else ~/.kube/config, else the pod's
 * service account, like client-node's loadFromDefault. Returns undefined when no cluster is configured.
 */
export async function loadKubeAccess(
  kubeconfig: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  saDir = SA_DIR,
): Promise<KubeAccess | undefined> {
  const file = kubeconfig ?? defaultKubeconfig(env);
  if (file === "several") return clientNode(undefined);
  if (file) return nativeFromFile(file) ?? clientNode(file);
  return inCluster(env, saDir);
}

function defaultKubeconfig(env: NodeJS.ProcessEnv): string | "several" | undefined {
  const fromEnv = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
  if (fromEnv.length > 1) return "several"; // merged files: client-node's rules
  if (fromEnv.length === 1) return fromEnv[0];
  const home = path.join(env.HOME ?? os.homedir(), ".kube", "config");
  return fs.existsSync(home) ? home : undefined;
}

function inCluster(env: NodeJS.ProcessEnv, saDir: string): KubeAccess | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  const scheme = ["80", "8080", "8001"].includes(port) ? "http" : "https";
  const server = `${scheme}://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const caFile = path.join(saDir, "ca.crt");
  return new NativeAccess(
    { server, ...(fs.existsSync(caFile) ? { ca: fs.readFileSync(caFile) } : {}) },
    { tokenFile: path.join(saDir, "token") },
  );
}

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
  clusters?: Array<{ name: string; cluster?: Record<string, unknown> }>;
  users?: Array<{ name: string; user?: Record<string, unknown> }>;
}

/** Cluster and user keys read natively; any other key (exec, auth-provider, proxy-url, …) goes to client-node. */
const CLUSTER_KEYS = new Set([
  "server",
  "certificate-authority",
  "certificate-authority-data",
  "insecure-skip-tls-verify",
  "tls-server-name",
  "extensions",
]);
const USER_KEYS = new Set([
  "token",
  "tokenFile",
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
  "extensions",
]);

/** nativeFromFile reads a kubeconfig with a token or a client certificate; undefined: needs client-node. */
export function nativeFromFile(file: string): NativeAccess | undefined {
  const doc = YAML.parse(fs.readFileSync(file, "utf8")) as KubeconfigFile | null;
  const context = doc?.contexts?.find((c) => c.name === doc["current-context"])?.context;
  const cluster = doc?.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = doc?.users?.find((u) => u.name === context?.user)?.user ?? {};
  if (!cluster || typeof cluster.server !== "string") return undefined;
  if (Object.keys(cluster).some((k) => !CLUSTER_KEYS.has(k)) || Object.keys(user).some((k) => !USER_KEYS.has(k)))
    return undefined;
  const dir = path.dirname(file);
  const bytes = (fileKey: string, dataKey: string, from: Record<string, unknown>): Buffer | undefined => {
    const data = from[dataKey];
    if (typeof data === "string") return Buffer.from(data, "base64");
    const name = from[fileKey];
    return typeof name === "string" ? fs.readFileSync(path.resolve(dir, name)) : undefined;
  };
  const ca = bytes("certificate-authority", "certificate-authority-data", cluster);
  const cert = bytes("client-certificate", "client-certificate-data", user);
  const key = bytes("client-key", "client-key-data", user);
  return new NativeAccess(
    {
      server: cluster.server,
      ...(ca ? { ca } : {}),
      ...(cluster["insecure-skip-tls-verify"] === true ? { skipTLSVerify: true } : {}),
      ...(typeof cluster["tls-server-name"] === "string" ? { tlsServerName: cluster["tls-server-name"] } : {}),
    },
    {
      ...(typeof user.token === "string" ? { token: user.token } : {}),
      ...(typeof user.tokenFile === "string" ? { tokenFile: path.resolve(dir, user.tokenFile) } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    },
  );
}

/** clientNode loads client-node's KubeConfig, for what is not read natively. */
async function clientNode(file: string | undefined): Promise<KubeAccess | undefined> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc.getCurrentCluster() ? kc : undefined;
}
