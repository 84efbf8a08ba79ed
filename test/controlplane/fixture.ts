import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type Binaries, missingBinaries, REPO_ROOT, resolveBinaries } from "./binaries.js";
import { type Credentials, type Identity, kubeconfigFor, writeCredentials } from "./credentials.js";
import { request, waitFor } from "./http.js";
import { DIR_PREFIX, reapOrphans } from "./leftovers.js";
import { freePort, ManagedProcess } from "./process.js";
import { onProcessExit } from "./teardown.js";

export interface ControlPlaneOptions {
  /** Folder of CRD YAML files to install and wait for; null installs none. Default: <repo>/crds. */
  crdDir?: string | null;
  /** Parent of the fixture's temporary folder. Default: the OS temp folder. */
  baseDir?: string;
  /** Default: what `build.sh --print-env` says. */
  binaries?: Binaries;
  /** Progress lines; default: stderr with a [controlplane] prefix. */
  log?: (line: string) => void;
  /** How long etcd and the apiserver each get to become ready. Default 90 s. */
  readyTimeoutMs?: number;
  /**
   * false starts the apiserver with --watch-cache=false, so every watch is served by etcd and an etcd
   * compaction alone expires it. Default true, as in every real cluster.
   */
  watchCache?: boolean;
  /**
   * Run kube-controller-manager (garbage collector, namespace deletion, service-account tokens), as every
   * real cluster does. Default true when its binary is there; `make bench` turns it off to stay comparable.
   */
  controllerManager?: boolean;
}

/** ControlPlaneInfo is everything a client in another process needs to connect (serializable). */
export interface ControlPlaneInfo {
  server: string;
  caPem: string;
  admin: Identity;
  user: Identity;
  kubeconfigPath: string;
  userKubeconfigPath: string;
  etcdUrl: string;
  dir: string;
}

const defaultLog = (line: string) => process.stderr.write(`[controlplane] ${line}\n`);

/**
 * ControlPlane is an envtest-style Kubernetes control plane: a real etcd, kube-apiserver and
 * kube-controller-manager on loopback, no nodes. It exists so that the operator is tested against the
 * real thing (schema validation, finalizers, conflicts, watch expiry, garbage collection, namespace
 * deletion), and it can stop and restart each server mid-test for fault tests.
 */
export class ControlPlane {
  /** Milliseconds from spawning etcd to the CRDs being Established, for the record. */
  startupMs = 0;
  private readonly log: (line: string) => void;
  private readonly readyTimeoutMs: number;
  private bins: Binaries | undefined;
  private state: Started | undefined;
  private unregister: (() => void) | undefined;

  constructor(private readonly opts: ControlPlaneOptions = {}) {
    this.log = opts.log ?? defaultLog;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  }

