import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  isNotFound,
  type SoracomClient,
  type SoracomClientOptions,
  SoracomErrorCode,
} from "../../controller/soracom/index.js";
import { createRecordingDispatcher } from "../support/soracom-recorder.js";
import {
  collect,
  SIM_CREDENTIALS,
  type SimControl,
  type Simulator,
  startTestSimulator,
  testClient,
} from "../support/soracom-sim.js";

/**
 * Issue 23's findings in the client, one test each: what a hostile or broken Soracom answered and what
 * the client did with it. Judged from the simulator's call log where requests matter.
 */

// The codes this issue added, spelled out: against the client before the fix they are not in its table.
const C = {
  ...SoracomErrorCode,
  waitCapped: "SORACOM_ERR_WAIT_CAPPED",
  tooManyPages: "SORACOM_ERR_TOO_MANY_PAGES",
  responseTooLarge: "SORACOM_ERR_RESPONSE_TOO_LARGE",
  deadline: "SORACOM_ERR_DEADLINE",
} as const;
const FIFTEEN_MINUTES = 15 * 60_000;

let sim: Simulator;
let control: SimControl;
const clients: SoracomClient[] = [];

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({ clock: "manual", rateLimitPerMinute: 1_000_000 }));
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await sim.close();
});
beforeEach(async () => {
  await control.reset();
});

function client(overrides: Partial<SoracomClientOptions> = {}): SoracomClient {
  const c = testClient(sim, overrides);
  clients.push(c);
  return c;
}
const answer = (operation: string, a: Record<string, unknown>, count = 1) =>
  control.send("POST", "/faults", { operation, kind: "answer", count, answer: a });
const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => err as Record<string, unknown>,
  );
const newSim = async (imsi = "440101234567890") => ({ ...(await control.createSim({ imsi })), imsi });

describe("3: rate-limit waits have a ceiling", () => {
  it("a 429 asking for 1e9 s hands up a wait cut to the bound, as a capped rate limit", async () => {
    const { simId } = await newSim();
    await answer("getSim", {
      status: 429,
      headers: { "retry-after": "1000000000" },
      body: '{"code":"COM0005","message":"x"}',
    });
    const err = await caught(client().getSim(simId));
    expect(err?.code).toBe(C.waitCapped);
    expect(err?.retryAfterMs).toBeLessThanOrEqual(FIFTEEN_MINUTES);
  });

  it("a 200 spending the budget until a refresh in 1e9 s pauses the path no longer than the bound", async () => {
    const { simId } = await newSim();
    const soracom = client();
    await answer("getSim", {
      headers: { "x-soracom-ratelimit-remaining": "0", "x-soracom-ratelimit-seconds-before-refresh": "1000000000" },
    });
    await soracom.getSim(simId);
    const err = await caught(soracom.getSim(simId));
    expect(err?.retryAfterMs).toBeLessThanOrEqual(FIFTEEN_MINUTES);
    expect(err?.code).toBe(C.waitCapped);
  });
});

describe("4: pagination has a page limit", () => {
  it("a list handing out a new next key on every page stops at the default 1000 pages", async () => {
    await newSim();
    await answer("searchSims", { headers: { "x-soracom-next-key": "key-{seq}" } }, 1200);
    const err = await caught(collect(client().searchSims({ imsi: ["44010"], limit: 100 })));
    expect(err?.code).toBe(C.tooManyPages);
    expect(await control.count("searchSims")).toBe(1000);
  }, 60_000);
});

describe("5: answer bodies have a size limit", () => {
  it("a body over the bound is not read: an error, one request", async () => {
    const { simId } = await newSim();
    await answer("getSim", { body: `{"simId":"${simId}","pad":"${"x".repeat(200_000)}"}` });
    const err = await caught(client({ maxResponseBytes: 64 * 1024 }).getSim(simId));
    expect(err?.code).toBe(C.responseTooLarge);
    expect(await control.count("getSim")).toBe(1);
  });

  it("on a never-repeated mutation it is outcome-unknown, and not sent again", async () => {
    await answer("createProfileOrder", { body: `{"pad":"${"x".repeat(200_000)}"}` });
    const err = await caught(
      client({ maxResponseBytes: 64 * 1024 }).createProfileOrder({ subscription: "plan01s", quantity: 1 }),
    );
    expect(err?.code).toBe(C.outcomeUnknown);
    expect(await control.count("createProfileOrder")).toBe(1);
  });
});

