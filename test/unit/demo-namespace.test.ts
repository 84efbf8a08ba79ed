import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./chart-support.js";

// make demo runs the controller in an operator namespace (credentials Secrets, ledgers, Lease): the demo says
// which, and that is the namespace it gives the controller and puts the account's Secret in.
const work = mkdtempSync(join(tmpdir(), "demo-namespace-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const script = (name: string) => readFileSync(join(REPO_ROOT, "scripts", name), "utf8");

describe("the demo's operator namespace", () => {
  const namespace = execFileSync("bash", ["-c", "source scripts/demo-lib.sh && echo $DEMO_OPERATOR_NAMESPACE"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  }).trim();

  it("is named once, in demo-lib.sh", () => {
    expect(namespace).toMatch(/^[a-z0-9-]+$/);
  });

  it("the usage the demo prints at the end names it", () => {
    const usage = execFileSync(
      "bash",
      ["-c", 'source scripts/demo-lib.sh && print_usage "$1" "$2"', "-", "/k", "http://sim"],
      {
        cwd: REPO_ROOT,
        encoding: "utf8",
        env: { ...process.env, DEMO_DIR: relative(REPO_ROOT, work) },
      },
    );
    expect(usage).toContain(`Operator namespace: ${namespace} `);
  });

  it("is the controller's (POD_NAMESPACE) and where the examples' account Secret goes", () => {
    expect(script("demo.sh")).toContain('POD_NAMESPACE="$DEMO_OPERATOR_NAMESPACE"');
    expect(script("demo.sh")).toMatch(/say "starting the controller in operator namespace \$DEMO_OPERATOR_NAMESPACE/);
    expect(script("demo.sh")).toContain('demo-examples.sh "$KUBECTL_BIN" "$SIM_URL" "$DEMO_OPERATOR_NAMESPACE"');
    expect(script("demo-examples.sh")).toMatch(
      /create secret generic soracom-logistics[^\n]*\\\n[^\n]*apply -n "\$ns"/,
    );
  });
});
