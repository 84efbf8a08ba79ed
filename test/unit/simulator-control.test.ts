import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { luhnCheckDigit } from "../../simulator/ids.js";
import type { Simulator } from "../../simulator/index.js";
import { main, optionsFromArgs } from "../../simulator/main.js";
import {
  control,
  createCompletedOrder,
  type Json,
  login,
  request,
  type Session,
  startQuiet,
} from "./simulator-http.js";

let sim: Simulator;
let session: Session;

beforeAll(async () => {
  sim = await startQuiet({ clock: "manual", confirmDelayMs: 1000, inProgressDelayMs: 1000 });
});
afterAll(() => sim.close());
beforeEach(async () => {
  await control(sim, "POST", "/reset");
  session = await login(sim);
});

describe("device events", () => {
  // [event, wanted profileStatus]
  const table: [string, string][] = [
    ["installed", "INSTALLATION_SUCCEEDED"],
    ["installation_failed", "INSTALLATION_FAILED"],
    ["activated", "ACTIVATION_SUCCEEDED"],
    ["activation_failed", "ACTIVATION_FAILED"],
    ["deactivated", "INACTIVATION_SUCCEEDED"],
    ["deactivation_failed", "INACTIVATION_FAILED"],
    ["deleted", "DELETION_SUCCEEDED"],
    ["deletion_failed", "DELETION_FAILED"],
  ];
  for (const [event, status] of table) {
    it(`"${event}" sets profileStatus ${status} and lastModifiedTime`, async () => {
      const { profileOrderId, profiles } = await createCompletedOrder(sim, session);
      sim.advanceClock(5000);
      const r = await control(sim, "POST", `/devices/${profiles[0].iccid}/events`, { event });
      expect(r.status).toBe(200);
      const listed = await request<Json[]>(sim, "GET", `/v1/sim_profile_orders/${profileOrderId}/profiles`, {
        session,
      });
      const p = listed.body.find((x) => x.iccid === profiles[0].iccid);
      expect(p).toMatchObject({ profileStatus: status, lastModifiedTime: sim.now() });
      expect(p.installedTime).toBe(event === "installed" ? sim.now() : undefined);
      expect(listed.body.find((x) => x.iccid === profiles[1].iccid).profileStatus).toBe(
        "SUBSCRIBER_REGISTRATION_SUCCEEDED",
      );
    });
  }

  it("refuses an unknown event or ICCID", async () => {
    const { profiles } = await createCompletedOrder(sim, session);
    expect((await control(sim, "POST", `/devices/${profiles[0].iccid}/events`, { event: "exploded" })).status).toBe(
      400,
    );
    expect((await control(sim, "POST", "/devices/123/events", { event: "installed" })).status).toBe(404);
  });
});

describe("forcing orders", () => {
  async function confirmedOrder(): Promise<string> {
    const r = await request(sim, "POST", "/v1/sim_profile_orders", {
      body: { subscription: "plan01s", quantity: 1 },
      session,
    });
    await request(sim, "POST", `/v1/sim_profile_orders/${r.body.profileOrderId}/confirm`, { session });
    return r.body.profileOrderId;
  }
  const status = async (id: string) =>
    (await request(sim, "GET", `/v1/sim_profile_orders/${id}`, { session })).body.status;

  it("fails an order on {status: FAILED}, leaving no profiles", async () => {
    const id = await confirmedOrder();
    expect((await control(sim, "POST", `/orders/${id}/force`, { status: "FAILED" })).body.status).toBe("FAILED");
    sim.advanceClock(10_000);
    expect(await status(id)).toBe("FAILED");
    expect((await request(sim, "GET", `/v1/sim_profile_orders/${id}/profiles`, { session })).body).toEqual([]);
  });

  it("holds an order IN_PROGRESS until released", async () => {
    const id = await confirmedOrder();
    await control(sim, "POST", `/orders/${id}/force`, { hold: true });
    sim.advanceClock(3_600_000);
    expect(await status(id)).toBe("IN_PROGRESS");
    await control(sim, "POST", `/orders/${id}/force`, { hold: false });
    expect(await status(id)).toBe("COMPLETED");
    expect((await request(sim, "GET", `/v1/sim_profile_orders/${id}/profiles`, { session })).body).toHaveLength(1);
  });

  it("holds a draft's future: confirmed later, it stops at IN_PROGRESS", async () => {
    const r = await request(sim, "POST", "/v1/sim_profile_orders", {
      body: { subscription: "plan01s", quantity: 1 },
      session,
    });
    const id = r.body.profileOrderId;
    await control(sim, "POST", `/orders/${id}/force`, { hold: true });
    await request(sim, "POST", `/v1/sim_profile_orders/${id}/confirm`, { session });
    sim.advanceClock(60_000);
    expect(await status(id)).toBe("IN_PROGRESS");
  });

  it("refuses to fail a COMPLETED order", async () => {
    const { profileOrderId } = await createCompletedOrder(sim, session);
    expect((await control(sim, "POST", `/orders/${profileOrderId}/force`, { status: "FAILED" })).status).toBe(409);
  });
});

