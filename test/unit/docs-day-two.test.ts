import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART_DIR, REPO_ROOT } from "./chart-support.js";

// The day-two things a person does, written one way wherever a person reads them: README, docs/, the chart's
// values.yaml and NOTES, and the condition and Event messages the controller writes.
const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
const docs = [
  "README.md",
  ...readdirSync(join(REPO_ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const chart = ["values.yaml", "templates/NOTES.txt"].map((f) => `${CHART_DIR.slice(REPO_ROOT.length + 1)}/${f}`);

/** controllerSources lists controller/**\/*.ts (messages a person reads in conditions, Events and logs). */
function controllerSources(dir = "controller"): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? controllerSources(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : [],
  );
}

/** section is the text of a Markdown section, from its heading to the next heading of its level or above. */
function section(text: string, heading: string): string {
  const start = text.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)?.[0] ?? "##";
  const rest = text.slice(start + heading.length);
  const end = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return end < 0 ? rest : rest.slice(0, end);
}

describe("resuming paused terminations: one way, kubectl esim resume ACCOUNT", () => {
  it("no doc, chart text or controller message tells a person to annotate a ledger ConfigMap", () => {
    // The only exception: the implicit account (credentials from the environment) has no SoracomAccount, so
    // its pause names its own ledger; budget.ts builds that command from the ledger's real name.
    const sources = [...docs, ...chart, ...controllerSources().filter((f) => f !== "controller/budget.ts")];
    const offenders = sources.filter((f) => /annotate configmap|<id>-termination-ledger\s+(?:with|\\)/.test(read(f)));
    expect(offenders).toEqual([]);
  });

  it("README, install, safety, security, runbooks and values.yaml name kubectl esim resume", () => {
    for (const f of [
      "README.md",
      "docs/install.md",
      "docs/safety.md",
      "docs/security.md",
      "docs/runbooks.md",
      chart[0],
    ])
      expect(read(f as string), f).toContain("kubectl esim resume");
  });

  it("where a doc names the termination ledger, it gives both real names: the default account's and another's", () => {
    for (const f of [...docs, ...chart]) {
      const text = read(f as string);
      if (!/termination-ledger/.test(text)) continue;
      expect(text, f).toMatch(/<(?:id|leader-election-id|leaderElection\.id)>-<account>-termination-ledger/);
    }
  });
});

describe("device events: how long they take, and how to ask now", () => {
  const values = parse(read(chart[0] as string));
  const stable: string = values.controller.pollIntervalStable;
  const active: string = values.controller.pollIntervalActive;
  const minutes = (d: string) => (/^(\d+)m$/.exec(d) ? `${/^(\d+)m$/.exec(d)?.[1]} min` : d);

  it("the runbook of a profile deleted on its device says when to expect it and how to poll now", () => {
    const text = section(read("docs/runbooks.md"), "## SoracomEsimProfileDeletedOnDeviceStillBilling");
    expect(text).toContain("kubectl esim refresh");
    expect(text).toContain("controller.pollIntervalStable");
    expect(text).toContain(minutes(stable));
    expect(text).toContain("effectiveIntervalSeconds");
  });

  it("README's How it works gives both poll intervals (the chart's defaults) and the refresh verb", () => {
    const text = section(read("README.md"), "## How it works");
    expect(text).toContain(`${stable.replace(/m$/, "")} min`);
    expect(text).toContain(`${active.replace(/s$/, "")} s`);
    expect(text).toMatch(/device[\s\S]*kubectl esim refresh/);
  });
});
