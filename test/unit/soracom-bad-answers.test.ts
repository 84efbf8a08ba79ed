import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isNotFound,
  isRateLimited,
  type SoracomClient,
  SoracomError,
  SoracomErrorCode,
  type SoracomErrorCodeValue,
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
 * A hostile or broken Soracom, one bad answer at a time, against every operation the controller uses.
 * The simulator applies each call normally and then serves the bad answer (an "answer" fault, on every
 * attempt); each case asserts the error code, how many requests reached the simulator (its own call log:
 * never a second mutating request) and that no secret of the session reaches the error's text.
 */

const MAX_RETRIES = 2;
const MAX_PAGES = 5;
const MAX_BYTES = 64 * 1024;
const MAX_WAIT_MS = 60_000;

type Kind = "order" | "profiles" | "sim" | "subscriber" | "void";

interface Fixture {
  op: string;
  kind: Kind;
  /** Never repeated by the client (create, confirm, terminate). */
  never?: boolean;
  paged?: boolean;
  /** Answers with a JSON array (lists). */
  list?: boolean;
  prepare(setup: SoracomClient, control: SimControl): Promise<Record<string, string>>;
  run(c: SoracomClient, p: Record<string, string>): Promise<unknown>;
}

let imsiSeq = 0;
const newSim = async (control: SimControl) => {
  const imsi = `44010${String(++imsiSeq).padStart(10, "0")}`;
  const sim = await control.createSim({ imsi, subscription: "plan01s" });
  return { simId: sim.simId, imsi };
};
const draft = async (setup: SoracomClient) => ({
  id: (await setup.createProfileOrder({ subscription: "plan01s", quantity: 2, description: "bad-answers" }))
    .profileOrderId,
});
const simFixture = (op: string, run: Fixture["run"], extra: Partial<Fixture> = {}): Fixture => ({
  op,
  kind: "sim",
  prepare: (_s, control) => newSim(control),
  run,
  ...extra,
});

const FIXTURES: Fixture[] = [
  {
    op: "createProfileOrder",
    kind: "order",
    never: true,
    prepare: async () => ({}),
    run: (c) => c.createProfileOrder({ subscription: "plan01s", quantity: 2, description: "bad-answers" }),
  },
  {
    op: "confirmProfileOrder",
    kind: "order",
    never: true,
    prepare: draft,
    run: (c, p) => c.confirmProfileOrder(p.id!),
  },
  { op: "getProfileOrder", kind: "order", prepare: draft, run: (c, p) => c.getProfileOrder(p.id!) },
  { op: "deleteProfileOrder", kind: "void", prepare: draft, run: (c, p) => c.deleteProfileOrder(p.id!) },
  {
    op: "listProfileOrders",
    kind: "order",
    list: true,
    paged: true,
    prepare: draft,
    run: (c) => collect(c.listProfileOrders()),
  },
  {
    op: "listOrderedProfiles",
    kind: "profiles",
    list: true,
    prepare: async (setup, control) => {
      const { id } = await draft(setup);
      await setup.confirmProfileOrder(id);
      await control.advance(60_000);
      return { id };
    },
    run: (c, p) => c.listOrderedProfiles(p.id!),
  },
  {
    op: "getSubscriber",
    kind: "subscriber",
    prepare: (_s, control) => newSim(control),
    run: (c, p) => c.getSubscriber(p.imsi!),
  },
  simFixture("searchSims", (c, p) => collect(c.searchSims({ imsi: [p.imsi!], limit: 100 })), {
    list: true,
    paged: true,
  }),
  simFixture("getSim", (c, p) => c.getSim(p.simId!)),
  simFixture("terminateSim", (c, p) => c.terminateSim(p.simId!), {
    never: true,
    prepare: async (setup, control) => {
      const sim = await newSim(control);
      await setup.enableSimTermination(sim.simId);
      return sim;
    },
  }),
  simFixture("enableSimTermination", (c, p) => c.enableSimTermination(p.simId!)),
  simFixture("disableSimTermination", (c, p) => c.disableSimTermination(p.simId!)),
  simFixture("activateSim", (c, p) => c.activateSim(p.simId!)),
  simFixture("deactivateSim", (c, p) => c.deactivateSim(p.simId!)),
  simFixture("updateSimSpeedClass", (c, p) => c.updateSimSpeedClass(p.simId!, "s1.fast")),
  simFixture("putSimTags", (c, p) => c.putSimTags(p.simId!, [{ tagName: "site", tagValue: "a" }])),
  simFixture("setSimGroup", (c, p) => c.setSimGroup(p.simId!, "group-1")),
  simFixture("unsetSimGroup", (c, p) => c.unsetSimGroup(p.simId!)),
];

