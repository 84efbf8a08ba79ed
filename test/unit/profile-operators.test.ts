import { describe, expect, it } from "vitest";
import type { EsimProfile, SoracomAccount } from "../../controller/api/types.js";
import { Operators } from "../../controller/profile/wiring.js";

// As which Soracom operator a profile acts decides whose SIM claims it meets (issue 24, defect 2).
const profile = (ns: string, spec: Partial<EsimProfile["spec"]>): EsimProfile => ({
  metadata: { namespace: ns, name: "p" },
  spec: { simId: "1234567890", ...spec },
});
const accounts = { accountName: (s: { accountRef?: { name: string } }) => s.accountRef?.name ?? "default" };
const cache = (status: Record<string, string | undefined>) => ({
  get: (_ns: string | undefined, name: string) =>
    (name in status ? { metadata: { name }, spec: {}, status: { operatorId: status[name] } } : undefined) as
      | (SoracomAccount & { metadata: { name: string } })
      | undefined,
});
const whoami = (operatorId: string) => ({ whoami: async () => ({ operatorId }) });

describe("Operators", () => {
  it("an account's operator comes from its status without a login; two accounts on one Secret are one operator", () => {
    const ops = new Operators(accounts, cache({ "team-a": "OP-1", "team-b": "OP-1" }));
    expect(ops.of(profile("a", { accountRef: { name: "team-a" } }))).toBe("OP-1");
    expect(ops.of(profile("b", { accountRef: { name: "team-b" } }))).toBe("OP-1");
  });

  it("unknown until known: an account whose status shows none, and the implicit account", async () => {
    const ops = new Operators(accounts, cache({ "team-a": undefined }));
    const p = profile("a", { accountRef: { name: "team-a" } });
    expect(ops.of(p)).toBeUndefined();
    expect(ops.of(profile("a", {}))).toBeUndefined();
    await ops.learn(p, whoami("OP-9"));
    expect(ops.of(p)).toBe("OP-9");
  });

  it("what a login shows wins over the status (the Secret was changed to another operator's keys)", async () => {
    const ops = new Operators(accounts, cache({ "team-a": "OP-1" }));
    const p = profile("a", { accountRef: { name: "team-a" } });
    await ops.learn(p, whoami("OP-2"));
    expect(ops.of(p)).toBe("OP-2");
  });

  it("tenant credentials are their own operator, known only by logging in with them", async () => {
    const ops = new Operators(accounts, cache({ byo: "OP-1" }));
    const own = profile("a", { accountRef: { name: "byo" }, credentialsRef: { name: "mine" } });
    expect(ops.of(own)).toBeUndefined(); // not the account's operator: they may be another's keys
    await ops.learn(own, whoami("OP-7"));
    expect(ops.of(own)).toBe("OP-7");
    expect(ops.of(profile("b", { accountRef: { name: "byo" }, credentialsRef: { name: "mine" } }))).toBeUndefined();
  });
});

describe("Operators.due", () => {
  it("logs in to learn an unknown operator at most once a minute per account (broken credentials stay quiet)", () => {
    const ops = new Operators(accounts, cache({}));
    const p = profile("a", { accountRef: { name: "team-a" } });
    expect(ops.due(p, 1_000)).toBe(true);
    expect(ops.due(profile("b", { accountRef: { name: "team-a" } }), 2_000)).toBe(false);
    expect(ops.due(profile("b", { accountRef: { name: "team-b" } }), 2_000)).toBe(true);
    expect(ops.due(p, 61_000)).toBe(true);
  });
});
