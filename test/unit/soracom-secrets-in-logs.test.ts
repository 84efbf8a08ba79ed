import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../controller/log.js";
import type { OrderedProfile, SoracomClient } from "../../controller/soracom/index.js";
import { createRecordingDispatcher } from "../support/soracom-recorder.js";
import {
  SIM_CREDENTIALS,
  type SimControl,
  type Simulator,
  startTestSimulator,
  testClient,
} from "../support/soracom-sim.js";

let sim: Simulator;
let control: SimControl;
let dir: string;
let logFile: string;
let recorder: ReturnType<typeof createRecordingDispatcher>;
const clients: SoracomClient[] = [];
let profiles: OrderedProfile[] = [];

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({ clock: "manual", confirmDelayMs: 1000, inProgressDelayMs: 1000 }));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "soracom-secrets-"));
  logFile = path.join(dir, "trace.log");
  recorder = createRecordingDispatcher();
  // Everything at trace goes to the file; nothing to stdout.
  const logger = createLogger({ name: "secrets-test", level: "fatal", file: logFile });
  const client = (overrides: Parameters<typeof testClient>[1] = {}) => {
    const c = testClient(sim, { logger, dispatcher: recorder.dispatcher, ...overrides });
    clients.push(c);
    return c;
  };
  const soracom = client();
  const caught: unknown[] = [];
  const keep = (p: Promise<unknown>) => p.catch((err: unknown) => caught.push(err));

  // The happy path: login, order, confirm, profiles with activation codes and matching IDs.
  const order = await soracom.createProfileOrder({ subscription: "plan01s", quantity: 3, description: "secrets" });
  await soracom.confirmProfileOrder(order.profileOrderId);
  await control.advance(5_000);
  profiles = await soracom.listOrderedProfiles(order.profileOrderId);
  for (const p of profiles) await soracom.resolveSimId(p);
  // The failure paths: expired token, retried 5xx, a lost create, an unknown order, bad credentials.
  await control.expireTokens();
  await soracom.listOrderedProfiles(order.profileOrderId);
  await control.fault("listOrderedProfiles", "500");
  await soracom.listOrderedProfiles(order.profileOrderId);
  await control.fault("createProfileOrder", "drop-response");
  await keep(soracom.createProfileOrder({ subscription: "plan01s", quantity: 1 }));
  await keep(soracom.getProfileOrder("does-not-exist"));
  await keep(client({ credentials: { ...SIM_CREDENTIALS, authKey: "secret-wrong-key" } }).getSim("1234567890"));
  await soracom.logout();
  // A controller logs what it caught: the errors must not carry secrets either.
  for (const err of caught) {
    logger.error({ err }, "soracom call failed");
    logger.warn(String(err));
  }
  expect(caught).toHaveLength(3);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await recorder.close();
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** secrets gathers every secret value that crossed the wire in this run. */
type SecretKind = "authKey" | "apiKey" | "token" | "activationCode" | "matchingId";

function secrets(): Record<SecretKind, string[]> {
  const headers = recorder.exchanges.map((e) => e.requestHeaders);
  const uniq = (values: Array<string | undefined>) => [...new Set(values.filter((v): v is string => !!v))];
  return {
    authKey: [SIM_CREDENTIALS.authKey, "secret-wrong-key"],
    apiKey: uniq(headers.map((h) => h["x-soracom-api-key"])),
    token: uniq(headers.map((h) => h["x-soracom-token"])),
    activationCode: uniq(profiles.map((p) => p.activationCode)),
    matchingId: uniq(profiles.map((p) => p.matchingId)),
  };
}

describe("no secret reaches the logs", () => {
  it("the run logged every request at trace level (the scan below is not vacuous)", () => {
    const lines = fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean);
    const requests = lines
      .map((l) => JSON.parse(l) as { msg?: string; operation?: string })
      .filter((l) => l.msg === "soracom request");
    const operations = new Set(requests.map((l) => l.operation));
    expect(lines.length).toBeGreaterThan(20);
    for (const op of ["auth", "createProfileOrder", "listOrderedProfiles", "getSubscriber", "logout"]) {
      expect(operations).toContain(op);
    }
    expect(lines.some((l) => l.includes("SORACOM_ERR_OUTCOME_UNKNOWN"))).toBe(true);
  });

  it("the secrets to look for were really seen on the wire", () => {
    const found = secrets();
    expect(found.apiKey.length).toBeGreaterThanOrEqual(2); // one per login, the expired one included
    expect(found.token.length).toBeGreaterThanOrEqual(2);
    expect(found.activationCode).toHaveLength(3);
    expect(found.matchingId).toHaveLength(3);
  });

  for (const kind of ["authKey", "apiKey", "token", "activationCode", "matchingId"] as const) {
    it(`no ${kind} appears in any log line`, () => {
      const text = fs.readFileSync(logFile, "utf8");
      const leaked = secrets()[kind].filter((value) => text.includes(value));
      expect(leaked).toEqual([]);
    });
  }
});
