import { describe, expect, it } from "vitest";
import type { EsimProfile, SoracomAccount } from "../../controller/api/types.js";
import { ANNOTATIONS, GROUP, PROFILE_FINALIZER, VERSION } from "../../controller/api/vocabulary.js";
import { resourcePath } from "../../controller/kube/rest.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";
import { condition, lendSimulatorAccount, useE2E } from "../support/e2e.js";

// Terminations of a SoracomAccount paused by its budget: every message a person reads (the account's and
// each waiting profile's condition) names one way to resume, `kubectl esim resume <account>`, and that way
// (the account's annotation, set to the pause's id) resumes them, judged by the simulator's SIMs.
const cluster = useCluster();
const e2e = useE2E(cluster);
const accounts = { group: GROUP, version: VERSION, plural: "soracomaccounts" };

const terminated = async (control: { state(): Promise<Record<string, unknown>> }) =>
  ((await control.state()) as { sims: Array<{ status: string }> }).sims.filter((s) => s.status === "terminated").length;

describe("resuming a SoracomAccount's paused terminations", () => {
  it("the pause names kubectl esim resume <account>, and the account's annotation resumes it", async () => {
    const { sim, control } = await e2e.simulator();
    const account = await lendSimulatorAccount(cluster, e2e.kube, sim);
    await e2e.kube.request({
      method: "PATCH",
      path: resourcePath(accounts, account.name),
      contentType: "application/merge-patch+json",
      body: {
        spec: {
          budgets: { termination: { limit: 1, window: "1h" } },
          adoption: { allowed: true, terminate: true },
        },
      },
    });
    const names = ["a", "b", "c"];
    for (const name of names) {
      const { simId } = await control.createSim();
      await cluster.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: cluster.namespace,
        plural: "esimprofiles",
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: "EsimProfile",
          metadata: { name },
          spec: { simId, deletionPolicy: "Terminate", accountRef: { name: account.name } },
        },
      });
    }
    await e2e.controller(sim, { credentials: null });
    await eventually(
      async () => {
        const ps = await e2e.profiles();
        return (
          ps.length === 3 && ps.every((p) => p.metadata.finalizers?.includes(PROFILE_FINALIZER) && p.status?.simId)
        );
      },
      { timeoutMs: 60_000, what: "3 profiles managed" },
    );

    for (const name of names) await e2e.deleteProfile(name);
    const waiting = async () =>
      (await e2e.profiles()).filter((p: EsimProfile) => condition(p, "TerminationsPaused")?.status === "True");
    await eventually(async () => (await waiting()).length === 2, { timeoutMs: 60_000, what: "2 profiles paused" });
    expect(await terminated(control)).toBe(1);
    const resume = `kubectl esim resume ${account.name}`;
    for (const p of await waiting()) expect(condition(p, "TerminationsPaused")?.message).toContain(resume);

    const read = () => e2e.kube.request<SoracomAccount>({ method: "GET", path: resourcePath(accounts, account.name) });
    let pauseId: string | undefined;
    await eventually(
      async () => {
        const a = await read();
        pauseId = a.status?.budgets?.termination?.pauseId;
        return condition(a, "TerminationsPaused")?.status === "True" && pauseId !== undefined;
      },
      // The account's status follows its ledger at its resync (60 s) when nothing else wakes it.
      { timeoutMs: 90_000, what: "the account shows the pause" },
    );
    expect(condition(await read(), "TerminationsPaused")?.message).toContain(resume);

    // What kubectl esim resume does: the account's annotation, set to the pause's id.
    await e2e.kube.request({
      method: "PATCH",
      path: resourcePath(accounts, account.name),
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { [ANNOTATIONS.resumeTerminations]: pauseId } } },
    });
    // A whole new budget (1): one more SIM goes, and the last pauses again.
    await eventually(async () => (await terminated(control)) === 2, { timeoutMs: 60_000, what: "a second SIM" });
    await eventually(async () => (await waiting()).length === 1, { timeoutMs: 60_000, what: "the third paused" });
    expect(await terminated(control)).toBe(2);
  });
});