  /** start builds nothing: it expects binaries (see ensureBinaries) and starts both servers. */
  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const cp = new ControlPlane(opts);
    await cp.start();
    return cp;
  }

  async start(): Promise<void> {
    if (this.state) throw new Error("control plane already started");
    const t0 = Date.now();
    const bins = this.opts.binaries ?? (await resolveBinaries());
    const missing = missingBinaries(bins);
    if (missing.length > 0) {
      throw new Error(`control-plane binaries missing: ${missing.join(", ")} (run \`make controlplane\`)`);
    }
    this.bins = bins;
    const baseDir = this.opts.baseDir ?? os.tmpdir();
    fs.mkdirSync(baseDir, { recursive: true });
    reapOrphans(baseDir, this.log);
    const dir = fs.mkdtempSync(path.join(baseDir, DIR_PREFIX));
    fs.writeFileSync(path.join(dir, "owner.pid"), String(process.pid));
    this.state = await this.layout(dir, bins);
    this.unregister = onProcessExit(this);
    try {
      await this.startEtcd();
      await this.startApiserver();
      this.writeKubeconfigs();
      await this.installCrds();
      // After the CRDs: its garbage collector then finds them at its first discovery.
      if (this.state.controllerManager) await this.startControllerManager();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.startupMs = Date.now() - t0;
    this.log(`ready in ${(this.startupMs / 1000).toFixed(1)} s: ${this.server} (kubeconfig ${this.kubeconfigPath})`);
  }

  /** stop stops the apiserver, then etcd, and removes the folder. Safe to call twice. */
  async stop(): Promise<void> {
    const s = this.state;
    if (!s) return;
    await s.controllerManager?.stop();
    await s.apiserver.stop();
    await s.etcd.stop();
    fs.rmSync(s.dir, { recursive: true, force: true });
    this.state = undefined;
    this.unregister?.();
  }

  /** killNow is for process 'exit' handlers: SIGKILL both servers and remove the folder, synchronously. */
  killNow(): void {
    const s = this.state;
    if (!s) return;
    s.controllerManager?.killNow();
    s.apiserver.killNow();
    s.etcd.killNow();
    fs.rmSync(s.dir, { recursive: true, force: true });
    this.state = undefined;
  }

  get dir(): string {
    return this.started.dir;
  }
  get server(): string {
    return `https://127.0.0.1:${this.started.apiserverPort}`;
  }
  get etcdUrl(): string {
    return `http://127.0.0.1:${this.started.etcdPort}`;
  }
  get kubeconfigPath(): string {
    return path.join(this.started.dir, "kubeconfig");
  }
  get userKubeconfigPath(): string {
    return path.join(this.started.dir, "user.kubeconfig");
  }
  get caPem(): string {
    return fs.readFileSync(path.join(this.started.dir, "certs", "apiserver.crt"), "utf8");
  }
  /** Every pid of etcd and kube-apiserver since start (restarts included), for leftover checks. */
  get pids(): number[] {
    const s = this.state;
    return s ? [...s.etcd.history, ...s.apiserver.history, ...(s.controllerManager?.history ?? [])] : [];
  }

  info(): ControlPlaneInfo {
    const s = this.started;
    return {
      server: this.server,
      caPem: this.caPem,
      admin: s.creds.admin,
      user: s.creds.user,
      kubeconfigPath: this.kubeconfigPath,
      userKubeconfigPath: this.userKubeconfigPath,
      etcdUrl: this.etcdUrl,
      dir: s.dir,
    };
  }

  async stopApiserver(): Promise<void> {
    await this.started.apiserver.stop();
  }

  /** startApiserver starts it again on the same port, with the same certificates and data. */
  async startApiserver(): Promise<void> {
    const s = this.started;
    s.apiserver.start();
    fs.writeFileSync(path.join(s.dir, "kube-apiserver.pid"), String(s.apiserver.pid));
    await waitFor("kube-apiserver /readyz", () => this.probeReadyz(), {
      timeoutMs: this.readyTimeoutMs,
      log: this.log,
      failFast: () => exitedMessage(s.apiserver),
    });
  }

  async restartApiserver(): Promise<void> {
    await this.stopApiserver();
    await this.startApiserver();
  }

  /** controllerManager tells whether this control plane runs kube-controller-manager at all. */
  get hasControllerManager(): boolean {
    return this.started.controllerManager !== undefined;
  }

  async stopControllerManager(): Promise<void> {
    await this.started.controllerManager?.stop();
  }

  /** startControllerManager starts it (again), and waits until it serves /healthz. */
  async startControllerManager(): Promise<void> {
    const s = this.started;
    const kcm = s.controllerManager;
    if (!kcm) throw new Error("this control plane runs no kube-controller-manager");
    kcm.start();
    fs.writeFileSync(path.join(s.dir, "kube-controller-manager.pid"), String(kcm.pid));
    await waitFor(
      "kube-controller-manager /healthz",
      async () => {
        const url = `https://127.0.0.1:${s.controllerManagerPort}/healthz`;
        const res = await request(url, { timeoutMs: 2_000, insecure: true });
        return res.status === 200 ? true : undefined;
      },
      { timeoutMs: this.readyTimeoutMs, log: this.log, failFast: () => exitedMessage(kcm) },
    );
  }

  async stopEtcd(): Promise<void> {
    await this.started.etcd.stop();
  }

  async startEtcd(): Promise<void> {
    const s = this.started;
    s.etcd.start();
    fs.writeFileSync(path.join(s.dir, "etcd.pid"), String(s.etcd.pid));
    await waitFor(
      "etcd /health",
      async () => {
        const res = await request(`${this.etcdUrl}/health`, { timeoutMs: 2_000 });
        return res.status === 200 && (res.body as { health?: string }).health === "true" ? true : undefined;
      },
      { timeoutMs: this.readyTimeoutMs, log: this.log, failFast: () => exitedMessage(s.etcd) },
    );
  }

  /** restartEtcd restarts etcd on the same ports and data, then waits until the apiserver is ready again. */
  async restartEtcd(): Promise<void> {
    await this.stopEtcd();
    await this.startEtcd();
    if (this.started.apiserver.running) {
      await waitFor("kube-apiserver /readyz after etcd restart", () => this.probeReadyz(), {
        timeoutMs: this.readyTimeoutMs,
        log: this.log,
      });
    }
  }

  /** ensureRunning starts whichever server a test left stopped, so the next test finds a whole control plane. */
  async ensureRunning(): Promise<void> {
    if (!this.started.etcd.running) await this.startEtcd();
    if (!this.started.apiserver.running) await this.startApiserver();
    const kcm = this.started.controllerManager;
    if (kcm && !kcm.running) await this.startControllerManager();
  }

  /**
   * forceWatchExpiry makes every resourceVersion handed out so far too old to watch from, as after a
   * long outage: it compacts etcd, then restarts the apiserver, whose new watch cache starts at the
   * current revision (with the cache on, the apiserver serves watches from memory, and a compaction
   * alone changes nothing for them). Re-watching from an earlier resourceVersion gets 410 Expired.
   */
  async forceWatchExpiry(): Promise<number> {
    const revision = await this.compactEtcd();
    await this.restartApiserver();
    return revision;
  }

  /**
   * compactEtcd writes a few keys outside /registry (so there is history to drop) and compacts etcd
   * at its current revision through the gRPC gateway. Watches that must be served by etcd from an
   * older revision then fail with 410 Gone. Returns the compacted revision.
   */
  async compactEtcd(): Promise<number> {
    let revision = 0;
    for (let i = 0; i < 3; i++) {
      const key = Buffer.from(`/soracom-esim-fixture/compaction/${i}`).toString("base64");
      const value = Buffer.from(String(Date.now())).toString("base64");
      const res = await request(`${this.etcdUrl}/v3/kv/put`, { method: "POST", body: { key, value } });
      revision = Number((res.body as { header?: { revision?: string } }).header?.revision ?? 0);
      if (res.status !== 200 || !revision)
        throw new Error(`etcd put failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const res = await request(`${this.etcdUrl}/v3/kv/compaction`, {
      method: "POST",
      body: { revision: String(revision), physical: true },
    });
    if (res.status !== 200) throw new Error(`etcd compaction failed: ${res.status} ${JSON.stringify(res.body)}`);
    return revision;
  }

  /** kubectl runs kubectl against this control plane (as admin, or as the unprivileged user) and returns stdout. */
  async kubectl(args: string[], opts: { input?: string; asUser?: boolean } = {}): Promise<string> {
    const kubeconfig = opts.asUser ? this.userKubeconfigPath : this.kubeconfigPath;
    const run = promisify(execFile);
    const child = run(this.binaries.kubectl, ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 64 << 20 });
    if (opts.input !== undefined) child.child.stdin?.end(opts.input);
    try {
      return (await child).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubectl ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  /** createNamespace creates a fresh namespace named <prefix>-<random> and returns its name. */
  async createNamespace(prefix: string): Promise<string> {
    const name = namespaceName(prefix);
    const res = await request(`${this.server}/api/v1/namespaces`, {
      method: "POST",
      ca: this.caPem,
      token: this.started.creds.admin.token,
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
    });
    if (res.status !== 201) throw new Error(`creating namespace ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    return name;
  }

  private get started(): Started {
    if (!this.state) throw new Error("control plane is not started");
    return this.state;
  }

  private get binaries(): Binaries {
    if (!this.bins) throw new Error("control plane is not started");
    return this.bins;
  }

  private async layout(dir: string, bins: Binaries): Promise<Started> {
    const creds = writeCredentials(dir);
    const [etcdPort, peerPort, apiserverPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = new ManagedProcess(
      "etcd",
      bins.etcd,
      () => [
        "--name=default",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        "--unsafe-no-fsync", // throwaway data: fsync only slows the tests down
        "--log-level=warn",
      ],
      path.join(dir, "etcd.log"),
    );
    const apiserver = new ManagedProcess(
      "kube-apiserver",
      bins.kubeApiserver,
      () => [...apiserverArgs(dir, etcdUrl, apiserverPort, creds), `--watch-cache=${this.opts.watchCache ?? true}`],
      path.join(dir, "kube-apiserver.log"),
    );
    const controllerManagerPort = await freePort();
    const wanted = this.opts.controllerManager ?? true;
    const controllerManager =
      wanted && bins.kubeControllerManager
        ? new ManagedProcess(
            "kube-controller-manager",
            bins.kubeControllerManager,
            () => controllerManagerArgs(dir, controllerManagerPort, creds),
            path.join(dir, "kube-controller-manager.log"),
          )
        : undefined;
    if (wanted && !bins.kubeControllerManager)
      this.log("no kube-controller-manager binary (build.sh controller-manager): no garbage collection");
    return { dir, creds, etcdPort, apiserverPort, controllerManagerPort, etcd, apiserver, controllerManager };
  }

  private async probeReadyz(): Promise<true | undefined> {
    const s = this.started;
    if (!fs.existsSync(path.join(s.dir, "certs", "apiserver.crt"))) return undefined;
    const res = await request(`${this.server}/readyz`, {
      ca: this.caPem,
      token: s.creds.admin.token,
      timeoutMs: 5_000,
    });
    return res.status === 200 ? true : undefined;
  }

  private writeKubeconfigs(): void {
    const s = this.started;
    fs.writeFileSync(this.kubeconfigPath, kubeconfigFor(this.server, this.caPem, s.creds.admin), { mode: 0o600 });
    fs.writeFileSync(this.userKubeconfigPath, kubeconfigFor(this.server, this.caPem, s.creds.user), { mode: 0o600 });
  }

  private async installCrds(): Promise<void> {
    const crdDir = this.opts.crdDir === undefined ? path.join(REPO_ROOT, "crds") : this.opts.crdDir;
    if (crdDir === null) return;
    const files = fs.existsSync(crdDir) ? fs.readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)) : [];
    if (files.length === 0) {
      this.log(`no CRDs in ${crdDir}; none installed`);
      return;
    }
    const names = (await this.kubectl(["apply", "-f", crdDir, "-o", "name"])).trim().split("\n");
    await this.kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...names]);
    this.log(`installed ${names.join(", ")}`);
  }
}