/** The member each kind is keyed by, its status member and a timestamp member. */
const ID: Record<Kind, string> = {
  order: "profileOrderId",
  profiles: "profileOrderId",
  sim: "simId",
  subscriber: "imsi",
  void: "x",
};
const STATUS: Record<Kind, string> = {
  order: "status",
  profiles: "profileStatus",
  sim: "status",
  subscriber: "status",
  void: "x",
};
const TIME: Record<Kind, string> = {
  order: "orderedTime",
  profiles: "createdTime",
  sim: "createdTime",
  subscriber: "createdTime",
  void: "x",
};

const C = SoracomErrorCode;
type Outcome = "ok" | SoracomErrorCodeValue;

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  patch?: Record<string, unknown>;
}

interface Row {
  name: string;
  answer(fx: Fixture, secrets: string[]): Answer;
  /** The outcome as the client should decide it before "never repeated" turns it into outcome-unknown. */
  outcome(fx: Fixture): Outcome;
  /** Requests that reach the simulator (default: 1, or MAX_PAGES for TOO_MANY_PAGES). */
  requests?(fx: Fixture): number;
  check?(err: unknown, fx: Fixture): void;
  /** Bounds the client must report even when the call succeeds. */
  guards?: string[];
}

const objectOnly = (fx: Fixture, bad: Outcome): Outcome => (fx.kind === "void" ? "ok" : bad);
/** A bad member value: invalid wherever the member is part of the answer's schema. */
const memberOf = (kinds: Kind[]) => (fx: Fixture) => (kinds.includes(fx.kind) ? C.invalidResponse : "ok");
const retried = (fx: Fixture) => (fx.never ? 1 : 1 + MAX_RETRIES);
const body = (text: string, status = 200): Answer => ({ status, body: text });

