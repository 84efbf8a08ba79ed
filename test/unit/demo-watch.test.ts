import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

// scripts/demo-watch.sh against a kubectl that answers with fixed lists (issue 25: it said every order was
// Ready while 17 of the order's EsimProfiles had no phase and no Ready condition yet).
const root = join(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "demo-watch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** fakeKubectl answers the watch's three questions: the table, the orders' lines and the profiles' lines. */
function fakeKubectl(name: string, orders: string[], profiles: string[]): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/usr/bin/env bash
case "$*" in
  *"esimprofileorders -A -o jsonpath"*) printf '%s\\n' ${orders.map((l) => `'${l}'`).join(" ")} ;;
  *"esimprofiles -A -o jsonpath"*) printf '%s\\n' ${profiles.map((l) => `'${l}'`).join(" ")} ;;
  *) echo "NAME  PHASE" ;;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}

async function watch(kubectl: string, seconds: number): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [join(root, "scripts/demo-watch.sh"), kubectl, String(seconds)]);
  return stdout;
}

const readyOrders = ["fleet Automatic 20 True"];
const profileNames = Array.from({ length: 20 }, (_, i) => `fleet-89423100000000${String(i).padStart(5, "0")}`);

describe("demo-watch", () => {
  it("does not call the demo done while EsimProfiles are not Ready yet, and says how many", async () => {
    const profiles = profileNames.map((p, i) => (i < 3 ? `${p} True` : `${p} `));
    const out = await watch(fakeKubectl("half", readyOrders, profiles), 1);
    expect(out).not.toContain("every EsimProfileOrder is Ready");
    expect(out).toContain("17 of 20 EsimProfiles are not");
  });

  it("calls it done once every order and every profile is Ready", async () => {
    const out = await watch(
      fakeKubectl(
        "all",
        readyOrders,
        profileNames.map((p) => `${p} True`),
      ),
      10,
    );
    expect(out).toContain("every EsimProfileOrder is Ready or waiting for approval, and all 20 EsimProfiles are Ready");
  });

  it("an order waiting for manual approval (no profiles yet) is done, with the command that approves it", async () => {
    const out = await watch(fakeKubectl("manual", ["cameras Manual 10 False"], []), 10);
    expect(out).toContain("all 0 EsimProfiles are Ready");
    expect(out).toContain("approve cameras: kubectl patch esimprofileorder cameras");
  });
});
