import { afterAll, describe, expect, it } from "vitest";
import {
  apply,
  condition,
  ctr,
  E2E,
  esim,
  helm,
  items,
  json,
  type K8sObject,
  kubectl,
  namespace,
  order,
  printTable,
  record,
  sim,
  waitFor,
  window,
} from "./support.js";

// The five scenarios of `make e2e`, in order (the last uninstalls the chart), each judged from the
// simulator's call log and from the cluster: the chart's image runs as a pod on a real node
// (scripts/e2e/up.sh), kube-controller-manager's garbage collector and namespace controller do the deleting.

const getOrder = (ns: string, name: string) => json<K8sObject>(["get", "esimprofileorder", name, "-n", ns]);
const profilesIn = (ns: string) => items(["get", "esimprofiles", "-n", ns]);
async function ready(ns: string, name: string, timeoutMs = 240_000): Promise<K8sObject> {
  return waitFor(
    `EsimProfileOrder ${ns}/${name} Ready`,
    async () => {
      const o = await getOrder(ns, name);
      return condition(o, "Ready")?.status === "True" && o;
    },
    timeoutMs,
  );
}
/** tenantOrder: a namespace whose order of `quantity` uses a tenant credentials Secret of its own, Ready. */
async function tenantOrder(ns: string, quantity: number): Promise<void> {
  await namespace(ns);
  await kubectl([
    "-n",
    ns,
    "create",
    "secret",
    "generic",
    "tenant-soracom",
    "--from-literal=authKeyId=keyId-simulator",
    "--from-literal=authKey=secret-simulator",
  ]);
  await apply(order(ns, "tenant", quantity, "  credentialsRef: {name: tenant-soracom}\n"));
  await ready(ns, "tenant");
}
const terminatedSims = (calls: Array<{ operation: string; path: string }>) =>
  calls
    .filter((c) => c.operation === "terminateSim")
    .map((c) => /\/sims\/([^/]+)\/terminate/.exec(c.path)?.[1])
    .sort();

afterAll(() => printTable());

