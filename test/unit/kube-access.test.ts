import fs from "node:fs";
import type https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadKubeAccess, NativeAccess, nativeFromFile } from "../../controller/kube/access.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-access-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "c",
    contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
    clusters: [
      { name: "other", cluster: { server: "https://wrong:1" } },
      { name: "k", cluster },
    ],
    users: [{ name: "u", user }],
  });
}

async function optionsOf(access: { applyToHTTPSOptions(o: https.RequestOptions): Promise<void> }) {
  const opts: https.RequestOptions = { headers: {} };
  await access.applyToHTTPSOptions(opts);
  return opts;
}

describe("loadKubeAccess: the apiserver's address and credentials, without client-node where it can", () => {
  it("reads a kubeconfig with a bearer token and CA data natively (the current context's cluster and user)", async () => {
    const dir = tmp({
      config: kubeconfig(
        { server: "https://127.0.0.1:6443", "certificate-authority-data": b64("CA") },
        { token: "t0k" },
      ),
    });
    const access = await loadKubeAccess(path.join(dir, "config"), {});
    expect(access).toBeInstanceOf(NativeAccess);
    expect(access?.getCurrentCluster()?.server).toBe("https://127.0.0.1:6443");
    const opts = await optionsOf(access!);
    expect(String(opts.ca)).toBe("CA");
    expect((opts.headers as Record<string, string>).Authorization).toBe("Bearer t0k");
  });

  it("reads client certificates from data or from files next to the kubeconfig", async () => {
    const dir = tmp({
      "client.crt": "CERT",
      config: kubeconfig(
        { server: "https://h:1", "insecure-skip-tls-verify": true, "tls-server-name": "api.internal" },
        { "client-certificate": "client.crt", "client-key-data": b64("KEY") },
      ),
    });
    const opts = await optionsOf(nativeFromFile(path.join(dir, "config"))!);
    expect(String(opts.cert)).toBe("CERT");
    expect(String(opts.key)).toBe("KEY");
    expect(opts.rejectUnauthorized).toBe(false);
    expect(opts.servername).toBe("api.internal");
  });

  it("leaves exec plugins, auth providers and proxies to client-node", async () => {
    const exec = tmp({ config: kubeconfig({ server: "https://h:1" }, { exec: { command: "aws" } }) });
    expect(nativeFromFile(path.join(exec, "config"))).toBeUndefined();
    const proxied = tmp({
      config: kubeconfig({ server: "https://h:1", "proxy-url": "http://p:3128" }, { token: "x" }),
    });
    expect(nativeFromFile(path.join(proxied, "config"))).toBeUndefined();
    const access = await loadKubeAccess(path.join(proxied, "config"), {});
    expect(access).toBeDefined();
    expect(access).not.toBeInstanceOf(NativeAccess);
    expect(access?.getCurrentCluster()?.proxyUrl).toBe("http://p:3128");
  });

  it("in a pod: the service's address, the service account's CA, and its token read again after a minute", async () => {
    const sa = tmp({ "ca.crt": "SACA", token: "first\n" });
    const access = await loadKubeAccess(
      undefined,
      {
        KUBERNETES_SERVICE_HOST: "fd00::1",
        KUBERNETES_SERVICE_PORT: "443",
        HOME: sa,
      },
      sa,
    );
    expect(access?.getCurrentCluster()?.server).toBe("https://[fd00::1]:443");
    let opts = await optionsOf(access!);
    expect(String(opts.ca)).toBe("SACA");
    expect((opts.headers as Record<string, string>).Authorization).toBe("Bearer first");

    let now = 0;
    const rotating = new NativeAccess({ server: "https://h:1" }, { tokenFile: path.join(sa, "token") }, () => now);
    await optionsOf(rotating);
    fs.writeFileSync(path.join(sa, "token"), "second");
    now = 30_000;
    opts = await optionsOf(rotating);
    expect((opts.headers as Record<string, string>).Authorization).toBe("Bearer first");
    now = 60_000;
    opts = await optionsOf(rotating);
    expect((opts.headers as Record<string, string>).Authorization).toBe("Bearer second");
  });

  it("says so when nothing is configured (no flag, no KUBECONFIG, no ~/.kube/config, not in a pod)", async () => {
    const home = tmp({});
    expect(await loadKubeAccess(undefined, { HOME: home }, home)).toBeUndefined();
  });
});
