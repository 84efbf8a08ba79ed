import { describe, expect, it } from "vitest";
import { renewalMarginMs, TokenSource } from "../../controller/soracom/auth.js";
import { apiErrorDetails, queryString } from "../../controller/soracom/call.js";
import { type EndpointOptions, resolveEndpoint } from "../../controller/soracom/endpoint.js";
import {
  isNotFound,
  isRetryable,
  SoracomApiError,
  SoracomAuthError,
  SoracomNetworkError,
  SoracomOutcomeUnknownError,
  SoracomRateLimitedError,
  SoracomTimeoutError,
} from "../../controller/soracom/errors.js";
import { simCarries } from "../../controller/soracom/identity.js";
import { expandPath } from "../../controller/soracom/operations.js";
import { nextPageKey } from "../../controller/soracom/pagination.js";
import { backoffDelay, DEFAULT_RETRY, serverWaitMs } from "../../controller/soracom/retry.js";
import type { Sim } from "../../controller/soracom/types.js";

describe("resolveEndpoint", () => {
  const cases: Record<string, { in: EndpointOptions; want: string }> = {
    "global coverage is the default (eSIM plans are global products)": { in: {}, want: "https://g.api.soracom.io/v1" },
    "Japan coverage": { in: { coverage: "jp" }, want: "https://api.soracom.io/v1" },
    "global sandbox": { in: { coverage: "g", sandbox: true }, want: "https://g.api-sandbox.soracom.io/v1" },
    "Japan sandbox": { in: { coverage: "jp", sandbox: true }, want: "https://api-sandbox.soracom.io/v1" },
    "SORACOM_ENDPOINT (host only, as soracom-cli) overrides coverage": {
      in: { coverage: "jp", env: { SORACOM_ENDPOINT: "https://api-sandbox.soracom.io" } },
      want: "https://api-sandbox.soracom.io/v1",
    },
    "an explicit endpoint wins over SORACOM_ENDPOINT": {
      in: { endpoint: "http://127.0.0.1:8080", env: { SORACOM_ENDPOINT: "https://api.soracom.io" } },
      want: "http://127.0.0.1:8080/v1",
    },
    "a host without a scheme gets https": { in: { endpoint: "g.api.soracom.io" }, want: "https://g.api.soracom.io/v1" },
    "a trailing /v1 and slash are not doubled": {
      in: { endpoint: "https://api.soracom.io/v1/" },
      want: "https://api.soracom.io/v1",
    },
    "a path prefix behind a proxy is kept": {
      in: { endpoint: "http://proxy.local:3128/soracom" },
      want: "http://proxy.local:3128/soracom/v1",
    },
    "an empty SORACOM_ENDPOINT is ignored": {
      in: { env: { SORACOM_ENDPOINT: " " } },
      want: "https://g.api.soracom.io/v1",
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => expect(resolveEndpoint(c.in)).toBe(c.want));
  }

  it("refuses a non-http scheme", () => {
    expect(() => resolveEndpoint({ endpoint: "ftp://api.soracom.io" })).toThrow(TypeError);
  });
});

describe("nextPageKey", () => {
  const cases: Record<string, { headers: Record<string, string>; want: string | undefined }> = {
    "the x-soracom-next-key header": { headers: { "x-soracom-next-key": "k1" }, want: "k1" },
    "a link header with rel=next": {
      headers: { link: "</v1/sims?limit=2&last_evaluated_key=abc%3D1>; rel=next" },
      want: "abc=1",
    },
    "a link header with a quoted rel among other links": {
      headers: { link: '</v1/x?last_evaluated_key=p>; rel="prev", </v1/x?last_evaluated_key=n>; rel="next"' },
      want: "n",
    },
    "no header on the last page": { headers: {}, want: undefined },
    "a link without rel=next": { headers: { link: "</v1/x?last_evaluated_key=p>; rel=prev" }, want: undefined },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => expect(nextPageKey(c.headers)).toBe(c.want));
  }
});