describe("the rest of the control surface", () => {
  it("moves the clock and shows it", async () => {
    const before = (await control(sim, "GET", "/clock")).body.now;
    const after = (await control(sim, "POST", "/clock/advance", { ms: 1234 })).body.now;
    expect(after - before).toBe(1234);
    expect((await control(sim, "POST", "/clock/advance", { ms: -1 })).status).toBe(400);
  });

  it("creates a standalone SIM that the API then finds", async () => {
    const created = await control(sim, "POST", "/sims", { iccid: "8942310099999999999", subscription: "planX3" });
    expect(created.status).toBe(201);
    const found = await request<Json[]>(sim, "GET", "/v1/query/sims?iccid=8942310099999999999", { session });
    expect(found.body.map((s) => s.simId)).toEqual([created.body.simId]);
    const dup = await control(sim, "POST", "/sims", { iccid: "8942310099999999999" });
    expect(dup.status).toBe(409);
  });

  it("refuses unknown config keys and bad values", async () => {
    expect((await control(sim, "POST", "/config", { nope: 1 })).status).toBe(400);
    expect((await control(sim, "POST", "/config", { confirmDelayMs: -5 })).status).toBe(400);
    expect((await control(sim, "POST", "/config", { confirmDelayMs: 7 })).body.confirmDelayMs).toBe(7);
  });

  it("shows the state without tokens", async () => {
    await createCompletedOrder(sim, session);
    const state = await control(sim, "GET", "/state");
    expect(state.body.orders).toHaveLength(1);
    expect(state.body.profiles).toHaveLength(2);
    expect(state.body.sims).toHaveLength(2);
    expect(JSON.stringify(state.body)).not.toContain(session.token);
  });

  it("answers 404 for an unknown control route", async () => {
    expect((await control(sim, "GET", "/nope")).status).toBe(404);
  });
});

describe("state file", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-state-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("survives a restart: orders, profiles, SIMs, tokens and the clock", async () => {
    const stateFile = path.join(dir, "state.json");
    const first = await startQuiet({ clock: "manual", stateFile, confirmDelayMs: 10, inProgressDelayMs: 10 });
    const s1 = await login(first);
    const { profileOrderId, profiles } = await createCompletedOrder(first, s1);
    const draft = await request(first, "POST", "/v1/sim_profile_orders", {
      body: { subscription: "planP1", quantity: 2 },
      session: s1,
    });
    await first.close();
    expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);

    const second = await startQuiet({ clock: "manual", stateFile });
    try {
      const order = await request(second, "GET", `/v1/sim_profile_orders/${profileOrderId}`, { session: s1 });
      expect(order.body.status).toBe("COMPLETED");
      const again = await request(second, "GET", `/v1/sim_profile_orders/${profileOrderId}/profiles`, { session: s1 });
      expect(again.body).toEqual(profiles);
      const d = await request(second, "GET", `/v1/sim_profile_orders/${draft.body.profileOrderId}`, { session: s1 });
      expect(d.body.status).toBe("DRAFT");
      // New identifiers do not collide with the restored ones.
      const more = await createCompletedOrder(second, s1, { subscription: "plan01s", quantity: 2 });
      const all = new Set([...profiles, ...more.profiles].map((p) => p.iccid));
      expect(all.size).toBe(4);
    } finally {
      await second.close();
    }
  });

  it("saves soon after a change, without waiting for close", async () => {
    const stateFile = path.join(dir, "state.json");
    const live = await startQuiet({ clock: "manual", stateFile });
    try {
      const s = await login(live);
      const r = await request(live, "POST", "/v1/sim_profile_orders", {
        body: { subscription: "plan01s", quantity: 1 },
        session: s,
      });
      await vi.waitFor(() => expect(fs.readFileSync(stateFile, "utf8")).toContain(r.body.profileOrderId), {
        timeout: 2000,
        interval: 10,
      });
    } finally {
      await live.close();
    }
  });

  it("refuses a file that is not a simulator state", async () => {
    const stateFile = path.join(dir, "bad.json");
    fs.writeFileSync(stateFile, JSON.stringify({ hello: "world" }));
    await expect(startQuiet({ stateFile })).rejects.toThrow(/not a simulator state file/);
  });
});

