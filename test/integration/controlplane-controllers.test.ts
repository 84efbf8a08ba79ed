import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { EsimProfile, EsimProfileOrder } from "../../controller/api/types.js";
import { API_VERSION, ORDER_REF, PROFILE_REF } from "../../controller/api/vocabulary.js";
import { KubeClient, resourcePath } from "../../controller/kube/rest.js";
import { kubeconfigFor } from "../controlplane/credentials.js";
import { useCluster } from "../support/cluster.js";
import { eventually } from "../support/controller-process.js";

// The test control plane runs kube-controller-manager, as every real cluster does: what users meet there
// (an order's profiles garbage-collected, a namespace deleted with its content, service-account tokens
// minted) happens in these tests too. Each is checked against the real controllers, and the garbage
// collector against a control with kube-controller-manager stopped.
const cluster = useCluster();
const kube = new KubeClient(cluster.kc);
const GC_TIMEOUT_MS = 200_000; // late in a full run the collector's queue is long

const exists = (path: string) =>
  kube.request({ path }).then(
    () => true,
    (err: { status?: number }) => {
      if (err.status === 404) return false;
      throw err;
    },
  );

/** chain creates an order (paused: nothing acts on it), a profile it owns and a Secret the profile owns. */
async function chain(ns: string, name: string) {
  const order = await kube.request<EsimProfileOrder>({
    method: "POST",
    path: resourcePath({ ...ORDER_REF, namespace: ns }),
    body: {
      apiVersion: API_VERSION,
      kind: "EsimProfileOrder",
      metadata: { name },
      spec: { subscription: "planX3", quantity: 1, paused: true },
    },
  });
  const owner = (kind: string, o: { metadata: { name?: string; uid?: string } }, apiVersion = API_VERSION) => [
    { apiVersion, kind, name: o.metadata.name ?? "", uid: o.metadata.uid ?? "", controller: true },
  ];
  const profile = await kube.request<EsimProfile>({
    method: "POST",
    path: resourcePath({ ...PROFILE_REF, namespace: ns }),
    body: {
      apiVersion: API_VERSION,
      kind: "EsimProfile",
      metadata: { name: `${name}-p`, ownerReferences: owner("EsimProfileOrder", order) },
      spec: { iccid: "8942310000000000001", deletionPolicy: "Retain" },
    },
  });
  await kube.request({
    method: "POST",
    path: `/api/v1/namespaces/${ns}/secrets`,
    body: { metadata: { name: `${name}-s`, ownerReferences: owner("EsimProfile", profile) }, stringData: { a: "b" } },
  });
  return {
    order: resourcePath({ ...ORDER_REF, namespace: ns }, name),
    profile: resourcePath({ ...PROFILE_REF, namespace: ns }, `${name}-p`),
    secret: `/api/v1/namespaces/${ns}/secrets/${name}-s`,
  };
}

const gone = async (paths: string[]) => !(await Promise.all(paths.map(exists))).some(Boolean);

describe("kube-controller-manager in the test control plane", () => {
  it(
    "deleting an order garbage-collects its profiles and their Secrets; with the collector stopped they stay",
    async () => {
      const ns = cluster.namespace;
      const first = await chain(ns, "collected");
      const t0 = Date.now();
      await kube.request({ method: "DELETE", path: first.order });
      await eventually(() => gone([first.profile, first.secret]).then((g) => g || undefined), {
        timeoutMs: GC_TIMEOUT_MS,
        what: "the profile and its Secret garbage-collected",
      });
      const tookMs = Date.now() - t0;

      // Control: the same chain with kube-controller-manager stopped outlives five times that.
      await cluster.controlPlane.stopControllerManager();
      try {
        const second = await chain(ns, "held");
        await kube.request({ method: "DELETE", path: second.order });
        await new Promise((r) => setTimeout(r, Math.max(5 * tookMs, 5_000)));
        expect(await exists(second.order)).toBe(false);
        expect(await exists(second.profile)).toBe(true);
        expect(await exists(second.secret)).toBe(true);
        await cluster.controlPlane.startControllerManager();
        await eventually(() => gone([second.profile, second.secret]).then((g) => g || undefined), {
          timeoutMs: GC_TIMEOUT_MS,
          what: "the held chain collected once kube-controller-manager is back",
        });
      } finally {
        await cluster.controlPlane.ensureRunning();
      }
    },
    3 * GC_TIMEOUT_MS,
  ); // two collections plus the stopped wait: the suite's 180 s cut it short of its own waits

  it("a namespace is deleted with what it holds; a new one gets its service account and CA", async () => {
    const ns = `${cluster.namespace}-x`.slice(0, 63);
    await kube.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns } } });
    await eventually(() => exists(`/api/v1/namespaces/${ns}/serviceaccounts/default`).then((e) => e || undefined), {
      what: "the default service account",
    });
    await eventually(() => exists(`/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`).then((e) => e || undefined), {
      what: "kube-root-ca.crt",
    });
    const { profile, secret } = await chain(ns, "content");
    await kube.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` });
    await eventually(() => gone([`/api/v1/namespaces/${ns}`, profile, secret]).then((g) => g || undefined), {
      timeoutMs: GC_TIMEOUT_MS,
      what: "the namespace and its content gone",
    });
  });

  it("a service-account token Secret is filled in by the token controller and accepted by the apiserver", async () => {
    const ns = cluster.namespace;
    await kube.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/serviceaccounts`,
      body: { metadata: { name: "robot" } },
    });
    await kube.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/secrets`,
      body: {
        metadata: { name: "robot-token", annotations: { "kubernetes.io/service-account.name": "robot" } },
        type: "kubernetes.io/service-account-token",
      },
    });
    const token = await eventually(
      async () => {
        const s = await kube.request<{ data?: Record<string, string> }>({
          path: `/api/v1/namespaces/${ns}/secrets/robot-token`,
        });
        return s.data?.token ? Buffer.from(s.data.token, "base64").toString("utf8") : undefined;
      },
      { what: "the minted token" },
    );
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigFor(cluster.info.server, cluster.info.caPem, { name: "robot", token, groups: [] }));
    const review = await new KubeClient(kc).request<{ status?: { userInfo?: { username?: string } } }>({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns}:robot`);
  });
});