describe("serverWaitMs", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const cases: Record<string, { status: number; headers: Record<string, string>; want: number | undefined }> = {
    "a 429 with Seconds-Before-Refresh": {
      status: 429,
      headers: { "x-soracom-ratelimit-seconds-before-refresh": "7" },
      want: 7000,
    },
    "a 429 with Retry-After in seconds": { status: 429, headers: { "retry-after": "3" }, want: 3000 },
    "a 429 with Retry-After as a date": {
      status: 429,
      headers: { "retry-after": new Date(now + 5000).toUTCString() },
      want: 5000,
    },
    "a 429 with both takes the longer": {
      status: 429,
      headers: { "retry-after": "2", "x-soracom-ratelimit-seconds-before-refresh": "9" },
      want: 9000,
    },
    "a 429 without hints": { status: 429, headers: {}, want: undefined },
    "a 200 with budget left asks for nothing": {
      status: 200,
      headers: { "x-soracom-ratelimit-remaining": "5", "x-soracom-ratelimit-seconds-before-refresh": "30" },
      want: undefined,
    },
    "a 200 that spent the last of the budget asks for a pause": {
      status: 200,
      headers: { "x-soracom-ratelimit-remaining": "0", "x-soracom-ratelimit-seconds-before-refresh": "30" },
      want: 30_000,
    },
    "an empty Remaining header is not zero": {
      status: 200,
      headers: { "x-soracom-ratelimit-remaining": "", "x-soracom-ratelimit-seconds-before-refresh": "30" },
      want: undefined,
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => expect(serverWaitMs(c.status, c.headers, now)).toBe(c.want));
  }
});

describe("backoffDelay (full jitter)", () => {
  const cases: Record<string, { retry: number; random: number; want: number }> = {
    "the first retry draws from [0, base)": { retry: 1, random: 0.5, want: 125 },
    "the ceiling doubles per retry": { retry: 3, random: 0.5, want: 500 },
    "the ceiling is capped at maxDelay": { retry: 20, random: 0.999, want: 9990 },
    "a zero draw waits nothing (full jitter)": { retry: 4, random: 0, want: 0 },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => expect(backoffDelay(c.retry, DEFAULT_RETRY, () => c.random)).toBe(c.want));
  }
});

describe("error classification", () => {
  const api = (status: number) => new SoracomApiError("getSim", { status, headers: {} });
  const cases: Record<string, { err: unknown; retryable: boolean; notFound: boolean }> = {
    "a 500 is retryable": { err: api(500), retryable: true, notFound: false },
    "Soracom's 404 is not retryable and is not-found": {
      err: new SoracomApiError("getSim", { status: 404, headers: {}, soracomCode: "SEM0004" }),
      retryable: false,
      notFound: true,
    },
    "a 404 without Soracom's error code (a proxy's page) is not not-found": {
      err: api(404),
      retryable: false,
      notFound: false,
    },
    "a 400 is neither": { err: api(400), retryable: false, notFound: false },
    "a 429 is retryable": {
      err: new SoracomRateLimitedError("getSim", { status: 429, headers: {} }, 1000),
      retryable: true,
      notFound: false,
    },
    "bad credentials are not retryable": {
      err: new SoracomAuthError("auth", { status: 401, headers: {}, soracomCode: "AUM0002" }),
      retryable: false,
      notFound: false,
    },
    "a reset is retryable": {
      err: new SoracomNetworkError("getSim", "reset", { requestSent: true }),
      retryable: true,
      notFound: false,
    },
    "a timeout is retryable": {
      err: new SoracomTimeoutError("getSim", "slow", { requestSent: true }),
      retryable: true,
      notFound: false,
    },
    "an unknown outcome is not retryable: look first": {
      err: new SoracomOutcomeUnknownError("createProfileOrder", api(500)),
      retryable: false,
      notFound: false,
    },
    "a foreign error is neither": { err: new Error("boom"), retryable: false, notFound: false },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      expect({ retryable: isRetryable(c.err), notFound: isNotFound(c.err) }).toEqual({
        retryable: c.retryable,
        notFound: c.notFound,
      });
    });
  }

  it("errors carry stable codes, the operation and the Soracom code", () => {
    const err = new SoracomAuthError("auth", {
      status: 401,
      headers: {},
      soracomCode: "AUM0002",
      soracomMessage: "bad",
    });
    expect({ code: err.code, operation: err.operation, status: err.status, soracomCode: err.soracomCode }).toEqual({
      code: "SORACOM_ERR_AUTH",
      operation: "auth",
      status: 401,
      soracomCode: "AUM0002",
    });
    expect(err).toBeInstanceOf(SoracomApiError);
  });

  it("an activation code in an error message is scrubbed", () => {
    const err = new SoracomApiError("listOrderedProfiles", {
      status: 400,
      headers: {},
      soracomMessage: "bad LPA:1$smdp.example$MATCHING-123",
    });
    expect(err.message).not.toContain("MATCHING-123");
    expect(err.soracomMessage).not.toContain("MATCHING-123");
  });
});

