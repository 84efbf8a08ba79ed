import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../controller/log.js";
import { simsByImsi } from "../../controller/order/sims.js";
import type { SoracomClient } from "../../controller/soracom/index.js";
import type { OrderedProfile } from "../../controller/soracom/types.js";
import { type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";

let sim: Simulator;
let control: SimControl;
let soracom: SoracomClient;

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({ clock: "manual", confirmDelayMs: 0, inProgressDelayMs: 0 }));
  soracom = testClient(sim, { retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
});

afterEach(async () => {
  await control.reset();
  await control.clearFaults();
});

afterAll(async () => {
  await soracom.close();
  await sim.close();
});

/** orderProfiles orders and completes n profiles, returning them as listOrderedProfiles shows them. */
async function orderProfiles(n: number): Promise<OrderedProfile[]> {
  const order = await soracom.createProfileOrder({ subscription: "planX3", quantity: n });
  await soracom.confirmProfileOrder(order.profileOrderId);
  await control.advance(1);
  const profiles = await soracom.listOrderedProfiles(order.profileOrderId);
  await control.clearCalls();
  return profiles;
}

describe("simsByImsi: the SIMs of an order's profiles in one search", () => {
  it("finds every SIM of an order of 20 with one search call, by exact IMSI", async () => {
    const profiles = await orderProfiles(20);
    const found = await simsByImsi(soracom, profiles, silentLogger);
    const state = (await control.state()) as { sims: Array<{ simId: string; imsi?: string }> };
    expect(found.size).toBe(20);
    for (const p of profiles) {
      expect(found.get(p.imsi)?.simId).toBeDefined();
      expect(state.sims.some((s) => s.simId === found.get(p.imsi)?.simId)).toBe(true);
    }
    expect(new Set([...found.values()].map((s) => s.simId)).size).toBe(20);
    expect((await control.calls()).counts).toEqual({ searchSims: 1 });
  });

  it("leaves out SIMs the search index does not show yet (the profile reconciler looks those up exactly)", async () => {
    await control.config({ searchVisibilityDelayMs: 60_000 });
    const profiles = await orderProfiles(3);
    expect((await simsByImsi(soracom, profiles, silentLogger)).size).toBe(0);
    await control.config({ searchVisibilityDelayMs: 0 });
  });

  it("gives up quietly when the search fails: nothing found, nothing thrown", async () => {
    const profiles = await orderProfiles(2);
    await control.fault("searchSims", "500", 5);
    expect((await simsByImsi(soracom, profiles, silentLogger)).size).toBe(0);
  });

  it("makes no call without a client or without profiles", async () => {
    expect((await simsByImsi(undefined, await orderProfiles(1), silentLogger)).size).toBe(0);
    expect((await simsByImsi(soracom, [], silentLogger)).size).toBe(0);
    expect((await control.calls()).counts).toEqual({});
  });
});
