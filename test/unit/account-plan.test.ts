import { describe, expect, it } from "vitest";
import { planAccount } from "../../controller/account/plan.js";
import type { SoracomAccount, SoracomAccountStatus } from "../../controller/api/types.js";
import { mergePatchOf } from "../../controller/kube/status.js";
import { expectConventionalConditions } from "../support/conditions.js";

const NOW = Date.parse("2026-11-26T12:00:00Z");
const account = (annotations: Record<string, string> = {}): SoracomAccount => ({
  metadata: { name: "iot", generation: 2, annotations },
  spec: { credentialsSecretRef: { name: "c" }, namespaceSelector: {} },
});
const base = {
  now: NOW,
  credentials: { ok: true as const, operatorId: "OP1" },
  spend: { remaining: 60, limit: 100, windowMs: 86_400_000, used: 40 },
  terminations: { allowed: true, remaining: 18, limit: 20, windowMs: 3_600_000, used: 2 },
  namespaces: ["team-b", "team-a"],
};
const cond = (s: ReturnType<typeof planAccount>["status"], type: string) => s.conditions?.find((c) => c.type === type);

describe("planAccount", () => {
  it("credentials that log in: Ready, the operator, budgets used and left, the namespaces using it", () => {
    const plan = planAccount({ ...base, account: account() });
    expect(cond(plan.status, "Ready")).toMatchObject({ status: "True", observedGeneration: 2 });
    expect(plan.status).toMatchObject({
      operatorId: "OP1",
      budgets: {
        spend: { used: 40, remaining: 60, limit: 100, window: "24h" },
        termination: { used: 2, remaining: 18 },
      },
      namespaces: ["team-a", "team-b"],
    });
  });

  it("a ledger ConfigMap that cannot be parsed shows as LedgerUnreadable, with the ledger's own message", () => {
    expect(cond(planAccount({ ...base, account: account() }).status, "LedgerUnreadable")).toBeUndefined();
    const spend = { ...base.spend, remaining: 0, unreadable: "The spend ledger ConfigMap ops/x cannot be parsed." };
    const plan = planAccount({ ...base, account: account(), spend });
    expect(cond(plan.status, "LedgerUnreadable")).toMatchObject({ status: "True", message: spend.unreadable });
  });

  it("credentials refused: not Ready, Stalled with the reason", () => {
    const plan = planAccount({
      ...base,
      account: account(),
      credentials: { ok: false, reason: "CredentialsInvalid", message: "no" },
    });
    expect(cond(plan.status, "Ready")).toMatchObject({ status: "False", reason: "CredentialsInvalid" });
    expect(cond(plan.status, "Stalled")).toMatchObject({ status: "True" });
  });

  it("paused terminations show the pause and how to resume; the annotation with its id resumes them, another id does not", () => {
    const paused = {
      ...base.terminations,
      allowed: false,
      remaining: 0,
      paused: { id: "p-1", since: NOW - 60_000, resume: "" },
    };
    const waiting = planAccount({ ...base, account: account(), terminations: paused });
    expect(waiting.resume).toBeUndefined();
    expect(waiting.status.budgets?.termination).toMatchObject({ pauseId: "p-1", remaining: 0 });
    expect(cond(waiting.status, "TerminationsPaused")?.message).toContain("resume-terminations=p-1");
    // One way to resume, the same in the docs: the plugin's verb on this account.
    expect(cond(waiting.status, "TerminationsPaused")?.message).toContain(
      `kubectl esim resume ${account().metadata.name} `,
    );
    const stale = planAccount({
      ...base,
      account: account({ "esim.soracom-operator.io/resume-terminations": "p-0" }),
      terminations: paused,
    });
    expect(stale.resume).toBeUndefined();
    const resumed = planAccount({
      ...base,
      account: account({ "esim.soracom-operator.io/resume-terminations": "p-1" }),
      terminations: paused,
    });
    expect(resumed.resume).toBe("p-1");
  });

  it("reports this shard's polling under its name and keeps the other shards' entries as they wrote them", () => {
    const other = { callsPerMinute: 300, effectiveIntervalSeconds: 300, polls: 10 };
    const cr = { ...account(), status: { polling: { b: other } } };
    const plan = planAccount({
      ...base,
      account: cr,
      polling: { shard: "a", report: { perMinute: 24, vendorLimit: 30, effectiveIntervalMs: 50_000, polls: 20 } },
    });
    expect(plan.status.polling).toEqual({
      a: { callsPerMinute: 24, vendorLimitPerMinute: 30, effectiveIntervalSeconds: 50, polls: 20 },
      b: other,
    });
    // Without a budget (unlimited) and before any poll: no callsPerMinute; nothing polled yet: no entry.
    const unlimited = planAccount({
      ...base,
      account: account(),
      polling: { shard: "default", report: { perMinute: null, effectiveIntervalMs: 300_000, polls: 3 } },
    });
    expect(unlimited.status.polling).toEqual({ default: { effectiveIntervalSeconds: 300, polls: 3 } });
    expect(planAccount({ ...base, account: account() }).status.polling).toBeUndefined();
  });

  // Issue 25: `kubectl describe` listed False conditions with empty messages, and windows as 1440m.
  const situations: Record<string, Parameters<typeof planAccount>[0]> = {
    "credentials that log in": { ...base, account: account() },
    "credentials refused": {
      ...base,
      account: account(),
      credentials: { ok: false, reason: "CredentialsInvalid", message: "Soracom refused the credentials: AUM0002." },
    },
    "terminations paused": {
      ...base,
      account: account(),
      terminations: {
        ...base.terminations,
        allowed: false,
        remaining: 0,
        paused: { id: "p-1", since: NOW, resume: "" },
      },
    },
    "a ledger that cannot be parsed": {
      ...base,
      account: account(),
      spend: { ...base.spend, remaining: 0, unreadable: "The spend ledger ConfigMap ops/x cannot be parsed." },
    },
  };
  for (const [sentence, input] of Object.entries(situations)) {
    it(`${sentence}: Ready always, every other condition only while True, each with a reason and a message`, () => {
      expectConventionalConditions(planAccount(input).status.conditions);
    });
  }

  it("a condition that no longer holds goes: the pause and the unreadable ledger leave no False condition behind", () => {
    const before = planAccount(situations["terminations paused"]!).status;
    const broken = planAccount({
      ...situations["a ledger that cannot be parsed"]!,
      account: { ...account(), status: before },
    });
    const after = planAccount({ ...base, account: { ...account(), status: broken.status } }).status;
    expect(after.conditions?.map((c) => c.type)).toEqual(["Ready"]);
  });

  const windows: Record<string, [number, string]> = {
    "a day": [86_400_000, "24h"],
    "an hour and a half": [5_400_000, "1h30m"],
    "ninety seconds": [90_000, "1m30s"],
    "a week": [7 * 86_400_000, "168h"],
  };
  for (const [sentence, [ms, want]] of Object.entries(windows)) {
    it(`a window of ${sentence} reads ${want}, as spec.budgets.*.window is written`, () => {
      const plan = planAccount({
        ...base,
        account: account(),
        spend: { ...base.spend, windowMs: ms },
        terminations: { ...base.terminations, windowMs: ms },
      });
      expect(plan.status.budgets?.spend?.window).toBe(want);
      expect(plan.status.budgets?.termination?.window).toBe(want);
    });
  }

  it("the status patch after a resume removes the pause: pausedSince and pauseId are sent as null", () => {
    const paused = planAccount(situations["terminations paused"]!).status;
    const resumed = planAccount({ ...base, account: { ...account(), status: paused } }).status;
    const patch = mergePatchOf(paused, resumed) as SoracomAccountStatus;
    expect(patch.budgets?.termination).toMatchObject({ pausedSince: null, pauseId: null, remaining: 18 });
    // Applying the patch as the apiserver does leaves no trace of the pause.
    const applied = applyMergePatch(paused, patch) as SoracomAccountStatus;
    expect(applied).toEqual(JSON.parse(JSON.stringify(resumed)));
    expect(mergePatchOf(resumed, resumed)).toBeUndefined();
  });
});

/** applyMergePatch is RFC 7386 as the apiserver applies it. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
