import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NativeAccess } from "../../controller/kube/access.js";
import { KubeClient, MAX_CALL_CONNECTIONS } from "../../controller/kube/rest.js";

/**
 * A burst of calls shares a bounded set of connections (each TLS connection costs native memory the
 * allocator keeps), while watches, which hold theirs open, are never starved by the calls' limit.
 */

let server: http.Server | undefined;
let client: KubeClient | undefined;
afterEach(async () => {
  client?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function start(handler: http.RequestListener) {
  server = http.createServer(handler);
  let open = 0;
  let most = 0;
  server.on("connection", (socket) => {
    open += 1;
    most = Math.max(most, open);
    socket.on("close", () => {
      open -= 1;
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  client = new KubeClient(new NativeAccess({ server: `http://127.0.0.1:${port}` }, {}));
  return { client, most: () => most };
}

describe("KubeClient connections", () => {
  it(`${MAX_CALL_CONNECTIONS * 4} calls at once share at most ${MAX_CALL_CONNECTIONS} connections, and all are answered`, async () => {
    const held: http.ServerResponse[] = [];
    const { client, most } = await start((_req, res) => {
      held.push(res);
      if (held.length === MAX_CALL_CONNECTIONS) for (const r of held.splice(0)) r.end('{"ok":true}');
      else setTimeout(() => res.writableEnded || res.end('{"ok":true}'), 20);
    });
    const calls = Array.from({ length: MAX_CALL_CONNECTIONS * 4 }, () =>
      client.request<{ ok: boolean }>({ path: "/x" }),
    );
    const answers = await Promise.all(calls);
    expect(answers.every((a) => a.ok)).toBe(true);
    expect(most()).toBeLessThanOrEqual(MAX_CALL_CONNECTIONS);
    expect(most()).toBeGreaterThan(1);
  });

  it("a watch gets its connection while every call connection is busy", async () => {
    const held: http.ServerResponse[] = [];
    let release = false;
    const { client } = await start((req, res) => {
      if (req.url?.includes("watch=true")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a" } } })}\n`);
        return;
      }
      if (release) res.end("{}");
      else held.push(res); // every call hangs until the watch has been answered
    });
    const calls = Array.from({ length: MAX_CALL_CONNECTIONS + 5 }, () => client.request({ path: "/busy" }));
    while (held.length < MAX_CALL_CONNECTIONS) await new Promise((r) => setTimeout(r, 10));
    const events: string[] = [];
    await client.watch("/w", {}, (e) => events.push(e.type), new AbortController().signal);
    expect(events).toEqual(["ADDED"]);
    expect(held).toHaveLength(MAX_CALL_CONNECTIONS); // the rest wait for a connection, they are not refused
    release = true;
    for (const r of held.splice(0)) r.end("{}");
    await Promise.all(calls);
  });
});