describe("6: terminate and create answers are checked", () => {
  for (const [name, a] of [
    ["{}", { body: "{}" }],
    ["null", { body: "null" }],
    ["an error body with 200", { body: '{"code":"SEM0004","message":"no"}' }],
    ['status "active"', { patch: { status: "active" } }],
  ] as const) {
    it(`a terminate answered ${name} is not counted as terminated: outcome unknown, one request`, async () => {
      const { simId } = await newSim();
      const soracom = client();
      await soracom.enableSimTermination(simId);
      await answer("terminateSim", a);
      const err = await caught(soracom.terminateSim(simId));
      expect(err?.code).toBe(C.outcomeUnknown);
      expect(await control.count("terminateSim")).toBe(1);
    });
  }

  for (const [name, a] of [
    ["{}", { body: "{}" }],
    ["a numeric order ID", { patch: { profileOrderId: 123 } }],
    ["another quantity", { patch: { quantity: 6 } }],
    ["another plan", { patch: { subscription: "planX3" } }],
    ["another description (the operator's marker)", { patch: { description: "someone else's" } }],
  ] as const) {
    it(`a create answered with ${name} is outcome unknown, never repeated`, async () => {
      await answer("createProfileOrder", a);
      const err = await caught(client().createProfileOrder({ subscription: "plan01s", quantity: 3, description: "m" }));
      expect(err?.code).toBe(C.outcomeUnknown);
      expect(await control.count("createProfileOrder")).toBe(1);
    });
  }

  it('an order GET answered with status "Cancelled" (not a vendor status) is an invalid answer', async () => {
    const soracom = client();
    const order = await soracom.createProfileOrder({ subscription: "plan01s", quantity: 3 });
    await answer("getProfileOrder", { patch: { status: "Cancelled" } });
    const err = await caught(soracom.getProfileOrder(order.profileOrderId));
    expect([err?.code, err?.path]).toEqual([C.invalidResponse, "/status"]);
  });
});

describe("7: low items", () => {
  it("an HTML 404 from a proxy is not Soracom's not found", async () => {
    const soracom = client();
    const order = await soracom.createProfileOrder({ subscription: "plan01s", quantity: 1 });
    await answer(
      "getProfileOrder",
      { status: 404, headers: { "content-type": "text/html" }, body: "<h1>404</h1>" },
      10,
    );
    const err = await caught(soracom.getProfileOrder(order.profileOrderId));
    expect(err).toBeDefined();
    expect(isNotFound(err)).toBe(false);
  });

  it("server error text echoing the token, API key or auth key is not copied into the message", async () => {
    const recorder = createRecordingDispatcher();
    const soracom = client({ dispatcher: recorder.dispatcher });
    const { simId } = await newSim();
    await soracom.getSim(simId);
    const sent = recorder.exchanges.find((x) => x.requestHeaders["x-soracom-token"])?.requestHeaders ?? {};
    const secrets = [sent["x-soracom-token"], sent["x-soracom-api-key"], SIM_CREDENTIALS.authKey] as string[];
    expect(secrets.every((s) => typeof s === "string" && s.length > 0)).toBe(true);
    await answer("getSim", {
      status: 400,
      body: JSON.stringify({ code: "COM0008", message: `echo: ${secrets.join(" ")}` }),
    });
    const err = (await caught(soracom.getSim(simId))) as unknown as Error;
    const text = `${String(err)} ${err.message} ${JSON.stringify(err)}`;
    for (const s of secrets) expect(text).not.toContain(s);
    await recorder.close();
  });

  it("getSubscriber answering null is an invalid answer, not a TypeError", async () => {
    const { imsi } = await newSim();
    await answer("getSubscriber", { body: "null" });
    const err = await caught(client().resolveSimId({ imsi }));
    expect(err?.code).toBe(C.invalidResponse);
  });

  it("a subscriber answer for another IMSI, or without a SIM ID, is refused", async () => {
    const { imsi } = await newSim();
    const soracom = client();
    await answer("getSubscriber", { patch: { imsi: "440109999999999" } });
    expect((await caught(soracom.resolveSimId({ imsi })))?.code).toBe(C.mismatch);
    await answer("getSubscriber", { patch: { simId: null } });
    expect((await caught(soracom.resolveSimId({ imsi })))?.code).toBe(C.invalidResponse);
  });

  it("an empty 2xx on a never-repeated mutation is outcome unknown", async () => {
    await answer("createProfileOrder", { body: "" });
    const err = await caught(client().createProfileOrder({ subscription: "plan01s", quantity: 1 }));
    expect(err?.code).toBe(C.outcomeUnknown);
  });
});

describe("7: a slow-drip read", () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    // Logs in at once, then answers every GET one byte every 50 ms, for ever.
    server = http.createServer((req, res) => {
      if (req.url === "/v1/auth") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiKey: "api-k", token: "t".repeat(40), operatorId: "OP1" }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      const timer = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("cannot take 5 × the request timeout: the call has a total deadline", async () => {
    const timeoutMs = 400;
    const soracom = client({
      endpoint: url,
      requestTimeoutMs: timeoutMs,
      retry: { maxRetries: 4, baseDelayMs: 1, maxDelayMs: 1, maxRateLimitWaitMs: 1000 },
    });
    const started = Date.now();
    const err = await caught(soracom.getSim("1234"));
    const took = Date.now() - started;
    expect(err?.code).toBe(C.deadline);
    expect(took).toBeLessThan(2.5 * timeoutMs + 300);
  }, 20_000);
});
