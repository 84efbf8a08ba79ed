import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { freePort } from "../controlplane/process.js";
import { kubeconfigForFlags } from "../support/chart-identity.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { condition, useE2E } from "../support/e2e.js";

// The controller image itself (built by test/image/build.sh with podman, Node 24 inside while these tests
// run on Node 20): what it holds, and the controller running in it as the chart runs it (uid 65532,
// read-only root, no capabilities) ordering against the test control plane and the simulator.
const IMAGE = "localhost/soracom-esim-operator:test";
const run = promisify(execFile);
const podman = (args: string[]) => run("podman", args, { maxBuffer: 16 << 20 });
const available = await podman(["image", "exists", IMAGE]).then(
  () => true,
  () => false,
);
// This machine's quirks (field notes): runc, not crun; rlimits within root's hard limits.
const nofile = (await run("bash", ["-c", "ulimit -Hn"])).stdout.trim();
const RUNTIME = ["--runtime", "runc", "--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", "nproc=32768:32768"];
const HARDENED = ["--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--user=65532:65532"];

const cluster = useCluster();
const e2e = useE2E(cluster);

/** inImage runs a Node script inside the image (its own Node) and returns what it prints. */
async function inImage(script: string): Promise<string> {
  const { stdout } = await podman([
    "run",
    "--rm",
    ...RUNTIME,
    ...HARDENED,
    "--entrypoint",
    "/usr/local/bin/node",
    IMAGE,
    "-e",
    script,
  ]);
  return stdout.trim();
}

describe.runIf(available || process.env.CI)("the controller image", () => {
  it("is built (test/image/build.sh), or the run is not CI", () => {
    expect(available, `${IMAGE} is missing: bash test/image/build.sh`).toBe(true);
  });

  it("holds Node 24 and the controller alone: no npm, source maps, CRDs, simulator or plugin; ajv for answers", async () => {
    const [config] = JSON.parse((await podman(["image", "inspect", IMAGE])).stdout) as Array<{
      Config: { User?: string; Entrypoint?: string[]; Env?: string[]; Labels?: Record<string, string> };
    }>;
    expect(config?.Config.User).toBe("65532:65532");
    expect(config?.Config.Entrypoint).toEqual(["/usr/local/bin/node", "/app/dist/controller/cli.js"]);
    expect(config?.Config.Env?.filter((e) => e.startsWith("NODE_OPTIONS="))).toEqual([]);
    expect(config?.Config.Labels?.["org.opencontainers.image.title"]).toBe("soracom-esim-operator");
    const facts = JSON.parse(
      await inImage(`
        const fs = require("fs"), path = require("path");
        const walk = (d) => fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]) : [];
        const exists = (p) => fs.existsSync(p);
        console.log(JSON.stringify({
          node: process.version,
          npm: ["/usr/local/bin/npm", "/usr/local/bin/npx", "/usr/local/bin/corepack", "/usr/local/bin/yarn", "/usr/local/lib/node_modules"].filter(exists),
          maps: walk("/app/dist").filter((f) => f.endsWith(".map")).length,
          programs: fs.readdirSync("/app/dist"),
          crds: exists("/app/crds"), thirdParty: exists("/app/third_party"),
          ajv: exists("/app/node_modules/ajv"),
        }));`),
    );
    expect(facts).toEqual({
      node: expect.stringMatching(/^v24\./),
      npm: [],
      maps: 0,
      programs: ["controller"],
      crds: false,
      thirdParty: false,
      // The controller validates every Soracom answer with ajv (schemas compiled in, no third_party/).
      ajv: true,
    });
  });

  it("runs hardened as the chart runs it: /readyz, then an order to Ready against the simulator", async () => {
    const { sim, control } = await e2e.simulator();
    const port = await freePort();
    const name = `esim-image-${cluster.namespace.slice(-8)}`;
    // Readable by uid 65532, as a mounted Secret is in a pod (the fixture's own copy is root's, 0600).
    // (/tmp itself: the test process's TMPDIR may sit in a folder only root can enter.)
    const dir = mkdtempSync("/tmp/esim-image-");
    const kubeconfig = join(dir, "config");
    // The chart's identity for these flags (test/support/chart-identity.ts), as the pod would log in.
    const flags = ["--namespaces", cluster.namespace, "--leader-election-namespace", cluster.namespace];
    const identity = await kubeconfigForFlags(cluster.info, flags, {});
    if (!identity) throw new Error(`the controller rejects ${flags.join(" ")}`);
    copyFileSync(identity, kubeconfig);
    chmodSync(kubeconfig, 0o644);
    chmodSync(dir, 0o755);
    try {
      // Host network: the control plane and the simulator listen on loopback. The kubeconfig is mounted read-only.
      await podman([
        "run",
        "-d",
        "--name",
        name,
        ...RUNTIME,
        ...HARDENED,
        "--network=host",
        "-v",
        `${kubeconfig}:/kube/config:ro`,
        "-e",
        "SORACOM_AUTH_KEY_ID=keyId-simulator",
        "-e",
        "SORACOM_AUTH_KEY=secret-simulator",
        IMAGE,
        "controller",
        "--kubeconfig",
        "/kube/config",
        "--http-address",
        `127.0.0.1:${port}`,
        "--soracom-endpoint",
        sim.url,
        ...flags,
        "--poll-interval-active",
        "300ms",
      ]);
      await eventually(
        async () =>
          (await fetch(`http://127.0.0.1:${port}/readyz`).then(
            (r) => r.status,
            () => 0,
          )) === 200 || undefined,
        { what: "/readyz of the controller in the image", explain: async () => (await podman(["logs", name])).stderr },
      );
      await e2e.applyOrder("imaged", { subscription: "planX3", quantity: 2 });
      await eventually(async () => condition(await e2e.order("imaged"), "Ready")?.status === "True" || undefined, {
        what: "the order Ready",
        explain: async () => (await podman(["logs", "--tail", "20", name])).stdout,
      });
      expect(await control.count("createProfileOrder")).toBe(1);
      expect(await control.count("confirmProfileOrder")).toBe(1);
    } finally {
      await podman(["rm", "-f", "-t", "5", name]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
