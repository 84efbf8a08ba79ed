import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { matchesSelector } from "../../controller/kube/labels.js";
import {
  CHART_DIR,
  findTool,
  KUBE_VERSION,
  type Manifest,
  parseManifests,
  TEST_IMAGE_REPOSITORY,
} from "./chart-support.js";

// NOTES.txt is what `helm install` prints. `helm template` does not render it, so the test renders it
// through a copy of the chart whose extra template puts tpl(NOTES.txt) into a ConfigMap.
const helm = findTool("helm");
const work = mkdtempSync(join(tmpdir(), "chart-notes-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function notes(set: Record<string, string> = {}): string {
  const chart = join(work, "chart");
  rmSync(chart, { recursive: true, force: true });
  cpSync(CHART_DIR, chart, { recursive: true });
  cpSync(join(chart, "templates/NOTES.txt"), join(chart, "files/NOTES.txt"));
  writeFileSync(
    join(chart, "templates/notes-probe.yaml"),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "files/NOTES.txt") . | quote }}\n',
  );
  const args = ["template", "esim", chart, "-n", "esim-system", "--kube-version", KUBE_VERSION];
  for (const [k, v] of Object.entries({ "image.repository": TEST_IMAGE_REPOSITORY, ...set }))
    args.push("--set", `${k}=${v}`);
  const out = execFileSync(helm as string, [...args, "--show-only", "templates/notes-probe.yaml"], {
    encoding: "utf8",
  });
  return parseManifests(out)[0]?.data.notes as string;
}

/** createdAccount is the SoracomAccount the chart renders for these values (undefined: none). */
function createdAccount(set: Record<string, string>): Manifest | undefined {
  const args = ["template", "esim", CHART_DIR, "-n", "esim-system", "--kube-version", KUBE_VERSION];
  for (const [k, v] of Object.entries({ "image.repository": TEST_IMAGE_REPOSITORY, ...set }))
    args.push("--set", `${k}=${v}`);
  return parseManifests(execFileSync(helm as string, args, { encoding: "utf8" })).find(
    (m) => m.kind === "SoracomAccount",
  );
}

/** tryIt reads NOTES' "Try it": the namespace, the labels it tells to set there, and the order it applies. */
function tryIt(text: string) {
  const apply = /kubectl apply -n (\S+) -f - <<'YAML'\n([\s\S]*?)\n\s*YAML\n/.exec(text);
  expect(apply, text).not.toBeNull();
  const ns = apply?.[1] as string;
  const labels: Record<string, string> = { "kubernetes.io/metadata.name": ns };
  for (const line of text.matchAll(new RegExp(`kubectl label namespace ${ns} (.*)`, "g")))
    for (const kv of (line[1] as string).split("#")[0]?.trim().split(/\s+/) ?? []) {
      const [k, v] = kv.split("=");
      labels[k as string] = v as string;
    }
  return { ns, labels, order: parse(apply?.[2] as string) as Manifest };
}

const accountValues: Array<[string, Record<string, string>]> = [
  ["an account the chart creates for listed namespaces", { "accounts.create.namespaces": "{fleet-a,fleet-b}" }],
  [
    "an account the chart creates for labelled namespaces",
    { "accounts.create.namespaceSelector.matchLabels.team": "iot" },
  ],
  ["an account the chart creates for every namespace", {}],
];

