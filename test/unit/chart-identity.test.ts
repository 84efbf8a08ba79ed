import { describe, expect, it } from "vitest";
import { loadConfig } from "../../controller/config.js";
import { chartValuesFor } from "../support/chart-identity.js";
import { findTool, only, renderChart } from "./chart-support.js";

// The integration tests run the controller as the chart's ServiceAccount, with the RBAC the chart renders
// for the values chartValuesFor derives from the controller's flags. Round trip: the chart installed with
// those values passes the controller flags that mean the same (as far as RBAC goes), or the tests would
// hold the chart to a shape nobody installs.
const helm = findTool("helm");

const config = (flags: string[]) => {
  const cfg = loadConfig(flags, {});
  if (cfg === "help") throw new Error("help");
  return cfg;
};

const rbacRelevant = (cfg: ReturnType<typeof config>) => ({
  namespaces: cfg.namespaces,
  leaderElect: cfg.leaderElect,
  leaderElectionId: cfg.leaderElectionId,
  leaderElectionNamespace: cfg.leaderElectionNamespace,
  operatorNamespace: cfg.operatorNamespace,
  shard: cfg.shard?.name,
  watchActivationSecrets: cfg.watchActivationSecrets,
});

const SHAPES: Record<string, string[]> = {
  "one namespace (the tests' default)": ["--namespaces", "team", "--leader-election-namespace", "team"],
  "several namespaces, a separate release namespace, activation Secrets watched": [
    ...["--namespaces", "a,b,c", "--operator-namespace", "ops", "--leader-election-namespace", "ops"],
    "--watch-activation-secrets",
  ],
  "all namespaces, two shards' one": [
    ...["--shard-selector", "shard=a", "--shard-name", "a", "--leader-elect"],
    ...["--leader-election-namespace", "ops", "--operator-namespace", "ops", "--leader-election-id", "fleet"],
  ],
};

describe.skipIf(!helm)("the chart values derived from the controller's flags", () => {
  for (const [shape, flags] of Object.entries(SHAPES)) {
    it(`${shape}: the chart's Deployment passes flags that mean the same`, () => {
      const cfg = config(flags);
      const values = chartValuesFor(cfg);
      const manifests = renderChart(helm as string, { release: "esim", namespace: values.release, set: values.set });
      const [, ...rendered] = only(manifests, "Deployment").spec.template.spec.containers[0].args as string[];
      const named = (text: string) => text.replace(/zns(\d+)z/g, (_, i) => values.names[Number(i)] as string);
      const back = config(rendered.map(named));
      expect(rbacRelevant(back)).toEqual(rbacRelevant(cfg));
    });
  }

  it("refuses an operator namespace apart from the Lease's: the chart has one release namespace", () => {
    const cfg = config(["--operator-namespace", "ops", "--leader-election-namespace", "elsewhere"]);
    expect(() => chartValuesFor(cfg)).toThrow(/one release namespace/);
  });
});
