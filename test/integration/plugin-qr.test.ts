import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrderedProfile } from "../../controller/soracom/index.js";
import { useCluster } from "../support/cluster.js";
import { decodePdfQrs } from "../support/pdf-qr.js";
import { type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";
import { buildPlugin, orderAtSimulator, runPlugin, type SoracomOrder, Writer } from "./plugin-support.js";

// kubectl esim qr against a real apiserver: the QR code must carry the simulator's activation code.
const cluster = useCluster({ namespacePrefix: "plugin-qr" });
let sim: Simulator;
let writer: Writer;
let world: SoracomOrder;
let control: Awaited<ReturnType<typeof startTestSimulator>>["control"];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plugin-qr-"));

beforeAll(async () => {
  await buildPlugin();
  const started = await startTestSimulator();
  sim = started.sim;
  control = started.control;
  writer = new Writer(cluster);
  world = await orderAtSimulator(testClient(sim), started.control, { subscription: "planX1", quantity: 1 });
});

afterAll(async () => {
  writer?.close();
  await sim?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function oneProfile(): Promise<{ name: string; p: OrderedProfile }> {
  const order = await writer.order(cluster.namespace, "gates", { subscription: "planX1", quantity: 1 });
  const p = world.profiles[0] as OrderedProfile;
  const profile = await writer.profile(order, p, world.simIds.get(p.iccid) ?? "");
  return { name: profile.metadata.name ?? "", p };
}

function decodePng(file: string): string | undefined {
  const png = PNG.sync.read(fs.readFileSync(file));
  return jsQR.default(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}

describe("kubectl esim qr", () => {
  it("--png saves a PNG (mode 0600) that decodes to the simulator's activation code", async () => {
    const { name, p } = await oneProfile();
    const file = path.join(dir, "profile.png");
    const r = await runPlugin(["qr", name, "-n", cluster.namespace, "--png", file], cluster.info.kubeconfigPath);

    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`Saved the QR code of ${cluster.namespace}/${name} (ICCID ${p.iccid}) to ${file}\n`);
    expect(decodePng(file)).toBe(p.activationCode);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it("draws the QR code in the terminal and keeps the activation code out of the output", async () => {
    const { name, p } = await oneProfile();
    const r = await runPlugin(["qr", name, "-n", cluster.namespace], cluster.info.kubeconfigPath);

    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/[▀▄█]/); // half-block characters of qrcode's small terminal renderer
    expect(r.stdout.split("\n").length).toBeLessThan(40); // small: two modules per line
    expect(r.stdout + r.stderr).not.toContain(p.activationCode);
    expect(r.stdout + r.stderr).not.toContain(p.matchingId);
  });

  it("--show-code prints the activation code, alone on the last line", async () => {
    const { name, p } = await oneProfile();
    const file = path.join(dir, "shown.png");
    const r = await runPlugin(
      ["qr", name, "-n", cluster.namespace, "--png", file, "--show-code"],
      cluster.info.kubeconfigPath,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${p.activationCode}\n`);
  });

  it("qr ORDER --pdf prints every profile of the order on one sheet, labelled with name and ICCID", async () => {
    const batch = await orderAtSimulator(testClient(sim), control, { subscription: "planX1", quantity: 3 });
    const order = await writer.order(cluster.namespace, "batch", { subscription: "planX1", quantity: 3 });
    const names = new Map<string, OrderedProfile>();
    for (const p of batch.profiles) {
      const profile = await writer.profile(order, p, batch.simIds.get(p.iccid) ?? "");
      names.set(profile.metadata.name ?? "", p);
    }
    const file = path.join(dir, "batch.pdf");
    const r = await runPlugin(["qr", "batch", "-n", cluster.namespace, "--pdf", file], cluster.info.kubeconfigPath);
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const pdf = fs.readFileSync(file).toString("latin1");
    const sorted = [...names.keys()].sort();
    expect(decodePdfQrs(pdf)).toEqual(sorted.map((n) => names.get(n)?.activationCode));
    for (const n of sorted) {
      expect(pdf).toContain(`(${n}) Tj`);
      expect(pdf).toContain(`(ICCID ${names.get(n)?.iccid}) Tj`);
    }
  });

  it("a name that is neither a profile nor an order exits 4", async () => {
    const r = await runPlugin(["qr", "nope", "-n", cluster.namespace], cluster.info.kubeconfigPath);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      `kubectl-esim: no EsimProfile or EsimProfileOrder "nope" in namespace "${cluster.namespace}"\n`,
    );
  });

  it("a user who may not read the Secret is told so (exit 1), and no QR code is drawn", async () => {
    const { name } = await oneProfile();
    await writer.grantReadWithoutSecrets(cluster.namespace, cluster.info.user.name);
    const r = await runPlugin(["qr", name, "-n", cluster.namespace], cluster.info.userKubeconfigPath);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`cannot show the QR code of EsimProfile "${name}": no permission to get secrets`);
  });
});
