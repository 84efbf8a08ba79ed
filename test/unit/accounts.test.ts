import { describe, expect, it } from "vitest";
import { Accounts, type AccountsOptions, onAccountChange, parseWindow, policyOf } from "../../controller/accounts.js";
import type { SoracomAccount } from "../../controller/api/types.js";
import { SoracomClients, VENDOR_ENDPOINTS } from "../../controller/credentials.js";
import { kubeApiError } from "../../controller/kube/errors.js";
import type { InformerHandlers } from "../../controller/kube/informer.js";
import type { KubeObject } from "../../controller/kube/object.js";
import type { KubeClient, KubeRequest } from "../../controller/kube/rest.js";
import { FakeConfigMaps } from "./fake-configmaps.js";

// Which account an object spends from, and whether its namespace may: decided before any Soracom call,
// from what the cluster admin wrote (SoracomAccounts, namespace labels). Every refusal names its reason.

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** fakeKube serves Secrets from a map (counting reads) and ledgers from FakeConfigMaps. */
function fakeKube(secrets: Record<string, Record<string, string>>) {
  const cms = new FakeConfigMaps();
  const reads: string[] = [];
  const kube = {
    request: async <T>(req: KubeRequest): Promise<T> => {
      const m = /\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(req.path);
      if (!m) return cms.request<T>(req);
      reads.push(`${m[1]}/${m[2]}`);
      const data = secrets[`${m[1]}/${m[2]}`];
      if (!data) throw kubeApiError(404, { reason: "NotFound" });
      return {
        metadata: { resourceVersion: "1" },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
      } as T;
    },
  };
  return { kube: kube as unknown as KubeClient, reads, cms };
}

const account = (name: string, spec: Partial<SoracomAccount["spec"]> = {}): SoracomAccount => ({
  metadata: { name },
  spec: {
    credentialsSecretRef: { name: `${name}-creds` },
    namespaceSelector: { matchLabels: { team: name } },
    ...spec,
  },
});

function world(
  opts: {
    accounts?: SoracomAccount[];
    implicit?: boolean;
    defaultAccount?: string;
    implicitNamespaces?: string[];
  } = {},
) {
  const secrets = {
    "ops/iot-creds": { authKeyId: "k", authKey: "s" },
    "ops/lab-creds": { authKeyId: "k2", authKey: "s2" },
    "team-a/own": { authKeyId: "t", authKey: "t" },
    "team-a/own-evil": { authKeyId: "t", authKey: "t", endpoint: "http://127.0.0.1:9999" },
    "team-a/own-vendor": { authKeyId: "t", authKey: "t", endpoint: "https://g.api.soracom.io" },
  };
  const { kube, reads } = fakeKube(secrets);
  const crs = new Map((opts.accounts ?? []).map((a) => [a.metadata.name ?? "", a]));
  const labels: Record<string, Record<string, string>> = {
    "team-a": { team: "iot" },
    "team-b": { team: "lab" },
    "team-c": {},
  };
  const o: AccountsOptions = {
    clients: new SoracomClients({ kube }),
    kube,
    accounts: { get: (_ns, name) => crs.get(name), list: () => [...crs.values()] },
    namespaces: { labels: (ns: string) => labels[ns] } as AccountsOptions["namespaces"],
    operatorNamespace: "ops",
    ledgerPrefix: "esim",
    ...(opts.defaultAccount ? { defaultAccount: opts.defaultAccount } : {}),
    ...(opts.implicit
      ? {
          implicit: {
            credentials: { authKeyId: "env", authKey: "env" },
            policy: {
              adoption: { allowed: true, terminate: true },
              tenantCredentials: true,
              destination: { endpoint: "http://127.0.0.1:8099" },
              budgets: { spend: { limit: 100, windowMs: 1 }, termination: { limit: 20, windowMs: 1 } },
            },
            ...(opts.implicitNamespaces ? { namespaces: opts.implicitNamespaces } : {}),
          },
        }
      : {}),
  };
  return { accounts: new Accounts(o), reads };
}

