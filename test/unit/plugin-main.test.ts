import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { qrPng } from "../../controller/api/qrpng.js";
import type { EsimProfile } from "../../controller/api/types.js";
import { ACTIVATION_SECRET, LABELS } from "../../controller/api/vocabulary.js";
import { EXIT } from "../../plugin/errors.js";
import { loadConnection } from "../../plugin/kubeconfig.js";
import { main, usage, version } from "../../plugin/main.js";
import { anOrder, connectTo, FakeCluster, RecordingIo } from "./plugin-fakes.js";

function aProfile(namespace: string, order: string, iccid: string, withSecret: boolean): EsimProfile {
  const name = `${order}-${iccid}`;
  return {
    apiVersion: "esim.soracom-operator.io/v1alpha1",
    kind: "EsimProfile",
    metadata: { name, namespace, labels: { [LABELS.order]: order } },
    spec: {},
    status: {
      iccid,
      simId: iccid,
      imsi: `44010${iccid.slice(-10)}`,
      subscription: "planX3",
      profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
      ...(withSecret ? { activationSecretRef: { name: `${name}${ACTIVATION_SECRET.suffix}` } } : {}),
    },
  };
}

function aSecret(profile: EsimProfile, code: string, type: string = ACTIVATION_SECRET.type): V1Secret {
  const [, smdp, matching] = code.split("$");
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return {
    metadata: { name: `${profile.metadata.name}${ACTIVATION_SECRET.suffix}`, namespace: profile.metadata.namespace },
    type,
    data: { activationCode: b64(code), smdpAddress: b64(smdp ?? ""), matchingId: b64(matching ?? "") },
  };
}

function fleet(): FakeCluster {
  const c = new FakeCluster();
  c.orders.push(anOrder("sensors", "fleet-a"), anOrder("gates", "fleet-b"));
  const p1 = aProfile("fleet-a", "sensors", "8981100000000000002", true);
  const p2 = aProfile("fleet-a", "sensors", "8981100000000000001", true);
  const p3 = aProfile("fleet-b", "gates", "8981100000000000003", true);
  c.profiles.push(p1, p2, p3);
  c.secrets.push(
    aSecret(p1, "LPA:1$smdp.example$M-2"),
    aSecret(p2, "LPA:1$smdp.example$M-1"),
    aSecret(p3, "LPA:1$smdp.example$M-3"),
  );
  return c;
}

const run = async (argv: string[], cluster = fleet(), io = new RecordingIo()) => {
  const code = await main(argv, io, connectTo(cluster));
  return { code, out: io.out, err: io.err };
};