const ROWS: Row[] = [
  { name: "an empty 200", answer: () => body(""), outcome: (fx) => objectOnly(fx, C.invalidResponse) },
  { name: "an empty 204", answer: () => body("", 204), outcome: (fx) => objectOnly(fx, C.invalidResponse) },
  { name: "null", answer: () => body("null"), outcome: (fx) => objectOnly(fx, C.invalidResponse) },
  { name: "an empty object", answer: () => body("{}"), outcome: (fx) => objectOnly(fx, C.invalidResponse) },
  {
    name: "an empty array",
    answer: () => body("[]"),
    outcome: (fx) => (fx.list ? "ok" : objectOnly(fx, C.invalidResponse)),
  },
  {
    name: "an array of one empty object",
    answer: () => body("[{}]"),
    outcome: (fx) => objectOnly(fx, C.invalidResponse),
  },
  { name: "an array holding null", answer: () => body("[null]"), outcome: (fx) => objectOnly(fx, C.invalidResponse) },
  // Not JSON at all: not Soracom answering, whatever the operation (a DELETE's body is otherwise unread).
  { name: "truncated JSON", answer: () => body('{"simId": "1234', 200), outcome: () => C.invalidResponse },
  {
    name: "an HTML page with 200",
    answer: () => ({ status: 200, headers: { "content-type": "text/html" }, body: "<html><body>OK</body></html>" }),
    outcome: () => C.invalidResponse,
  },
  { name: "a JSON string", answer: () => body('"COMPLETED"'), outcome: (fx) => objectOnly(fx, C.invalidResponse) },
  { name: "a JSON number", answer: () => body("42"), outcome: (fx) => objectOnly(fx, C.invalidResponse) },
  { name: "a JSON boolean", answer: () => body("true"), outcome: (fx) => objectOnly(fx, C.invalidResponse) },
  {
    name: "Soracom's error body with a 200",
    answer: () => body('{"code":"SEM0004","message":"not found"}'),
    outcome: (fx) => objectOnly(fx, C.invalidResponse),
  },
  {
    name: "the ID as a number",
    answer: (fx) => ({ patch: { [ID[fx.kind]]: 12345 } }),
    outcome: memberOf(["order", "profiles", "sim", "subscriber"]),
  },
  {
    name: "the ID empty",
    answer: (fx) => ({ patch: { [ID[fx.kind]]: "" } }),
    outcome: memberOf(["order", "profiles", "sim", "subscriber"]),
  },
  {
    name: "the ID missing",
    answer: (fx) => ({ patch: { [ID[fx.kind]]: null } }),
    outcome: memberOf(["order", "profiles", "sim", "subscriber"]),
  },
  {
    name: "another object's ID",
    answer: (fx) => ({ patch: { [ID[fx.kind]]: "someone-else-0001" } }),
    // A list of orders or SIMs may hold any; everything asked for by ID must be that one.
    outcome: (fx) => (fx.kind === "void" || fx.paged ? "ok" : fx.op === "createProfileOrder" ? "ok" : C.mismatch),
  },
  {
    name: "an unknown status (the operator's own word)",
    answer: (fx) => ({ patch: { [STATUS[fx.kind]]: "Cancelled" } }),
    outcome: memberOf(["order", "profiles", "sim", "subscriber"]),
  },
  {
    name: "a status in the wrong case",
    answer: (fx) => ({ patch: { [STATUS[fx.kind]]: fx.kind === "order" ? "completed" : "ACTIVE" } }),
    outcome: memberOf(["order", "profiles", "sim", "subscriber"]),
  },
  {
    name: "a status that is a number",
    answer: (fx) => ({ patch: { [STATUS[fx.kind]]: 3 } }),
    outcome: memberOf(["order", "profiles", "sim", "subscriber"]),
  },
  {
    name: "the status missing",
    answer: (fx) => ({ patch: { [STATUS[fx.kind]]: null } }),
    // Required of orders and profiles; a SIM's is optional, but a terminate must show "terminated".
    outcome: (fx) =>
      fx.kind === "order" || fx.kind === "profiles" || fx.op === "terminateSim" ? C.invalidResponse : "ok",
  },
  {
    name: "a quantity of 0",
    answer: () => ({ patch: { quantity: 0 } }),
    outcome: memberOf(["order"]),
  },
  {
    name: "a quantity as a string",
    answer: () => ({ patch: { quantity: "3" } }),
    outcome: memberOf(["order"]),
  },
  {
    name: "a fractional quantity",
    answer: () => ({ patch: { quantity: 2.5 } }),
    outcome: memberOf(["order"]),
  },
  {
    name: "a timestamp as a string",
    answer: (fx) => ({ patch: { [TIME[fx.kind]]: "yesterday" } }),
    outcome: memberOf(["order", "profiles", "sim", "subscriber"]),
  },
  {
    name: "an array where an object belongs",
    answer: (fx) => ({
      patch: {
        [fx.kind === "order" ? "bundles" : fx.kind === "profiles" ? "iccid" : "profiles"]:
          fx.kind === "order" ? { a: 1 } : [],
      },
    }),
    outcome: (fx) => (fx.kind === "subscriber" || fx.kind === "void" ? "ok" : C.invalidResponse),
  },
  {
    name: "unknown extra members (forward compatible, accepted)",
    answer: () => ({ patch: { somethingNew: { nested: [1, 2, 3] } } }),
    outcome: () => "ok",
  },
  {
    name: "a body over the size bound",
    answer: () => body(`{"pad":"${"x".repeat(MAX_BYTES + 1024)}"}`),
    outcome: () => C.responseTooLarge,
  },
  {
    name: "a proxy's HTML 404",
    answer: () => ({
      status: 404,
      headers: { "content-type": "text/html" },
      body: "<html><h1>404 Not Found</h1></html>",
    }),
    outcome: () => C.api,
    requests: retried,
    check: (err, fx) => {
      expect(isNotFound(err), "an HTML 404 is not Soracom's not found").toBe(false);
      if (fx.never) expect((err as SoracomError).code).toBe(C.outcomeUnknown);
    },
  },
  {
    name: "a 429 asking for a 31-year pause",
    answer: () => ({
      status: 429,
      headers: { "retry-after": "1000000000" },
      body: '{"code":"COM0005","message":"slow down"}',
    }),
    outcome: () => C.waitCapped,
    check: (err) => {
      expect(isRateLimited(err)).toBe(true);
      expect((err as { retryAfterMs?: number }).retryAfterMs).toBeLessThanOrEqual(MAX_WAIT_MS);
    },
  },
  {
    name: "a 429 with a Retry-After date far in the future",
    answer: () => ({
      status: 429,
      headers: { "retry-after": "Fri, 01 Jan 2100 00:00:00 GMT" },
      body: '{"code":"COM0005","message":"x"}',
    }),
    outcome: () => C.waitCapped,
  },
  {
    name: "a 429 with a Retry-After that is not a time",
    // No usable hint (the window's refresh says now): reads try again after a backoff; never-repeated ones do not.
    answer: () => ({
      status: 429,
      headers: { "retry-after": "soon", "x-soracom-ratelimit-seconds-before-refresh": "0" },
      body: '{"code":"COM0005","message":"x"}',
    }),
    outcome: () => C.rateLimited,
    requests: retried,
  },
  {
    name: "a 200 that spends the budget until a refresh in 31 years",
    answer: () => ({
      headers: { "x-soracom-ratelimit-remaining": "0", "x-soracom-ratelimit-seconds-before-refresh": "1000000000" },
    }),
    outcome: () => "ok",
    guards: [C.waitCapped],
  },
  {
    name: "a list that never ends (a new next key on every page)",
    answer: () => ({ headers: { "x-soracom-next-key": "key-{seq}" } }),
    outcome: (fx) => (fx.paged ? C.tooManyPages : "ok"),
    requests: (fx) => (fx.paged ? MAX_PAGES : 1),
  },
  {
    name: "a list whose next key repeats",
    answer: () => ({ headers: { "x-soracom-next-key": "same-key" } }),
    outcome: (fx) => (fx.paged ? C.invalidResponse : "ok"),
    requests: (fx) => (fx.paged ? 2 : 1),
  },
  {
    name: "an error message echoing the session's secrets",
    answer: (_fx, secrets) => ({
      status: 400,
      headers: { "x-echo": secrets.join(" ") },
      body: JSON.stringify({
        code: "COM0008",
        message: `bad request; headers were ${secrets.join(" ")} token=abcdefghijklmnopqrstuvwxyz0123456789ABCD`,
      }),
    }),
    outcome: () => C.api,
  },
];

