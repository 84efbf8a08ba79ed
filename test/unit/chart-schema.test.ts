import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART_DIR, findTool, helmTemplateArgs } from "./chart-support.js";

// values.schema.json is strict: every mistake below must stop `helm template` (and so `helm install`) with a
// message naming the value, instead of being ignored or reaching the cluster.
const helm = findTool("helm");

function templateWith(set: Record<string, string>): { status: number | null; stderr: string } {
  const res = spawnSync(helm as string, helmTemplateArgs({ set }), { encoding: "utf8" });
  return { status: res.status, stderr: res.stderr };
}

describe.skipIf(!helm)("values.schema.json rejects", () => {
  const cases: { name: string; set: Record<string, string>; mentions: string }[] = [
    {
      name: "an unknown top-level key (a typo)",
      set: { replicas: "2" },
      mentions: "additional properties 'replicas' not allowed",
    },
    {
      name: "an unknown nested key",
      set: { "controller.loglevel": "debug" },
      mentions: "additional properties 'loglevel' not allowed",
    },
    {
      name: "a plaintext AuthKey in values",
      set: { "credentials.authKey": "secret-abc" },
      mentions: "additional properties 'authKey' not allowed",
    },
    {
      name: "a plaintext AuthKey ID in values",
      set: { "credentials.authKeyId": "keyId-abc" },
      mentions: "additional properties 'authKeyId' not allowed",
    },
    {
      name: "a writable root filesystem",
      set: { "securityContext.readOnlyRootFilesystem": "false" },
      mentions: "/securityContext/readOnlyRootFilesystem",
    },
    {
      name: "privilege escalation",
      set: { "securityContext.allowPrivilegeEscalation": "true" },
      mentions: "/securityContext/allowPrivilegeEscalation",
    },
    {
      name: "running as root allowed",
      set: { "podSecurityContext.runAsNonRoot": "false" },
      mentions: "/podSecurityContext/runAsNonRoot",
    },
    {
      name: "added capabilities",
      set: { "securityContext.capabilities.add": "{NET_ADMIN}" },
      mentions: "/securityContext/capabilities/add",
    },
    {
      name: "a duration the controller cannot parse",
      set: { "controller.pollIntervalStable": "5 minutes" },
      mentions: "/controller/pollIntervalStable",
    },
    { name: "a duration in days", set: { "budgets.spend.window": "1d" }, mentions: "/budgets/spend/window" },
    {
      name: 'a spend budget that is not a number or "unlimited"',
      set: { "budgets.spend.limit": "lots" },
      mentions: "/budgets/spend/limit",
    },
    {
      name: "a negative termination budget",
      set: { "budgets.termination.limit": "-1" },
      mentions: "/budgets/termination/limit",
    },
    { name: "an unknown log level", set: { "controller.logLevel": "verbose" }, mentions: "/controller/logLevel" },
    { name: "an unknown coverage", set: { "soracom.coverage": "us" }, mentions: "/soracom/coverage" },
    {
      name: "an endpoint with a path",
      set: { "soracom.endpoint": "https://api.soracom.io/v1" },
      mentions: "/soracom/endpoint",
    },
    {
      name: "a namespace name Kubernetes refuses",
      set: { watchNamespaces: "{Team_A}" },
      mentions: "/watchNamespaces/0",
    },
    {
      name: "a privileged port the non-root user cannot bind",
      set: { "controller.port": "80" },
      mentions: "/controller/port",
    },
    {
      name: "an extra argument that is not a flag",
      set: { "controller.extraArgs": "{simulator}" },
      mentions: "/controller/extraArgs/0",
    },
    {
      name: "a runbook base URL without a trailing slash",
      set: { "prometheusRule.runbookBaseUrl": "https://x.example" },
      mentions: "/prometheusRule/runbookBaseUrl",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const res = templateWith(c.set);
      expect(res.status).not.toBe(0);
      expect(res.stderr).toContain("values don't meet the specifications of the schema");
      expect(res.stderr).toContain(c.mentions);
    });
  }

  it('accepts the defaults and an explicit "unlimited" spend budget', () => {
    expect(templateWith({}).status).toBe(0);
    expect(templateWith({ "budgets.spend.limit": "unlimited" }).status).toBe(0);
  });
});

describe("values.schema.json and values.yaml agree", () => {
  const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8"));
  const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));

  /** Walks values and returns the dotted paths the schema does not describe. */
  function undescribed(node: unknown, schemaNode: { properties?: Record<string, unknown> }, path: string): string[] {
    if (!node || typeof node !== "object" || Array.isArray(node) || !schemaNode.properties) return [];
    return Object.entries(node).flatMap(([k, v]) => {
      const child = schemaNode.properties?.[k] as { properties?: Record<string, unknown> } | undefined;
      if (!child) return [`${path}${k}`];
      return undescribed(v, child, `${path}${k}.`);
    });
  }

  it("describes every default value", () => {
    expect(undescribed(values, schema, "")).toEqual([]);
  });

  it("forbids unknown keys in every object it describes", () => {
    const open: string[] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      if (node.type === "object" && node.properties && node.additionalProperties !== false) open.push(path || "(root)");
      for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        walk(v, `${path}${k}.`);
      }
    };
    walk(schema, "");
    expect(open).toEqual([]);
  });
});