describe("dispatch, help and usage errors", () => {
  it("no command prints usage on stderr with exit 2", async () => {
    const r = await run([]);
    expect(r).toMatchObject({ code: EXIT.usage, out: "" });
    expect(r.err).toBe(usage());
  });
  it("--help prints usage on stdout with the exit codes", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain("3  partial (export, qr ORDER: some profiles could not be read");
  });
  it("every command has its own --help", async () => {
    for (const name of ["export", "qr", "approve", "ack", "resume", "refresh", "status", "completion", "version"]) {
      const r = await run([name, "--help"]);
      expect(r.code).toBe(EXIT.ok);
      expect(r.out).toContain(`kubectl esim ${name}`);
      expect(r.out).toContain("Exit codes:");
    }
  });
  it("--version prints the package version", async () => {
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
    expect((await run(["--version"])).out).toBe(`kubectl-esim ${version()}\n`);
  });
  it("an unknown command is exit 2", async () => {
    const r = await run(["frobnicate"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('unknown command "frobnicate"');
  });
  it("an unknown flag is exit 2 with a pointer to --help", async () => {
    const r = await run(["status", "--colour"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain("Run 'kubectl esim status --help' for usage.");
  });
  it("global flags may come before the command, as with kubectl", async () => {
    const r = await run(["-n", "fleet-b", "export", "--columns", "Profile"]);
    expect(r.out).toBe("Profile\r\ngates-8981100000000000003\r\n");
  });
  it("-n and -A together are a usage error", async () => expect((await run(["status", "-n", "x", "-A"])).code).toBe(2));
  it("naming an order with -A is a usage error", async () =>
    expect((await run(["export", "sensors", "-A"])).code).toBe(2));
  it("a bad --output is a usage error", async () => expect((await run(["status", "-o", "xml"])).code).toBe(2));
});

describe("export", () => {
  it("exports one order's profiles sorted by name, with activation data", async () => {
    const r = await run(["export", "sensors", "--columns", "iccid,matching id,activation code"]);
    expect(r).toEqual({
      code: EXIT.ok,
      err: "",
      out:
        "ICCID,Matching ID,Activation Code\r\n" +
        "8981100000000000001,M-1,LPA:1$smdp.example$M-1\r\n" +
        "8981100000000000002,M-2,LPA:1$smdp.example$M-2\r\n",
    });
  });
  it("-A exports every namespace", async () => {
    const r = await run(["export", "-A", "--columns", "Namespace,Profile"]);
    expect(r.out.split("\r\n").filter(Boolean)).toEqual([
      "Namespace,Profile",
      "fleet-a,sensors-8981100000000000001",
      "fleet-a,sensors-8981100000000000002",
      "fleet-b,gates-8981100000000000003",
    ]);
  });
  it("an unknown column lists the valid names and exits 2", async () => {
    const r = await run(["export", "--columns", "ICCID,Colour"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('unknown column "Colour"; valid names: SIM ID, IMSI');
  });
  it("Secrets it may not read leave cells empty, name the lines on stderr and exit 3", async () => {
    const cluster = fleet();
    cluster.forbiddenSecretNamespaces.add("fleet-a");
    const r = await run(["export", "-A", "--columns", "Profile,Activation Code"], cluster);
    expect(r.code).toBe(EXIT.partial);
    expect(r.out).toBe(
      "Profile,Activation Code\r\nsensors-8981100000000000001,\r\nsensors-8981100000000000002,\r\ngates-8981100000000000003,LPA:1$smdp.example$M-3\r\n",
    );
    expect(r.err).toBe(
      "kubectl-esim: 2 of 3 rows have empty SM-DP, Matching ID and Activation Code cells:\n" +
        '  line 2 (fleet-a/sensors-8981100000000000001): no permission to get secrets in namespace "fleet-a"\n' +
        '  line 3 (fleet-a/sensors-8981100000000000002): no permission to get secrets in namespace "fleet-a"\n',
    );
  });
  it("without activation columns no Secret is read, so no permission is needed", async () => {
    const cluster = fleet();
    cluster.forbiddenSecretNamespaces.add("fleet-a");
    const r = await run(["export", "sensors", "--columns", "ICCID,Profile Status"], cluster);
    expect(r).toMatchObject({ code: EXIT.ok, err: "" });
  });
  it("a profile without an activation Secret yet is reported", async () => {
    const cluster = fleet();
    cluster.profiles.push(aProfile("fleet-a", "sensors", "8981100000000000009", false));
    const r = await run(["export", "sensors"], cluster);
    expect(r.code).toBe(EXIT.partial);
    expect(r.err).toContain("line 4 (fleet-a/sensors-8981100000000000009): no activation Secret yet");
  });
  it("a Secret of another type is never printed", async () => {
    const cluster = fleet();
    const p = cluster.profiles[0] as EsimProfile;
    cluster.secrets[0] = aSecret(p, "LPA:1$evil$X", "Opaque");
    const r = await run(["export", "sensors", "--columns", "Activation Code"], cluster);
    expect(r.code).toBe(EXIT.partial);
    expect(r.out).not.toContain("evil");
    expect(r.err).toContain('is of type "Opaque", not esim.soracom-operator.io/activation');
  });
  it("an unknown order is exit 4", async () => expect((await run(["export", "nope"])).code).toBe(EXIT.notFound));
});

describe("qr", () => {
  it("the PNG decodes to the activation code", async () => {
    const png = PNG.sync.read(qrPng("LPA:1$smdp.example$M-1"));
    expect(jsQR.default(new Uint8ClampedArray(png.data), png.width, png.height)?.data).toBe("LPA:1$smdp.example$M-1");
  });
  it("the terminal QR does not print the activation code unless asked", async () => {
    const plain = await run(["qr", "sensors-8981100000000000001"]);
    expect(plain.code).toBe(EXIT.ok);
    expect(plain.out).not.toContain("LPA:1$");
    const shown = await run(["qr", "sensors-8981100000000000001", "--show-code"]);
    expect(shown.out.endsWith("LPA:1$smdp.example$M-1\n")).toBe(true);
  });
  it("an unknown profile is exit 4", async () => expect((await run(["qr", "nope"])).code).toBe(EXIT.notFound));
  it("a forbidden Secret is exit 1 and says so", async () => {
    const cluster = fleet();
    cluster.forbiddenSecretNamespaces.add("fleet-a");
    const r = await run(["qr", "sensors-8981100000000000001"], cluster);
    expect(r.code).toBe(EXIT.error);
    expect(r.err).toContain("no permission to get secrets");
  });
});

describe("status", () => {
  it("json output carries the numbers and warnings of every order in scope", async () => {
    const r = await run(["status", "-A", "-o", "json"]);
    const parsed = JSON.parse(r.out) as { orders: { namespace: string; name: string; desired: number }[] };
    expect(parsed.orders.map((o) => [o.namespace, o.name, o.desired])).toEqual([
      ["fleet-a", "sensors", 2],
      ["fleet-b", "gates", 2],
    ]);
  });
  it("no orders in scope says so on stderr", async () => {
    const r = await run(["status", "-n", "empty"]);
    expect(r).toMatchObject({ code: EXIT.ok, out: "", err: 'No EsimProfileOrders found in namespace "empty".\n' });
  });
});

describe("loadConnection reads the kubeconfig like kubectl", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plugin-kubeconfig-"));
  const config = (ns?: string) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [
        { name: "one", context: { cluster: "c", user: "u", ...(ns ? { namespace: ns } : {}) } },
        { name: "two", context: { cluster: "c", user: "u", namespace: "other" } },
      ],
      "current-context": "one",
    });
  const file = path.join(dir, "config");
  fs.writeFileSync(file, config("team-a"));
  const noNs = path.join(dir, "config-no-ns");
  fs.writeFileSync(noNs, config());

  const cases: Record<string, [Parameters<typeof loadConnection>[0], NodeJS.ProcessEnv, string, string]> = {
    "KUBECONFIG is honoured, with the context's namespace": [{}, { KUBECONFIG: file }, "one", "team-a"],
    "-n wins over the context's namespace": [{ namespace: "x" }, { KUBECONFIG: file }, "one", "x"],
    "--context switches context and namespace": [{ context: "two" }, { KUBECONFIG: file }, "two", "other"],
    "--kubeconfig wins over KUBECONFIG": [{ kubeconfig: noNs }, { KUBECONFIG: file }, "one", "default"],
    "missing files in KUBECONFIG are skipped": [{}, { KUBECONFIG: `${dir}/nope:${file}` }, "one", "team-a"],
  };
  for (const [sentence, [opts, env, context, namespace]] of Object.entries(cases)) {
    it(sentence, () => expect(loadConnection(opts, env)).toMatchObject({ context, namespace }));
  }

  const errors: Record<string, [Parameters<typeof loadConnection>[0], NodeJS.ProcessEnv, string]> = {
    "no kubeconfig anywhere names the fix": [
      {},
      { HOME: dir },
      "no kubeconfig found: set KUBECONFIG or pass --kubeconfig",
    ],
    "a --kubeconfig that does not exist is named": [
      { kubeconfig: `${dir}/absent` },
      {},
      `kubeconfig file not found: ${dir}/absent`,
    ],
    "an unknown --context lists the known ones": [{ context: "three" }, { KUBECONFIG: file }, "(contexts: one, two)"],
  };
  for (const [sentence, [opts, env, message]] of Object.entries(errors)) {
    it(sentence, () => expect(() => loadConnection(opts, env)).toThrow(message));
  }

  it("with no kubeconfig the command exits 1 with the message", async () => {
    const io = new RecordingIo();
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
    process.env.KUBECONFIG = "";
    process.env.HOME = dir;
    try {
      expect(await main(["status"], io)).toBe(EXIT.error);
    } finally {
      Object.assign(process.env, saved);
      if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
    }
    expect(io.err).toContain("kubectl-esim: no kubeconfig found: set KUBECONFIG or pass --kubeconfig");
  });
});
