import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSoracomClient, isFenced, type SoracomClient, SoracomErrorCode } from "../../controller/soracom/index.js";
import {
  SIM_CREDENTIALS,
  type SimControl,
  type Simulator,
  startTestSimulator,
  testClient,
} from "../support/soracom-sim.js";

// A mutation is sent only while its caller may send it: the fence (the lease) and a create's own deadline
// are checked after the limiter, right before the request leaves. The simulator's call log is the judge.
let sim: Simulator;
let control: SimControl;
const clients: SoracomClient[] = [];

function client(overrides: Parameters<typeof testClient>[1] = {}): SoracomClient {
  const c = testClient(sim, overrides);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({ clock: "manual" }));
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

const order = { subscription: "plan01s" as const, quantity: 1, description: "fence" };

describe("fencing mutations", () => {
  it("regression (defect 5): creates queued behind the limiter are not sent once the fence closes", async () => {
    let fenced: string | undefined;
    const soracom = client({ requestsPerSecond: 2, maxConcurrency: 1, fence: () => fenced });
    await soracom.getProfileOrder("warm-up").catch(() => undefined); // takes the login and the first token
    const sent = [0, 1, 2, 3].map((i) => soracom.createProfileOrder({ ...order, description: `q${i}` }));
    await new Promise((r) => setTimeout(r, 50));
    fenced = "this replica does not hold the leader lease";
    const results = await Promise.allSettled(sent);
    const created = results.filter((r) => r.status === "fulfilled").length;
    const held = results.filter((r) => r.status === "rejected" && isFenced(r.reason)).length;
    expect(created + held).toBe(4);
    expect(held).toBeGreaterThanOrEqual(2);
    expect(await control.count("createProfileOrder")).toBe(created);
  });

  it("reads go on behind a closed fence; only mutations are held back", async () => {
    const soracom = client({ fence: () => "lost the lease" });
    await expect(soracom.listOrderedProfiles("missing")).rejects.toMatchObject({ status: 404 });
    await expect(soracom.createProfileOrder(order)).rejects.toMatchObject({ code: SoracomErrorCode.fenced });
    await expect(soracom.terminateSim("123")).rejects.toMatchObject({ code: SoracomErrorCode.fenced });
    await expect(soracom.activateSim("123")).rejects.toMatchObject({ code: SoracomErrorCode.fenced });
    const counts = (await control.calls()).counts;
    expect(counts.createProfileOrder ?? 0).toBe(0);
    expect(counts.terminateSim ?? 0).toBe(0);
    expect(counts.activateSim ?? 0).toBe(0);
  });

  it("a create past its own deadline (intent + grace - timeout) is not sent", async () => {
    const soracom = client();
    await expect(soracom.createProfileOrder(order, { sendBy: Date.now() - 1 })).rejects.toMatchObject({
      code: SoracomErrorCode.fenced,
    });
    await expect(soracom.createProfileOrder(order, { sendBy: Date.now() + 60_000 })).resolves.toMatchObject({
      status: "DRAFT",
    });
    expect(await control.count("createProfileOrder")).toBe(1);
  });
});

describe("answers about another object are rejected", () => {
  let server: http.Server;
  let url: string;
  const answers: Record<string, unknown> = {};
  beforeAll(async () => {
    // A crafted endpoint: logs in, then answers every GET with whatever the test put there.
    server = http.createServer((req, res) => {
      const body =
        req.url === "/v1/auth" ? { apiKey: "k", token: "t", operatorId: "OP1" } : (answers[req.url ?? ""] ?? {});
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const crafted = () => {
    const c = createSoracomClient({ endpoint: url, credentials: SIM_CREDENTIALS, retry: { maxRetries: 0 } });
    clients.push(c);
    return c;
  };

  const order = (id: string, status: string) => ({
    profileOrderId: id,
    subscription: "plan01s",
    status,
    quantity: 1,
    orderedTime: 1,
  });
  const profile = (orderId: string, iccid: string) => ({
    profileOrderId: orderId,
    iccid,
    imsi: `44010${iccid}`,
    matchingId: "m",
    smdpAddress: "smdp.example",
    activationCode: "LPA:1$smdp.example$m",
    profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
    createdTime: 1,
    lastModifiedTime: 1,
  });

  it("a GET of order A answered with order B", async () => {
    answers["/v1/sim_profile_orders/A"] = order("B", "DRAFT");
    await expect(crafted().getProfileOrder("A")).rejects.toMatchObject({ code: SoracomErrorCode.mismatch });
  });

  it("a confirm of order A answered with order B: its outcome is unknown (the confirm was sent)", async () => {
    answers["/v1/sim_profile_orders/A/confirm"] = order("B", "CONFIRMED");
    await expect(crafted().confirmProfileOrder("A")).rejects.toMatchObject({
      code: SoracomErrorCode.outcomeUnknown,
      cause: { code: SoracomErrorCode.mismatch },
    });
  });

  it("the profiles of order A listing a profile of order B", async () => {
    answers["/v1/sim_profile_orders/A/profiles"] = [profile("A", "1"), profile("B", "2")];
    await expect(crafted().listOrderedProfiles("A")).rejects.toMatchObject({ code: SoracomErrorCode.mismatch });
  });

  it("a GET of SIM 1 answered with SIM 2", async () => {
    answers["/v1/sims/1"] = { simId: "2", status: "active" };
    await expect(crafted().getSim("1")).rejects.toMatchObject({ code: SoracomErrorCode.mismatch });
  });

  it("an answer about the object asked for is data, as ever", async () => {
    answers["/v1/sim_profile_orders/C"] = order("C", "DRAFT");
    await expect(crafted().getProfileOrder("C")).resolves.toMatchObject({ profileOrderId: "C" });
  });
});