describe("command-line flags", () => {
  it("reads flags, falling back to the SORACOM_SIMULATOR_* environment", () => {
    const opts = optionsFromArgs(["--confirm-delay-ms", "10", "--max-profiles-per-order", "5", "--clock", "manual"], {
      SORACOM_SIMULATOR_PORT: "8099",
      SORACOM_SIMULATOR_AUTH_KEY_ID: "keyId-env",
      SORACOM_SIMULATOR_AUTH_KEY: "secret-env",
    });
    expect(opts).toEqual({
      port: 8099,
      authKeyId: "keyId-env",
      authKey: "secret-env",
      confirmDelayMs: 10,
      maxProfilesPerOrder: 5,
      clock: "manual",
    });
    expect(optionsFromArgs(["--port", "1", "--auth-key", "flag"], { SORACOM_SIMULATOR_PORT: "2" })).toEqual({
      port: 1,
      authKey: "flag",
    });
    expect(optionsFromArgs(["--help"], {})).toBe("help");
  });

  it("main prints help with exit code 0 and refuses bad flags with exit code 2", async () => {
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await main(["--help"])).toBe(0);
      expect(String(out.mock.calls[0]?.[0])).toContain("--state-file");
      expect(await main(["--rate-limit-per-minute", "many"])).toBe(2);
      expect(String(err.mock.calls[0]?.[0])).toContain("--rate-limit-per-minute");
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  it("refuses unknown flags and bad numbers with a usage error", () => {
    expect(() => optionsFromArgs(["--nope"], {})).toThrow();
    expect(() => optionsFromArgs(["--port", "-1"], {})).toThrow(/--port/);
    expect(() => optionsFromArgs(["--clock", "sundial"], {})).toThrow(/--clock/);
  });
});

describe("identifiers", () => {
  // [sentence, ICCID without its check digit, wanted check digit]
  const table: [string, string, string][] = [
    ["the check digit of a published example ICCID", "8901410321111851072", "0"],
    ["a check digit that wraps to 0", "0", "0"],
    ["the check digit of 7992739871 (the classic Luhn example)", "7992739871", "3"],
  ];
  for (const [sentence, body, digit] of table) {
    it(sentence, () => expect(luhnCheckDigit(body)).toBe(digit));
  }

  it("generated ICCIDs end in their Luhn check digit", async () => {
    const { profiles } = await createCompletedOrder(sim, session, { subscription: "plan01s", quantity: 3 });
    for (const p of profiles) expect(luhnCheckDigit(p.iccid.slice(0, -1))).toBe(p.iccid.at(-1));
  });
});

describe("logging", () => {
  it("logs calls at debug level without keys, tokens, matching IDs or activation codes", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-log-"));
    const file = path.join(dir, "sim.log");
    const logger = pino({ level: "trace" }, pino.destination({ dest: file, sync: true }));
    const logged = await startQuiet({ clock: "manual", logger });
    try {
      const s = await login(logged);
      const { profiles } = await createCompletedOrder(logged, s);
      await request(logged, "POST", "/v1/auth", { body: { authKeyId: "keyId-simulator", authKey: "wrong" } });
      const text = fs.readFileSync(file, "utf8");
      expect(text).toContain('"operation":"listOrderedProfiles"');
      for (const secret of [s.apiKey, s.token, "secret-simulator", profiles[0].matchingId, "LPA:1$"]) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await logged.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
