import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { planAccount } from "../../controller/account/plan.js";
import { ANNOTATIONS } from "../../controller/api/vocabulary.js";
import { TerminationLedger } from "../../controller/budget.js";
import { FakeConfigMaps } from "./fake-configmaps.js";

// Issue 25, "one way to do each thing": resume terminations, acknowledge a failed order, approve a draft,
// ask for a poll now. Each has one kubectl esim verb that writes one annotation; what a person reads
// (conditions, Events, README, runbooks, the chart's values, the plugin's README) names both.
const ROOT = path.join(import.meta.dirname, "../..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const NOW = Date.parse("2026-11-26T12:00:00Z");

const WAYS = [
  { verb: "kubectl esim resume", annotation: ANNOTATIONS.resumeTerminations },
  { verb: "kubectl esim ack", annotation: ANNOTATIONS.acknowledgeFailed },
  { verb: "kubectl esim approve", annotation: ANNOTATIONS.approveOrders },
  { verb: "kubectl esim refresh", annotation: ANNOTATIONS.requestedAt },
];

describe("one way to do each thing, named the same everywhere", () => {
  it("an account's TerminationsPaused condition names kubectl esim resume and the annotation", () => {
    const account = { metadata: { name: "iot" }, spec: { credentialsSecretRef: { name: "c" }, namespaceSelector: {} } };
    const plan = planAccount({
      now: NOW,
      account,
      credentials: { ok: true as const, operatorId: "OP1" },
      spend: { remaining: 1, limit: 1, windowMs: 1, used: 0 },
      terminations: {
        allowed: false,
        remaining: 0,
        limit: 5,
        windowMs: 1,
        used: 5,
        paused: { id: "p-1", since: NOW, resume: "" },
      },
      namespaces: [],
    });
    const message = plan.status.conditions?.find((c) => c.type === "TerminationsPaused")?.message ?? "";
    expect(message).toContain(`kubectl esim resume iot (the annotation ${ANNOTATIONS.resumeTerminations}=p-1`);
  });

  it("a SoracomAccount's paused ledger tells profiles to resume with kubectl esim resume, not on its ConfigMap", async () => {
    const api = new FakeConfigMaps();
    const opts = { kube: api, namespace: "ops", limit: 0, windowMs: 3_600_000, name: "x-iot-termination-ledger" };
    const ledger = new TerminationLedger({ ...opts, now: () => NOW, account: () => "iot" });
    await ledger.load();
    await ledger.consume("s1", NOW);
    const resume = ledger.check(NOW).paused?.resume ?? "";
    expect(resume).toMatch(
      /^kubectl esim resume iot \(the annotation esim\.soracom-operator\.io\/resume-terminations=\S+ on SoracomAccount iot\)$/,
    );
  });

  for (const file of ["README.md", "docs/runbooks.md", "plugin/README.md"]) {
    it(`${file} names each verb with its annotation`, () => {
      const text = read(file);
      for (const w of WAYS) {
        expect(text.includes(w.verb), `${file} names ${w.verb}`).toBe(true);
        expect(text.includes(w.annotation), `${file} names ${w.annotation}`).toBe(true);
      }
    });
  }

  it("no doc or chart comment tells a SoracomAccount user to annotate the ledger ConfigMap", () => {
    for (const file of [
      "README.md",
      "docs/runbooks.md",
      "docs/security.md",
      "charts/soracom-esim-operator/values.yaml",
    ]) {
      const text = read(file).replace(/\s+/g, " ");
      expect(text, file).not.toMatch(/kubectl annotate configmap[^`]*<id>-termination-ledger/);
      expect(text, file).not.toMatch(/annotate configmap …/);
    }
  });

  it("the chart's values name kubectl esim resume where they explain the termination budget", () => {
    expect(read("charts/soracom-esim-operator/values.yaml")).toContain("kubectl esim resume");
  });
});