let sim: Simulator;
let control: SimControl;
let setup: SoracomClient;

beforeAll(async () => {
  ({ sim, control } = await startTestSimulator({
    clock: "manual",
    rateLimitPerMinute: 1_000_000,
    confirmDelayMs: 1000,
    inProgressDelayMs: 1000,
  }));
  setup = testClient(sim);
});
afterAll(async () => {
  await setup.close();
  await sim.close();
});

/** errorText is everything an error says, causes included. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    parts.push(String(e), e.message, JSON.stringify(e));
  }
  return parts.join("\n");
}

async function runCase(fx: Fixture, row: Row) {
  const recorder = createRecordingDispatcher();
  const guards: string[] = [];
  const client = testClient(sim, {
    dispatcher: recorder.dispatcher,
    retry: { maxRetries: MAX_RETRIES, baseDelayMs: 5, maxDelayMs: 20, maxRateLimitWaitMs: 1_000 },
    maxPages: MAX_PAGES,
    maxResponseBytes: MAX_BYTES,
    maxServerWaitMs: MAX_WAIT_MS,
    onGuard: (e) => guards.push(e.code),
  });
  try {
    await control.reset(); // each case alone: no orders, SIMs or pauses from the ones before
    const prepared = await fx.prepare(setup, control);
    await client.whoami(); // logs in: the session's secrets are known before the bad answer is made
    const headers = recorder.exchanges.find((x) => x.requestHeaders["x-soracom-token"])?.requestHeaders;
    const secrets = [SIM_CREDENTIALS.authKey, headers?.["x-soracom-token"], headers?.["x-soracom-api-key"]].filter(
      (s): s is string => typeof s === "string",
    );
    if (headers === undefined) {
      // whoami logs in without another call: read the session from the login's answer.
      const login = recorder.exchanges.find((x) => x.path.endsWith("/auth"));
      const session = JSON.parse(login?.responseBody ?? "{}") as { apiKey?: string; token?: string };
      secrets.push(...[session.apiKey, session.token].filter((s): s is string => typeof s === "string"));
    }
    expect(secrets.length).toBe(3);
    await control.send("POST", "/faults", {
      operation: fx.op,
      kind: "answer",
      count: 1000,
      answer: row.answer(fx, secrets),
    });
    await control.clearCalls();
    let err: unknown;
    try {
      await fx.run(client, prepared);
    } catch (e) {
      err = e;
    }
    const sent = await control.count(fx.op);
    return { err, sent, guards, secrets };
  } finally {
    await control.clearFaults();
    await client.close();
    await recorder.close();
  }
}

const GUARDED: string[] = [C.invalidResponse, C.mismatch, C.responseTooLarge, C.tooManyPages, C.waitCapped];

describe("the client against bad answers", () => {
  it(`has at least 30 kinds of bad answers for ${FIXTURES.length} operations`, () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(30);
  });

  it("every operation works against good answers", async () => {
    for (const fx of FIXTURES) {
      const prepared = await fx.prepare(setup, control);
      await expect(fx.run(setup, prepared), fx.op).resolves.not.toThrow();
    }
  });

  for (const fx of FIXTURES) {
    describe(fx.op, () => {
      for (const row of ROWS) {
        it(row.name, async () => {
          const { err, sent, guards, secrets } = await runCase(fx, row);
          const base = row.outcome(fx);
          const answered2xx = [C.invalidResponse, C.mismatch, C.responseTooLarge] as string[];
          const expected = fx.never && answered2xx.includes(base) ? C.outcomeUnknown : base;
          if (expected === "ok") expect(err, String(err)).toBeUndefined();
          else {
            expect(err, "an error").toBeInstanceOf(SoracomError);
            const e = err as SoracomError;
            if (row.name !== "a proxy's HTML 404" || !fx.never) expect(e.code, errorText(err)).toBe(expected);
            if (expected === C.outcomeUnknown && base !== C.api) expect((e.cause as SoracomError).code).toBe(base);
            if (GUARDED.includes(base)) expect(guards).toContain(base);
            row.check?.(err, fx);
          }
          for (const g of row.guards ?? []) expect(guards).toContain(g);
          const requests = fx.never ? 1 : (row.requests?.(fx) ?? (expected === C.tooManyPages ? MAX_PAGES : 1));
          expect(sent, "requests that reached the simulator").toBe(requests);
          const text = errorText(err);
          for (const secret of secrets) expect(text).not.toContain(secret);
          expect(text).not.toMatch(/abcdefghijklmnopqrstuvwxyz0123456789ABCD/);
        });
      }
    });
  }
});
