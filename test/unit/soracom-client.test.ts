import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SoracomApiError, SoracomAuthError, type SoracomClient } from "../../controller/soracom/index.js";
import { collect, type SimControl, type Simulator, startTestSimulator, testClient } from "../support/soracom-sim.js";

let sim: Simulator;
let control: SimControl;
const clients: SoracomClient[] = [];

function client(overrides: Parameters<typeof testClient>[1] = {}): SoracomClient {
  const c = testClient(sim, overrides);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({ clock: "manual", confirmDelayMs: 1000, inProgressDelayMs: 1000 }));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await control.reset();
  await control.clearFaults();
  await control.clearCalls();
});

afterAll(async () => {
  await sim.close();
});

describe("pagination", () => {
  it("listProfileOrders follows the next key across three pages", async () => {
    const soracom = client();
    const created = [];
    for (let i = 0; i < 5; i++) {
      created.push(
        await soracom.createProfileOrder({ subscription: "plan01s", quantity: 1, description: `page-${i}` }),
      );
    }
    const listed = await collect(soracom.listProfileOrders({ limit: 2 }));
    expect(listed.map((o) => o.profileOrderId).sort()).toEqual(created.map((o) => o.profileOrderId).sort());
    expect(await control.count("listProfileOrders")).toBe(3);
  });

  it("searchSims follows the next key across three pages", async () => {
    for (let i = 1; i <= 5; i++) await control.createSim({ iccid: `898110000000000000${i}` });
    const sims = await collect(client().searchSims({ iccid: ["89811000000"], limit: 2 }));
    expect(sims).toHaveLength(5);
    expect(await control.count("searchSims")).toBe(3);
  });
});

describe("exact lookups", () => {
  it("findSimExact keeps only the SIM whose ICCID is equal, not merely containing", async () => {
    const short = await control.createSim({ iccid: "8981100000000000001" });
    await control.createSim({ iccid: "89811000000000000012" });
    const found = await client().findSimExact({ iccid: "8981100000000000001" });
    expect(found?.simId).toBe(short.simId);
  });

  it("findSimExact by IMSI, and undefined when nothing matches exactly", async () => {
    const made = await control.createSim({ imsi: "295050000000001" });
    await control.createSim({ imsi: "2950500000000012" });
    const soracom = client();
    expect((await soracom.findSimExact({ imsi: "295050000000001" }))?.simId).toBe(made.simId);
    expect(await soracom.findSimExact({ imsi: "29505000000000" })).toBeUndefined();
  });

  it("findSimExact by SIM ID reads the SIM directly; an unknown one is undefined", async () => {
    const made = await control.createSim({});
    const soracom = client();
    expect((await soracom.findSimExact({ simId: made.simId }))?.simId).toBe(made.simId);
    expect(await soracom.findSimExact({ simId: "99999999999999999999" })).toBeUndefined();
    expect(await control.count("searchSims")).toBe(0);
  });

  it("resolveSimId finds the SIM of an ordered profile through its IMSI", async () => {
    const soracom = client();
    const order = await soracom.createProfileOrder({ subscription: "plan01s", quantity: 1 });
    await soracom.confirmProfileOrder(order.profileOrderId);
    await control.advance(5_000);
    expect((await soracom.getProfileOrder(order.profileOrderId)).status).toBe("COMPLETED");
    const [profile] = await soracom.listOrderedProfiles(order.profileOrderId);
    const simId = await soracom.resolveSimId(profile!);
    const found = await soracom.getSim(simId!);
    expect(Object.keys(found.profiles ?? {})).toContain(profile!.iccid);
    expect(await soracom.resolveSimId({ imsi: "999999999999999" })).toBeUndefined();
  });
});

