import { describe, expect, it } from "vitest";
import { OPERATIONS, type RetryClass } from "../../controller/soracom/operations.js";
import { type AttemptOutcome, type AttemptState, type Decision, decide } from "../../controller/soracom/policy.js";

const fresh: AttemptState = {
  retriesLeft: true,
  reloginUsed: false,
  maybeApplied: false,
  canRelogin: true,
  serverWaitMs: undefined,
  maxRateLimitWaitMs: 60_000,
  backoffMs: 123,
};

interface Case {
  retry: RetryClass;
  outcome: AttemptOutcome;
  state?: Partial<AttemptState>;
  want: Decision;
}

const lost = (requestSent = true): AttemptOutcome => ({ noAnswer: { requestSent } });

const cases: Record<string, Case> = {
  "a 2xx is success for every class": { retry: "never", outcome: { status: 201 }, want: { kind: "ok" } },
  "a create whose answer was lost has an unknown outcome": {
    retry: "never",
    outcome: lost(),
    want: { kind: "fail", as: "outcome-unknown" },
  },
  "a create that never left (connection refused) is a plain network failure": {
    retry: "never",
    outcome: lost(false),
    want: { kind: "fail", as: "network" },
  },
  "a create answered 500 has an unknown outcome and is not repeated": {
    retry: "never",
    outcome: { status: 500 },
    want: { kind: "fail", as: "outcome-unknown" },
  },
  "a create answered 503 has an unknown outcome": {
    retry: "never",
    outcome: { status: 503 },
    want: { kind: "fail", as: "outcome-unknown" },
  },
  "a create answered 429 was not applied and is handed up, not repeated": {
    retry: "never",
    outcome: { status: 429 },
    state: { serverWaitMs: 1000 },
    want: { kind: "fail", as: "rate-limited" },
  },
  "a create answered 400 is a definite refusal": {
    retry: "never",
    outcome: { status: 400 },
    want: { kind: "fail", as: "api" },
  },
  "a create answered 401 logs in again once (the token is checked before anything is applied)": {
    retry: "never",
    outcome: { status: 401 },
    want: { kind: "relogin" },
  },
  "a create answered 401 again after the new login fails": {
    retry: "never",
    outcome: { status: 401 },
    state: { reloginUsed: true },
    want: { kind: "fail", as: "api" },
  },
  "a read answered 403 logs in again once": { retry: "read", outcome: { status: 403 }, want: { kind: "relogin" } },
  "a call with a pinned session (logout) never logs in again": {
    retry: "once",
    outcome: { status: 401 },
    state: { canRelogin: false },
    want: { kind: "fail", as: "api" },
  },
  "bad credentials at /auth are an auth failure": {
    retry: "login",
    outcome: { status: 401 },
    want: { kind: "fail", as: "auth" },
  },
  "a read answered 500 is retried after the backoff": {
    retry: "read",
    outcome: { status: 500 },
    want: { kind: "retry", delayMs: 123 },
  },
  "a read answered 503 with a longer server hint waits for the hint": {
    retry: "read",
    outcome: { status: 503 },
    state: { serverWaitMs: 2000 },
    want: { kind: "retry", delayMs: 2000 },
  },
  "a read whose connection reset is retried": { retry: "read", outcome: lost(), want: { kind: "retry", delayMs: 123 } },
  "a read answered 429 waits as long as the server asked": {
    retry: "read",
    outcome: { status: 429 },
    state: { serverWaitMs: 7000 },
    want: { kind: "retry", delayMs: 7000 },
  },
  "a read answered 429 without a hint backs off": {
    retry: "read",
    outcome: { status: 429 },
    want: { kind: "retry", delayMs: 123 },
  },
  "a 429 asking for more than the longest wait is handed up": {
    retry: "read",
    outcome: { status: 429 },
    state: { serverWaitMs: 120_000 },
    want: { kind: "fail", as: "rate-limited" },
  },
  "a read out of retries keeps the 500": {
    retry: "read",
    outcome: { status: 500 },
    state: { retriesLeft: false },
    want: { kind: "fail", as: "api" },
  },
  "a read out of retries keeps the network error": {
    retry: "read",
    outcome: lost(),
    state: { retriesLeft: false },
    want: { kind: "fail", as: "network" },
  },
  "a read answered 404 is a definite not-found": {
    retry: "read",
    outcome: { status: 404 },
    want: { kind: "fail", as: "api" },
  },
  "a state-set (activate) whose answer was lost is retried": {
    retry: "set",
    outcome: lost(),
    want: { kind: "retry", delayMs: 123 },
  },
  "a delete answered 404 after a lost answer was done by the earlier attempt": {
    retry: "delete",
    outcome: { status: 404 },
    state: { maybeApplied: true },
    want: { kind: "already-done" },
  },
  "a delete answered 404 on its first attempt is a real not-found": {
    retry: "delete",
    outcome: { status: 404 },
    want: { kind: "fail", as: "api" },
  },
  "a terminate whose answer was lost has an unknown outcome": {
    retry: "never",
    outcome: lost(),
    want: { kind: "fail", as: "outcome-unknown" },
  },
  "a logout whose answer was lost is a network failure, not repeated": {
    retry: "once",
    outcome: lost(),
    want: { kind: "fail", as: "network" },
  },
};

describe("decide: the retry policy", () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      expect(decide(c.retry, c.outcome, { ...fresh, ...c.state })).toEqual(c.want);
    });
  }
});

describe("OPERATIONS: the retry table", () => {
  const want: Record<string, RetryClass> = {
    "createProfileOrder is never repeated (money)": "never",
    "confirmProfileOrder is never repeated (money; look first)": "never",
    "terminateSim is never repeated (irreversible; look first)": "never",
    "deleteProfileOrder is a delete (404 after a lost answer = done)": "delete",
    "deleteSimTag is a delete": "delete",
    "activateSim is an idempotent state-set": "set",
    "putSimTags is an idempotent state-set": "set",
    "getProfileOrder is a read": "read",
  };
  for (const [sentence, retry] of Object.entries(want)) {
    it(sentence, () => {
      const op = sentence.split(" ")[0] as keyof typeof OPERATIONS;
      expect(OPERATIONS[op].retry).toBe(retry);
    });
  }

  it("every GET is a read and every read is a GET", () => {
    for (const [op, spec] of Object.entries(OPERATIONS)) {
      expect(spec.method === "GET", op).toBe(spec.retry === "read");
    }
  });
});
