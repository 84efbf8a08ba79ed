import { expect } from "vitest";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../simulator/index.js";
import type { SpecRoutes } from "../../simulator/spec.js";

/** Helpers for the simulator's tests: plain fetch over loopback, no client library in between. */

/** Json is a response body as the tests read it: shapes are checked by assertions and the spec's schemas. */
// biome-ignore lint/suspicious/noExplicitAny: wire JSON, checked by the assertions that read it
export type Json = any;

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Session {
  apiKey: string;
  token: string;
}

export async function request<T = Json>(
  sim: Simulator,
  method: string,
  path: string,
  opts: { body?: unknown; session?: Session; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.session) {
    headers["x-soracom-api-key"] = opts.session.apiKey;
    headers["x-soracom-token"] = opts.session.token;
  }
  const res = await fetch(sim.url + path, {
    method,
    headers,
    ...(opts.body !== undefined && { body: typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function login(sim: Simulator, extra: Record<string, unknown> = {}): Promise<Session> {
  const r = await request<Session>(sim, "POST", "/v1/auth", {
    body: { authKeyId: "keyId-simulator", authKey: "secret-simulator", ...extra },
  });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
  return { apiKey: r.body.apiKey, token: r.body.token };
}

export function control<T = Json>(sim: Simulator, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  return request<T>(sim, method, `/_sim${path}`, body === undefined ? {} : { body });
}

/**
 * expectSimShape checks a Sim against the spec's schema. The spec's SimplifiedSubscriber.status enum
 * lacks inactive, standby and suspended although its description says a primary subscription reports
 * the SIM's own status; the simulator follows the description, so those statuses are left out here.
 */
const SUBSCRIBER_ENUM = ["shipped", "delivered", "ready", "active", "terminated"];

export function expectSimShape(spec: SpecRoutes, body: Json): void {
  const copy = structuredClone(body);
  for (const profile of Object.values(copy.profiles ?? {}) as Json[]) {
    for (const sub of Object.values(profile.subscribers ?? {}) as Json[]) {
      if (!SUBSCRIBER_ENUM.includes(sub.status)) delete sub.status;
    }
  }
  const validate = spec.responseValidator("getSim", "200")!;
  validate(copy);
  expect(validate.errors ?? []).toEqual([]);
}

/** startQuiet starts an in-process simulator on a free loopback port with the given options. */
export function startQuiet(opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ port: 0, host: "127.0.0.1", ...opts });
}

/** createCompletedOrder orders, confirms and fast-forwards until the order is COMPLETED. */
export async function createCompletedOrder(
  sim: Simulator,
  session: Session,
  order: Record<string, unknown> = { subscription: "plan01s", quantity: 2 },
): Promise<{ profileOrderId: string; profiles: Json[] }> {
  const created = await request(sim, "POST", "/v1/sim_profile_orders", { body: order, session });
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.profileOrderId as string;
  await request(sim, "POST", `/v1/sim_profile_orders/${id}/confirm`, { session });
  const { confirmDelayMs, inProgressDelayMs } = sim.engine.config;
  sim.advanceClock(confirmDelayMs + inProgressDelayMs);
  const profiles = await request<Json[]>(sim, "GET", `/v1/sim_profile_orders/${id}/profiles`, { session });
  return { profileOrderId: id, profiles: profiles.body };
}