describe("apiErrorDetails", () => {
  it("reads the flat wire body {code, message}", () => {
    const d = apiErrorDetails({ status: 400, headers: {}, text: '{"code":"COM0008","message":"invalid"}' });
    expect(d).toEqual({ status: 400, headers: {}, soracomCode: "COM0008", soracomMessage: "invalid" });
  });

  it("keeps a short text of a load balancer's HTML page", () => {
    const d = apiErrorDetails({ status: 502, headers: {}, text: "<html><body><h1>502 Bad Gateway</h1></body></html>" });
    expect(d).toEqual({ status: 502, headers: {}, soracomMessage: "502 Bad Gateway" });
  });
});

describe("paths and queries", () => {
  it("percent-encodes path parameters (a tag name may hold a slash)", () => {
    expect(expandPath("/sims/{sim_id}/tags/{tag_name}", { sim_id: "s1", tag_name: "a/b c" })).toBe(
      "/sims/s1/tags/a%2Fb%20c",
    );
  });

  it("refuses a missing path parameter", () => {
    expect(() => expandPath("/sims/{sim_id}", {})).toThrow(TypeError);
  });

  it("repeats array parameters (explode) and skips undefined ones", () => {
    expect(queryString({ iccid: ["89a", "89b"], limit: 10, last_evaluated_key: undefined })).toBe(
      "?iccid=89a&iccid=89b&limit=10",
    );
  });
});

describe("simCarries (exact match after a partial search)", () => {
  const sim: Sim = {
    simId: "8942000000000000001",
    profiles: {
      "8942000000000000001": {
        iccid: "8942000000000000001",
        subscribers: { "295050000000001": { imsi: "295050000000001" } },
      },
    },
  };
  const cases: Record<string, { key: { iccid: string } | { imsi: string }; want: boolean }> = {
    "the exact ICCID": { key: { iccid: "8942000000000000001" }, want: true },
    "a prefix of the ICCID (what the server's partial search also returns)": {
      key: { iccid: "894200000" },
      want: false,
    },
    "the exact IMSI": { key: { imsi: "295050000000001" }, want: true },
    "a longer IMSI holding the real one": { key: { imsi: "2950500000000011" }, want: false },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => expect(simCarries(sim, c.key)).toBe(c.want));
  }
});

describe("TokenSource", () => {
  it("renews a tenth of the lifetime before expiry, at most five minutes", () => {
    expect([renewalMarginMs(180), renewalMarginMs(86_400)]).toEqual([18_000, 300_000]);
  });

  it("shares one login between concurrent callers and renews near expiry", async () => {
    let now = 1_000_000;
    let logins = 0;
    const source = new TokenSource(
      async () => {
        logins++;
        return { apiKey: `api-${logins}`, token: `tok-${logins}`, operatorId: "OP1" };
      },
      180,
      () => now,
    );
    const sessions = await Promise.all([source.get(), source.get(), source.get()]);
    expect(new Set(sessions.map((s) => s.token))).toEqual(new Set(["tok-1"]));
    now += 180_000 - 18_000 - 1;
    expect((await source.get()).token).toBe("tok-1");
    now += 1;
    expect((await source.get()).token).toBe("tok-2");
    expect(logins).toBe(2);
  });

  it("an invalidated stale session triggers one login, a newer one is kept", async () => {
    let logins = 0;
    const source = new TokenSource(async () => {
      logins++;
      return { apiKey: "a", token: `tok-${logins}`, operatorId: "OP1" };
    }, 86_400);
    const first = await source.get();
    source.invalidate(first);
    const second = await source.get();
    source.invalidate(first); // a late failure with the old token must not throw away the new one
    expect([second.token, (await source.get()).token, logins]).toEqual(["tok-2", "tok-2", 2]);
  });
});
