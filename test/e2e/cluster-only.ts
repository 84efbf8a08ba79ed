import net from "node:net";

// The e2e network guard: sockets only to loopback and to the e2e cluster's own ranges (scripts/e2e/lib.sh:
// node 10.213.0.0/24, pods 10.244.0.0/24, Services 10.96.0.0/24). The network namespace the scenarios run
// in has no route anywhere else; this makes a mistake fail at once, with its address, instead of timing out.
const ALLOWED = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+|10\.(213|244|96)\.0\.\d+)$/;
const originalConnect = net.Socket.prototype.connect;

function hostOf(args: unknown[]): string | undefined {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === "object" && !Array.isArray(first)) {
    const o = first as { host?: string; path?: string };
    return o.path ? undefined : (o.host ?? "localhost");
  }
  if (typeof first === "number") return typeof args[1] === "string" ? args[1] : "localhost";
  return undefined;
}

net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const host = hostOf(args);
  if (host !== undefined && !ALLOWED.test(host.replace(/^\[|\]$/g, ""))) {
    throw new Error(`e2e network guard: connection to ${host}, outside the e2e cluster, refused`);
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