describe.sequential("the chart's pod on a real node", () => {
  it("1. an order of 45: 3 Soracom orders (20, 20, 5), 45 EsimProfiles and Secrets, Ready", async () => {
    const w = await window();
    await namespace("e2e-order");
    await apply(order("e2e-order", "fleet", 45));
    const o = await ready("e2e-order", "fleet");
    const profiles = await profilesIn("e2e-order");
    const secrets = new Set((await items(["get", "secrets", "-n", "e2e-order"])).map((s) => s.metadata.name));
    const counts = await w.counts();
    record("1. order of 45", counts);

    expect(counts).toEqual({ creates: 3, confirms: 3, cancels: 0, terminates: 0 });
    expect(o.status?.orders?.map((x) => x.quantity).sort((a, b) => b - a)).toEqual([20, 20, 5]);
    expect(profiles).toHaveLength(45);
    for (const p of profiles) {
      expect(p.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toEqual(["EsimProfileOrder/fleet"]);
      expect(secrets.has(p.status?.activationSecretRef?.name ?? "(none)"), `${p.metadata.name}'s Secret`).toBe(true);
    }
  });

  it("2. kubectl delete of an order: GC deletes its profiles, each as its deletionPolicy says", async () => {
    const ns = "e2e-delete";
    await namespace(ns);
    await apply(order(ns, "doomed", 4));
    await ready(ns, "doomed");
    const profiles = await profilesIn(ns);
    expect(profiles).toHaveLength(4);
    const retained = profiles.slice(0, 2);
    for (const p of retained) {
      await kubectl([
        "patch",
        "esimprofile",
        p.metadata.name,
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        '{"spec":{"deletionPolicy":"Retain"}}',
      ]);
    }
    const terminate = profiles
      .slice(2)
      .map((p) => p.status?.simId)
      .sort();
    // Terminations answer slowly (3 s each): long enough to see what waits while they run.
    await sim.fault("terminateSim", "latency", 2, 3000);
    const w = await window();
    await kubectl(["delete", "esimprofileorder", "doomed", "-n", ns, "--wait=false"]);
    const seen = { reasons: new Set<string>(), messages: new Set<string>(), status: "" };
    await waitFor(
      "the order's EsimProfiles gone",
      async () => {
        const left = await profilesIn(ns);
        for (const p of left) {
          if (p.metadata.deletionTimestamp && p.status?.phase) seen.reasons.add(`phase ${p.status.phase}`);
          for (const c of p.status?.conditions ?? []) {
            if (p.metadata.deletionTimestamp && c.reason) seen.reasons.add(c.reason);
            if (p.metadata.deletionTimestamp && c.message) seen.messages.add(c.message);
          }
        }
        if (left.length > 0 && !seen.status)
          seen.status = await esim(["status", "-n", ns, "-o", "yaml"]).catch((e) => String(e));
        return left.length === 0;
      },
      120_000,
    );
    const counts = await w.counts();
    record("2. kubectl delete order", counts);
    console.log("2. while deleting:", [...seen.reasons], [...seen.messages], `\n${seen.status}`);

    expect(counts).toEqual({ creates: 0, confirms: 0, cancels: 0, terminates: 2 });
    expect(terminatedSims(await w.calls())).toEqual(terminate);
    // What a person sees: an Event per profile, naming its SIM and what was done to it.
    const events = await items<K8sObject & { reason: string; message: string; involvedObject: { name: string } }>([
      "get",
      "events",
      "-n",
      ns,
    ]);
    for (const p of profiles) {
      const kept = retained.includes(p);
      const event = events.find(
        (e) => e.involvedObject.name === p.metadata.name && e.reason === (kept ? "SimRetained" : "SimTerminated"),
      );
      expect(event?.message, `${p.metadata.name}: ${kept ? "Retain" : "Terminate"}`).toContain(
        `SIM ${p.status?.simId}`,
      );
    }
    // Within the termination budget (20 per hour): nothing paused.
    expect(events.filter((e) => e.reason === "TerminationsPaused")).toEqual([]);
  });

  it("3. deleting a namespace with an order, Terminate profiles and their credentials: finishes, or says what blocks it", async () => {
    const ns = "e2e-nsdel";
    await tenantOrder(ns, 3);
    const w = await window();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
    const outcome = await waitFor(
      "the namespace gone, or every profile left naming what blocks it",
      async () => {
        const gone = await kubectl(["get", "namespace", ns]).then(
          () => false,
          (e: Error) => /NotFound/.test(e.message),
        );
        if (gone) return { finished: true, blocked: [] as string[] };
        const left = await profilesIn(ns);
        const blocked = left.flatMap((p) =>
          (p.status?.conditions ?? [])
            .filter((c) => c.type === "Stalled" && c.status === "True")
            .map((c) => `${p.metadata.name}: ${c.reason}: ${c.message}`),
        );
        return left.length > 0 && blocked.length === left.length && { finished: false, blocked };
      },
      120_000,
    );
    const counts = await w.counts();
    record(`3. delete namespace (${outcome.finished ? "finished" : "waits"})`, counts);
    console.log("3. namespace deletion:", outcome);
    // Nothing is bought while the namespace goes; drafts there were none.
    expect({ creates: counts.creates, confirms: counts.confirms }).toEqual({ creates: 0, confirms: 0 });
    if (outcome.finished) {
      expect(counts.terminates).toBe(3);
    } else {
      // It waits: each profile names the missing Secret and the way out (the apiserver refuses new Events
      // in a namespace being deleted, so the condition is where a person reads it; 3b forces this case).
      for (const b of outcome.blocked) {
        expect(b).toContain("tenant-soracom");
        expect(b).toContain("set spec.deletionPolicy to Retain");
      }
    }
  });

  it("3b. the same with the controller down while the namespace empties: it waits, naming the Secret, until Retain", async () => {
    const ns = "e2e-nsdel-cold";
    const deploy = ["-n", E2E.operatorNamespace, "deployment", "-l", "app.kubernetes.io/name=soracom-esim-operator"];
    await tenantOrder(ns, 2);
    // No controller (so no cached credentials) while the namespace controller deletes the Secret first.
    await kubectl(["scale", ...deploy, "--replicas=0"]);
    await waitFor(
      "the controller's pods gone",
      async () =>
        (await items(["get", "pods", ...deploy.slice(0, 2), "-l", "app.kubernetes.io/name=soracom-esim-operator"]))
          .length === 0,
      90_000,
    );
    const w = await window();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
    await waitFor(
      "the credentials Secret deleted",
      async () => (await items(["get", "secrets", "-n", ns])).every((x) => x.metadata.name !== "tenant-soracom"),
      60_000,
    );
    await kubectl(["scale", ...deploy, "--replicas=1"]);
    const blocked = await waitFor(
      "every profile left naming the missing Secret",
      async () => {
        const left = await profilesIn(ns);
        const named = left.filter((p) =>
          (p.status?.conditions ?? []).some(
            (c) => c.type === "Stalled" && c.status === "True" && c.message?.includes("tenant-soracom"),
          ),
        );
        return left.length === 2 && named.length === 2 && named.map((p) => condition(p, "Stalled")?.message ?? "");
      },
      120_000,
    );
    const nsStatus = JSON.stringify((await json<K8sObject>(["get", "namespace", ns])).status?.conditions);
    // The way out: the profiles to Retain (their SIMs are then left alone), and the namespace finishes.
    for (const p of await profilesIn(ns)) {
      await kubectl([
        "patch",
        "esimprofile",
        p.metadata.name,
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        '{"spec":{"deletionPolicy":"Retain"}}',
      ]);
    }
    await waitFor(
      "namespace gone after Retain",
      () =>
        kubectl(["get", "namespace", ns]).then(
          () => false,
          () => true,
        ),
      60_000,
    );
    const counts = await w.counts();
    record("3b. delete namespace, cold (waits)", counts);
    console.log("3b. waited with:", blocked, nsStatus);

    expect(counts).toEqual({ creates: 0, confirms: 0, cancels: 0, terminates: 0 });
    // Each says the way out, and the namespace's own conditions name the finalizer that holds it.
    for (const m of blocked) expect(m).toContain("set spec.deletionPolicy to Retain");
    expect(nsStatus).toContain("esim.soracom-operator.io/sim-lifecycle");
  });

  it("4. controller killed mid-order, then helm upgrade to 2 replicas rolling mid-order: no duplicate order", async () => {
    const ns = "e2e-restart";
    await namespace(ns);
    const w = await window();
    await apply(order(ns, "first", 30));
    await waitFor("the first order's first create", async () => (await w.counts()).creates >= 1, 60_000);
    const [pod] = await items<
      K8sObject & { status: { containerStatuses: Array<{ containerID: string; restartCount: number }> } }
    >(["get", "pods", "-n", E2E.operatorNamespace, "-l", "app.kubernetes.io/name=soracom-esim-operator"]);
    const container = pod?.status.containerStatuses[0];
    expect(container?.containerID).toMatch(/^containerd:\/\//);
    await ctr(["tasks", "kill", "--signal", "SIGKILL", container!.containerID.replace("containerd://", "")]);
    await waitFor(
      "the killed container restarted by kubelet",
      async () => {
        const p = await json<
          K8sObject & { status: { containerStatuses: Array<{ restartCount: number; ready: boolean }> } }
        >(["get", "pod", pod!.metadata.name, "-n", E2E.operatorNamespace]);
        const c = p.status.containerStatuses[0];
        return c && c.restartCount > container!.restartCount && c.ready;
      },
      120_000,
    );
    const before = (await w.counts()).creates;
    await apply(order(ns, "second", 25));
    await waitFor("the second order's first create", async () => (await w.counts()).creates > before, 60_000);
    // A pod template change rolls the Deployment while it scales to 2: old and new pods overlap.
    await helm([
      "upgrade",
      E2E.release,
      "charts/soracom-esim-operator",
      "-n",
      E2E.operatorNamespace,
      "--reuse-values",
      "--set",
      "replicaCount=2",
      "--set-string",
      "podAnnotations.e2e-rollout=1",
      "--wait",
      "--timeout",
      "180s",
    ]);
    const first = await ready(ns, "first");
    const second = await ready(ns, "second");
    const counts = await w.counts();
    record("4. kill + helm upgrade (30, 25)", counts);

    expect(counts).toEqual({ creates: 4, confirms: 4, cancels: 0, terminates: 0 });
    expect(first.status?.orders?.map((o) => o.quantity).sort((a, b) => b - a)).toEqual([20, 10]);
    expect(second.status?.orders?.map((o) => o.quantity).sort((a, b) => b - a)).toEqual([20, 5]);
    expect(await profilesIn(ns)).toHaveLength(55);
    const deploy = await json<K8sObject & { status: { readyReplicas?: number } }>([
      "get",
      "deployment",
      "-n",
      E2E.operatorNamespace,
      "-l",
      "app.kubernetes.io/name=soracom-esim-operator",
    ]);
    expect(JSON.stringify(deploy)).toContain('"readyReplicas":2');
  });

  it("5. helm uninstall as docs/install.md says: nothing terminated, CRDs and kept objects stay", async () => {
    const w = await window();
    // Step 1, the controller still running: every profile to Retain.
    for (const p of await items(["get", "esimprofiles", "-A"])) {
      await kubectl([
        "patch",
        "esimprofile",
        p.metadata.name,
        "-n",
        p.metadata.namespace!,
        "--type",
        "merge",
        "-p",
        '{"spec":{"deletionPolicy":"Retain"}}',
      ]);
    }
    // Step 2: delete the orders and profiles, wait until none is left.
    await kubectl(["delete", "esimprofileorders", "--all", "-A", "--wait=false"]);
    await kubectl(["delete", "esimprofiles", "--all", "-A", "--wait=false"]);
    await waitFor(
      "no order or profile left",
      async () => (await items(["get", "esimprofileorders,esimprofiles", "-A"])).length === 0,
      180_000,
    );
    // Step 3.
    await helm(["uninstall", E2E.release, "-n", E2E.operatorNamespace, "--wait", "--timeout", "120s"]);
    const counts = await w.counts();
    record("5. helm uninstall (docs)", counts);

    expect(counts).toEqual({ creates: 0, confirms: 0, cancels: 0, terminates: 0 });
    const crds = (await items(["get", "crd"]))
      .map((c) => c.metadata.name)
      .filter((n) => n.includes("soracom-operator.io"));
    expect(crds).toEqual(
      expect.arrayContaining(["esimprofileorders.esim.soracom-operator.io", "esimprofiles.esim.soracom-operator.io"]),
    );
    // Kept on uninstall: the SoracomAccount the chart created (resource-policy keep) and its Secret.
    await kubectl(["get", "soracomaccount", "default"]);
    await kubectl(["get", "secret", "soracom-credentials", "-n", E2E.operatorNamespace]);
    // The controller's pods go (their graceful stop outlasts helm's --wait), and its Deployment is gone.
    const pods = ["get", "pods", "-n", E2E.operatorNamespace, "-l", "app.kubernetes.io/name=soracom-esim-operator"];
    await waitFor("the controller's pods gone", async () => (await items(pods)).length === 0, 90_000);
    expect(
      await items([
        "get",
        "deployments",
        "-n",
        E2E.operatorNamespace,
        "-l",
        "app.kubernetes.io/name=soracom-esim-operator",
      ]),
    ).toEqual([]);
    // Namespace deletions that waited on the controller (scenario 3) have finished.
    await waitFor(
      "namespace e2e-nsdel gone",
      () =>
        kubectl(["get", "namespace", "e2e-nsdel"]).then(
          () => false,
          () => true,
        ),
      60_000,
    );
  });
});
