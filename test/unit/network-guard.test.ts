import net from "node:net";
import { describe, expect, it } from "vitest";

// The test-wide guard (test/support/loopback-only.ts) must refuse every way a test could reach past
// loopback: a Socket's connect, net.connect(), and fetch (undici). 192.0.2.1 is TEST-NET-1, never routed.
describe("the test network guard", () => {
  it("refuses net.connect() and Socket#connect to a non-loopback host", () => {
    expect(() => net.connect({ host: "192.0.2.1", port: 80 })).toThrow(/non-loopback host 192\.0\.2\.1/);
    expect(() => net.connect(80, "192.0.2.1")).toThrow(/non-loopback/);
    expect(() => new net.Socket().connect({ host: "192.0.2.1", port: 80 })).toThrow(/non-loopback/);
  });

  it("refuses fetch to a non-loopback host", async () => {
    const err = await fetch("http://192.0.2.1:80/").then(
      () => undefined,
      (e: Error & { cause?: Error }) => e,
    );
    expect(String(err?.cause?.message ?? err?.message)).toMatch(/non-loopback host 192\.0\.2\.1/);
  });

  it("lets loopback through", async () => {
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as net.AddressInfo;
    const sock = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => sock.on("connect", resolve).on("error", reject));
    sock.destroy();
    server.close();
  });
});
