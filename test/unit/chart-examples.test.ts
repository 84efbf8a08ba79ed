import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { CREDENTIALS_KEYS } from "../../controller/api/vocabulary.js";
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
const validators = { EsimProfileOrder: validatorFor("EsimProfileOrder"), EsimProfile: validatorFor("EsimProfile") };

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

  it("the credentials Secret has the controller's keys, placeholder values, and tells not to commit it", () => {
    const secret = one("credentials-secret.yaml");
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
  const endpoints = { sandbox: "https://g.api-sandbox.soracom.io", production: "https://g.api.soracom.io" };
  for (const [env, endpoint] of Object.entries(endpoints)) {
    describe(env, () => {
      it("builds one valid order in its own namespace, naming its environment's credentials Secret", () => {
        const built = kustomize(`kustomize/overlays/${env}`);
        expect(built.map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
          `EsimProfileOrder/fleet-${env}/sensors`,
        ]);
        const order = built[0] as Manifest;
        expect(schemaErrors(order)).toEqual([]);
        expect(order.spec.credentialsRef).toEqual({ name: `soracom-${env}` });
        expect(order.metadata.annotations?.["argocd.argoproj.io/sync-options"]).toBe("Prune=false,Delete=false");
      });

      it(`its credentials/ build the Secret with the ${env} endpoint, from a file Git ignores`, () => {
        const built = kustomize(`kustomize/overlays/${env}/credentials`);
        const secret = built[0] as Manifest;
        expect(`${secret.kind}/${secret.metadata.namespace}/${secret.metadata.name}`).toBe(
          `Secret/fleet-${env}/soracom-${env}`,
        );
        const data = Object.fromEntries(
          Object.entries(secret.data as Record<string, string>).map(([k, v]) => [
            k,
            Buffer.from(v, "base64").toString(),
          ]),
        );
        expect(data).toMatchObject({
          endpoint,
          coverage: "g",
          authKeyId: "keyId-REPLACE-ME",
          authKey: "secret-REPLACE-ME",
        });
        const ignored = spawnSync(
          "git",
          ["check-ignore", "-q", join(examples, `kustomize/overlays/${env}/credentials/soracom-auth.env`)],
          { cwd: REPO_ROOT },
        );
        expect(ignored.status).toBe(0);
      });
    });
  }

  it("sandbox and production differ only where they should (namespace, quantity, credentials, label)", () => {
    const [sandbox, production] = [
      kustomize("kustomize/overlays/sandbox")[0],
      kustomize("kustomize/overlays/production")[0],
    ];
    expect(sandbox?.spec.quantity).toBe(2);
    expect(production?.spec.quantity).toBe(40);
    expect({ ...sandbox?.spec, quantity: 0, credentialsRef: undefined }).toEqual({
      ...production?.spec,
      quantity: 0,
      credentialsRef: undefined,
    });
  });
});
