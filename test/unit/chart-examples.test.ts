import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { CREDENTIALS_KEYS } from "../../controller/api/vocabulary.js";
import { matchesSelector } from "../../controller/kube/labels.js";
import { findTool, type Manifest, parseManifests, REPO_ROOT, requireToolInCi } from "./chart-support.js";

// examples/ must stay valid against the CRDs (schema here; CEL rules by the API server in
// test/integration/chart-examples.test.ts) and say what each example promises.
const examples = join(REPO_ROOT, "examples");
const kubectl = findTool("kubectl");
const work = mkdtempSync(join(tmpdir(), "chart-examples-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const readExample = (file: string): Manifest[] =>
  parseAllDocuments(readFileSync(join(examples, file), "utf8")).map((d) => d.toJS() as Manifest);
const one = (file: string): Manifest => readExample(file)[0] as Manifest;

function validatorFor(kind: string) {
  const crd = parse(
    readFileSync(join(REPO_ROOT, "crds", `esim.soracom-operator.io_${kind.toLowerCase()}s.yaml`), "utf8"),
  );
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(crd.spec.versions[0].schema.openAPIV3Schema);
}
const validators = {
  EsimProfileOrder: validatorFor("EsimProfileOrder"),
  EsimProfile: validatorFor("EsimProfile"),
  SoracomAccount: validatorFor("SoracomAccount"),
};

function schemaErrors(m: Manifest): unknown[] {
  const validate = validators[m.kind as keyof typeof validators];
  if (!validate) return [];
  return validate(m) ? [] : (validate.errors ?? []);
}

/** kustomize builds an overlay with kubectl; credentials/ folders get the example env file in a copy. */
function kustomize(dir: string): Manifest[] {
  let target = join(examples, dir);
  if (dir.endsWith("credentials")) {
    target = join(work, dir.replaceAll("/", "_"));
    cpSync(join(examples, dir), target, { recursive: true });
    cpSync(join(target, "soracom-auth.env.example"), join(target, "soracom-auth.env"));
  }
  return parseManifests(execFileSync(kubectl as string, ["kustomize", target], { encoding: "utf8" }));
}

describe("examples/*.yaml", () => {
  const files = readdirSync(examples).filter((f) => f.endsWith(".yaml"));

  it("has the examples the docs point to", () => {
    expect(files.sort()).toEqual([
      "adopt-existing-sim.yaml",
      "credentials-secret.yaml",
      "large-order.yaml",
      "manual-confirmation-order.yaml",
      "minimal-order.yaml",
      "soracom-account.yaml",
    ]);
  });

  for (const file of files) {
    it(`${file} passes the CRD schema`, () => {
      for (const m of readExample(file)) expect(schemaErrors(m), `${m.kind} ${m.metadata.name}`).toEqual([]);
    });
  }

  it("the minimal order is a subscription, a quantity and the account the admin lends (the account way)", () => {
    expect(one("minimal-order.yaml").spec).toEqual({
      subscription: "planX3",
      quantity: 1,
      accountRef: { name: one("soracom-account.yaml").metadata.name },
    });
  });

  it("the manual-confirmation order waits for approval and has approved nothing yet", () => {
    expect(one("manual-confirmation-order.yaml").spec).toMatchObject({ confirmation: "Manual", approvedQuantity: 0 });
  });

  it("every order and profile names the admin's account, none a credentials Secret of its own (the account way)", () => {
    const account = one("soracom-account.yaml").metadata.name;
    const tenantObjects = files
      .flatMap(readExample)
      .filter((m) => m.kind === "EsimProfileOrder" || m.kind === "EsimProfile");
    expect(tenantObjects.length).toBeGreaterThan(0);
    for (const m of tenantObjects) {
      expect(m.spec.accountRef, `${m.kind} ${m.metadata.name}`).toEqual({ name: account });
      expect(m.spec.credentialsRef, `${m.kind} ${m.metadata.name}`).toBeUndefined();
    }
  });

  it("the commands in the examples act in the namespace the account is lent to, never the current one", () => {
    const account = one("soracom-account.yaml");
    const label = /kubectl label namespace (\S+) (\S+)=(\S+)/.exec(
      readFileSync(join(examples, "soracom-account.yaml"), "utf8"),
    );
    expect(label, "soracom-account.yaml says how to label a namespace for the account").not.toBeNull();
    const [, ns, key, value] = label as RegExpExecArray;
    const labels = { "kubernetes.io/metadata.name": ns as string, [key as string]: value as string };
    expect(matchesSelector(account.spec.namespaceSelector, labels)).toBe(true);
    // Commands on orders and profiles (namespaced), in the examples' comments.
    const tenantCommand = /kubectl (apply -f|wait|get esimprofile|get esim |esim (?!resume)|describe esim)/;
    const commands = files.flatMap((f) =>
      readFileSync(join(examples, f), "utf8")
        .split("\n")
        .filter((l) => l.startsWith("#") && tenantCommand.test(l))
        .map((l) => `${f}: ${l}`),
    );
    expect(commands.length).toBeGreaterThan(3);
    for (const c of commands) expect(c).toContain(` -n ${ns} `);
  });

  it("the large order needs several Soracom orders (the vendor sells at most 20 per order)", () => {
    const spec = one("large-order.yaml").spec;
    expect(spec.quantity).toBe(45);
    expect(spec.quantity).toBeGreaterThan(spec.maxProfilesPerOrder);
  });

  it("the adoption names an existing SIM and never terminates it, nor lets Argo CD delete it", () => {
    const profile = one("adopt-existing-sim.yaml");
    expect(profile.kind).toBe("EsimProfile");
    expect(profile.spec.deletionPolicy).toBe("Retain");
    expect(profile.spec.iccid ?? profile.spec.simId ?? profile.spec.imsi).toEqual(expect.any(String));
    expect(profile.metadata.annotations?.["argocd.argoproj.io/sync-options"]).toBe("Prune=false,Delete=false");
  });

  it("the account is lent by label to some namespaces, with budgets, and no tenant credentials", () => {
    const account = one("soracom-account.yaml");
    expect(account.kind).toBe("SoracomAccount");
    expect(account.spec.namespaceSelector.matchLabels).toBeDefined();
    expect(account.spec.budgets.spend.limit).toBeGreaterThan(0);
    expect(account.spec.tenantCredentials.allowed).toBe(false);
    expect(one("large-order.yaml").spec.accountRef).toEqual({ name: account.metadata.name });
  });

  it("the credentials Secret is the account's, in the operator's namespace, with the controller's keys", () => {
    const secret = one("credentials-secret.yaml");
    const account = one("soracom-account.yaml");
    expect(secret.metadata).toEqual({ name: account.spec.credentialsSecretRef.name, namespace: "esim-system" });
    expect(Object.keys(secret.stringData)).toEqual([
      CREDENTIALS_KEYS.authKeyId,
      CREDENTIALS_KEYS.authKey,
      CREDENTIALS_KEYS.coverage,
    ]);
    expect(secret.stringData.authKeyId).toContain("REPLACE-ME");
    expect(secret.stringData.authKey).toContain("REPLACE-ME");
    const text = readFileSync(join(examples, "credentials-secret.yaml"), "utf8");
    expect(text).toContain("kubectl create secret generic");
    expect(text).toMatch(/NEVER commit real keys/);
  });
});

describe("kubectl is available (CI builds it with the control plane)", () => {
  it("is installed, or the run is not CI", (ctx) => requireToolInCi("kubectl", kubectl, ctx));
});

describe.skipIf(!kubectl)("examples/kustomize overlays", () => {
  for (const env of ["sandbox", "production"]) {
    describe(env, () => {
      it("builds one valid order in its own namespace, naming its environment's SoracomAccount", () => {
        const built = kustomize(`kustomize/overlays/${env}`);
        expect(built.map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
          `EsimProfileOrder/fleet-${env}/sensors`,
        ]);
        const order = built[0] as Manifest;
        expect(schemaErrors(order)).toEqual([]);
        expect(order.spec.accountRef).toEqual({ name: env });
        expect(order.spec.credentialsRef).toBeUndefined();
        expect(order.metadata.annotations?.["argocd.argoproj.io/sync-options"]).toBe("Prune=false,Delete=false");
      });

      it("its credentials/ build the account's Secret in the operator's namespace, from a file Git ignores", () => {
        const secret = kustomize(`kustomize/overlays/${env}/credentials`).find((m) => m.kind === "Secret");
        expect(`${secret?.metadata.namespace}/${secret?.metadata.name}`).toBe(`esim-system/soracom-${env}`);
        const data = Object.fromEntries(
          Object.entries(secret?.data as Record<string, string>).map(([k, v]) => [
            k,
            Buffer.from(v, "base64").toString(),
          ]),
        );
        // An account's Secret holds the AuthKey only; where requests go is the SoracomAccount's to say.
        expect(data).toEqual({ coverage: "g", authKeyId: "keyId-REPLACE-ME", authKey: "secret-REPLACE-ME" });
        const ignored = spawnSync(
          "git",
          ["check-ignore", "-q", join(examples, `kustomize/overlays/${env}/credentials/soracom-auth.env`)],
          { cwd: REPO_ROOT },
        );
        expect(ignored.status).toBe(0);
      });
    });
  }

  it("the sandbox account is Soracom's sandbox, lent to fleet-sandbox only, on its Secret", () => {
    const built = kustomize("kustomize/overlays/sandbox/credentials");
    const account = built.find((m) => m.kind === "SoracomAccount") as Manifest;
    expect(account.metadata).toEqual({ name: "sandbox" });
    expect(schemaErrors(account)).toEqual([]);
    expect(account.spec).toMatchObject({
      sandbox: true,
      credentialsSecretRef: { name: "soracom-sandbox" },
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "fleet-sandbox" } },
      tenantCredentials: { allowed: false },
    });
    expect(account.spec.endpoint).toBeUndefined();
  });

  it("the production account comes from the operator's Application: its name, Secret and namespace", () => {
    // The production credentials/ hold the Secret only; deploy/argocd/application.yaml creates the account.
    expect(kustomize("kustomize/overlays/production/credentials").map((m) => m.kind)).toEqual(["Secret"]);
    const operator = parse(readFileSync(join(REPO_ROOT, "deploy/argocd/application.yaml"), "utf8"));
    expect(operator.spec.source.helm.valuesObject.accounts.create).toEqual({
      enabled: true,
      name: "production",
      credentialsSecret: "soracom-production",
      namespaces: ["fleet-production"],
    });
  });

  it("sandbox and production differ only where they should (namespace, quantity, account, label)", () => {
    const [sandbox, production] = [
      kustomize("kustomize/overlays/sandbox")[0],
      kustomize("kustomize/overlays/production")[0],
    ];
    expect(sandbox?.spec.quantity).toBe(2);
    expect(production?.spec.quantity).toBe(40);
    expect({ ...sandbox?.spec, quantity: 0, accountRef: undefined }).toEqual({
      ...production?.spec,
      quantity: 0,
      accountRef: undefined,
    });
  });
});