interface Started {
  dir: string;
  creds: Credentials;
  etcdPort: number;
  apiserverPort: number;
  controllerManagerPort: number;
  etcd: ManagedProcess;
  apiserver: ManagedProcess;
  controllerManager: ManagedProcess | undefined;
}

/** apiserverArgs are envtest's flags: no nodes, no controllers, RBAC on, tokens for identities. */
function apiserverArgs(dir: string, etcdUrl: string, port: number, creds: Credentials): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${path.join(dir, "certs")}`,
    `--secure-port=${port}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    "--service-cluster-ip-range=10.0.0.0/24",
    "--allow-privileged=true",
    "--authorization-mode=RBAC",
    `--token-auth-file=${creds.tokenFile}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${creds.saPublicKeyFile}`,
    `--service-account-signing-key-file=${creds.saSigningKeyFile}`,
    // Without it, an open watch holds a graceful stop for the 60 s request timeout; with it the
    // apiserver ends watch streams at once, as clients see on a rolling restart.
    "--shutdown-watch-termination-grace-period=2s",
  ];
}

/**
 * controllerManagerArgs: every default controller, as the admin identity, signing service-account tokens
 * with the apiserver's key and publishing its CA (kube-root-ca.crt); no leader election (one instance).
 */
function controllerManagerArgs(dir: string, port: number, creds: Credentials): string[] {
  const kubeconfig = path.join(dir, "kubeconfig");
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${path.join(dir, "kcm-certs")}`,
    "--leader-elect=false",
    `--service-account-private-key-file=${creds.saSigningKeyFile}`,
    `--root-ca-file=${path.join(dir, "certs", "apiserver.crt")}`,
    "--use-service-account-credentials=false",
    "--controllers=*",
    "--v=1",
  ];
}

function exitedMessage(p: ManagedProcess): string | undefined {
  return p.running ? undefined : `${p.name} exited; last lines of ${p.logFile}:\n${p.logTail()}`;
}

/** namespaceName makes a valid, unique DNS-1123 label from any prefix (test names included). */
export function namespaceName(prefix: string): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 50)
      .replace(/-+$/, "") || "test";
  return `${clean}-${crypto.randomBytes(4).toString("hex")}`;
}