describe.skipIf(!helm)("NOTES.txt Try it: into a namespace the account selects, never the current one", () => {
  for (const [what, extra] of accountValues) {
    it(`${what}: the namespace, labelled as NOTES says, is one the account selects, and the order names it`, () => {
      const set = { "accounts.create.enabled": "true", "accounts.create.credentialsSecret": "creds", ...extra };
      const account = createdAccount(set) as Manifest;
      const { labels, order } = tryIt(notes(set));
      expect(matchesSelector(account.spec.namespaceSelector, labels), JSON.stringify(labels)).toBe(true);
      expect(order.spec.accountRef).toEqual({ name: account.metadata.name });
      expect(order.spec.credentialsRef).toBeUndefined();
    });
  }

  it("an account the admin made (accounts.default): names it, shows its selector and how to label", () => {
    const text = notes({ "accounts.default": "fleet" });
    const { ns, order } = tryIt(text);
    expect(order.spec.accountRef).toEqual({ name: "fleet" });
    expect(text).toContain("kubectl get soracomaccount fleet -o jsonpath='{.spec.namespaceSelector}");
    expect(text).toContain(`kubectl label namespace ${ns} `);
  });

  it("without any account: says to create one and label the namespace first", () => {
    const text = notes();
    const { ns, order } = tryIt(text);
    expect(text).toContain("First create a SoracomAccount");
    expect(text).toContain(`kubectl label namespace ${ns} `);
    expect(order.spec.accountRef).toEqual({ name: "<your-account>" });
  });

  it("single-tenant credentials: a namespace they serve, no accountRef", () => {
    const { ns, order } = tryIt(notes({ "credentials.existingSecret": "s", "credentials.namespaces": "{team-x}" }));
    expect(ns).toBe("team-x");
    expect(order.spec.accountRef).toBeUndefined();
  });

  it("every kubectl command of the Try it names its namespace", () => {
    const sets: Array<Record<string, string>> = [
      {},
      { "accounts.default": "fleet" },
      { "credentials.existingSecret": "s" },
    ];
    for (const set of sets) {
      const text = notes(set).split("Try it")[1] as string;
      const commands = text.split("\n").filter((l) => /^\s+kubectl (apply|get esim|wait)/.test(l));
      expect(commands).toHaveLength(3);
      for (const c of commands) expect(c).toMatch(/ -n \S+ /);
    }
  });
});

describe.skipIf(!helm)("NOTES.txt", () => {
  it("warns when there are no default credentials", () => {
    expect(notes()).toContain("WARNING: no default credentials");
  });

  it("with an account the chart creates (or names as default), names it instead of warning", () => {
    const created = notes({ "accounts.create.enabled": "true", "accounts.create.credentialsSecret": "creds" });
    expect(created).toContain("Default account: SoracomAccount default");
    expect(created).not.toContain("WARNING");
    expect(notes({ "accounts.default": "fleet" })).toContain("Default account: SoracomAccount fleet");
    expect(notes()).toContain("must name a SoracomAccount");
  });

  it("names the credentials Secret and how to create it with kubectl, with placeholders only", () => {
    const text = notes({ "credentials.existingSecret": "soracom-credentials" });
    expect(text).toContain("Secret esim-system/soracom-credentials");
    expect(text).toContain("kubectl create secret generic soracom-credentials -n esim-system");
    expect(text).not.toContain("WARNING: no default credentials");
  });

  it("says the default credentials serve only credentials.namespaces once a SoracomAccount exists", () => {
    const none = notes({ "credentials.existingSecret": "soracom-credentials" });
    expect(none).toContain("only while no SoracomAccount exists");
    expect(none).toContain("credentials.namespaces (none now)");
    const listed = notes({ "credentials.existingSecret": "soracom-credentials", "credentials.namespaces": "{a,b}" });
    expect(listed).toContain("a, b (credentials.namespaces)");
  });

  it("states the budgets in force, and a dry run when on", () => {
    const text = notes({ "budgets.spend.limit": "30", "controller.dryRun": "true" });
    expect(text).toContain("spend budget:       30 profiles ordered per 24h");
    expect(text).toContain("termination budget: 20 SIM terminations per 1h");
    expect(text).toContain("DRY RUN");
  });

  it("says which Soracom API it talks to, sandbox included", () => {
    expect(notes({ "soracom.sandbox": "true", "soracom.coverage": "g" })).toContain(
      "Soracom API: coverage g (SANDBOX)",
    );
    expect(notes({ "soracom.endpoint": "https://g.api-sandbox.soracom.io" })).toContain(
      "Soracom API: https://g.api-sandbox.soracom.io",
    );
    // The account the chart creates talks to its own endpoint: NOTES says that one, on a line of its own.
    const account = notes({
      "accounts.create.enabled": "true",
      "accounts.create.credentialsSecret": "soracom-credentials",
      "accounts.create.endpoint": "http://10.96.0.50:8080",
    });
    expect(account).toMatch(/\n\nSoracom API of SoracomAccount default: http:\/\/10\.96\.0\.50:8080\n/);
    expect(account).not.toContain("coverage from the credentials Secret");
    expect(notes()).toContain("Soracom API: coverage from the credentials Secret (global, g, when it names none)");
  });

  it("warns that uninstalling keeps the CRDs and points to the safe uninstall", () => {
    expect(notes()).toMatch(/Uninstalling keeps the CRDs[\s\S]*docs\/install\.md/);
  });
});