describe("Accounts.resolve: who may spend from which account", () => {
  const iot = account("iot", { endpoint: "http://127.0.0.1:8080" });
  const lab = account("lab", { tenantCredentials: { allowed: true } });

  const cases: Array<
    [string, Parameters<Accounts["resolve"]>[0], { reason: string; words?: string } | { key: string }]
  > = [
    ["an object naming no account, without a default, is refused", { namespace: "team-a" }, { reason: "NoAccount" }],
    [
      "an account that does not exist is refused",
      { namespace: "team-a", accountRef: { name: "nope" } },
      { reason: "AccountNotFound", words: "SoracomAccount nope does not exist" },
    ],
    [
      "another team's account (its selector does not pick this namespace) is refused, naming the selector",
      { namespace: "team-a", accountRef: { name: "lab" } },
      { reason: "NamespaceNotAllowed", words: "namespaceSelector is team=lab" },
    ],
    [
      "a namespace without labels is refused",
      { namespace: "team-c", accountRef: { name: "iot" } },
      { reason: "NamespaceNotAllowed" },
    ],
    [
      "an unknown namespace is refused",
      { namespace: "gone", accountRef: { name: "iot" } },
      { reason: "NamespaceNotAllowed" },
    ],
    [
      "its own team's account is given, under the account's key",
      { namespace: "team-a", accountRef: { name: "iot" } },
      { key: "account:iot" },
    ],
    [
      "tenant credentials are refused where the account does not allow them",
      { namespace: "team-a", accountRef: { name: "iot" }, credentialsRef: { name: "own" } },
      { reason: "TenantCredentialsNotAllowed" },
    ],
    [
      "a credentialsRef names a Secret of the object's own namespace only: another team's is not found",
      { namespace: "team-b", accountRef: { name: "lab" }, credentialsRef: { name: "own-evil" } },
      { reason: "CredentialsNotFound" },
    ],
  ];
  for (const [sentence, claimant, want] of cases) {
    it(sentence, async () => {
      const { accounts } = world({ accounts: [iot, lab] });
      const r = await accounts.resolve(claimant);
      if ("key" in want) {
        expect(r.ok).toBe(true);
        // The account, then the source of its client (a hash of credentials and destination).
        if (r.ok) expect(r.resolved.key).toMatch(new RegExp(`^${want.key}#[0-9a-f]{16}$`));
      } else {
        expect(r).toMatchObject({ ok: false, reason: want.reason });
        if (!r.ok && want.words) expect(r.message).toContain(want.words);
      }
    });
  }

  it("a tenant Secret naming a foreign endpoint is refused (the Secret of the tenant's own namespace is the one read)", async () => {
    const { accounts, reads } = world({
      accounts: [account("lab", { namespaceSelector: {}, tenantCredentials: { allowed: true } })],
    });
    const r = await accounts.resolve({
      namespace: "team-a",
      accountRef: { name: "lab" },
      credentialsRef: { name: "own-evil" },
    });
    expect(r).toMatchObject({ ok: false, reason: "EndpointNotAllowed" });
    expect(reads).toEqual(["team-a/own-evil"]);
    const vendor = await accounts.resolve({
      namespace: "team-a",
      accountRef: { name: "lab" },
      credentialsRef: { name: "own-vendor" },
    });
    expect(vendor.ok).toBe(true);
    if (vendor.ok) {
      expect(vendor.resolved.key).toMatch(/^account:lab\/secret:team-a\/own-vendor#[0-9a-f]{16}$/);
      expect(vendor.resolved.client.baseUrl).toBe("https://g.api.soracom.io/v1");
    }
  });

  it("an account's own credentials are read only in the operator's namespace", async () => {
    const { accounts, reads } = world({ accounts: [account("iot")] });
    const r = await accounts.resolve({ namespace: "team-a", accountRef: { name: "iot" } });
    expect(r.ok).toBe(true);
    expect(reads).toEqual(["ops/iot-creds"]);
  });

  it("the default account serves objects that name none, within its own selector", async () => {
    const { accounts } = world({ accounts: [account("iot")], defaultAccount: "iot" });
    expect((await accounts.resolve({ namespace: "team-a" })).ok).toBe(true);
    expect(await accounts.resolve({ namespace: "team-b" })).toMatchObject({ ok: false, reason: "NamespaceNotAllowed" });
  });

  it("single-tenant mode: the implicit account serves every namespace, until a SoracomAccount of that name exists", async () => {
    const implicit = world({ implicit: true, defaultAccount: "default" });
    expect((await implicit.accounts.resolve({ namespace: "team-c" })).ok).toBe(true);
    const real = world({
      implicit: true,
      defaultAccount: "default",
      accounts: [account("default", { credentialsSecretRef: { name: "iot-creds" } })],
    });
    expect(await real.accounts.resolve({ namespace: "team-c" })).toMatchObject({
      ok: false,
      reason: "NamespaceNotAllowed",
    });
  });

  it("once any SoracomAccount exists, the implicit account serves only the namespaces listed for it", async () => {
    // Every namespace, whether or not some account selects it: an object naming no account is refused.
    for (const namespace of ["team-a", "team-b", "team-c"]) {
      const { accounts, reads } = world({ implicit: true, defaultAccount: "default", accounts: [account("iot")] });
      const r = await accounts.resolve({ namespace });
      expect(r, namespace).toMatchObject({ ok: false, reason: "ImplicitAccountClosed" });
      if (!r.ok) expect(r.message).toContain("--implicit-account-namespaces");
      expect(reads).toEqual([]);
      expect(await accounts.authorize({ namespace })).toMatchObject({ refused: { reason: "ImplicitAccountClosed" } });
    }
    const listed = world({
      implicit: true,
      defaultAccount: "default",
      accounts: [account("iot")],
      implicitNamespaces: ["team-c"],
    });
    expect((await listed.accounts.resolve({ namespace: "team-c" })).ok).toBe(true);
    expect(await listed.accounts.resolve({ namespace: "team-b" })).toMatchObject({ reason: "ImplicitAccountClosed" });
    // Naming the SoracomAccount that selects the namespace works as before.
    expect((await listed.accounts.resolve({ namespace: "team-a", accountRef: { name: "iot" } })).ok).toBe(true);
  });

  it("clients follow each account's destination: two accounts on one Secret, an account moved to sandbox", async () => {
    const first = account("iot", { endpoint: "http://127.0.0.1:8080" });
    const second = account("lab", { credentialsSecretRef: { name: "iot-creds" }, endpoint: "http://127.0.0.1:8081" });
    const { accounts } = world({ accounts: [first, second] });
    const resolved = async (namespace: string, name: string) => {
      const r = await accounts.resolve({ namespace, accountRef: { name } });
      if (!r.ok) throw new Error(r.message);
      return r.resolved;
    };
    const a = await resolved("team-a", "iot");
    const b = await resolved("team-b", "lab");
    expect(a.client.baseUrl).toBe("http://127.0.0.1:8080/v1");
    expect(b.client.baseUrl).toBe("http://127.0.0.1:8081/v1");
    expect(a.key.split("#")[1]).not.toBe(b.key.split("#")[1]);
    // The admin moves the first account to Soracom's sandbox, then to another coverage: at once, same Secret.
    first.spec = { ...first.spec, endpoint: undefined, sandbox: true } as SoracomAccount["spec"];
    const sandbox = await resolved("team-a", "iot");
    expect(sandbox.client.baseUrl).toBe("https://g.api-sandbox.soracom.io/v1");
    expect(sandbox.key).not.toBe(a.key);
    first.spec = { ...first.spec, sandbox: false, coverage: "jp" } as SoracomAccount["spec"];
    expect((await resolved("team-a", "iot")).client.baseUrl).toBe("https://api.soracom.io/v1");
    // The same source again is the same client (and key): nothing is made twice.
    expect((await resolved("team-b", "lab")).client).toBe(b.client);
  });

  it("the default account keeps the installation's ledgers; another account has its own", async () => {
    const { accounts } = world({ accounts: [account("iot"), account("lab")], defaultAccount: "iot" });
    expect((await accounts.get("iot"))?.spend.ref).toBe("ops/esim-spend-ledger");
    expect((await accounts.get("iot"))?.terminations.ref).toBe("ops/esim-termination-ledger");
    expect((await accounts.get("lab"))?.spend.ref).toBe("ops/esim-lab-spend-ledger");
  });

  it("a pause names one way to resume: kubectl esim resume for a SoracomAccount, the real ledger without one", async () => {
    const none = { budgets: { termination: { limit: 0, window: "1h" } } };
    const { accounts } = world({ accounts: [account("lab", none)], implicit: true, defaultAccount: "default" });
    const T = Date.now();
    const pausedResume = async (name: string) => {
      const t = (await accounts.get(name))?.terminations;
      expect(await t?.consume("sim-1", T)).toBe(false);
      return t?.check(T).paused?.resume;
    };
    expect(await pausedResume("lab")).toMatch(
      /^kubectl esim resume lab \(the annotation esim\.soracom-operator\.io\/resume-terminations=\S+ on SoracomAccount lab\)$/,
    );
    // The implicit account (credentials from the environment) has no SoracomAccount to annotate.
    const implicit = (await accounts.get("default"))?.terminations;
    for (let i = 0; i <= 20; i++) await implicit?.consume(`sim-${i}`, T);
    expect(implicit?.check(T).paused?.resume).toMatch(
      /^kubectl annotate configmap -n ops esim-termination-ledger esim\.soracom-operator\.io\/resume-terminations=\S+ --overwrite$/,
    );
  });
});

describe("policyOf", () => {
  it("reads budgets, adoption and tenant credentials with safe defaults", () => {
    const p = policyOf(account("x"));
    expect(p).toMatchObject({
      adoption: { allowed: false, terminate: false },
      tenantCredentials: false,
      budgets: { spend: { limit: 100, windowMs: 86_400_000 }, termination: { limit: 20, windowMs: 3_600_000 } },
    });
    const q = policyOf(
      account("y", { budgets: { spend: { unlimited: true }, termination: { limit: 5, window: "30m" } } }),
    );
    expect(q.budgets).toEqual({
      spend: { limit: null, windowMs: 86_400_000, source: "SoracomAccount y spec.budgets.spend" },
      termination: { limit: 5, windowMs: 1_800_000, source: "SoracomAccount y spec.budgets.termination" },
    });
    // A budget the spec leaves out is the account's default, and says so (not a controller flag).
    expect(p.budgets.spend.source).toBe("the default of SoracomAccount x, whose spec.budgets.spend is unset");
  });

  it("parses windows people write", () => {
    expect(parseWindow("1h30m", 0)).toBe(5_400_000);
    expect(parseWindow("soon", 7)).toBe(7);
  });

  it("the vendor's endpoints are the four Soracom origins", () => {
    expect([...VENDOR_ENDPOINTS].sort()).toEqual([
      "https://api-sandbox.soracom.io",
      "https://api.soracom.io",
      "https://g.api-sandbox.soracom.io",
      "https://g.api.soracom.io",
    ]);
  });
});

describe("Accounts.onLedgerWrite: an account's status hears of every ledger write (issue 25)", () => {
  it("a spend, a termination, the pause it records and a resume each tell the account's name at once", async () => {
    const limited = account("iot", { budgets: { termination: { limit: 1 } } });
    const { accounts } = world({ accounts: [limited] });
    const told: string[] = [];
    accounts.onLedgerWrite((name) => told.push(name));
    const iot = (await accounts.get("iot"))!;
    const now = Date.now();
    await iot.spend.record([{ token: "t-1", quantity: 5 }], now);
    expect(told).toEqual(["iot"]);
    await iot.terminations.consume("sim-1", now);
    expect(await iot.terminations.consume("sim-2", now)).toBe(false); // the budget is used up: paused
    expect(told).toEqual(["iot", "iot", "iot"]);
    const pause = iot.terminations.check(now).paused!;
    expect(iot.terminations.check(now)).toMatchObject({
      remaining: 0,
      source: "SoracomAccount iot spec.budgets.termination",
    });
    await iot.terminations.resume(pause.id);
    expect(told).toHaveLength(4);
    // A record that changes nothing (the same token again) writes nothing and tells nobody.
    await iot.spend.record([{ token: "t-1", quantity: 5 }], now);
    expect(told).toHaveLength(4);
  });
});

describe("onAccountChange: who is woken when an account changes", () => {
  const account = (generation: number, ready?: "True" | "False", used = 0) =>
    ({
      apiVersion: "esim.soracom-operator.io/v1alpha1",
      kind: "SoracomAccount",
      metadata: { name: "logistics", generation },
      spec: { credentialsSecretRef: { name: "s" } },
      status: {
        ...(ready ? { conditions: [{ type: "Ready", status: ready }] } : {}),
        budgets: { spend: { used, limit: 100, remaining: 100 - used, window: "24h" } },
      },
    }) as unknown as SoracomAccount & KubeObject;

  it("wakes on add, delete, a spec change and a Ready flip; not on a budget-only status write", () => {
    let handlers: InformerHandlers<SoracomAccount & KubeObject> = {};
    const woken: string[] = [];
    onAccountChange({ addHandler: (h) => (handlers = h) }, (name) => woken.push(name));
    handlers.add?.(account(1));
    expect(woken).toEqual(["logistics"]);
    handlers.update?.(account(1, "True", 0), account(1, "True", 5));
    expect(woken).toHaveLength(1);
    handlers.update?.(account(1, "True", 5), account(2, "True", 5));
    handlers.update?.(account(2, "True", 5), account(2, "False", 5));
    handlers.delete?.(account(2, "False", 5));
    expect(woken).toEqual(["logistics", "logistics", "logistics", "logistics"]);
  });
});