describe("authentication", () => {
  it("bad credentials are a SoracomAuthError carrying AUM0002, tried once", async () => {
    const soracom = client({ credentials: { authKeyId: "keyId-simulator", authKey: "wrong" } });
    const err = await soracom.getSim("1234567890").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomAuthError);
    expect(err).toMatchObject({ code: "SORACOM_ERR_AUTH", soracomCode: "AUM0002", status: 401, operation: "auth" });
    expect(await control.count("auth")).toBe(1);
  });

  it("a SAM user logs in with operatorId, userName and password", async () => {
    const made = await control.createSim({});
    const soracom = client({
      credentials: { operatorId: "OP0000000000", userName: "simulator", password: "secret-simulator" },
    });
    expect((await soracom.getSim(made.simId)).simId).toBe(made.simId);
  });

  it("concurrent first calls share one login", async () => {
    const made = await control.createSim({});
    const soracom = client();
    await Promise.all(Array.from({ length: 6 }, () => soracom.getSim(made.simId)));
    expect(await control.count("auth")).toBe(1);
  });

  it("expired tokens cause exactly one new login, and every call succeeds", async () => {
    const made = await control.createSim({});
    const soracom = client();
    await soracom.getSim(made.simId);
    await control.expireTokens();
    const sims = await Promise.all(Array.from({ length: 5 }, () => soracom.getSim(made.simId)));
    expect(sims.every((s) => s.simId === made.simId)).toBe(true);
    expect(await control.count("auth")).toBe(2);
  });

  it("a token outlived on the simulated clock is renewed by one login after the 401", async () => {
    const made = await control.createSim({});
    const soracom = client({ tokenTimeoutSeconds: 180 });
    await soracom.getSim(made.simId);
    await control.advance(181_000);
    await soracom.getSim(made.simId);
    const { calls } = await control.calls();
    expect(calls.filter((c) => c.operation === "auth").length).toBe(2);
    expect(calls.filter((c) => c.operation === "getSim").map((c) => c.status)).toEqual([200, 401, 200]);
  });

  it("the token is renewed before it expires, without a 401", async () => {
    const made = await control.createSim({});
    let now = Date.now();
    const soracom = client({ tokenTimeoutSeconds: 180, clock: () => now });
    await soracom.getSim(made.simId);
    now += 170_000; // past the renewal point (lifetime minus 18 s), before expiry
    await soracom.getSim(made.simId);
    const { calls } = await control.calls();
    expect(calls.map((c) => `${c.operation} ${c.status}`)).toEqual([
      "auth 200",
      "getSim 200",
      "auth 200",
      "getSim 200",
    ]);
  });

  it("logout revokes the token; the next call logs in again", async () => {
    const made = await control.createSim({});
    const soracom = client();
    await soracom.getSim(made.simId);
    await soracom.logout();
    await soracom.getSim(made.simId);
    const { calls } = await control.calls();
    expect(calls.map((c) => `${c.operation} ${c.status}`)).toEqual([
      "auth 200",
      "getSim 200",
      "logout 204",
      "auth 200",
      "getSim 200",
    ]);
  });
});

describe("operations", () => {
  it("the SIM operations change the SIM as the vendor documents", async () => {
    const made = await control.createSim({ status: "ready" } as never);
    const soracom = client();
    const id = made.simId;
    expect((await soracom.activateSim(id)).status).toBe("active");
    expect((await soracom.updateSimSpeedClass(id, "s1.fast")).speedClass).toBe("s1.fast");
    expect((await soracom.putSimTags(id, [{ tagName: "owner", tagValue: "team-a" }])).tags?.owner).toBe("team-a");
    await soracom.deleteSimTag(id, "owner");
    expect((await soracom.getSim(id)).tags?.owner).toBeUndefined();
    expect((await soracom.setSimGroup(id, "group-1")).groupId).toBe("group-1");
    expect((await soracom.unsetSimGroup(id)).groupId).toBeUndefined();
    expect((await soracom.enableSimTermination(id)).terminationEnabled).toBe(true);
    expect((await soracom.terminateSim(id)).status).toBe("terminated");
  });

  it("a 404 is a SoracomApiError that isNotFound recognises, with the vendor's code", async () => {
    const err = await client()
      .getProfileOrder("no-such-order")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomApiError);
    expect(err).toMatchObject({ status: 404, code: "SORACOM_ERR_API", operation: "getProfileOrder" });
    expect((err as SoracomApiError).soracomCode).toEqual(expect.any(String));
  });

  it("a refused create (quantity over the limit) is a definite 4xx, sent once", async () => {
    const err = await client()
      .createProfileOrder({ subscription: "plan01s", quantity: 21 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoracomApiError);
    expect((err as SoracomApiError).status).toBeGreaterThanOrEqual(400);
    expect((err as SoracomApiError).status).toBeLessThan(500);
    expect(await control.count("createProfileOrder")).toBe(1);
  });
});
