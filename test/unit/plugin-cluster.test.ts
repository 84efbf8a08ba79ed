import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeCluster } from "../../plugin/cluster.js";
import {
  ApiError,
  ConflictError,
  CrdMissingError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  UnreachableError,
} from "../../plugin/errors.js";

// KubeCluster's error translation over real HTTP: a loopback server answers what an apiserver would
// (404 page not found for an unknown group, Status bodies for 401/403/404/409), so every message a
// person sees is checked end to end without a control plane.

type Reply = { status: number; body: unknown };
let routes: Record<string, Reply> = {};
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const reply = routes[`${req.method} ${req.url?.split("?")[0]}`] ?? { status: 404, body: "404 page not found" };
    res.writeHead(reply.status, { "content-type": typeof reply.body === "string" ? "text/plain" : "application/json" });
    res.end(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function clusterAt(server: string): KubeCluster {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return new KubeCluster(kc);
}

const status = (code: number, reason: string, message: string) => ({ kind: "Status", code, reason, message });
const ORDERS = "/apis/esim.soracom-operator.io/v1alpha1/namespaces/ns/esimprofileorders";
const DISCOVERY = "/apis/esim.soracom-operator.io/v1alpha1";
const served = { status: 200, body: { resources: [{ name: "esimprofileorders" }, { name: "esimprofiles" }] } };

describe("KubeCluster turns apiserver answers into errors a person understands", () => {
  const cases: Record<string, [Record<string, Reply>, () => Promise<unknown>, new (...a: never[]) => Error, string]> = {
    "a group the apiserver does not serve means the CRDs are not installed": [
      {},
      () => clusterAt(url).listOrders("ns"),
      CrdMissingError,
      "the EsimProfileOrder CRD is not installed in this cluster",
    ],
    "a served group without our resource also means the CRD is missing": [
      { [`GET ${DISCOVERY}`]: { status: 200, body: { resources: [{ name: "esimprofiles" }] } } },
      () => clusterAt(url).getOrder("ns", "x"),
      CrdMissingError,
      "the EsimProfileOrder CRD is not installed",
    ],
    "a missing object with the CRD installed is not found": [
      {
        [`GET ${DISCOVERY}`]: served,
        [`GET ${ORDERS}/x`]: { status: 404, body: status(404, "NotFound", "not found") },
      },
      () => clusterAt(url).getOrder("ns", "x"),
      NotFoundError,
      'EsimProfileOrder "x" not found in namespace "ns"',
    ],
    "a missing Secret is not found, named as a Secret": [
      {},
      () => clusterAt(url).getSecret("ns", "s"),
      NotFoundError,
      'Secret "s" not found in namespace "ns"',
    ],
    "403 names the verb, the resource and the namespace": [
      { [`GET ${ORDERS}`]: { status: 403, body: status(403, "Forbidden", 'User "bob" cannot list resource') } },
      () => clusterAt(url).listOrders("ns"),
      ForbiddenError,
      'no permission to list esimprofileorders in namespace "ns" (apiserver: User "bob" cannot list resource)',
    ],
    "401 says the credentials were rejected": [
      { [`GET ${ORDERS}`]: { status: 401, body: status(401, "Unauthorized", "Unauthorized") } },
      () => clusterAt(url).listOrders("ns"),
      UnauthorizedError,
      "rejected the kubeconfig's credentials (401 Unauthorized)",
    ],
    "409 on a patch is a conflict": [
      { [`PATCH ${ORDERS}/x`]: { status: 409, body: status(409, "Conflict", "the object has been modified") } },
      () => clusterAt(url).patchAnnotations("EsimProfileOrder", "ns", "x", { a: "b" }, "1"),
      ConflictError,
      'EsimProfileOrder "x" changed meanwhile',
    ],
    "any other status is an API error with the apiserver's message": [
      { [`GET ${ORDERS}`]: { status: 500, body: status(500, "InternalError", "etcd is down") } },
      () => clusterAt(url).listOrders("ns"),
      ApiError,
      'list esimprofileorders in namespace "ns" failed: HTTP 500 (apiserver: etcd is down)',
    ],
    "nobody listening is unreachable, naming the server": [
      {},
      () => clusterAt("http://127.0.0.1:1").listOrders("ns"),
      UnreachableError,
      "cannot reach the Kubernetes API at http://127.0.0.1:1",
    ],
  };
  for (const [sentence, [table, call, type, message]] of Object.entries(cases)) {
    it(sentence, async () => {
      routes = table;
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).toContain(message);
    });
  }

  it("a list follows continue tokens until the last page", async () => {
    let page = 0;
    const paged = http.createServer((req, res) => {
      page++;
      const next = new URL(req.url ?? "", "http://x").searchParams.get("continue");
      const body = next ? { items: [{ n: 2 }], metadata: {} } : { items: [{ n: 1 }], metadata: { continue: "more" } };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => paged.listen(0, "127.0.0.1", resolve));
    try {
      const c = clusterAt(`http://127.0.0.1:${(paged.address() as AddressInfo).port}`);
      expect(await c.listOrders(undefined)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(page).toBe(2);
      c.close();
    } finally {
      await new Promise<void>((resolve) => paged.close(() => resolve()));
    }
  });
});
